//! `connect()`/`disconnect()` in a loop on one task while a plain thread
//! calls `try_send` as fast as it can: every disconnect finishes within its
//! documented bound having drained what was queued (the peer reads, so
//! nothing fails), the connections follow each other (never two carrying
//! data at once), and every accepted message arrives, once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sinks::config::{Endpoint, LeafConfig};
use sinks::{EndpointSink, MessageSink, SinkError};

use crate::ledger::{Ledger, ProducerLog, Window};
use crate::support::{SocketDir, WatchedPeer, bounded, quick_retry, tagged};

/// `lazy.wait_timeout_secs`: the drain deadline of each disconnect.
const WAIT: Duration = Duration::from_secs(1);
/// What a disconnect may take beyond its drain deadline: scheduling on a
/// loaded machine.
const MARGIN: Duration = Duration::from_secs(1);
/// How long the two loops race.
const RACE_FOR: Duration = Duration::from_millis(1500);

/// `try_send`s `tagged(0, seq)` from a plain thread inside the runtime's
/// context (so an idle sink can start its writer) until stopped.
fn try_send_thread(
    sink: Arc<EndpointSink>,
    runtime: tokio::runtime::Handle,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<ProducerLog> {
    std::thread::spawn(move || {
        let _entered = runtime.enter();
        let mut log = ProducerLog::default();
        let mut seq = 0;
        while !stop.load(Ordering::Relaxed) {
            let result = sink.try_send(tagged(0, seq, 64));
            if let Err(error) = &result {
                assert!(
                    matches!(
                        error,
                        SinkError::BufferFull { .. } | SinkError::Closed { .. }
                    ),
                    "try_send may only find the queue full or the sink closing: {error}"
                );
            }
            log.note(seq, &result);
            seq += 1;
            if seq % 32 == 0 {
                std::thread::sleep(Duration::from_micros(100));
            }
        }
        log
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_disconnect_loop_against_a_try_send_thread_keeps_one_connection_and_every_count() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("relay");
    let peer = WatchedPeer::start(listener);
    let sink = Arc::new(EndpointSink::relay(
        "relay",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_buffer_size(512)
            .with_retry(quick_retry().with_wait_timeout(WAIT)),
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let sender = try_send_thread(
        Arc::clone(&sink),
        tokio::runtime::Handle::current(),
        Arc::clone(&stop),
    );

    let mut cycles = 0u64;
    let started = Instant::now();
    while started.elapsed() < RACE_FOR {
        cycles += 1;
        bounded("connect", sink.connect())
            .await
            .expect("connect to a peer that is up");
        if cycles % 4 != 0 {
            tokio::time::sleep(Duration::from_millis(cycles % 4)).await;
        }
        let disconnecting = Instant::now();
        let result = tokio::time::timeout(WAIT + MARGIN, sink.disconnect())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "disconnect {cycles} did not finish within its drain deadline ({WAIT:?}) + {MARGIN:?}"
                )
            });
        // The peer reads: draining what was queued cannot fail.
        if let Err(error) = result {
            panic!(
                "disconnect {cycles} after {:?}: {error}",
                disconnecting.elapsed()
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    let log = tokio::task::spawn_blocking(move || sender.join())
        .await
        .expect("join")
        .expect("the try_send thread");
    bounded("flush", sink.flush())
        .await
        .expect("nothing failed");
    bounded("disconnect", sink.disconnect())
        .await
        .expect("nothing failed");
    let connections = peer.wait_until_ended(1).await;

    let metadata = sink.metadata();
    assert!(
        cycles >= 10 && log.ok.len() >= 1000,
        "the race was too short to mean anything: {cycles} cycles, {} messages accepted",
        log.ok.len()
    );
    assert_eq!(metadata.messages_failed, 0, "{:?}", metadata.last_error);
    Ledger {
        producers: &[log],
        connections: &connections,
        sent: metadata.messages_sent,
        failed: metadata.messages_failed,
        // Every connection was closed by the sink and read to its end.
        window: Window::Closed,
        other_errors: Vec::new(),
        closed_while_sending: true,
    }
    .check();
}
