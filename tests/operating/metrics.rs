//! The `metrics` feature: every counter and gauge, recorded by a recorder
//! of this test's own, equals what `metadata()` says after a run with a
//! reconnect and failures. And the Prometheus example exports them.
//!
//! Compiled with `--features metrics` (or `--all-features`) only.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use sinks::{ConnectionState, MessageSink, SinkError};

use crate::support::{Peer, SocketDir, bounded, eventually, give_up_fast, numbered};
use crate::unix_sink;

/// Counters and gauges by `name{label=value,...}`; a gauge holds its f64's bits.
#[derive(Debug, Default)]
struct Recorded {
    counters: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
    gauges: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
}

fn key_text(key: &Key) -> String {
    let labels: Vec<String> = key
        .labels()
        .map(|label| format!("{}={}", label.key(), label.value()))
        .collect();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

impl Recorded {
    fn counter(&self, name: &str, sink: &str) -> u64 {
        let key = format!("{name}{{sink={sink}}}");
        let counters = self.counters.lock().expect("counters");
        match counters.get(&key) {
            Some(value) => value.load(Ordering::SeqCst),
            None => panic!("no counter {key}; registered: {:?}", counters.keys()),
        }
    }

    fn gauge(&self, name: &str, sink: &str) -> f64 {
        let key = format!("{name}{{sink={sink}}}");
        let gauges = self.gauges.lock().expect("gauges");
        match gauges.get(&key) {
            Some(value) => f64::from_bits(value.load(Ordering::SeqCst)),
            None => panic!("no gauge {key}; registered: {:?}", gauges.keys()),
        }
    }
}

impl Recorder for Recorded {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let mut counters = self.counters.lock().expect("counters");
        Counter::from_arc(Arc::clone(counters.entry(key_text(key)).or_default()))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        let mut gauges = self.gauges.lock().expect("gauges");
        Gauge::from_arc(Arc::clone(gauges.entry(key_text(key)).or_default()))
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[tokio::test]
async fn metric_values_equal_the_metadata_counters_after_a_run_with_a_reconnect_and_failures() {
    let recorded = Recorded::default();
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("metered");
    let peer = Peer::length_prefixed(listener);
    let retry = give_up_fast()
        .with_max_retries(30)
        .with_retry_delay(Duration::from_millis(10));
    // Handles are registered when the sink is built: only that needs the
    // recorder; every update later goes to the handles, on any thread.
    let sink = metrics::with_local_recorder(&recorded, || unix_sink("mx_run", &path, retry));
    let counter = |name: &str| recorded.counter(name, "mx_run");
    let gauge = |name: &str| recorded.gauge(name, "mx_run");
    assert_eq!(gauge("sinks_connected"), 0.0);

    for id in 0..50 {
        bounded("send", sink.send(numbered(id, 40)))
            .await
            .expect("send");
    }
    bounded("flush", sink.flush()).await.expect("flush");
    assert_eq!(gauge("sinks_connected"), 1.0);
    // Read before the restart, so none is lost in the socket window.
    peer.recording().wait_for_frames(50).await;

    // A restart: one reconnect, then more traffic.
    peer.hang_up();
    eventually("the sink reconnects", || {
        sink.metadata().reconnects == 1 && sink.state() == ConnectionState::Connected
    })
    .await;
    for id in 50..100 {
        bounded("send", sink.send(numbered(id, 40)))
            .await
            .expect("send");
    }
    bounded("flush", sink.flush()).await.expect("flush");
    peer.recording().wait_for_frames(100).await;

    // The peer goes away: what queues behind the reconnect fails.
    let recording = peer.shutdown().await;
    eventually("the sink notices", || {
        sink.state() == ConnectionState::Connecting
    })
    .await;
    for id in 100..105 {
        sink.try_send(numbered(id, 40))
            .expect("queued behind the reconnect");
    }
    let error = bounded("flush", sink.flush()).await.expect_err("they fail");
    assert!(
        matches!(error, SinkError::SendFailed { failed: 5, .. }),
        "{error}"
    );

    let metadata = sink.metadata();
    assert_eq!(
        (
            metadata.messages_sent,
            metadata.messages_failed,
            metadata.reconnects
        ),
        (100, 5, 1),
        "{metadata:?}"
    );
    assert_eq!(counter("sinks_messages_sent_total"), metadata.messages_sent);
    assert_eq!(
        counter("sinks_messages_failed_total"),
        metadata.messages_failed
    );
    assert_eq!(counter("sinks_bytes_sent_total"), metadata.bytes_sent);
    assert_eq!(counter("sinks_reconnects_total"), metadata.reconnects);
    assert_eq!(counter("sinks_connects_total"), recording.accepted() as u64);
    assert_eq!(gauge("sinks_queue_depth"), metadata.queue_depth as f64);
    assert_eq!(metadata.state, ConnectionState::Failed);
    assert_eq!(gauge("sinks_connected"), 0.0);
}

#[test]
fn the_prometheus_example_exports_every_metric_with_the_sink_label() {
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args([
            "run",
            "--quiet",
            "--example",
            "prometheus",
            "--features",
            "metrics",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    // What cargo sets for this test process describes this package; ring's
    // build script reruns when it changes, so inherited by the nested build
    // it would make that build and the outer one rebuild ring (and all
    // above it) in turn. CARGO_TARGET_DIR and the like stay.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || [
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
            ]
            .contains(&name.as_ref())
        {
            cargo.env_remove(name.as_ref());
        }
    }
    let output = cargo.output().expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the example failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for line in [
        "# TYPE sinks_messages_sent_total counter",
        r#"sinks_messages_sent_total{sink="ticks"} 100"#,
        r#"sinks_bytes_sent_total{sink="ticks"} 1090"#,
        r#"sinks_messages_failed_total{sink="audit"} 3"#,
        r#"sinks_connects_total{sink="ticks"} 1"#,
        r#"sinks_reconnects_total{sink="ticks"} 0"#,
        "# TYPE sinks_connected gauge",
        r#"sinks_connected{sink="ticks"} 1"#,
        r#"sinks_connected{sink="audit"} 0"#,
        r#"sinks_queue_depth{sink="ticks"} 0"#,
    ] {
        assert!(
            stdout.lines().any(|printed| printed == line),
            "missing {line:?} in:\n{stdout}"
        );
    }
}
