//! A sink shared by producers (`Arc<EndpointSink>`) and dropped by its last
//! holder while its writer still has messages queued: the writer delivers
//! what was accepted within the drain deadline, then closes the socket, and
//! the peer sees a clean end of stream.
//!
//! Once the sink is dropped its counters cannot be read, so these tests give
//! the [`Ledger`] `sent` = every `Ok` send and `failed` = 0: with a peer that
//! reads (or comes back well within the deadline) nothing may fail.

use std::sync::Arc;
use std::time::Duration;

use sinks::config::{Endpoint, LeafConfig};
use sinks::{EndpointSink, MessageSink};

use crate::ledger::{Ledger, ProducerLog, Window};
use crate::support::{
    ConnectionEnd, ConnectionLog, SocketDir, WatchedPeer, bind_unix, bounded, eventually,
    quick_retry, tagged,
};

const FRAME: usize = 256;

/// Sends `count` messages, waiting for room when the queue is full, then
/// drops its handle: the last producer to finish drops the sink.
async fn produce_then_drop(sink: Arc<EndpointSink>, producer: u32, count: u64) -> ProducerLog {
    let mut log = ProducerLog::default();
    for seq in 0..count {
        let result = sink.send(tagged(producer, seq, FRAME)).await;
        log.note(seq, &result);
    }
    drop(sink);
    log
}

fn ledger_without_counters<'a>(
    logs: &'a [ProducerLog],
    connections: &'a [ConnectionLog],
    window: Window,
) -> Ledger<'a> {
    let accepted = logs.iter().map(|log| log.ok.len() as u64).sum();
    Ledger {
        producers: logs,
        connections,
        sent: accepted,
        failed: 0,
        window,
        other_errors: logs
            .iter()
            .flat_map(|log| log.errors.keys().cloned())
            .collect(),
        closed_while_sending: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_holder_dropping_a_sink_mid_stream_delivers_what_it_accepted_and_closes_the_socket()
 {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("relay");
    let peer = WatchedPeer::start(listener);
    // A small queue keeps the writer busy to the end: each producer's last
    // sends wait for room, so the last drop finds messages still queued.
    let sink = Arc::new(EndpointSink::relay(
        "relay",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_buffer_size(32)
            .with_retry(quick_retry()),
    ));
    let producers: Vec<_> = (0..4u32)
        .map(|producer| {
            let count = 500 * u64::from(producer + 1);
            tokio::spawn(produce_then_drop(Arc::clone(&sink), producer, count))
        })
        .collect();
    // The producers hold the only handles from here on.
    drop(sink);
    let mut logs = Vec::new();
    for producer in producers {
        logs.push(
            bounded("a producer", producer)
                .await
                .expect("producer task"),
        );
    }

    let connections = peer.wait_until_ended(1).await;
    assert_eq!(connections.len(), 1, "one sink, one connection");
    assert_eq!(
        connections[0].end,
        Some(ConnectionEnd::Eof),
        "the dropped sink's writer closes its socket after a whole frame"
    );
    assert!(
        logs.iter().all(|log| log.err.is_empty()),
        "a send to a reading peer failed: {:?}",
        logs.iter().map(|log| &log.errors).collect::<Vec<_>>()
    );
    ledger_without_counters(&logs, &connections, Window::Closed).check();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_dropped_while_reconnecting_delivers_its_queue_once_the_peer_is_back() {
    let dir = SocketDir::new();
    let path = dir.path("relay");
    let first = WatchedPeer::start(bind_unix(&path));
    let sink = Arc::new(EndpointSink::relay(
        "relay",
        LeafConfig::new(Endpoint::unix(&path).expect("an absolute socket path"))
            .with_buffer_size(10_000)
            .with_retry(quick_retry()),
    ));
    let mut log = ProducerLog::default();
    for seq in 0..200 {
        let result = bounded("send", sink.send(tagged(0, seq, FRAME))).await;
        log.note(seq, &result);
    }
    eventually("the first messages arriving", || first.frame_count() > 0).await;

    // The peer goes away; the writer notices and retries (quick_retry rides
    // out about 1.5 s). Messages sent meanwhile wait in the queue.
    let before_outage = first.shutdown().await;
    eventually("the sink noticing the peer is gone", || {
        !sink.is_connected()
    })
    .await;
    for seq in 200..2_200 {
        let result = bounded("send while reconnecting", sink.send(tagged(0, seq, FRAME))).await;
        log.note(seq, &result);
    }
    assert!(
        log.err.is_empty(),
        "a send while reconnecting failed: {:?}",
        log.errors
    );
    // The last handle goes while the writer is still reconnecting...
    drop(sink);
    // ...and the peer is back well within the drain deadline (5 s).
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = WatchedPeer::start(bind_unix(&path));
    eventually(
        "the dropped sink's writer reconnecting to the peer that came back",
        || second.accepted() >= 1,
    )
    .await;
    let after_outage = second.wait_until_ended(1).await;
    assert_eq!(
        after_outage
            .last()
            .and_then(|connection| connection.end.clone()),
        Some(ConnectionEnd::Eof),
        "the dropped sink's writer closes its socket after a whole frame"
    );

    let logs = [log];
    let connections: Vec<ConnectionLog> = before_outage.into_iter().chain(after_outage).collect();
    let window = Window::PeerDeaths {
        deaths: 1,
        frame_bytes: FRAME + 4,
    };
    ledger_without_counters(&logs, &connections, window).check();
    let queued_after_outage = connections
        .last()
        .map(|connection| connection.frames.len())
        .unwrap_or(0);
    assert!(
        queued_after_outage >= 2_000,
        "the 2000 messages queued while reconnecting must arrive after the drop, {queued_after_outage} did"
    );
}
