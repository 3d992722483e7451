//! What the macro emits when the config is rejected: the errors plus an
//! empty stand-in struct, so the user sees the real problems and not a
//! cascade of "cannot find type `Sinks`" after them (as thiserror does).

use proc_macro2::TokenStream;
use quote::quote;
use syn::Ident;

pub(crate) fn fallback(struct_name: &Ident, errors: syn::Error) -> TokenStream {
    let errors = errors.into_compile_error();
    quote! {
        #errors
        /// Not generated: the sinks config has errors.
        pub struct #struct_name;
    }
}
