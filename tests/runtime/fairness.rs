//! Cooperative scheduling: a `send` that never has to wait still spends
//! tokio's per-task budget, as tokio's own channels do, so a producer in a
//! tight loop cannot keep its worker to itself and starve the sink's writer
//! (or any other task) until the queue fills.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sinks::config::{Endpoint, LeafConfig};
use sinks::{EndpointSink, MessageSink};

use crate::support::{Peer, SocketDir, bounded, ids_of, numbered};

const MESSAGES: u64 = 5_000;

// `#[tokio::test]` runs on a current_thread runtime: the writer and the
// other task can only run when the sending task yields.
#[tokio::test]
async fn a_tight_send_loop_lets_the_writer_and_other_tasks_run() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("fair");
    let peer = Peer::length_prefixed(listener);
    let sink = EndpointSink::relay(
        "fair",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_buffer_size(2 * MESSAGES as usize),
    );
    bounded("connect", sink.connect()).await.expect("connect");

    let other_ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&other_ran);
    tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });

    // The queue has room for every message, so no send waits; the loop
    // awaits nothing else.
    for id in 0..MESSAGES {
        sink.send(numbered(id, 16)).await.expect("send");
    }
    let written_during_loop = sink.metadata().messages_sent;
    assert!(
        written_during_loop > 0,
        "the writer did not run during {MESSAGES} sends: send never yielded"
    );
    assert!(
        other_ran.load(Ordering::SeqCst),
        "a spawned task did not run during {MESSAGES} sends: send never yielded"
    );

    bounded("flush", sink.flush()).await.expect("flush");
    let frames = peer.recording().wait_for_frames(MESSAGES as usize).await;
    assert_eq!(ids_of(&frames), (0..MESSAGES).collect::<Vec<_>>());
}
