//! A tokio runtime that goes away under a sink: before the writer it spawned
//! ever ran, while it is connecting, or while it is inside a write. The sink
//! outlives it (a `static` or leaked sink, as in a `#[tokio::test]` that
//! shares one), and on a new runtime `flush()` answers at once, counting
//! what the dropped runtime took with it, never timing out on a stuck state;
//! then the sink sends again.
//!
//! Plain `#[test]`s: each builds its runtimes by hand, to drop them at the
//! right moment.

use std::os::unix::net::UnixListener as StdUnixListener;
use std::time::Duration;

use sinks::config::{Endpoint, LeafConfig};
use sinks::{ConnectionState, EndpointSink, MessageSink, SinkError};
use tokio::runtime::{Builder, Runtime};

use crate::stall::writer_stuck_inside_a_write;
use crate::support::{SocketDir, WatchedPeer, bounded, eventually, id_of, numbered, quick_retry};

/// `lazy.wait_timeout_secs`, the bound of every wait. A flush that answers
/// later than half of it was stuck, not settling.
const WAIT: Duration = Duration::from_secs(6);

fn current_thread() -> Runtime {
    Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// A sink that outlives every runtime of the test, as a `static` would.
fn leaked_sink(path: std::path::PathBuf, buffer_size: usize) -> &'static EndpointSink {
    Box::leak(Box::new(EndpointSink::relay(
        "relay",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_buffer_size(buffer_size)
            .with_retry(quick_retry().with_wait_timeout(WAIT)),
    )))
}

/// A flush on a fresh runtime: it must answer well within [`WAIT`], and
/// `SendFailed` must count exactly what the sink counts as failed.
async fn flush_answers_at_once(sink: &EndpointSink) -> u64 {
    let flushed = tokio::time::timeout(WAIT / 2, sink.flush())
        .await
        .unwrap_or_else(|_| panic!("flush did not answer within {:?}: a stuck state", WAIT / 2));
    let metadata = sink.metadata();
    match flushed {
        Ok(()) => assert_eq!(metadata.messages_failed, 0, "failures went unreported"),
        Err(SinkError::SendFailed { failed, .. }) => assert_eq!(
            failed, metadata.messages_failed,
            "flush reports every failed message"
        ),
        Err(other) => panic!("flush on the new runtime: {other}"),
    }
    metadata.messages_failed
}

/// The sink works on the new runtime: a send connects, the peer gets it.
async fn sends_again(sink: &EndpointSink, peer: &WatchedPeer, id: u64) {
    bounded("a send on the new runtime", sink.send(numbered(id, 32)))
        .await
        .expect("the sink sends again on a new runtime");
    bounded("flush", sink.flush())
        .await
        .expect("nothing new failed");
    eventually("the new message arriving", || {
        peer.connections().iter().any(|connection| {
            connection
                .frames
                .iter()
                .any(|frame| frame.len() == 32 && id_of(frame) == id)
        })
    })
    .await;
}

#[test]
fn a_writer_dropped_before_its_first_poll_fails_its_message_and_the_sink_works_on_a_new_runtime() {
    let dir = SocketDir::new();
    let path = dir.path("relay");
    let listener = StdUnixListener::bind(&path).expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let sink = leaked_sink(path, 64);

    // The way a `#[tokio::test]` ends: its future completes without
    // yielding, and the runtime is dropped with the spawned writer unpolled.
    let first = current_thread();
    first.block_on(async {
        sink.try_send(numbered(1, 32))
            .expect("accepted; the writer is spawned");
    });
    drop(first);
    assert_eq!(
        listener.accept().map_err(|error| error.kind()).err(),
        Some(std::io::ErrorKind::WouldBlock),
        "the writer ran before its runtime was dropped: this test proves nothing"
    );

    let second = current_thread();
    second.block_on(async {
        let listener = tokio::net::UnixListener::from_std(listener).expect("to tokio");
        let peer = WatchedPeer::start(listener);
        let failed = flush_answers_at_once(sink).await;
        assert_eq!(
            failed, 1,
            "the message the dropped writer never wrote is counted failed"
        );
        assert_ne!(sink.state(), ConnectionState::Connecting, "left connecting");
        sends_again(sink, &peer, 2).await;
        assert_eq!(peer.frame_count(), 1, "only the second message was written");
    });
}

#[test]
fn a_runtime_dropped_while_its_writer_connects_fails_the_queue_and_the_sink_works_on_a_new_runtime()
{
    let dir = SocketDir::new();
    // Nothing listens yet: the writer retries every 10 ms for 1.5 s.
    let path = dir.path("relay");
    let sink = leaked_sink(path.clone(), 64);

    let first = current_thread();
    first.block_on(async {
        for id in 0..3 {
            sink.try_send(numbered(id, 32)).expect("accepted");
        }
        // The writer runs meanwhile: several attempts, then a retry pause.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(sink.state(), ConnectionState::Connecting);
    });
    drop(first);

    let second = current_thread();
    second.block_on(async {
        let failed = flush_answers_at_once(sink).await;
        assert_eq!(failed, 3, "the three queued messages are counted failed");
        let peer = WatchedPeer::start(crate::support::bind_unix(&path));
        sends_again(sink, &peer, 3).await;
        assert_eq!(peer.frame_count(), 1, "only the new message was written");
    });
}

/// Frames of the in-flight batch that an earlier `write` of that batch
/// already handed to the kernel reach the peer; they count as sent
/// (`EndpointState::batch_progress`), and only the rest as failed, so
/// `received + failed == accepted`. A drain deadline that cuts a write short
/// is the same case (`stalled_close`).
#[test]
fn a_runtime_dropped_mid_write_counts_every_message_once_and_the_sink_works_on_a_new_runtime() {
    const BUFFER: usize = 8;
    let dir = SocketDir::new();
    let path = dir.path("relay");
    // The peer lives on its own runtime, so it survives the writer's.
    let peer_runtime = Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("the peer's runtime");
    let peer = peer_runtime.block_on(async {
        let peer = WatchedPeer::start(crate::support::bind_unix(&path));
        peer.pause_reading();
        peer
    });
    let sink = leaked_sink(path, BUFFER);

    let first = current_thread();
    let accepted = first.block_on(writer_stuck_inside_a_write(sink, BUFFER));
    drop(first);

    let second = current_thread();
    second.block_on(async {
        let failed = flush_answers_at_once(sink).await;
        let sent = sink.metadata().messages_sent;
        assert_eq!(sent + failed, accepted, "every accepted message is settled");
        assert!(failed > 0, "the in-flight batch cannot all have been written");

        // The dropped writer's socket is closed; the peer reads what the
        // kernel holds, then the end of the stream (maybe inside a frame).
        peer.resume_reading();
        let connections = peer.wait_until_ended(1).await;
        let received: Vec<u64> = connections[0].frames.iter().map(|f| id_of(f)).collect();
        connections[0].assert_closed_by_sender();
        assert_eq!(
            received,
            (0..received.len() as u64).collect::<Vec<_>>(),
            "in order, none lost in the middle"
        );
        assert_eq!(
            received.len() as u64 + failed,
            accepted,
            "{} received + {failed} counted failed must be the {accepted} accepted ({sent} counted sent): \
             a message is either written or failed, once",
            received.len()
        );
        sends_again(sink, &peer, accepted).await;
    });
    drop(peer);
    drop(peer_runtime);
}
