//! Ordered and bounded: one sender's messages arrive in order; at most
//! `buffer_size` messages wait in the queue; `send` waits for room,
//! `try_send` returns `BufferFull`, and a wait longer than `wait_timeout`
//! ends in `Timeout`.

use std::time::Duration;

use sinks::config::{Endpoint, LeafConfig, RetryPolicy};
use sinks::{EndpointSink, MessageSink, SinkError};

use crate::support::{
    Peer, SocketDir, assert_pending_for, bind_tcp, bounded, ids_of, numbered, quick_retry,
    tcp_endpoint,
};

const BUFFER: usize = 4;
/// Large enough that one message fills the socket buffers, so the writer
/// blocks in the middle of its first batch while the peer does not read.
const LARGE: usize = 512 * 1024;

/// A sink to a peer that accepts and does not read.
async fn stalled(dir: &SocketDir, retry: RetryPolicy) -> (EndpointSink, Peer) {
    let (listener, path) = dir.bind("stalled");
    let peer = Peer::length_prefixed(listener);
    peer.pause_reading();
    let sink = EndpointSink::relay(
        "stalled",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_buffer_size(BUFFER)
            .with_retry(retry),
    );
    bounded("connect", sink.connect()).await.expect("connect");
    (sink, peer)
}

/// `try_send`s until the queue stays full (the writer is stuck in a write);
/// returns how many were accepted.
async fn fill(sink: &EndpointSink) -> u64 {
    let mut accepted = 0;
    bounded("filling the queue", async {
        loop {
            match sink.try_send(numbered(accepted, LARGE)) {
                Ok(()) => accepted += 1,
                Err(SinkError::BufferFull { capacity, .. }) => {
                    assert_eq!(capacity, BUFFER);
                    // Full twice, some time apart: the writer is not taking more.
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    if matches!(
                        sink.try_send(numbered(accepted, LARGE)),
                        Err(SinkError::BufferFull { .. })
                    ) {
                        return;
                    }
                    accepted += 1;
                }
                Err(error) => panic!("try_send: {error}"),
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    accepted
}

#[tokio::test]
async fn try_send_reports_buffer_full_and_send_waits_for_room() {
    let dir = SocketDir::new();
    let (sink, peer) = stalled(&dir, quick_retry()).await;
    let accepted = fill(&sink).await;
    // The queue holds `buffer_size`; the writer holds at most one batch,
    // itself no larger than the queue was.
    assert!(
        accepted as usize > BUFFER && accepted as usize <= 2 * BUFFER,
        "{accepted} messages accepted with a buffer of {BUFFER}"
    );

    let mut waiting = sink.send(numbered(accepted, LARGE));
    assert_pending_for(
        "send into a full queue",
        &mut waiting,
        Duration::from_millis(150),
    )
    .await;
    assert!(matches!(
        sink.try_send(numbered(accepted, LARGE)),
        Err(SinkError::BufferFull { .. })
    ));

    peer.resume_reading();
    bounded("send once there is room", waiting)
        .await
        .expect("send");
    bounded("flush", sink.flush()).await.expect("flush");
    let frames = peer
        .recording()
        .wait_for_frames(accepted as usize + 1)
        .await;
    assert_eq!(
        ids_of(&frames),
        (0..=accepted).collect::<Vec<_>>(),
        "everything accepted arrived, in order"
    );
    assert_eq!(sink.metadata().messages_failed, 0);
}

#[tokio::test]
async fn send_gives_up_with_timeout_when_no_room_is_made() {
    let dir = SocketDir::new();
    let wait_timeout = Duration::from_millis(200);
    let retry = RetryPolicy::default()
        .with_max_retries(0)
        .with_connect_timeout(Duration::from_millis(50))
        .with_wait_timeout(wait_timeout);
    let (sink, peer) = stalled(&dir, retry).await;
    let accepted = fill(&sink).await;

    let started = tokio::time::Instant::now();
    match bounded("send", sink.send(numbered(accepted, LARGE))).await {
        Err(SinkError::Timeout {
            operation, after, ..
        }) => {
            assert_eq!(operation, "send");
            assert_eq!(after, wait_timeout);
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(started.elapsed() >= wait_timeout);

    // The timed-out message was not accepted: only the others arrive.
    peer.resume_reading();
    bounded("flush", sink.flush()).await.expect("flush");
    let frames = peer.recording().wait_for_frames(accepted as usize).await;
    assert_eq!(ids_of(&frames), (0..accepted).collect::<Vec<_>>());
}

/// Many small messages through a small queue: the sender waits for room
/// again and again, and the peer sees every message once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_senders_messages_arrive_in_order() {
    const COUNT: u64 = 20_000;
    let (listener, address) = bind_tcp().await;
    let peer = Peer::length_prefixed(listener);
    let sink = EndpointSink::direct(
        "ordered",
        LeafConfig::new(tcp_endpoint(address))
            .with_buffer_size(64)
            .with_retry(quick_retry()),
    );
    bounded("sending", async {
        for id in 0..COUNT {
            sink.send(numbered(id, 40)).await.expect("send");
        }
    })
    .await;
    bounded("flush", sink.flush()).await.expect("flush");
    let frames = peer.recording().wait_for_frames(COUNT as usize).await;
    assert_eq!(ids_of(&frames), (0..COUNT).collect::<Vec<_>>());
    assert_eq!(sink.metadata().messages_sent, COUNT);
    assert_eq!(peer.recording().accepted(), 1);
}
