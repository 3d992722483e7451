//! A peer that restarts mid-stream while a producer keeps sending: the
//! listener drops the connection, is gone for a few hundred milliseconds, and
//! comes back on the same address. The sink reconnects by itself, delivers in
//! order without duplicates, and every accepted message is accounted for.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sinks::config::LeafConfig;
use sinks::{EndpointSink, MessageSink};

use crate::peers::{Log, Transport, bounded, message_sized, quick_retry};

/// How often the peer goes away.
const RESTARTS: usize = 2;
/// How long each incarnation of the peer reads before it drops the connection.
const UP_FOR: Duration = Duration::from_millis(300);
/// How long each incarnation then reads slowly before it drops the
/// connection: long enough for the socket buffers and the queue to fill, so
/// that the connection dies under a blocked write, part of whose batch the
/// peer has read and part not, with a frame half written.
const SLOW_FOR: Duration = Duration::from_millis(150);
/// How long the peer is gone: well within `quick_retry`'s budget.
const DOWN_FOR: Duration = Duration::from_millis(300);
/// Messages sent after the last restart, so the new connection carries traffic.
const AFTER_LAST_RESTART: u64 = 2_000;
const PAYLOAD: usize = 2048;
const BURST: u64 = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_reconnects_after_peer_restart_in_order_without_duplicates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let transport = Transport::unix(dir.path(), "relay");
    let sink = EndpointSink::relay("relay", config(&transport));
    restart_mid_stream(transport, sink).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_reconnects_after_peer_restart_in_order_without_duplicates() {
    let transport = Transport::loopback(false).await;
    let sink = EndpointSink::direct("tcp", config(&transport));
    restart_mid_stream(transport, sink).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_reconnects_after_peer_restart_in_order_without_duplicates() {
    let transport = Transport::loopback(true).await;
    let sink = EndpointSink::direct("ws", config(&transport));
    restart_mid_stream(transport, sink).await;
}

fn config(transport: &Transport) -> LeafConfig {
    LeafConfig::new(transport.endpoint())
        .with_buffer_size(1024)
        .with_retry(quick_retry())
}

/// Serves `RESTARTS + 1` incarnations on the same address, each accepting one
/// connection; all but the last drop it after `UP_FOR + SLOW_FOR`, mid-stream.
async fn restarting_peer(transport: Transport, log: Log, restarted: Arc<AtomicUsize>) {
    for _ in 0..RESTARTS {
        let listener = transport.bind().await;
        // Reads, falls behind until the sink is stuck in a write, then drops
        // the connection, unread bytes and all.
        listener.serve_then_drop(&log, UP_FOR, SLOW_FOR).await;
        drop(listener);
        restarted.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(DOWN_FOR).await;
    }
    // The last incarnation reads until the sink disconnects.
    transport.bind().await.serve_one(&log).await;
}

async fn restart_mid_stream(transport: Transport, sink: EndpointSink) {
    let stream_transport = !matches!(transport, Transport::WebSocket(_));
    let log = Log::default();
    let restarted = Arc::new(AtomicUsize::new(0));
    let peer = tokio::spawn(restarting_peer(
        transport.clone(),
        log.clone(),
        Arc::clone(&restarted),
    ));

    // Paced bursts until the peer has restarted every time, then some more.
    let mut accepted = 0u64;
    let mut rejected = Vec::new();
    let mut next_id = 0u64;
    let mut after_last_restart = 0;
    bounded("the producer", async {
        while after_last_restart < AFTER_LAST_RESTART {
            for _ in 0..BURST {
                match sink.send(message_sized(next_id, PAYLOAD)).await {
                    Ok(()) => accepted += 1,
                    Err(error) => rejected.push(error.to_string()),
                }
                next_id += 1;
            }
            if restarted.load(Ordering::SeqCst) == RESTARTS {
                after_last_restart += BURST;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    let flush = bounded("flush", sink.flush()).await;
    let metadata = sink.metadata();
    bounded("disconnect", sink.disconnect())
        .await
        .expect("disconnect");
    bounded("the peer reads to the end", peer)
        .await
        .expect("peer task");

    // The sink reconnected by itself each time, within its retry budget: no
    // send failed, and every incarnation of the peer got a connection.
    assert!(
        rejected.is_empty(),
        "sends failed while the peer restarted: {rejected:?}"
    );
    assert_eq!(accepted, next_id);
    let connections = log.connections();
    assert_eq!(
        connections.len(),
        RESTARTS + 1,
        "one connection per incarnation of the peer"
    );
    assert!(
        connections.iter().all(|ids| !ids.is_empty()),
        "every connection, the ones after each restart included, carried messages: {:?}",
        connections.iter().map(Vec::len).collect::<Vec<_>>()
    );

    // In order, no duplicates, and nothing missing inside a connection: what
    // went missing went at a restart.
    let received = log.ids();
    assert!(
        received.windows(2).all(|pair| pair[0] < pair[1]),
        "messages arrived out of order or twice"
    );
    for ids in &connections {
        assert!(
            ids.windows(2).all(|pair| pair[1] == pair[0] + 1),
            "a gap inside one connection: messages were lost while it was up"
        );
    }
    assert_eq!(
        received.last().copied(),
        Some(accepted - 1),
        "the last message arrived"
    );

    // The books: every accepted message was written or counted failed, and
    // what was written but never read is no more than the socket buffers
    // held at the restarts.
    let failed = metadata.messages_failed;
    assert_eq!(
        metadata.messages_sent + failed,
        accepted,
        "every accepted message was written or counted as failed"
    );
    let received = received.len() as u64;
    println!(
        "{:?}: accepted {accepted}, received {received} over {} connections, failed {failed}, \
         last error {:?}",
        transport,
        connections.len(),
        metadata.last_error
    );
    let window = accepted.saturating_sub(received + failed);
    assert!(
        window * (4 + PAYLOAD as u64) <= RESTARTS as u64 * 8 * 1024 * 1024,
        "{window} messages were neither received nor failed, more than the socket buffers hold"
    );
    if stream_transport {
        // The peer was back within the retry budget, and what was not wholly
        // written when the connection dropped is written again: nothing fails.
        assert_eq!(failed, 0, "nothing fails when the peer returns in time");
        assert!(flush.is_ok(), "flush: {flush:?}");
    } else {
        // A WebSocket flush cut off by the restart counts its messages failed
        // rather than resend them, and the next flush reports them.
        assert_eq!(
            flush.is_err(),
            failed > 0,
            "flush reports exactly when messages failed: {flush:?}"
        );
    }
}
