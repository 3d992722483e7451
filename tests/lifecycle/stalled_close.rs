//! Closing a sink whose peer stopped reading: `disconnect()` and dropping
//! the last handle race what is left to write against the drain deadline
//! (`lazy.wait_timeout_secs`), then fail the rest and free the socket. A
//! peer that never reads again cannot keep the writer, its socket or its
//! queue alive.
//!
//! The messages the peer received before the deadline count as sent, not
//! failed, including frames of a batch the deadline cut short (the same
//! case as in `runtime_drop`).

use std::time::{Duration, Instant};

use sinks::config::{Endpoint, LeafConfig};
use sinks::{EndpointSink, MessageSink, SinkError};

use crate::stall::writer_stuck_inside_a_write;
use crate::support::{SocketDir, WatchedPeer, id_of, quick_retry};

/// The drain deadline, `lazy.wait_timeout_secs`, set small.
const DEADLINE: Duration = Duration::from_secs(1);
/// Scheduling slack on a loaded machine beyond the deadline.
const MARGIN: Duration = Duration::from_secs(1);
const BUFFER: usize = 8;

fn stalled_sink(peer_path: std::path::PathBuf) -> EndpointSink {
    EndpointSink::relay(
        "relay",
        LeafConfig::new(Endpoint::unix(peer_path).expect("an absolute socket path"))
            .with_buffer_size(BUFFER)
            .with_retry(quick_retry().with_wait_timeout(DEADLINE)),
    )
}

/// On one thread, so the writer's first batch is the whole pre-filled queue
/// (see `writer_stuck_inside_a_write`), whatever the machine's timing.
#[tokio::test]
async fn disconnect_on_a_stalled_peer_returns_by_the_drain_deadline_and_fails_what_was_not_written()
{
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("relay");
    let peer = WatchedPeer::start(listener);
    peer.pause_reading();
    let sink = stalled_sink(path);
    let accepted = writer_stuck_inside_a_write(&sink, BUFFER).await;

    let disconnecting = Instant::now();
    let result = tokio::time::timeout(DEADLINE + MARGIN, sink.disconnect())
        .await
        .unwrap_or_else(|_| {
            panic!("disconnect on a stalled peer did not return within the drain deadline ({DEADLINE:?}) + {MARGIN:?}")
        });
    let took = disconnecting.elapsed();
    let metadata = sink.metadata();
    let failed = match result {
        Err(SinkError::SendFailed { failed, reason, .. }) => {
            assert!(
                reason.contains("drain deadline"),
                "the reason names the deadline: {reason}"
            );
            failed
        }
        other => panic!("disconnect after {took:?}: expected SendFailed, got {other:?}"),
    };
    assert_eq!(
        failed, metadata.messages_failed,
        "every failure is reported"
    );
    assert_eq!(
        metadata.messages_sent + failed,
        accepted,
        "every accepted message is sent or failed"
    );
    assert_eq!(metadata.queue_depth, 0, "nothing is left queued");

    // The socket is closed: the peer reads what the kernel holds, then the
    // end of the stream (inside a frame, if the deadline cut one).
    peer.resume_reading();
    let connections = peer.wait_until_ended(1).await;
    connections[0].assert_closed_by_sender();
    let received: Vec<u64> = connections[0].frames.iter().map(|f| id_of(f)).collect();
    assert_eq!(received, (0..received.len() as u64).collect::<Vec<_>>());
    assert_eq!(
        received.len() as u64 + failed,
        accepted,
        "{} received + {failed} counted failed must be the {accepted} accepted ({} counted sent): \
         a message is either written or failed, once",
        received.len(),
        metadata.messages_sent
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_handle_of_a_stalled_sink_frees_its_socket_by_the_drain_deadline() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("relay");
    let peer = WatchedPeer::start(listener);
    peer.pause_reading();
    let sink = stalled_sink(path);
    let accepted = writer_stuck_inside_a_write(&sink, BUFFER).await;

    drop(sink);
    // Not an assertion: the peer stays stalled past the deadline, then
    // reads again. A writer that kept its socket would now deliver the rest.
    tokio::time::sleep(DEADLINE + MARGIN).await;
    peer.resume_reading();
    let connections = peer.wait_until_ended(1).await;
    let received = connections[0].frames.len() as u64;
    connections[0].assert_closed_by_sender();
    assert!(
        received < accepted,
        "all {accepted} messages arrived once the peer read again after the drain deadline: \
         the dropped sink's writer kept its socket past the deadline"
    );
}
