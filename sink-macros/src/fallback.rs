//! What the macro emits when the config is rejected: the errors plus a
//! stand-in struct with the generated API, so the user sees the real
//! problems and not a cascade of "no method named …" after them (as
//! thiserror's fallback does).
//!
//! The stand-in has an accessor for each service the file names, whatever
//! else is wrong with it: code that calls `sinks.market_data_relay()` keeps
//! type-checking while the config is broken. This reads the file's service
//! names only; whether a name is allowed is the validator's verdict, already
//! among the errors.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use sink_runtime::config::is_accessor_name;
use syn::Ident;
use toml::de::{DeTable, DeValue};

/// The errors and a stand-in `struct_name`; `source` is the config text,
/// for the stand-in accessors.
pub(crate) fn fallback(struct_name: &Ident, errors: syn::Error, source: &str) -> TokenStream {
    let errors = errors.into_compile_error();
    let accessors = stand_in_services(source);
    let accessors = accessors.iter().map(|(name, composite)| {
        let ident = format_ident!("{}", name);
        let ty = if *composite {
            quote!(::sinks::CompositeSink)
        } else {
            quote!(::sinks::EndpointSink)
        };
        quote! {
            /// Not generated: the sinks config has errors.
            pub fn #ident(&self) -> &#ty {
                ::core::unreachable!("the sinks config has errors")
            }
        }
    });
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
            pub fn from_env() -> ::core::result::Result<Self, ::sinks::SinkError> {
                ::core::result::Result::Ok(Self)
            }

            /// Not generated: the sinks config has errors.
            pub fn with_overrides(
                _overrides: &::sinks::__private::Overrides,
            ) -> ::core::result::Result<Self, ::sinks::SinkError> {
                ::core::result::Result::Ok(Self)
            }

            #( #accessors )*

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

/// The `[services.NAME]` tables that can have a stand-in accessor, and
/// whether each says `type = "composite"`. Read leniently: a TOML syntax
/// error leaves the services the parser recovered.
fn stand_in_services(source: &str) -> Vec<(String, bool)> {
    let (document, _syntax_errors) = DeTable::parse_recoverable(source);
    let document = document.into_inner();
    let Some(DeValue::Table(services)) = document.get("services").map(|value| value.get_ref())
    else {
        return Vec::new();
    };
    let mut seen = HashSet::new();
    services
        .iter()
        .filter(|(name, _)| can_be_method(name.get_ref()) && seen.insert(name.get_ref().clone()))
        .map(|(name, service)| {
            let composite = match service.get_ref() {
                DeValue::Table(table) => table.get("type").is_some_and(
                    |kind| matches!(kind.get_ref(), DeValue::String(kind) if kind == "composite"),
                ),
                _ => false,
            };
            (name.get_ref().to_string(), composite)
        })
        .collect()
}

/// A name the validator accepts as an accessor: a lowercase identifier that
/// is no keyword of any edition (`gen` included) and clashes with nothing
/// the stand-in has. Anything else would make `format_ident!` panic or the
/// stand-in itself fail to compile.
fn can_be_method(name: &str) -> bool {
    is_accessor_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stand_ins_cover_the_methods_a_broken_config_names() {
        let source = r#"
[services.feed]
type = "relay"
endpont = "/tmp/feed.sock"

[services.all]
type = "composite"
targets = ["feed", "missing"]

[services.Bad-Name]
type = "direct"

[services.match]
type = "direct"

[services.flush_all]
type = "direct"
"#;
        assert_eq!(
            stand_in_services(source),
            [("feed".to_owned(), false), ("all".to_owned(), true)]
        );
        // A syntax error leaves the services the parser recovered.
        assert_eq!(
            stand_in_services("[services.feed]\ntype = \"relay\"\nbuffer_size = = 3\n"),
            [("feed".to_owned(), false)]
        );
        assert!(stand_in_services("not toml at all = = =").is_empty());
    }
}
