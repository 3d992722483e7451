//! Composites: `fanout` sends to every target and names the ones that
//! failed; `round_robin` rotates and skips a failing target; `failover`
//! stays on the first healthy target and returns to the primary once it is
//! reachable again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use sinks::config::{CompositePattern, Endpoint, LeafConfig};
use sinks::{
    CompositeSink, ConnectionState, EndpointSink, Message, MessageSink, SinkError, SinkFuture,
    SinkMetadata,
};

use crate::support::{
    Peer, SocketDir, bind_unix, bounded, eventually, give_up_fast, ids_of, numbered, quick_retry,
};

fn relay(name: &str, path: std::path::PathBuf) -> Arc<dyn MessageSink> {
    Arc::new(EndpointSink::relay(
        name,
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_retry(give_up_fast()),
    ))
}

/// `count` peers `t0`, `t1`, ... and their sinks.
fn peers(dir: &SocketDir, count: usize) -> (Vec<Peer>, Vec<Arc<dyn MessageSink>>) {
    (0..count)
        .map(|index| {
            let name = format!("t{index}");
            let (listener, path) = dir.bind(&name);
            (Peer::length_prefixed(listener), relay(&name, path))
        })
        .unzip()
}

fn expect_targets_failed(result: Result<(), SinkError>, names: &[&str]) {
    let error = result.expect_err("the composite fails");
    assert!(
        matches!(error, SinkError::TargetsFailed { .. }),
        "expected TargetsFailed, got {error:?}"
    );
    assert_eq!(error.failed_targets(), names);
    if let SinkError::TargetsFailed { failed, .. } = &error {
        for (_, cause) in failed {
            assert!(
                matches!(cause, SinkError::ConnectionFailed { .. }),
                "each failed target says why: {cause:?}"
            );
        }
    }
    for name in names {
        assert!(error.to_string().contains(name), "{error}");
    }
}

#[tokio::test]
async fn fanout_delivers_identical_bytes_to_every_target() {
    let dir = SocketDir::new();
    let (peers, targets) = peers(&dir, 3);
    let fanout = CompositeSink::new("all", CompositePattern::Fanout, targets);
    for id in 0..20 {
        bounded("send", fanout.send(numbered(id, 1000)))
            .await
            .expect("every target accepts");
    }
    bounded("flush", fanout.flush()).await.expect("flush");
    let expected: Vec<Vec<u8>> = (0..20)
        .map(|id| numbered(id, 1000).payload.to_vec())
        .collect();
    for peer in &peers {
        assert_eq!(peer.recording().wait_for_frames(20).await, expected);
        assert_eq!(peer.recording().accepted(), 1);
    }
    assert_eq!(fanout.metadata().messages_sent, 20);
}

/// A target that records the address of each payload it is handed.
#[derive(Debug, Default)]
struct AddressRecorder {
    name: String,
    seen: Mutex<Vec<usize>>,
}

impl MessageSink for AddressRecorder {
    fn send(&self, message: Message) -> SinkFuture<'_, Result<(), SinkError>> {
        SinkFuture::ready(self.try_send(message))
    }
    fn try_send(&self, message: Message) -> Result<(), SinkError> {
        let address = message.payload.as_ptr() as usize;
        self.seen.lock().expect("not poisoned").push(address);
        Ok(())
    }
    fn flush(&self) -> SinkFuture<'_, Result<(), SinkError>> {
        SinkFuture::ready(Ok(()))
    }
    fn is_connected(&self) -> bool {
        true
    }
    fn connect(&self) -> SinkFuture<'_, Result<(), SinkError>> {
        SinkFuture::ready(Ok(()))
    }
    fn disconnect(&self) -> SinkFuture<'_, Result<(), SinkError>> {
        SinkFuture::ready(Ok(()))
    }
    fn metadata(&self) -> SinkMetadata {
        // SinkMetadata is non-exhaustive: take a real sink's and rename it.
        let mut metadata = EndpointSink::relay(
            self.name.clone(),
            LeafConfig::new(Endpoint::unix("/nonexistent").expect("an absolute socket path")),
        )
        .metadata();
        metadata.name = self.name.clone();
        metadata.state = ConnectionState::Connected;
        metadata
    }
}

#[tokio::test]
async fn fanout_hands_every_target_the_same_payload_buffer() {
    let recorders: Vec<Arc<AddressRecorder>> = (0..3)
        .map(|index| {
            Arc::new(AddressRecorder {
                name: format!("r{index}"),
                ..AddressRecorder::default()
            })
        })
        .collect();
    let targets = recorders
        .iter()
        .map(|recorder| Arc::clone(recorder) as Arc<dyn MessageSink>)
        .collect();
    let fanout = CompositeSink::new("all", CompositePattern::Fanout, targets);
    let payload = Bytes::from(vec![5u8; 4096]);
    let address = payload.as_ptr() as usize;
    bounded("send", fanout.send(Message::new(payload)))
        .await
        .expect("send");
    fanout
        .try_send(Message::new(Bytes::from_static(b"static")))
        .expect("try_send");
    for recorder in &recorders {
        let seen = recorder.seen.lock().expect("not poisoned").clone();
        assert_eq!(seen[0], address, "no copy of the payload per target");
        assert_eq!(seen[1], b"static".as_ptr() as usize);
    }
}

#[tokio::test]
async fn fanout_names_failed_targets_and_still_delivers_to_healthy_ones() {
    let dir = SocketDir::new();
    let (peers, mut targets) = peers(&dir, 2);
    targets.insert(1, relay("dead", dir.path("dead")));
    let fanout = CompositeSink::new("all", CompositePattern::Fanout, targets);
    expect_targets_failed(
        bounded("send", fanout.send(numbered(1, 64))).await,
        &["dead"],
    );
    for peer in &peers {
        assert_eq!(ids_of(&peer.recording().wait_for_frames(1).await), vec![1]);
    }
    assert_eq!(fanout.metadata().messages_failed, 1);
    // Later sends still reach the healthy targets and still name the dead one.
    expect_targets_failed(
        bounded("send", fanout.send(numbered(2, 64))).await,
        &["dead"],
    );
    for peer in &peers {
        assert_eq!(
            ids_of(&peer.recording().wait_for_frames(2).await),
            vec![1, 2]
        );
    }
}

#[tokio::test]
async fn round_robin_rotates_over_targets() {
    let dir = SocketDir::new();
    let (peers, targets) = peers(&dir, 3);
    let round_robin = CompositeSink::new("rr", CompositePattern::RoundRobin, targets);
    for id in 0..9 {
        bounded("send", round_robin.send(numbered(id, 64)))
            .await
            .expect("send");
    }
    bounded("flush", round_robin.flush()).await.expect("flush");
    for (index, peer) in peers.iter().enumerate() {
        let index = index as u64;
        assert_eq!(
            ids_of(&peer.recording().wait_for_frames(3).await),
            vec![index, index + 3, index + 6],
            "target t{index} gets every third message"
        );
    }
}

#[tokio::test]
async fn round_robin_skips_a_failing_target() {
    let dir = SocketDir::new();
    let (peers, mut targets) = peers(&dir, 2);
    targets.insert(1, relay("dead", dir.path("dead")));
    let round_robin = CompositeSink::new("rr", CompositePattern::RoundRobin, targets);
    for id in 0..10 {
        bounded("send", round_robin.send(numbered(id, 64)))
            .await
            .expect("a healthy target takes it");
    }
    eventually("every message arriving", || {
        peers[0].recording().frame_count() + peers[1].recording().frame_count() == 10
    })
    .await;
    let first = ids_of(&peers[0].recording().frames());
    let second = ids_of(&peers[1].recording().frames());
    assert!(
        !first.is_empty() && !second.is_empty(),
        "{first:?} {second:?}"
    );
    let mut all: Vec<u64> = first.iter().chain(&second).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..10).collect::<Vec<_>>(), "every message, once");
}

#[tokio::test]
async fn round_robin_errors_only_when_every_target_fails() {
    let dir = SocketDir::new();
    let targets = vec![relay("a", dir.path("a")), relay("b", dir.path("b"))];
    let round_robin = CompositeSink::new("rr", CompositePattern::RoundRobin, targets);
    expect_targets_failed(
        bounded("send", round_robin.send(numbered(0, 8))).await,
        &["a", "b"],
    );
}

#[tokio::test]
async fn failover_prefers_the_primary_while_it_is_healthy() {
    let dir = SocketDir::new();
    let (peers, targets) = peers(&dir, 2);
    let failover = CompositeSink::new("fo", CompositePattern::Failover, targets);
    for id in 0..10 {
        bounded("send", failover.send(numbered(id, 64)))
            .await
            .expect("send");
    }
    bounded("flush", failover.flush()).await.expect("flush");
    assert_eq!(
        ids_of(&peers[0].recording().wait_for_frames(10).await),
        (0..10).collect::<Vec<_>>()
    );
    assert_eq!(
        peers[1].recording().accepted(),
        0,
        "the backup is never opened"
    );
}

#[tokio::test]
async fn failover_stays_on_the_backup_and_returns_to_the_primary() {
    let dir = SocketDir::new();
    let primary_path = dir.path("primary");
    let (backup_listener, backup_path) = dir.bind("backup");
    let backup = Peer::length_prefixed(backup_listener);
    let failover = CompositeSink::new(
        "fo",
        CompositePattern::Failover,
        vec![
            relay("primary", primary_path.clone()),
            Arc::new(EndpointSink::relay(
                "backup",
                LeafConfig::new(Endpoint::unix(backup_path).expect("an absolute socket path"))
                    .with_retry(quick_retry()),
            )),
        ],
    )
    .with_probe_interval(Duration::from_millis(50));

    // The primary is down: everything goes to the backup, in order.
    for id in 0..10 {
        bounded("send", failover.send(numbered(id, 64)))
            .await
            .expect("the backup takes it");
    }
    assert_eq!(
        ids_of(&backup.recording().wait_for_frames(10).await),
        (0..10).collect::<Vec<_>>()
    );

    // The primary comes back: a background probe finds it, and from then
    // on messages go to it again.
    let primary = Peer::length_prefixed(bind_unix(&primary_path));
    let mut next = 10;
    bounded("the failover returns to the primary", async {
        while primary.recording().frame_count() == 0 {
            failover.send(numbered(next, 64)).await.expect("send");
            next += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let returned_at = next;
    for id in next..next + 10 {
        failover.send(numbered(id, 64)).await.expect("send");
    }
    next += 10;
    bounded("flush", failover.flush()).await.ok();

    let on_backup = ids_of(&backup.recording().frames());
    let switched = on_backup.len() as u64;
    assert_eq!(
        on_backup,
        (0..switched).collect::<Vec<_>>(),
        "a prefix stayed on the backup"
    );
    let on_primary_expected: Vec<u64> = (switched..next).collect();
    let on_primary = primary
        .recording()
        .wait_for_frames(on_primary_expected.len())
        .await;
    assert_eq!(
        ids_of(&on_primary),
        on_primary_expected,
        "from the switch on, everything went to the primary (returned by message {returned_at})"
    );
}

/// With the default probe interval (500 ms), a failing primary is probed
/// about twice a second, not on every message: a silent primary (every
/// WebSocket handshake times out) counts the probes as TCP accepts.
#[tokio::test]
async fn failover_probes_a_failed_target_at_the_default_interval() {
    let (listener, address) = crate::support::bind_tcp().await;
    let silent = crate::support::SilentPeer::start(listener);
    let dir = SocketDir::new();
    let (backup_listener, backup_path) = dir.bind("backup");
    let backup = Peer::length_prefixed(backup_listener);
    let failover = CompositeSink::new(
        "fo",
        CompositePattern::Failover,
        vec![
            Arc::new(EndpointSink::direct(
                "primary",
                LeafConfig::new(crate::support::ws_endpoint(address)).with_retry(
                    sinks::config::RetryPolicy::default()
                        .with_max_retries(0)
                        .with_connect_timeout(Duration::from_millis(100))
                        .with_wait_timeout(Duration::from_secs(2)),
                ),
            )),
            relay("backup", backup_path),
        ],
    );
    assert_eq!(
        CompositeSink::DEFAULT_PROBE_INTERVAL,
        Duration::from_millis(500)
    );
    let started = tokio::time::Instant::now();
    let mut sent = 0;
    while started.elapsed() < Duration::from_millis(1300) {
        bounded("send", failover.send(numbered(sent, 64)))
            .await
            .expect("the backup takes it");
        sent += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        ids_of(&backup.recording().wait_for_frames(sent as usize).await),
        (0..sent).collect::<Vec<_>>()
    );
    // The first send's attempt, then a probe at most every 500 ms.
    let attempts = silent.accepted_at().len();
    assert!(
        (2..=5).contains(&attempts),
        "{attempts} connects to the failed primary in 1.3 s of sends every 10 ms"
    );
}

/// The primary's peer dies for good while the failover is on it: messages
/// go on to the backup once the primary gives up, and what the primary had
/// accepted meanwhile is counted failed and reported by `flush`: nothing is
/// lost silently.
#[tokio::test]
async fn failover_accounts_for_every_message_when_the_primary_dies() {
    let dir = SocketDir::new();
    let (primary_listener, primary_path) = dir.bind("primary");
    let (backup_listener, backup_path) = dir.bind("backup");
    let primary_peer = Peer::length_prefixed(primary_listener);
    let backup = Peer::length_prefixed(backup_listener);
    let primary = relay("primary", primary_path);
    let failover = CompositeSink::new(
        "fo",
        CompositePattern::Failover,
        vec![Arc::clone(&primary), relay("backup", backup_path)],
    );
    for id in 0..5 {
        bounded("send", failover.send(numbered(id, 64)))
            .await
            .expect("send");
    }
    primary_peer.recording().wait_for_frames(5).await;
    let on_primary = primary_peer.shutdown().await;
    eventually("the primary notices", || {
        primary.state() != ConnectionState::Connected
    })
    .await;
    for id in 5..30 {
        bounded("send", failover.send(numbered(id, 64)))
            .await
            .expect("send");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let flush = bounded("flush", failover.flush()).await;
    let failed = primary.metadata().messages_failed;
    let on_backup = ids_of(&backup.recording().frames());
    println!(
        "primary failed {failed}, backup got {} ({:?}), flush {flush:?}",
        on_backup.len(),
        on_backup.first()
    );
    assert_eq!(ids_of(&on_primary.frames()), (0..5).collect::<Vec<_>>());
    assert_eq!(
        5 + failed + on_backup.len() as u64,
        30,
        "every message was received or counted failed"
    );
    assert!(!on_backup.is_empty(), "the failover moved to the backup");
    if failed > 0 {
        let error = flush.expect_err("flush reports the primary's failures");
        assert_eq!(error.failed_targets(), ["primary"]);
    }
}
