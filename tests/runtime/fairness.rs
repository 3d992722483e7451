//! Cooperative scheduling: a `send` that never has to wait still spends
//! tokio's per-task budget, as tokio's own channels do, so a producer in a
//! tight loop cannot keep its worker to itself and starve the sink's writer
//! (or any other task) until the queue fills; and a send that wakes the
//! parked writer yields at once, so the writer runs while the producer goes
//! on. A composite passes its targets' yields on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sinks::config::{CompositePattern, Endpoint, LeafConfig};
use sinks::{EndpointSink, MessageSink};

use crate::support::{
    Peer, SocketDir, bind_tcp, bounded, composite_of, ids_of, numbered, ws_endpoint,
};

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

/// Whether a task spawned now has run by the time `send` returns.
async fn spawned_task_ran_during(send: impl std::future::Future<Output = ()>) -> bool {
    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
    send.await;
    ran.load(Ordering::SeqCst)
}

// A WebSocket sink never writes through, so a send into its parked writer
// always wakes it. Sent directly, then through a fanout of it.
#[tokio::test]
async fn a_send_that_wakes_the_parked_writer_yields_once() {
    let (listener, address) = bind_tcp().await;
    let peer = Peer::websocket(listener);
    let sink = Arc::new(EndpointSink::direct(
        "wake",
        LeafConfig::new(ws_endpoint(address)),
    ));
    bounded("connect", sink.connect()).await.expect("connect");
    let fanout = composite_of(
        "one",
        CompositePattern::Fanout,
        &[&sink],
        Duration::from_secs(60),
    );
    let through: [&dyn MessageSink; 2] = [sink.as_ref(), &fanout];
    for (id, sender) in (0..).zip(through) {
        // Long enough for the writer to linger and park.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let ran = spawned_task_ran_during(async {
            sender.send(numbered(id, 16)).await.expect("send");
        })
        .await;
        assert!(
            ran,
            "a send through {} that woke the writer returned without yielding: the writer, \
             queued behind it, could not run",
            sender.metadata().name
        );
        bounded("flush", sender.flush()).await.expect("flush");
    }
    let frames = peer.recording().wait_for_frames(2).await;
    assert_eq!(ids_of(&frames), vec![0, 1]);
}

#[tokio::test]
async fn inside_unconstrained_a_send_never_yields() {
    let dir = SocketDir::new();
    let (sink, peer) = roomy_relay(&dir, "free").await;
    let ran = spawned_task_ran_during(tokio::task::unconstrained(async {
        for id in 0..MESSAGES {
            sink.send(numbered(id, 16)).await.expect("send");
        }
    }))
    .await;
    assert!(
        !ran,
        "a send yielded inside `unconstrained`: its yields must go through tokio's budget"
    );
    // A send into an idle sink (writer parked, 20 µs without a send) writes
    // through to the socket itself: the first one, and now and then one
    // after the VM stalled the loop. The writer would have sent thousands.
    let sent = sink.metadata().messages_sent;
    assert!(
        sent < 100,
        "the writer ran during an unconstrained send loop on a current_thread runtime ({sent} sent)"
    );
    bounded("flush", sink.flush()).await.expect("flush");
    let frames = peer.recording().wait_for_frames(MESSAGES as usize).await;
    assert_eq!(ids_of(&frames), (0..MESSAGES).collect::<Vec<_>>());
}
