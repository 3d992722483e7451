//! Composites: `fanout` to every target, `round_robin` in turn skipping a
//! failing target, `failover` to the first healthy target and back.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sinks::config::{CompositePattern, Endpoint, LeafConfig};
use sinks::{CompositeSink, EndpointSink, Message, MessageSink, SinkError};

use crate::common::{self, Received, bounded, unix_path, unix_peer};

/// A relay named `name` to `dir/name.sock`, giving up fast.
fn relay(dir: &Path, name: &str) -> Arc<dyn MessageSink> {
    Arc::new(EndpointSink::relay(
        name,
        LeafConfig::new(Endpoint::Unix(unix_path(dir, name))).retry(common::give_up_fast()),
    ))
}

/// Live peers named `names` in `dir`, and their relays.
fn live(dir: &Path, names: &[&str]) -> (Vec<Received>, Vec<Arc<dyn MessageSink>>) {
    names
        .iter()
        .map(|name| {
            let (_path, received, _accepts, _peer) = unix_peer(dir, name);
            (received, relay(dir, name))
        })
        .unzip()
}

#[tokio::test]
async fn fanout_delivers_every_message_to_every_target() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (received, targets) = live(dir.path(), &["a", "b", "c"]);
    let fanout = CompositeSink::new("all", CompositePattern::Fanout, targets);
    for id in 0..10 {
        bounded(
            "fanout send",
            fanout.send(Message::new(common::payload(id, 32))),
        )
        .await
        .expect("every target accepts");
    }
    bounded("flush", fanout.flush()).await.expect("flush");
    for peer in &received {
        peer.wait_for(10).await;
        assert_eq!(peer.ids(), (0..10).collect::<Vec<u64>>());
    }
    assert_eq!(fanout.metadata().messages_sent, 10);
}

#[tokio::test]
async fn fanout_names_the_failed_target_while_the_healthy_ones_still_get_the_message() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (received, mut targets) = live(dir.path(), &["a", "c"]);
    targets.insert(1, relay(dir.path(), "dead"));
    let fanout = CompositeSink::new("all", CompositePattern::Fanout, targets);
    let result = bounded("fanout send", fanout.send(Message::from("tick"))).await;
    let error = result.expect_err("a target is dead");
    assert_eq!(error.failed_targets(), vec!["dead"]);
    match &error {
        SinkError::TargetsFailed {
            sink,
            total,
            failed,
        } => {
            assert_eq!((sink.as_str(), *total), ("all", 3));
            assert!(
                matches!(failed[0].1, SinkError::ConnectionFailed { .. }),
                "{failed:?}"
            );
        }
        other => panic!("expected TargetsFailed, got {other:?}"),
    }
    assert!(error.to_string().contains("`dead`"), "{error}");
    for peer in &received {
        peer.wait_for(1).await;
        assert_eq!(peer.payloads(), vec![b"tick".to_vec()]);
    }
}

#[tokio::test]
async fn round_robin_rotates_evenly_across_three_live_targets() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (received, targets) = live(dir.path(), &["a", "b", "c"]);
    let balanced = CompositeSink::new("balanced", CompositePattern::RoundRobin, targets);
    for id in 0..30 {
        bounded(
            "round robin send",
            balanced.send(Message::new(common::payload(id, 16))),
        )
        .await
        .expect("send");
    }
    bounded("flush", balanced.flush()).await.expect("flush");
    for (index, peer) in received.iter().enumerate() {
        peer.wait_for(10).await;
        let expected: Vec<u64> = (0..30).filter(|id| id % 3 == index as u64).collect();
        assert_eq!(peer.ids(), expected, "target {index}");
    }
}

#[tokio::test]
async fn round_robin_skips_a_failing_target() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (received, mut targets) = live(dir.path(), &["a", "c"]);
    targets.insert(1, relay(dir.path(), "dead"));
    let balanced = CompositeSink::new("balanced", CompositePattern::RoundRobin, targets);
    for id in 0..20 {
        bounded(
            "round robin send",
            balanced.send(Message::new(common::payload(id, 16))),
        )
        .await
        .expect("a live target accepts");
    }
    bounded("flush", balanced.flush()).await.expect("flush");
    common::eventually("20 messages arriving", || {
        received.iter().map(Received::count).sum::<usize>() >= 20
    })
    .await;
    let mut ids: Vec<u64> = received.iter().flat_map(Received::ids).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        (0..20).collect::<Vec<u64>>(),
        "each message exactly once"
    );
    assert!(
        received.iter().all(|peer| peer.count() >= 5),
        "both live targets are used"
    );
}

#[tokio::test]
async fn round_robin_fails_only_when_every_target_fails() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let targets = ["x", "y", "z"].map(|name| relay(dir.path(), name)).to_vec();
    let balanced = CompositeSink::new("balanced", CompositePattern::RoundRobin, targets);
    let error = bounded("round robin send", balanced.send(Message::from("tick")))
        .await
        .expect_err("every target is dead");
    let mut failed = error.failed_targets();
    failed.sort_unstable();
    assert_eq!(failed, vec!["x", "y", "z"]);
}

#[tokio::test]
async fn failover_uses_the_first_healthy_target_in_order_and_stays_on_it() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (received, mut targets) = live(dir.path(), &["secondary", "tertiary"]);
    targets.insert(0, relay(dir.path(), "primary"));
    let failover = CompositeSink::new("failover", CompositePattern::Failover, targets);
    for id in 0..10 {
        bounded(
            "failover send",
            failover.send(Message::new(common::payload(id, 16))),
        )
        .await
        .expect("the secondary accepts");
    }
    bounded("flush", failover.flush()).await.expect("flush");
    received[0].wait_for(10).await;
    assert_eq!(received[0].ids(), (0..10).collect::<Vec<u64>>());
    assert_eq!(
        received[1].count(),
        0,
        "failover spread past the first healthy target"
    );
}

#[tokio::test]
async fn failover_returns_to_the_primary_once_it_is_reachable_again() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (received, mut targets) = live(dir.path(), &["secondary"]);
    targets.insert(0, relay(dir.path(), "primary"));
    let failover = CompositeSink::new("failover", CompositePattern::Failover, targets)
        .with_probe_interval(Duration::from_millis(50));
    for id in 0..5 {
        bounded(
            "failover send",
            failover.send(Message::new(common::payload(id, 16))),
        )
        .await
        .expect("send");
    }
    received[0].wait_for(5).await;

    let (_path, primary, _accepts, _peer) = unix_peer(dir.path(), "primary");
    let mut id = 5;
    bounded("failover returning to the primary", async {
        while primary.count() == 0 {
            failover
                .send(Message::new(common::payload(id, 16)))
                .await
                .expect("send");
            id += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let secondary_before = received[0].count();
    let back_at = id;
    for next in back_at..back_at + 10 {
        bounded(
            "failover send",
            failover.send(Message::new(common::payload(next, 16))),
        )
        .await
        .expect("send");
    }
    bounded("flush", failover.flush()).await.expect("flush");
    primary.wait_for(11).await;
    assert_eq!(
        received[0].count(),
        secondary_before,
        "failover left the primary again"
    );
    assert_eq!(
        &received[0].ids()[..5],
        &[0, 1, 2, 3, 4],
        "the secondary took over while the primary was down"
    );
    let primary_ids = primary.ids();
    assert_eq!(
        &primary_ids[primary_ids.len() - 10..],
        &(back_at..back_at + 10).collect::<Vec<u64>>()[..]
    );
}
