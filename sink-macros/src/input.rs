//! The macro's arguments: `"path"` or `"path" as StructName`.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Token};

/// A parsed `include_sinks!` call.
pub(crate) struct MacroInput {
    /// The config path as written, relative to `CARGO_MANIFEST_DIR`.
    pub(crate) path: LitStr,
    /// The generated struct's name: `Sinks` unless named with `as`.
    pub(crate) struct_name: Ident,
}

impl Parse for MacroInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<MacroInput> {
        let path: LitStr = input.parse()?;
        let struct_name = if input.peek(Token![as]) {
            input.parse::<Token![as]>()?;
            input.parse()?
        } else {
            Ident::new("Sinks", Span::call_site())
        };
        if !input.is_empty() {
            return Err(input.error(
                "expected `include_sinks!(\"services.toml\")` or `include_sinks!(\"services.toml\" as MySinks)`",
            ));
        }
        Ok(MacroInput { path, struct_name })
    }
}
