//! A peer that accepts and then does not read: the sink's memory stays
//! bounded by `buffer_size`, `try_send` says `BufferFull`, `send` waits, and
//! the waiting send completes once the peer reads again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sinks::config::{Endpoint, LeafConfig};
use sinks::{EndpointSink, MessageSink, SinkError};
use tokio::net::UnixListener;
use tokio::sync::oneshot;

use crate::peers::{Log, bounded, message_sized, quick_retry, stalling_peer};

const BUFFER: usize = 16;
const PAYLOAD: usize = 4096;
/// How long `try_send` must keep finding the queue full before we call the
/// writer stuck: far longer than a write to a reading peer takes.
const STUCK_FOR: Duration = Duration::from_millis(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_peer_bounds_memory_and_backpressure_releases_when_it_reads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("stall.sock");
    let listener = UnixListener::bind(&path).expect("bind");
    let log = Log::default();
    let (start_reading, reading_starts) = oneshot::channel();
    let peer = stalling_peer(listener, log.clone(), reading_starts);
    let sink = Arc::new(EndpointSink::direct(
        "stalled",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_buffer_size(BUFFER)
            .with_retry(quick_retry()),
    ));
    bounded("connect", sink.connect()).await.expect("connect");

    // The kernel's socket buffers take what they can, then the queue fills:
    // try_send until it has said BufferFull for a good while.
    let mut accepted = 0u64;
    let mut full: Option<(Instant, SinkError)> = None;
    bounded("filling the queue", async {
        while full
            .as_ref()
            .is_none_or(|(since, _)| since.elapsed() < STUCK_FOR)
        {
            match sink.try_send(message_sized(accepted, PAYLOAD)) {
                Ok(()) => {
                    accepted += 1;
                    full = None;
                    assert!(
                        accepted < 10_000,
                        "try_send never said BufferFull: {accepted} messages accepted for a peer that does not read"
                    );
                }
                Err(error @ SinkError::BufferFull { .. }) => {
                    if full.is_none() {
                        full = Some((Instant::now(), error));
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(other) => panic!("expected BufferFull, got {other:?}"),
            }
        }
    })
    .await;
    match full {
        Some((_, SinkError::BufferFull { capacity, .. })) => assert_eq!(capacity, BUFFER),
        other => panic!("expected BufferFull, got {other:?}"),
    }

    // Memory: what is accepted and not yet written is the queue plus the one
    // batch the writer is stuck on, so at most 2 x buffer_size payloads.
    let unwritten = accepted - sink.metadata().messages_sent;
    assert!(
        unwritten as usize <= 2 * BUFFER,
        "{unwritten} accepted messages are held in memory, more than 2 x buffer_size ({BUFFER})"
    );

    // Backpressure: a send waits while the queue is full...
    let waiting = tokio::spawn({
        let sink = Arc::clone(&sink);
        let id = accepted;
        async move { sink.send(message_sized(id, PAYLOAD)).await }
    });
    tokio::time::sleep(STUCK_FOR).await;
    assert!(
        !waiting.is_finished(),
        "send returned while the queue was full and the peer stalled"
    );

    // ...and completes once the peer reads again.
    start_reading
        .send(())
        .expect("the peer waits for the signal");
    bounded("the waiting send", waiting)
        .await
        .expect("send task")
        .expect("the send completes once the peer reads");
    accepted += 1;
    bounded("flush", sink.flush()).await.expect("flush");
    bounded("disconnect", sink.disconnect())
        .await
        .expect("disconnect");
    bounded("the peer reads to the end", peer)
        .await
        .expect("peer task");
    assert_eq!(
        log.ids(),
        (0..accepted).collect::<Vec<_>>(),
        "everything accepted arrives, in order, once the peer reads"
    );
}
