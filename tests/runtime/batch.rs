//! `send_batch` on an endpoint sink: the messages go into the queue a run at
//! a time under one hold of the lock, and the batch keeps every promise of
//! sending them one by one: all of them, in order, counted once; waiting for
//! the connection or for room where a send would; and stopping at the first
//! message a send would refuse, the ones before it accepted.

use std::sync::Arc;
use std::time::Duration;

use sinks::config::{Endpoint, LeafConfig};
use sinks::{EndpointSink, Message, MessageSink, SinkError};

use crate::support::{
    Peer, SocketDir, assert_pending_for, bind_tcp, bounded, give_up_fast, ids_of, numbered,
    quick_retry, tagged, ws_endpoint,
};

/// Payload sizes a batch mixes: copied into the queue (small) and kept as
/// sent (over the copy limit of 1 KiB).
const SIZES: [usize; 4] = [8, 64, 900, 2_000];

fn numbered_batch(ids: std::ops::Range<u64>) -> Vec<Message> {
    ids.map(|id| numbered(id, SIZES[id as usize % SIZES.len()]))
        .collect()
}

fn relay(path: std::path::PathBuf, buffer: usize) -> EndpointSink {
    EndpointSink::relay(
        "batched",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_buffer_size(buffer)
            .with_retry(quick_retry()),
    )
}

/// A relay with room for `buffer` messages, connected to a recording peer.
async fn connected_relay(dir: &SocketDir, buffer: usize) -> (EndpointSink, Peer) {
    let (listener, path) = dir.bind("relay");
    let peer = Peer::length_prefixed(listener);
    let sink = relay(path, buffer);
    bounded("connect", sink.connect()).await.expect("connect");
    (sink, peer)
}

/// Sends `numbered_batch(0..count)` in one `send_batch`, flushes, and checks
/// that the peer got every frame, in order, each of its size.
async fn sends_a_numbered_batch(sink: &EndpointSink, peer: &Peer, count: u64) {
    bounded("send_batch", sink.send_batch(numbered_batch(0..count)))
        .await
        .expect("send_batch");
    bounded("flush", sink.flush()).await.expect("flush");
    let frames = peer.recording().wait_for_frames(count as usize).await;
    assert_eq!(ids_of(&frames), (0..count).collect::<Vec<_>>());
    for (id, frame) in frames.iter().enumerate() {
        assert_eq!(frame.len(), SIZES[id % SIZES.len()], "frame {id}");
    }
}

#[tokio::test]
async fn a_batch_arrives_whole_in_order_and_counted_once() {
    let dir = SocketDir::new();
    let (sink, peer) = connected_relay(&dir, 10_000).await;

    sends_a_numbered_batch(&sink, &peer, 1_000).await;
    let metadata = sink.metadata();
    assert_eq!(metadata.messages_sent, 1_000);
    assert_eq!(metadata.messages_failed, 0);
    assert_eq!(metadata.queue_depth, 0);
}

#[tokio::test]
async fn a_batch_larger_than_the_queue_waits_for_room_and_keeps_order() {
    let dir = SocketDir::new();
    // Room for 16: a batch of 5,000 waits for the writer hundreds of times.
    let (sink, peer) = connected_relay(&dir, 16).await;

    bounded("send_batch", sink.send_batch(numbered_batch(0..5_000)))
        .await
        .expect("send_batch");
    // A send after the batch comes after all of it.
    bounded("send", sink.send(numbered(5_000, 64)))
        .await
        .expect("send");
    bounded("flush", sink.flush()).await.expect("flush");

    let frames = peer.recording().wait_for_frames(5_001).await;
    assert_eq!(ids_of(&frames), (0..5_001).collect::<Vec<_>>());
    assert_eq!(sink.metadata().messages_sent, 5_001);
}

#[tokio::test]
async fn a_batch_into_an_idle_sink_connects_once_and_arrives_in_order() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("relay");
    let peer = Peer::length_prefixed(listener);
    let sink = relay(path, 10_000);
    assert_eq!(
        peer.recording().accepted(),
        0,
        "nothing connects before data"
    );

    bounded("send_batch", sink.send_batch(numbered_batch(0..300)))
        .await
        .expect("send_batch");
    bounded("flush", sink.flush()).await.expect("flush");

    let frames = peer.recording().wait_for_frames(300).await;
    assert_eq!(ids_of(&frames), (0..300).collect::<Vec<_>>());
    assert_eq!(peer.recording().accepted(), 1, "one connection");
}

#[tokio::test]
async fn a_batch_stops_at_the_first_refused_message_and_keeps_the_ones_before() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("relay");
    let peer = Peer::length_prefixed(listener);
    let sink = EndpointSink::relay(
        "limited",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_max_message_bytes(100),
    );
    bounded("connect", sink.connect()).await.expect("connect");

    // 200 fit; the 201st is over the limit; the ones after it are not sent.
    let mut batch = Vec::new();
    batch.extend((0..200).map(|id| numbered(id, 64)));
    batch.push(numbered(200, 101));
    batch.extend((201..300).map(|id| numbered(id, 64)));
    let result = bounded("send_batch", sink.send_batch(batch)).await;
    match result {
        Err(SinkError::MessageTooLarge { size, limit, .. }) => {
            assert_eq!((size, limit), (101, 100));
        }
        other => panic!("expected MessageTooLarge, got {other:?}"),
    }
    bounded("flush", sink.flush()).await.expect("flush");
    // A send after the refused batch still goes out, right after the 200.
    bounded("send", sink.send(numbered(1_000, 64)))
        .await
        .expect("send");
    bounded("flush", sink.flush()).await.expect("flush");

    let frames = peer.recording().wait_for_frames(201).await;
    let mut expected: Vec<u64> = (0..200).collect();
    expected.push(1_000);
    assert_eq!(ids_of(&frames), expected);
    let metadata = sink.metadata();
    assert_eq!((metadata.messages_sent, metadata.messages_failed), (201, 0));
}

#[tokio::test]
async fn a_batch_to_a_peer_that_never_comes_up_fails_with_the_connect_error() {
    let dir = SocketDir::new();
    let sink = EndpointSink::relay(
        "absent",
        LeafConfig::new(Endpoint::unix(dir.path("absent")).expect("an absolute socket path"))
            .with_retry(give_up_fast()),
    );
    let result = bounded("send_batch", sink.send_batch(numbered_batch(0..50))).await;
    match result {
        Err(SinkError::ConnectionFailed { attempts, .. }) => assert_eq!(attempts, 2),
        other => panic!("expected ConnectionFailed, got {other:?}"),
    }
    let metadata = sink.metadata();
    assert_eq!(
        (metadata.messages_sent, metadata.messages_failed),
        (0, 0),
        "nothing was accepted"
    );
}

/// Four tasks batching into one sink while the peer reads slowly enough
/// that the queue fills: each task's messages arrive in its order, nothing
/// twice, nothing lost, and the counters agree with the peer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_tasks_batching_into_a_full_queue_each_keep_their_order() {
    const TASKS: u32 = 4;
    const BATCHES: u64 = 100;
    const BATCH: u64 = 50;
    let dir = SocketDir::new();
    let (sink, peer) = connected_relay(&dir, 64).await;
    let sink = Arc::new(sink);
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let sink = Arc::clone(&sink);
            tokio::spawn(async move {
                for batch in 0..BATCHES {
                    let messages = (batch * BATCH..(batch + 1) * BATCH)
                        .map(|seq| tagged(task, seq, 64))
                        .collect();
                    sink.send_batch(messages).await.expect("send_batch");
                }
            })
        })
        .collect();
    // The peer stops reading for a while mid-stream, so batches meet a full queue.
    tokio::time::sleep(Duration::from_millis(5)).await;
    peer.pause_reading();
    tokio::time::sleep(Duration::from_millis(100)).await;
    peer.resume_reading();
    for task in tasks {
        bounded("a batching task", task).await.expect("task");
    }
    bounded("flush", sink.flush()).await.expect("flush");

    let total = (TASKS as u64 * BATCHES * BATCH) as usize;
    let frames = peer.recording().wait_for_frames(total).await;
    let mut next = vec![0u64; TASKS as usize];
    for frame in &frames {
        let (task, seq) = crate::support::tag_of(frame);
        assert_eq!(
            seq, next[task as usize],
            "task {task}'s messages out of order"
        );
        next[task as usize] += 1;
    }
    assert!(next.iter().all(|&count| count == BATCHES * BATCH));
    assert_eq!(peer.recording().accepted(), 1, "one connection");
    let metadata = sink.metadata();
    assert_eq!(metadata.messages_sent, total as u64);
    assert_eq!(metadata.messages_failed, 0);
}

/// WebSocket keeps every payload as it was sent (one frame per message):
/// the batch path takes each payload into the queue instead of copying it.
#[tokio::test]
async fn a_batch_over_websocket_arrives_one_frame_per_message_in_order() {
    let (listener, address) = bind_tcp().await;
    let peer = Peer::websocket(listener);
    let sink = EndpointSink::direct(
        "ws",
        LeafConfig::new(ws_endpoint(address)).with_retry(quick_retry()),
    );
    sends_a_numbered_batch(&sink, &peer, 500).await;
    assert_eq!(sink.metadata().messages_sent, 500);
}

/// A batch whose future is dropped while it waits for room leaves the
/// messages before the waiting one accepted (they are all written, in
/// order) and the rest not: nothing after them arrives, and a later send
/// comes right after them.
#[tokio::test]
async fn a_batch_dropped_while_it_waits_for_room_keeps_its_accepted_prefix_and_nothing_else() {
    /// Over the copy limit, so the writer blocks on the peer's full socket
    /// after a few messages and the queue of 8 fills behind it.
    const LARGE: usize = 64 * 1024;
    let dir = SocketDir::new();
    let (sink, peer) = connected_relay(&dir, 8).await;
    peer.pause_reading();
    let batch = (0..100).map(|id| numbered(id, LARGE)).collect();
    let mut waiting = sink.send_batch(batch);
    assert_pending_for(
        "a batch into a full queue",
        &mut waiting,
        Duration::from_millis(300),
    )
    .await;
    drop(waiting);
    peer.resume_reading();
    bounded("flush", sink.flush()).await.expect("flush");
    let accepted = sink.metadata().messages_sent;
    assert!(
        (8..100).contains(&accepted),
        "{accepted} of the batch went in before it was dropped"
    );
    bounded("send", sink.send(numbered(1_000, 64)))
        .await
        .expect("send");
    bounded("flush", sink.flush()).await.expect("flush");

    let frames = peer
        .recording()
        .wait_for_frames(accepted as usize + 1)
        .await;
    let mut expected: Vec<u64> = (0..accepted).collect();
    expected.push(1_000);
    assert_eq!(ids_of(&frames), expected);
    assert_eq!(sink.metadata().messages_failed, 0);
}
