//! Used by code that `include_sinks!` generates; not public API.
//!
//! Generated code names everything through `::sinks::...`, so the user's
//! crate depends on `sinks` alone and the runtime can move things around
//! without breaking it.

pub use std::path::PathBuf;
pub use std::sync::Arc;
pub use std::time::Duration;

use futures_util::future::join_all;

use crate::{MessageSink, SinkError};

/// Flushes every sink at once; a `TargetsFailed` naming each that failed.
pub async fn flush_all(owner: &str, sinks: &[(&str, &dyn MessageSink)]) -> Result<(), SinkError> {
    let results = join_all(sinks.iter().map(|(_, sink)| sink.flush())).await;
    combine(owner, sinks, results)
}

/// Disconnects every sink at once; a `TargetsFailed` naming each that failed.
pub async fn disconnect_all(
    owner: &str,
    sinks: &[(&str, &dyn MessageSink)],
) -> Result<(), SinkError> {
    let results = join_all(sinks.iter().map(|(_, sink)| sink.disconnect())).await;
    combine(owner, sinks, results)
}

fn combine(
    owner: &str,
    sinks: &[(&str, &dyn MessageSink)],
    results: Vec<Result<(), SinkError>>,
) -> Result<(), SinkError> {
    let failed: Vec<(String, SinkError)> = sinks
        .iter()
        .zip(results)
        .filter_map(|((name, _), result)| result.err().map(|error| ((*name).to_owned(), error)))
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
