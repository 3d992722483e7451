//! Used by code that `include_sinks!` generates; not public API.
//!
//! Generated code names everything through `::sinks::__private::...`, so the
//! user's crate depends on `sinks` alone and the runtime can move things
//! around without breaking it.

pub use std::path::PathBuf;
pub use std::sync::Arc;
pub use std::time::Duration;

pub use crate::config::{CompositePattern, Endpoint, Framing, LeafConfig, RetryPolicy};
pub use crate::{CompositeSink, EndpointSink, MessageSink, SinkError};

/// Parses an endpoint that `include_sinks!` already validated at compile time.
pub fn relay_endpoint(text: &str) -> Endpoint {
    Endpoint::parse_relay(text).expect("include_sinks! validated this endpoint at compile time")
}

/// Parses an endpoint that `include_sinks!` already validated at compile time.
pub fn direct_endpoint(text: &str) -> Endpoint {
    Endpoint::parse_direct(text).expect("include_sinks! validated this endpoint at compile time")
}
