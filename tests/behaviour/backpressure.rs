//! Bounded and ordered: one sender's messages arrive in order; at most
//! `buffer_size` messages wait; `send` waits for room, `try_send` does not.

use std::time::{Duration, Instant};

use sinks::config::{Endpoint, LeafConfig, RetryPolicy};
use sinks::{EndpointSink, Message, MessageSink, SinkError};

use crate::common::{self, bind_unix, bounded, id_of, leaf, tcp_peer, unix_path};

#[tokio::test]
async fn one_senders_messages_arrive_in_the_order_sent() {
    let (address, received, accepts, _peer) = tcp_peer().await;
    let sink = EndpointSink::direct(
        "ordered",
        leaf(common::tcp_endpoint(address)).buffer_size(64),
    );
    for id in 0..5_000u64 {
        bounded("send", sink.send(Message::new(common::payload(id, 40))))
            .await
            .expect("send");
    }
    bounded("flush", sink.flush()).await.expect("flush");
    received.wait_for(5_000).await;
    assert_eq!(received.ids(), (0..5_000).collect::<Vec<u64>>());
    assert!(received.payloads().iter().all(|p| p.len() == 40));
    assert_eq!(accepts.get(), 1);
}

const BUFFER_SIZE: usize = 4;
/// Larger than a Unix socket's send buffer: one message fills the kernel.
const LARGE: usize = 256 * 1024;

#[tokio::test]
async fn a_stalled_peer_fills_the_buffer_then_send_waits_and_try_send_is_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = unix_path(dir.path(), "stalled");
    let listener = bind_unix(&path);
    let (start_reading, reading) = tokio::sync::oneshot::channel::<()>();
    let peer = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        // Accepts, then reads nothing until told to.
        let _ = reading.await;
        let mut frames = Vec::new();
        while let Ok(Some(frame)) = common::read_frame(&mut stream).await {
            frames.push(frame);
        }
        frames
    });
    let sink = EndpointSink::relay(
        "stalled",
        LeafConfig::new(Endpoint::Unix(path))
            .buffer_size(BUFFER_SIZE)
            .retry(common::quick_retry()),
    );

    // Fill: the writer takes what it can into the kernel and its batch, then
    // the queue fills and `try_send` is refused.
    let mut accepted = 0u64;
    let full = bounded("try_send reaching BufferFull", async {
        loop {
            match sink.try_send(Message::new(common::payload(accepted, LARGE))) {
                Ok(()) => accepted += 1,
                Err(error) => return error,
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert!(
        matches!(
            full,
            SinkError::BufferFull {
                capacity: BUFFER_SIZE,
                ..
            }
        ),
        "{full:?}"
    );
    // The queue, the writer's one batch, and at most a message or two in the
    // kernel: nothing grows without bound.
    assert!(
        accepted as usize <= 2 * BUFFER_SIZE + 2,
        "{accepted} messages accepted while the peer read nothing"
    );
    // Refused again: nothing drains while the peer stalls.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(matches!(
        sink.try_send(Message::new(common::payload(999, LARGE))),
        Err(SinkError::BufferFull { .. })
    ));

    // `send` waits for room instead.
    let mut waiting = Box::pin(sink.send(Message::new(common::payload(accepted, LARGE))));
    let early = tokio::time::timeout(Duration::from_millis(200), &mut waiting).await;
    assert!(early.is_err(), "send did not wait for room: {early:?}");

    // The peer reads: the waiting send completes and everything arrives.
    start_reading.send(()).expect("the peer is waiting");
    bounded("the waiting send", waiting)
        .await
        .expect("send completes once there is room");
    accepted += 1;
    bounded("flush", sink.flush()).await.expect("flush");
    bounded("disconnect", sink.disconnect())
        .await
        .expect("disconnect");
    let frames = bounded("the peer reading to EOF", peer)
        .await
        .expect("peer");
    let ids: Vec<u64> = frames.iter().map(|frame| id_of(frame)).collect();
    assert_eq!(ids, (0..accepted).collect::<Vec<u64>>());
    for (id, frame) in frames.iter().enumerate() {
        assert_eq!(
            frame[..],
            common::payload(id as u64, LARGE)[..],
            "frame {id}"
        );
    }
}

#[tokio::test]
async fn a_send_waiting_for_room_longer_than_wait_timeout_returns_timeout() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = unix_path(dir.path(), "stalled");
    let listener = bind_unix(&path);
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let peer = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let _ = released.await;
        let mut count = 0;
        while let Ok(Some(_)) = common::read_frame(&mut stream).await {
            count += 1;
        }
        count
    });
    let retry = RetryPolicy::default()
        .max_retries(0)
        .connect_timeout(Duration::from_millis(100))
        .wait_timeout(Duration::from_millis(300));
    let sink = EndpointSink::relay(
        "stalled",
        LeafConfig::new(Endpoint::Unix(path))
            .buffer_size(1)
            .retry(retry),
    );
    let mut accepted = 0u64;
    let started = loop {
        let started = Instant::now();
        let result = bounded(
            "send",
            sink.send(Message::new(common::payload(accepted, LARGE))),
        )
        .await;
        match result {
            Ok(()) => accepted += 1,
            Err(SinkError::Timeout {
                operation, after, ..
            }) => {
                assert_eq!(operation, "send");
                assert_eq!(after, Duration::from_millis(300));
                break started;
            }
            Err(other) => panic!("expected Timeout, got {other:?}"),
        }
        assert!(accepted < 10, "the buffer of 1 never filled");
    };
    assert!(started.elapsed() >= Duration::from_millis(300));
    release.send(()).expect("the peer is waiting");
    bounded("flush", sink.flush()).await.expect("flush");
    bounded("disconnect", sink.disconnect())
        .await
        .expect("disconnect");
    // The timed-out message was not accepted, so it never arrives.
    let count = bounded("the peer reading to EOF", peer)
        .await
        .expect("peer");
    assert_eq!(count, accepted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_of_several_concurrent_senders_keeps_its_own_order() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (path, received, accepts, _peer) = common::unix_peer(dir.path(), "shared");
    let sink = std::sync::Arc::new(EndpointSink::relay(
        "shared",
        leaf(Endpoint::Unix(path)).buffer_size(32),
    ));
    let mut senders = tokio::task::JoinSet::new();
    for sender in 0..4u64 {
        let sink = std::sync::Arc::clone(&sink);
        senders.spawn(async move {
            for seq in 0..500u64 {
                sink.send(Message::new(common::payload(sender << 32 | seq, 24)))
                    .await
                    .expect("send");
            }
        });
    }
    bounded("four senders", senders.join_all()).await;
    bounded("flush", sink.flush()).await.expect("flush");
    received.wait_for(2_000).await;
    for sender in 0..4u64 {
        let seqs: Vec<u64> = received
            .ids()
            .into_iter()
            .filter(|id| id >> 32 == sender)
            .map(|id| id & 0xffff_ffff)
            .collect();
        assert_eq!(seqs, (0..500).collect::<Vec<u64>>(), "sender {sender}");
    }
    assert_eq!(accepts.get(), 1);
}
