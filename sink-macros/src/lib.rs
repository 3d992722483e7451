//! `include_sinks!`: reads a `services.toml` while the calling crate
//! compiles, validates it with the very validator `SinkFactory` runs, and
//! generates a typed struct with one accessor per service.
//!
//! The pipeline is one file per stage: `input` parses the macro call, `load`
//! resolves and reads the file, `expand` validates and generates (with
//! `docs` for the accessors' rustdoc), and `fallback` is what is emitted when
//! the config is rejected. Use it through the `sinks` crate, which documents
//! the generated API.

mod docs;
mod expand;
mod fallback;
mod input;
mod load;

use proc_macro::TokenStream;

/// Generates `pub struct Sinks` (or the name after `as`) from a services
/// config, checked at compile time.
///
/// ```text
/// sinks::include_sinks!("services.toml");                   // pub struct Sinks
/// sinks::include_sinks!("backtest.toml" as BacktestSinks);  // a second topology
/// ```
///
/// The path is relative to the calling crate's `CARGO_MANIFEST_DIR`. Every
/// problem in the file is a compile error pointing at the path literal. See
/// the `sinks` crate docs for the generated API.
#[proc_macro]
pub fn include_sinks(tokens: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(tokens as input::MacroInput);
    expand::expand(&input).into()
}
