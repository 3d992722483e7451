//! What the macro emits when the config is rejected: the errors plus a
//! stand-in struct with the generated API that does not depend on the
//! services, so the user sees the real problems and not a cascade of
//! "no function `new`" after them (as thiserror's fallback does).

use proc_macro2::TokenStream;
use quote::quote;
use syn::Ident;

pub(crate) fn fallback(struct_name: &Ident, errors: syn::Error) -> TokenStream {
    let errors = errors.into_compile_error();
    quote! {
        #errors

        /// Not generated: the sinks config has errors.
        #[derive(Clone, Debug, Default)]
        pub struct #struct_name;

        impl #struct_name {
            /// Not generated: the sinks config has errors.
            pub const SERVICES: &'static [&'static str] = &[];

            /// Not generated: the sinks config has errors.
            pub fn new() -> Self {
                Self
            }

            /// Not generated: the sinks config has errors.
            pub fn get(&self, _name: &str) -> ::core::option::Option<::sinks::__private::Arc<dyn ::sinks::MessageSink>> {
                ::core::option::Option::None
            }

            /// Not generated: the sinks config has errors.
            pub async fn flush_all(&self) -> ::core::result::Result<(), ::sinks::SinkError> {
                ::core::result::Result::Ok(())
            }

            /// Not generated: the sinks config has errors.
            pub async fn disconnect_all(&self) -> ::core::result::Result<(), ::sinks::SinkError> {
                ::core::result::Result::Ok(())
            }
        }
    }
}
