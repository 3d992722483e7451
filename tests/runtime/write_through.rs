//! A send into an idle connected Unix or TCP sink writes its frame itself
//! instead of waking the writer task (one syscall, no task switch), and the
//! bytes are the same: in order, whole, after a partial write too.

use std::time::Duration;

use sinks::config::{Endpoint, LeafConfig};
use sinks::{EndpointSink, MessageSink};

use crate::support::{
    Peer, SocketDir, bind_tcp, bounded, ids_of, numbered, quick_retry, tcp_endpoint,
};

/// Longer than the idle time after which a send writes through (20 us).
const IDLE: Duration = Duration::from_millis(2);

/// Sends `count` messages a few ms apart. On a current_thread runtime
/// (`#[tokio::test]`) the writer task cannot run between `send` returning
/// and the check, so a message already counted as sent was written by `send`.
async fn sparse_sends_are_written_by_the_sender(sink: &EndpointSink, peer: &Peer, count: u64) {
    bounded("connect", sink.connect()).await.expect("connect");
    for id in 0..count {
        tokio::time::sleep(IDLE).await;
        bounded("send", sink.send(numbered(id, 64)))
            .await
            .expect("send");
        assert_eq!(
            sink.metadata().messages_sent,
            id + 1,
            "message {id} was queued for the writer instead of written by send"
        );
    }
    let frames = peer.recording().wait_for_frames(count as usize).await;
    assert_eq!(ids_of(&frames), (0..count).collect::<Vec<_>>());
    assert!(peer.recording().anomalies().is_empty());
}

#[tokio::test]
async fn unix_sends_into_an_idle_sink_write_through() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("idle");
    let peer = Peer::length_prefixed(listener);
    let sink = EndpointSink::relay(
        "idle",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path")),
    );
    sparse_sends_are_written_by_the_sender(&sink, &peer, 20).await;
}

#[tokio::test]
async fn tcp_sends_into_an_idle_sink_write_through() {
    let (listener, address) = bind_tcp().await;
    let peer = Peer::length_prefixed(listener);
    let sink = EndpointSink::direct("idle", LeafConfig::new(tcp_endpoint(address)));
    sparse_sends_are_written_by_the_sender(&sink, &peer, 20).await;
}

/// A burst is batched: only the first send of an idle period writes through.
#[tokio::test]
async fn a_burst_is_left_to_the_writer() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("burst");
    let peer = Peer::length_prefixed(listener);
    let sink = EndpointSink::relay(
        "burst",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path")),
    );
    bounded("connect", sink.connect()).await.expect("connect");
    tokio::time::sleep(IDLE).await;
    for id in 0..100 {
        // try_send never yields, so the writer cannot run during the burst.
        sink.try_send(numbered(id, 64)).expect("try_send");
    }
    // One in a quiet run. A stall of the test thread longer than the idle
    // time (a busy CI machine) can let a few more through, never most.
    let written_by_senders = sink.metadata().messages_sent;
    assert!(
        (1..=10).contains(&written_by_senders),
        "{written_by_senders} of a burst of 100 written by the senders: \
         only the first of an idle period should be"
    );
    bounded("flush", sink.flush()).await.expect("flush");
    let frames = peer.recording().wait_for_frames(100).await;
    assert_eq!(ids_of(&frames), (0..100).collect::<Vec<_>>());
}

/// A frame larger than the socket can take at once: the sender writes what
/// fits, the writer the rest, and the peer gets every frame whole and in order.
#[tokio::test]
async fn a_partly_written_frame_is_finished_by_the_writer() {
    const LARGE: usize = 4 * 1024 * 1024;
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("partial");
    let peer = Peer::length_prefixed(listener);
    let sink = EndpointSink::relay(
        "partial",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_max_message_bytes(2 * LARGE)
            .with_retry(quick_retry()),
    );
    bounded("connect", sink.connect()).await.expect("connect");
    tokio::time::sleep(IDLE).await;
    bounded("send", sink.send(numbered(0, LARGE)))
        .await
        .expect("send");
    let after_first = sink.metadata();
    assert_eq!(
        after_first.messages_sent, 0,
        "a 4 MiB frame fits no socket buffer at once: the writer must finish it"
    );
    for id in 1..4 {
        bounded("send", sink.send(numbered(id, 64 + id as usize)))
            .await
            .expect("send");
    }
    bounded("flush", sink.flush()).await.expect("flush");
    let frames = peer.recording().wait_for_frames(4).await;
    assert_eq!(ids_of(&frames), vec![0, 1, 2, 3]);
    assert_eq!(frames[0].len(), LARGE);
    assert!(peer.recording().anomalies().is_empty());
    assert_eq!(sink.metadata().messages_sent, 4);
}
