//! `include_sinks!`: reads a `services.toml` while the calling crate
//! compiles, validates it with the very validator `SinkFactory` runs, and
//! generates a typed struct with one accessor per service.
//!
//! The pipeline is one file per stage: `input` parses the macro call, `load`
//! resolves and reads the file, `expand` validates and generates (with
//! `docs` for the accessors' rustdoc), and `fallback` is what is emitted when
//! the config is rejected. Use it through the `sinks` crate.

#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]

mod docs;
mod expand;
mod fallback;
mod input;
mod load;

use proc_macro::TokenStream;

/// Generates `pub struct Sinks` (or the name after `as`) from a services
/// config, checked while the crate compiles.
///
/// ```text
/// sinks::include_sinks!("services.toml");                   // pub struct Sinks
/// sinks::include_sinks!("backtest.toml" as BacktestSinks);  // a second topology
/// ```
///
/// The path is relative to the calling crate's `CARGO_MANIFEST_DIR`. The
/// `as Name` form names the struct, so one crate can hold several
/// topologies.
///
/// # What it generates
///
/// - `Sinks::new()` and `Default`: build every sink from the compiled values
///   (the defaults of `${VAR:-default}`) without I/O or spawning; each
///   connects on its first send. A sink whose value needs a variable without
///   a default refuses its sends with `SinkError::InvalidConfig`.
/// - `Sinks::from_env()` and `Sinks::with_overrides(&sinks::Overrides)`:
///   the same topology with a deployment's values (variables, overlays,
///   endpoints), every problem returned in one `SinkError::InvalidConfig`. `Sinks` is `Clone` (one `Arc` inside,
///   clones share the sinks), `Send`, `Sync` and `Debug`.
/// - One method per service, named as in the file, returning
///   `&sinks::EndpointSink` (relay, direct) or `&sinks::CompositeSink`; both
///   implement `MessageSink`. A composite holds the very sinks its targets'
///   methods return: one connection per endpoint. Each method's rustdoc shows
///   the endpoint (credentials hidden) or the pattern and targets.
/// - `Sinks::SERVICES`: the service names in file order.
/// - `get(name) -> Option<Arc<dyn MessageSink>>`, for names known only at
///   run time.
/// - `async fn flush_all()` and `async fn disconnect_all()` over every relay
///   and direct sink; failures come back together as
///   `SinkError::TargetsFailed`.
///
/// # Errors
///
/// The config is checked by the same parser and validator `SinkFactory`
/// runs. Every problem in the file is its own compile error, pointing at the
/// path literal and saying `file:line:column: service, key: problem; fix`. A
/// missing file names the absolute path it looked for. On errors the macro
/// still emits a stand-in struct, so only the real problems are reported.
///
/// Editing the config (or a `tls_ca_file` it names, which is embedded) makes
/// the next build expand the macro again.
#[proc_macro]
pub fn include_sinks(tokens: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(tokens as input::MacroInput);
    expand::expand(&input).into()
}
