//! Operations over every sink of a topology at once: what `Sinks` (from
//! `include_sinks!`) and `SinkFactory` offer as `flush_all`,
//! `disconnect_all`, `connect_all`, `shutdown` and `snapshot`.
//!
//! Each runs on every endpoint sink concurrently and reports every failure
//! together, as `TargetsFailed` naming each sink. Reports are taken only once
//! every sink has settled, so an operation that is cut short (timed out or
//! dropped) loses none of them.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;

use crate::{EndpointSink, MessageSink, SinkError, SinkMetadata};

/// Flushes every sink: settle all, then take every report.
pub async fn flush_all(owner: &str, sinks: &[Arc<EndpointSink>]) -> Result<(), SinkError> {
    let settled = join_all(sinks.iter().map(|sink| sink.settle())).await;
    combine(owner, sinks, settled)?;
    let reports = sinks.iter().map(|sink| sink.take_failures()).collect();
    combine(owner, sinks, reports)
}

/// Writes what is queued and closes every connection.
pub async fn disconnect_all(owner: &str, sinks: &[Arc<EndpointSink>]) -> Result<(), SinkError> {
    let results = join_all(sinks.iter().map(|sink| sink.disconnect())).await;
    combine(owner, sinks, results)
}

/// Connects every sink now, each within `timeout`; the error names each
/// that failed and why.
pub async fn connect_all(
    owner: &str,
    sinks: &[Arc<EndpointSink>],
    timeout: Duration,
) -> Result<(), SinkError> {
    let results = join_all(sinks.iter().map(|sink| async move {
        match tokio::time::timeout(timeout, sink.connect()).await {
            Ok(result) => result,
            Err(_) => Err(SinkError::Timeout {
                sink: sink.name().to_owned(),
                operation: "connect",
                after: timeout,
            }),
        }
    }))
    .await;
    combine(owner, sinks, results)
}

/// Flushes every sink, then closes it, all within `timeout`: what is not
/// written by then is failed. The error names each sink with messages that
/// failed (now, or earlier and not yet reported) and how many.
pub async fn shutdown(
    owner: &str,
    sinks: &[Arc<EndpointSink>],
    timeout: Duration,
) -> Result<(), SinkError> {
    let results = join_all(sinks.iter().map(|sink| sink.shutdown(timeout))).await;
    combine(owner, sinks, results)
}

/// Every sink's metadata, in the order given.
pub fn snapshot<'a>(sinks: impl IntoIterator<Item = &'a dyn MessageSink>) -> Vec<SinkMetadata> {
    sinks.into_iter().map(|sink| sink.metadata()).collect()
}

fn combine(
    owner: &str,
    sinks: &[Arc<EndpointSink>],
    results: Vec<Result<(), SinkError>>,
) -> Result<(), SinkError> {
    let failed: Vec<(String, SinkError)> = sinks
        .iter()
        .zip(results)
        .filter_map(|(sink, result)| result.err().map(|error| (sink.name().to_owned(), error)))
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(SinkError::TargetsFailed {
        sink: owner.to_owned(),
        total: sinks.len(),
        failed,
    })
}
