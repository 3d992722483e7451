//! Cooperative scheduling: a `send` that never has to wait still yields
//! once each time its sink is left with another 1,024 unwritten messages, so
//! a producer in a tight loop cannot keep its worker to itself and starve the
//! sink's writer (or any other task) until the queue fills. A composite
//! passes its targets' yields on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sinks::config::{CompositePattern, Endpoint, LeafConfig};
use sinks::{EndpointSink, MessageSink};

use crate::support::{Peer, SocketDir, bounded, composite_of, ids_of, numbered};

const MESSAGES: u64 = 5_000;

/// A connected relay to a recording peer, with room for every message.
async fn roomy_relay(dir: &SocketDir, name: &str) -> (Arc<EndpointSink>, Peer) {
    let (listener, path) = dir.bind(name);
    let peer = Peer::length_prefixed(listener);
    let sink = EndpointSink::relay(
        name,
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_buffer_size(2 * MESSAGES as usize),
    );
    bounded("connect", sink.connect()).await.expect("connect");
    (Arc::new(sink), peer)
}

/// Sends `MESSAGES` through `sink` in a loop that awaits nothing else, and
/// asserts that a task spawned before it, and each writer (by its
/// `messages_sent`), ran during the loop.
async fn assert_a_tight_loop_yields(sink: &dyn MessageSink, writers: &[&Arc<EndpointSink>]) {
    let other_ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&other_ran);
    tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });

    // The queues have room for every message, so no send waits.
    for id in 0..MESSAGES {
        sink.send(numbered(id, 16)).await.expect("send");
    }
    for writer in writers {
        let written_during_loop = writer.metadata().messages_sent;
        assert!(
            written_during_loop > 0,
            "the writer of {} did not run during {MESSAGES} sends through {}: send never yielded",
            writer.metadata().name,
            sink.metadata().name,
        );
    }
    assert!(
        other_ran.load(Ordering::SeqCst),
        "a spawned task did not run during {MESSAGES} sends: send never yielded"
    );
    bounded("flush", sink.flush()).await.expect("flush");
}

// `#[tokio::test]` runs on a current_thread runtime: the writer and the
// other task can only run when the sending task yields.
#[tokio::test]
async fn a_tight_send_loop_lets_the_writer_and_other_tasks_run() {
    let dir = SocketDir::new();
    let (sink, peer) = roomy_relay(&dir, "fair").await;
    assert_a_tight_loop_yields(sink.as_ref(), &[&sink]).await;
    let frames = peer.recording().wait_for_frames(MESSAGES as usize).await;
    assert_eq!(ids_of(&frames), (0..MESSAGES).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_tight_send_loop_through_a_composite_lets_every_target_writer_run() {
    for pattern in [CompositePattern::Fanout, CompositePattern::RoundRobin] {
        let dir = SocketDir::new();
        let (first, first_peer) = roomy_relay(&dir, "first").await;
        let (second, second_peer) = roomy_relay(&dir, "second").await;
        let composite = composite_of("both", pattern, &[&first, &second], Duration::from_secs(60));
        assert_a_tight_loop_yields(&composite, &[&first, &second]).await;
        let each = match pattern {
            CompositePattern::Fanout => MESSAGES,
            _ => MESSAGES / 2,
        };
        for peer in [first_peer, second_peer] {
            let frames = peer.recording().wait_for_frames(each as usize).await;
            assert_eq!(frames.len() as u64, each, "{pattern:?}");
        }
    }
}
