//! Auto-reconnect: when the connection drops, the sink reconnects by itself
//! and sends what it had not yet written, whole; nothing is lost silently:
//! what cannot be sent is counted in `messages_failed` and reported by `flush`.

use std::path::Path;
use std::time::Duration;

use sinks::config::{Endpoint, LeafConfig, RetryPolicy};
use sinks::{ConnectionState, EndpointSink, MessageSink, SinkError};

use crate::support::{
    Peer, SocketDir, bind_tcp, bind_unix, bounded, eventually, ids_of, numbered, quick_retry,
    rebind_tcp, tcp_endpoint, ws_endpoint,
};

async fn send_ids(sink: &EndpointSink, ids: std::ops::Range<u64>) {
    for id in ids {
        bounded("send", sink.send(numbered(id, 100)))
            .await
            .expect("send");
    }
}

/// The peer drops the connection and keeps listening: the sink notices at
/// once (it is idle, watching the connection), reconnects before any further
/// send, and the messages after the restart arrive on the new connection.
async fn reconnects_after_hang_up(sink: EndpointSink, peer: Peer) {
    send_ids(&sink, 0..10).await;
    peer.recording().wait_for_frames(10).await;
    peer.hang_up();
    peer.recording().wait_for_accepts(2).await;
    eventually("the sink is connected again", || sink.is_connected()).await;
    send_ids(&sink, 10..20).await;
    bounded("flush", sink.flush()).await.expect("flush");
    peer.recording().wait_for_frames(20).await;
    let connections = peer.recording().connections();
    assert_eq!(connections.len(), 2);
    assert_eq!(ids_of(&connections[0]), (0..10).collect::<Vec<_>>());
    assert_eq!(ids_of(&connections[1]), (10..20).collect::<Vec<_>>());
    assert_eq!(sink.metadata().messages_failed, 0);
}

#[tokio::test]
async fn reconnects_after_unix_peer_restart() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("relay");
    let sink = EndpointSink::relay(
        "relay",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_retry(quick_retry()),
    );
    reconnects_after_hang_up(sink, Peer::length_prefixed(listener)).await;
}

#[tokio::test]
async fn reconnects_after_tcp_peer_restart() {
    let (listener, address) = bind_tcp().await;
    let sink = EndpointSink::direct(
        "tcp",
        LeafConfig::new(tcp_endpoint(address)).with_retry(quick_retry()),
    );
    reconnects_after_hang_up(sink, Peer::length_prefixed(listener)).await;
}

#[tokio::test]
async fn reconnects_after_websocket_peer_restart() {
    let (listener, address) = bind_tcp().await;
    let sink = EndpointSink::direct(
        "ws",
        LeafConfig::new(ws_endpoint(address)).with_retry(quick_retry()),
    );
    reconnects_after_hang_up(sink, Peer::websocket(listener)).await;
}

/// The peer goes away for a while: messages sent meanwhile are queued and
/// arrive, in order, once a peer listens on the same address again.
#[tokio::test]
async fn messages_sent_while_the_unix_peer_is_down_arrive_after_it_returns() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("relay");
    let sink = EndpointSink::relay(
        "relay",
        LeafConfig::new(Endpoint::unix(&path).expect("an absolute socket path"))
            .with_retry(quick_retry()),
    );
    down_and_back(&sink, Peer::length_prefixed(listener), || async {
        Peer::length_prefixed(bind_unix(Path::new(&path)))
    })
    .await;
}

#[tokio::test]
async fn messages_sent_while_the_tcp_peer_is_down_arrive_after_it_returns() {
    let (listener, address) = bind_tcp().await;
    let sink = EndpointSink::direct(
        "tcp",
        LeafConfig::new(tcp_endpoint(address)).with_retry(quick_retry()),
    );
    down_and_back(&sink, Peer::length_prefixed(listener), || async move {
        Peer::length_prefixed(rebind_tcp(address).await)
    })
    .await;
}

async fn down_and_back<F: Future<Output = Peer>>(
    sink: &EndpointSink,
    first: Peer,
    restart: impl FnOnce() -> F,
) {
    send_ids(sink, 0..5).await;
    first.recording().wait_for_frames(5).await;
    let first = first.shutdown().await;
    eventually("the sink notices the peer is gone", || {
        sink.state() == ConnectionState::Connecting
    })
    .await;
    send_ids(sink, 5..25).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = restart().await;
    bounded("flush", sink.flush()).await.expect("flush");
    let frames = second.recording().wait_for_frames(20).await;
    assert_eq!(ids_of(&first.frames()), (0..5).collect::<Vec<_>>());
    assert_eq!(ids_of(&frames), (5..25).collect::<Vec<_>>());
    assert_eq!(sink.metadata().messages_failed, 0);
}

/// The peer drops a connection it stopped reading, with frames queued and
/// one cut in the middle of a write. What the kernel had taken is gone with
/// the peer's buffers; everything else is sent again on the next connection,
/// starting with the first message not wholly written, whole.
#[tokio::test]
async fn resends_unwritten_messages_whole_after_connection_drop() {
    const SIZE: usize = 256 * 1024;
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("relay");
    let peer = Peer::length_prefixed(listener);
    peer.pause_reading();
    let sink = EndpointSink::relay(
        "relay",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_buffer_size(8)
            .with_retry(quick_retry()),
    );
    let mut accepted = 0u64;
    bounded("filling the queue", async {
        while sink.try_send(numbered(accepted, SIZE)).is_ok() {
            accepted += 1;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    peer.hang_up();
    peer.recording().wait_for_accepts(2).await;
    peer.resume_reading();
    bounded("flush", sink.flush()).await.expect("flush");
    bounded("disconnect", sink.disconnect())
        .await
        .expect("disconnect");

    let metadata = sink.metadata();
    assert_eq!(metadata.messages_failed, 0);
    assert_eq!(
        metadata.messages_sent, accepted,
        "every message was written once"
    );
    let connections = peer.recording().connections();
    assert_eq!(connections.len(), 2);
    let after = ids_of(&connections[1]);
    // Written to the first connection: everything not written to the second.
    let written_before = accepted - after.len() as u64;
    assert_eq!(
        after,
        (written_before..accepted).collect::<Vec<_>>(),
        "the second connection starts with the first message not wholly written"
    );
    assert!(
        written_before < accepted,
        "the drop left messages to resend"
    );
    assert!(
        ids_of(&connections[0])
            .iter()
            .copied()
            .eq(0..connections[0].len() as u64),
        "what the first connection delivered is a prefix"
    );
    assert!(
        peer.recording().anomalies().is_empty(),
        "{:?}",
        peer.recording().anomalies()
    );
}

/// The peer goes away for good: messages accepted while the sink was
/// reconnecting are counted as failed and reported by `flush`, once.
#[tokio::test]
async fn gives_up_reconnecting_and_reports_every_unsent_message() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("relay");
    let peer = Peer::length_prefixed(listener);
    let sink = EndpointSink::relay(
        "relay",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path")).with_retry(
            RetryPolicy::default()
                .with_max_retries(20)
                .with_retry_delay(Duration::from_millis(10))
                .with_backoff_multiplier(1.0)
                .with_connect_timeout(Duration::from_millis(200))
                .with_wait_timeout(Duration::from_secs(2)),
        ),
    );
    send_ids(&sink, 0..3).await;
    peer.recording().wait_for_frames(3).await;
    let recording = peer.shutdown().await;
    eventually("the sink notices the peer is gone", || {
        sink.state() == ConnectionState::Connecting
    })
    .await;
    send_ids(&sink, 3..8).await;
    match bounded("flush", sink.flush()).await {
        Err(SinkError::SendFailed { failed, reason, .. }) => {
            assert_eq!(failed, 5, "every message accepted while reconnecting");
            assert!(reason.contains("reconnecting failed"), "reason: {reason}");
        }
        other => panic!("expected SendFailed, got {other:?}"),
    }
    let metadata = sink.metadata();
    assert_eq!((metadata.messages_sent, metadata.messages_failed), (3, 5));
    assert_eq!(sink.state(), ConnectionState::Failed);
    bounded("flush", sink.flush())
        .await
        .expect("failures are reported once");
    assert_eq!(ids_of(&recording.frames()), vec![0, 1, 2]);
}

/// With `auto_reconnect = false` a dropped connection stays down until the
/// next send, which connects again.
#[tokio::test]
async fn without_auto_reconnect_the_next_send_reconnects() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("relay");
    let peer = Peer::length_prefixed(listener);
    let sink = EndpointSink::relay(
        "relay",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_retry(quick_retry().with_auto_reconnect(false)),
    );
    send_ids(&sink, 0..2).await;
    peer.recording().wait_for_frames(2).await;
    peer.hang_up();
    eventually("the sink notices the drop", || {
        sink.state() == ConnectionState::Failed
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(peer.recording().accepted(), 1, "no reconnect by itself");
    send_ids(&sink, 2..4).await;
    let frames = peer.recording().wait_for_frames(4).await;
    assert_eq!(ids_of(&frames), vec![0, 1, 2, 3]);
    assert_eq!(peer.recording().accepted(), 2);
}
