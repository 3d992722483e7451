//! Send byte messages to named sinks whose topology is checked by the compiler.
//!
//! This crate is a facade: it re-exports the runtime (`sink-runtime`) and
//! the [`include_sinks!`] macro (`sink-macros`), so users depend on it alone.
//! See the README for the config format and what a send promises.
//!
//! ```no_run
//! use sinks::MessageSink;
//!
//! // Checked while this crate compiles: a typo, a cycle or a bad endpoint in
//! // the file is a compile error. The path is relative to Cargo.toml.
//! sinks::include_sinks!("examples/services.toml");
//!
//! #[tokio::main]
//! async fn main() -> Result<(), sinks::SinkError> {
//!     let sinks = Sinks::new(); // no I/O yet: the first send connects
//!     sinks.market_data_relay().send(b"tick".to_vec().into()).await?;
//!     sinks.broadcast_all().send(b"to everyone".to_vec().into()).await?;
//!     sinks.flush_all().await
//! }
//! ```
#![warn(missing_docs)]

pub use sink_runtime::config::Overrides;
pub use sink_runtime::group;
pub use sink_runtime::{
    CompositeSink, ConnectionState, EndpointSink, Inbox, InboxOptions, Message, MessageMetadata,
    MessagePriority, MessageSink, SinkError, SinkFactory, SinkFuture, SinkMetadata,
};
pub use sink_runtime::{Preflight, PreflightEntry, PreflightOutcome, preflight, preflight_leaves};
pub use sink_runtime::{codec, config};

pub use sink_macros::include_sinks;

/// Where a `SinkFactory` resolves services at run time: [`provider::ConfigFile`]
/// and, with the `nats` feature, [`provider::NatsKv`].
pub use sink_runtime::provider;

#[doc(hidden)]
pub use sink_runtime::__private;
