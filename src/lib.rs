//! Send byte messages to named sinks whose topology is checked by the compiler.
//!
//! This crate is a facade: it re-exports the runtime (`sink-runtime`) and
//! the `include_sinks!` macro (`sink-macros`), so users depend on it alone.
//! See the README for the config format and what a send promises.
#![warn(missing_docs)]

pub use sink_runtime::config;
pub use sink_runtime::{
    CompositeSink, ConnectionState, EndpointSink, Message, MessageMetadata, MessagePriority,
    MessageSink, SinkError, SinkFactory, SinkFuture, SinkMetadata,
};

pub use sink_macros::include_sinks;

#[doc(hidden)]
pub use sink_runtime::__private;
