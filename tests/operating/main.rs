//! Operating a service on `sinks`: the `tracing` events a running sink
//! emits (each once per occurrence, rate limited where a condition repeats),
//! the `metrics` feature's counters against `metadata()`, the metadata fields
//! an operator reads, a shutdown that drains or reports exactly what it
//! could not, a runtime dropped without one, and `connect_all`.
//!
//! Everything runs against real peers on loopback and Unix sockets in
//! temporary directories. Events are captured by one global test subscriber
//! (`capture`); each test names its sinks uniquely and reads only their events.
//!
//! `cargo test --test operating` runs them; `--all-features` adds the metrics tests.

#[path = "../support/mod.rs"]
mod support;

mod capture;

mod composite_events;
mod connect_all;
mod endpoint_events;
mod metadata;
#[cfg(feature = "metrics")]
mod metrics;
mod runtime_drop;
mod shutdown;
mod throttled;

use std::path::Path;

use sinks::EndpointSink;
use sinks::config::{Endpoint, LeafConfig, RetryPolicy};

/// A direct sink over the Unix socket at `path`.
fn unix_sink(name: &str, path: &Path, retry: RetryPolicy) -> EndpointSink {
    EndpointSink::direct(
        name,
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path")).with_retry(retry),
    )
}

/// A direct sink to `endpoint`.
fn sink_to(name: &str, endpoint: Endpoint, retry: RetryPolicy) -> EndpointSink {
    EndpointSink::direct(name, LeafConfig::new(endpoint).with_retry(retry))
}
