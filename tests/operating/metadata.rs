//! What `metadata()` tells an operator: the queue depth, reconnects, since
//! when the connection is up, when the last error was seen; and a
//! composite's own counters, as their docs define them.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use sinks::config::{CompositePattern, Endpoint, LeafConfig};
use sinks::{CompositeSink, ConnectionState, EndpointSink, Message, MessageSink, SinkError};

use crate::support::{
    Peer, SocketDir, bounded, composite_of, eventually, give_up_fast, numbered, quick_retry,
    refused_tcp_address, tcp_endpoint,
};
use crate::{sink_to, unix_sink};

#[tokio::test]
async fn queue_depth_counts_every_message_not_yet_written_while_the_peer_is_paused() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("paused");
    let peer = Peer::length_prefixed(listener);
    peer.pause_reading();
    let config = LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
        .with_retry(quick_retry())
        .with_buffer_size(10_000);
    let sink = EndpointSink::direct("md_queue", config);
    bounded("connect", sink.connect()).await.expect("connect");

    // 5 MB: far more than the socket buffers hold while nobody reads.
    let accepted = 5_000u64;
    for id in 0..accepted {
        sink.try_send(numbered(id, 1024))
            .expect("room in the queue");
    }
    // Let the writer write what the socket takes (not an assertion: the
    // counts below hold however far it got).
    tokio::time::sleep(Duration::from_millis(50)).await;
    let paused = sink.metadata();
    assert!(
        paused.queue_depth > 0,
        "the paused peer holds up messages: {paused:?}"
    );
    assert_eq!(
        paused.queue_depth as u64 + paused.messages_sent + paused.messages_failed,
        accepted,
        "every accepted message is queued, sent or failed: {paused:?}"
    );

    peer.resume_reading();
    bounded("flush", sink.flush()).await.expect("flush");
    let drained = sink.metadata();
    assert_eq!((drained.queue_depth, drained.messages_sent), (0, accepted));
    peer.recording().wait_for_frames(accepted as usize).await;
}

#[tokio::test]
async fn reconnects_connected_since_and_last_error_at_follow_a_peer_restart() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("restarting");
    let peer = Peer::length_prefixed(listener);
    let sink = unix_sink("md_restart", &path, quick_retry());
    let fresh = sink.metadata();
    assert_eq!(
        (fresh.reconnects, fresh.connected_since, fresh.last_error_at),
        (0, None, None)
    );
    assert_eq!(fresh.last_error, None);

    let before_connect = SystemTime::now();
    bounded("send", sink.send(numbered(0, 16)))
        .await
        .expect("send");
    peer.recording().wait_for_frames(1).await;
    let first = sink.metadata();
    let first_since = first.connected_since.expect("connected");
    assert!(first_since >= before_connect);
    assert_eq!((first.reconnects, first.last_error_at), (0, None));

    peer.hang_up();
    eventually("the sink reconnects", || {
        sink.metadata().reconnects == 1 && sink.state() == ConnectionState::Connected
    })
    .await;
    let again = sink.metadata();
    let since = again.connected_since.expect("connected again");
    let error_at = again
        .last_error_at
        .expect("the lost connection is an error");
    assert!(again.last_error.is_some(), "{again:?}");
    // Old from new: the error was seen before the current connection was made.
    assert!(first_since <= error_at && error_at <= since, "{again:?}");

    bounded("disconnect", sink.disconnect())
        .await
        .expect("disconnect");
    let closed = sink.metadata();
    assert_eq!(closed.state, ConnectionState::Disconnected);
    assert_eq!((closed.connected_since, closed.reconnects), (None, 1));
}

#[tokio::test]
async fn last_error_at_is_set_with_last_error_by_a_connect_that_gives_up() {
    let address = refused_tcp_address().await;
    let sink = sink_to("md_refused", tcp_endpoint(address), give_up_fast());
    let before = SystemTime::now();
    let error = bounded("send", sink.send(numbered(0, 16)))
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(error, SinkError::ConnectionFailed { .. }),
        "{error}"
    );
    let after = SystemTime::now();

    let metadata = sink.metadata();
    assert!(metadata.last_error.is_some(), "{metadata:?}");
    let at = metadata.last_error_at.expect("set with last_error");
    assert!(before <= at && at <= after, "{metadata:?}");
    assert_eq!(metadata.connected_since, None);
}

/// A composite over `targets`.
fn composite(
    name: &str,
    pattern: CompositePattern,
    targets: &[&Arc<EndpointSink>],
) -> CompositeSink {
    composite_of(name, pattern, targets, Duration::from_millis(50))
}

#[tokio::test]
async fn a_composite_counts_its_own_sends_and_their_payload_bytes() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("live");
    let peer = Peer::length_prefixed(listener);
    let live = Arc::new(unix_sink("md_comp_live", &path, quick_retry()));
    let dead_address = refused_tcp_address().await;
    let dead = Arc::new(sink_to(
        "md_comp_dead",
        tcp_endpoint(dead_address),
        give_up_fast(),
    ));

    // Fanout fails every send (a target is dead) though the live one got it.
    let fanout = composite("md_fanout", CompositePattern::Fanout, &[&live, &dead]);
    for id in 0..3 {
        let error = bounded("send", fanout.send(numbered(id, 16)))
            .await
            .expect_err("a target is dead");
        assert_eq!(error.failed_targets(), vec!["md_comp_dead"]);
    }
    let fanned = fanout.metadata();
    assert_eq!(
        (
            fanned.messages_sent,
            fanned.messages_failed,
            fanned.bytes_sent
        ),
        (0, 3, 0),
        "{fanned:?}"
    );
    assert!(fanned.last_error.is_some() && fanned.last_error_at.is_some());

    // Failover succeeds through the live one: its sends, payload bytes only.
    let failover = composite("md_failover", CompositePattern::Failover, &[&dead, &live]);
    for _ in 0..4 {
        bounded(
            "send",
            failover.send(Message::new(Bytes::from_static(b"ten bytes!"))),
        )
        .await
        .expect("the live target takes it");
    }
    bounded("flush", live.flush()).await.expect("flush");
    let routed = failover.metadata();
    assert_eq!(
        (
            routed.messages_sent,
            routed.messages_failed,
            routed.bytes_sent
        ),
        (4, 0, 40),
        "{routed:?}"
    );
    assert_eq!((routed.last_error, routed.last_error_at), (None, None));
    assert_eq!(
        (
            routed.queue_depth,
            routed.reconnects,
            routed.connected_since
        ),
        (0, 0, None),
        "a composite has no queue or connection of its own"
    );
    assert_eq!(
        (routed.sink_type.as_str(), routed.endpoint),
        ("composite", None)
    );

    // The target counts what it wrote, framing included.
    let target = live.metadata();
    assert_eq!(target.messages_sent, 3 + 4);
    assert_eq!(target.bytes_sent, 3 * (16 + 4) + 4 * (10 + 4));
    peer.recording().wait_for_frames(7).await;
}
