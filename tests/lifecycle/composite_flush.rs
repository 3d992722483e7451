//! A composite's `flush()` that is cut short, or dropped before it is
//! polled, keeps every target's failure report: the next flush still
//! returns `TargetsFailed` naming each target with its count.
//!
//! The targets' connects give up (nothing listens at their paths), so the
//! messages they accepted through `try_send` are failed and reported by
//! the next flush that completes, and by no other.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sinks::config::{CompositePattern, Endpoint, LeafConfig, RetryPolicy};
use sinks::{CompositeSink, ConnectionState, EndpointSink, MessageSink, SinkError};

use crate::support::{SocketDir, bounded, eventually, numbered};

/// A target nothing listens for, giving up after `1 + max_retries`
/// attempts `retry_delay` apart.
fn doomed(name: &str, path: PathBuf, max_retries: u32, retry_delay: Duration) -> Arc<EndpointSink> {
    Arc::new(EndpointSink::direct(
        name,
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path")).with_retry(
            RetryPolicy::default()
                .with_max_retries(max_retries)
                .with_retry_delay(retry_delay)
                .with_backoff_multiplier(1.0)
                .with_wait_timeout(Duration::from_secs(5)),
        ),
    ))
}

fn fanout(targets: &[&Arc<EndpointSink>]) -> CompositeSink {
    let targets = targets
        .iter()
        .map(|sink| Arc::clone(sink) as Arc<dyn MessageSink>)
        .collect();
    CompositeSink::new("both", CompositePattern::Fanout, targets)
}

fn accept(sink: &EndpointSink, count: u64) {
    for id in 0..count {
        sink.try_send(numbered(id, 16))
            .expect("accepted while connecting");
    }
}

/// The flush that completes: `TargetsFailed` naming `a` with 3 and `b`
/// with 5 failed messages, each for the real cause; the next one is `Ok`.
async fn second_flush_reports_both(composite: &CompositeSink) {
    let error = bounded("the second flush", composite.flush())
        .await
        .expect_err("the failures are still to be reported");
    let SinkError::TargetsFailed { total, failed, .. } = &error else {
        panic!("expected TargetsFailed, got {error}");
    };
    assert_eq!(*total, 2);
    let counts: Vec<(&str, u64)> = failed
        .iter()
        .map(|(name, error)| match error {
            SinkError::SendFailed { failed, reason, .. } => {
                assert!(
                    reason.contains("No such file or directory"),
                    "`{name}` names the real cause: {reason}"
                );
                (name.as_str(), *failed)
            }
            other => panic!("`{name}`: expected SendFailed, got {other}"),
        })
        .collect();
    assert_eq!(counts, vec![("a", 3), ("b", 5)], "{error}");
    bounded("a third flush", composite.flush())
        .await
        .expect("the second flush took every report");
}

#[tokio::test]
async fn a_composite_flush_cut_short_keeps_the_report_of_a_target_that_already_failed() {
    let dir = SocketDir::new();
    // `a` gives up at once; `b` is still retrying when the flush is cut short.
    let a = doomed("a", dir.path("a"), 0, Duration::from_millis(10));
    let b = doomed("b", dir.path("b"), 3, Duration::from_millis(200));
    let composite = fanout(&[&a, &b]);
    accept(&a, 3);
    accept(&b, 5);
    eventually("`a` giving up", || a.state() == ConnectionState::Failed).await;

    let cut = tokio::time::timeout(Duration::from_millis(50), composite.flush()).await;
    assert!(
        cut.is_err(),
        "the flush finished while `b` was still connecting: {cut:?}"
    );
    assert_eq!(
        b.state(),
        ConnectionState::Connecting,
        "the flush was cut short while `b` connected"
    );
    second_flush_reports_both(&composite).await;
}

#[tokio::test]
async fn a_composite_flush_dropped_before_its_first_poll_keeps_every_report() {
    let dir = SocketDir::new();
    let a = doomed("a", dir.path("a"), 0, Duration::from_millis(10));
    let b = doomed("b", dir.path("b"), 1, Duration::from_millis(10));
    let composite = fanout(&[&a, &b]);
    accept(&a, 3);
    accept(&b, 5);
    eventually("both giving up", || {
        a.state() == ConnectionState::Failed && b.state() == ConnectionState::Failed
    })
    .await;

    // Made and dropped, never polled: the composite's and a target's own.
    drop(composite.flush());
    drop(a.flush());
    second_flush_reports_both(&composite).await;
}
