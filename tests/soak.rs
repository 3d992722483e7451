//! Soak: messages pushed through a relay while its peer restarts again and
//! again, with the books balanced at the end.
//!
//! `cargo test --test soak -- --ignored soak` runs the full version (5
//! million messages, a restart every second); the README's test command runs
//! the bounded one. Both assert that what arrived came in order and without
//! duplicates, and that every accepted message was received, counted as
//! failed, or written into the socket before the peer dropped it (the window
//! a byte stream cannot close; see "What a send promises" in the README).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sinks::config::{Endpoint, LeafConfig, RetryPolicy};
use sinks::{EndpointSink, Message, MessageSink};
use tokio::io::AsyncReadExt;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

struct Plan {
    messages: u64,
    rate_per_second: u64,
    restart_every: Duration,
    down_for: Duration,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_bounded_relay_survives_restarts() {
    soak(Plan {
        messages: 200_000,
        rate_per_second: 100_000,
        restart_every: Duration::from_millis(400),
        down_for: Duration::from_millis(150),
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "takes about 20 s; run with `cargo test --test soak -- --ignored soak`"]
async fn soak_relay_five_million_messages_restart_every_second() {
    soak(Plan {
        messages: 5_000_000,
        rate_per_second: 250_000,
        restart_every: Duration::from_secs(1),
        down_for: Duration::from_millis(300),
    })
    .await;
}

async fn soak(plan: Plan) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("soak.sock");
    let (ids_tx, mut ids_rx) = mpsc::unbounded_channel::<Vec<u64>>();
    let stop = Arc::new(AtomicBool::new(false));
    let peer = tokio::spawn(restarting_peer(
        path.clone(),
        ids_tx,
        Arc::clone(&stop),
        plan.restart_every,
        plan.down_for,
    ));

    let retry = RetryPolicy::default()
        .with_max_retries(50)
        .with_retry_delay(Duration::from_millis(20))
        .with_backoff_multiplier(1.0)
        .with_connect_timeout(Duration::from_secs(1));
    let sink = EndpointSink::relay(
        "soak",
        LeafConfig::new(Endpoint::unix(&path).expect("an absolute socket path"))
            .with_buffer_size(4096)
            .with_retry(retry),
    );

    let started = Instant::now();
    let mut accepted = 0u64;
    let mut rejected = 0u64;
    let burst = 1_000;
    for id in 0..plan.messages {
        let mut payload = [0u8; 16];
        payload[..8].copy_from_slice(&id.to_le_bytes());
        match sink
            .send(Message::new(Bytes::copy_from_slice(&payload)))
            .await
        {
            Ok(()) => accepted += 1,
            Err(_) => rejected += 1,
        }
        if id % burst == burst - 1 {
            // Pace the producer so the run spans many restarts.
            let due =
                started + Duration::from_secs_f64((id + 1) as f64 / plan.rate_per_second as f64);
            tokio::time::sleep_until(due.into()).await;
        }
    }
    let flush = tokio::time::timeout(Duration::from_secs(30), sink.flush())
        .await
        .expect("flush is bounded");
    let metadata = sink.metadata();
    tokio::time::timeout(Duration::from_secs(30), sink.disconnect())
        .await
        .expect("disconnect is bounded")
        .ok();
    // Let the last connection's bytes be read before the peer stops.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    let restarts = peer.await.expect("peer task");

    let mut received = Vec::new();
    while let Ok(ids) = ids_rx.try_recv() {
        received.extend(ids);
    }
    let in_order = received.windows(2).all(|pair| pair[0] < pair[1]);
    let received_count = received.len() as u64;
    let failed = metadata.messages_failed;
    let window = accepted.saturating_sub(received_count + failed);
    println!(
        "soak: {} messages in {:.1?}, {restarts} peer restarts: accepted {accepted}, rejected {rejected}, \
         received {received_count}, failed {failed}, lost in the socket window {window} \
         (flush said {:?})",
        plan.messages,
        started.elapsed(),
        flush.as_ref().err().map(ToString::to_string),
    );
    assert!(
        restarts >= 3,
        "the peer restarted only {restarts} times: the soak proves little"
    );
    assert!(in_order, "messages arrived out of order or twice");
    assert_eq!(accepted + rejected, plan.messages);
    assert_eq!(
        metadata.messages_sent + failed,
        accepted,
        "every accepted message was written or failed"
    );
    assert!(
        received_count + failed <= accepted,
        "received more than was accepted"
    );
    // What the kernel took but the peer never read: at most the socket
    // buffers' worth per restart (16-byte payloads, 20-byte frames).
    let max_window_per_restart = 2 * 256 * 1024 / 20;
    assert!(
        window <= max_window_per_restart * (restarts + 1),
        "{window} messages vanished, more than the socket buffers can hold"
    );
    if failed > 0 {
        assert!(flush.is_err(), "failures were not reported by flush");
    }
}

/// Accepts one connection at a time and reads its frames, dropping it and
/// the listener every `restart_every`, then binding again after `down_for`.
/// Returns how many times it restarted.
async fn restarting_peer(
    path: PathBuf,
    ids: mpsc::UnboundedSender<Vec<u64>>,
    stop: Arc<AtomicBool>,
    restart_every: Duration,
    down_for: Duration,
) -> u64 {
    let mut restarts = 0;
    loop {
        let listener = bind(&path);
        let up_until = tokio::time::Instant::now() + restart_every;
        loop {
            let accepted = tokio::time::timeout_at(up_until, listener.accept()).await;
            let Ok(Ok((stream, _))) = accepted else { break };
            let reader = tokio::spawn(read_ids(stream, ids.clone()));
            if tokio::time::timeout_at(up_until, async {
                while !reader.is_finished() {
                    tokio::time::sleep(Duration::from_millis(5)).await
                }
            })
            .await
            .is_err()
            {
                // Time to restart: the connection goes down mid-stream.
                reader.abort();
            }
            if stop.load(Ordering::SeqCst) {
                break;
            }
        }
        drop(listener);
        if stop.load(Ordering::SeqCst) {
            return restarts;
        }
        restarts += 1;
        tokio::time::sleep(down_for).await;
    }
}

fn bind(path: &Path) -> UnixListener {
    let _ = std::fs::remove_file(path);
    UnixListener::bind(path).expect("bind the soak socket")
}

/// Reads length-prefixed frames and sends their ids on in batches; a frame
/// cut off by the restart is dropped, as a real peer would.
async fn read_ids(mut stream: UnixStream, ids: mpsc::UnboundedSender<Vec<u64>>) {
    let mut buffer = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let read = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        buffer.extend_from_slice(&chunk[..read]);
        let mut batch = Vec::new();
        let mut offset = 0;
        while buffer.len() - offset >= 4 {
            let length = u32::from_le_bytes(buffer[offset..offset + 4].try_into().expect("4 bytes"))
                as usize;
            if buffer.len() - offset - 4 < length {
                break;
            }
            let payload = &buffer[offset + 4..offset + 4 + length];
            batch.push(u64::from_le_bytes(
                payload[..8].try_into().expect("8-byte id"),
            ));
            offset += 4 + length;
        }
        buffer.drain(..offset);
        if !batch.is_empty() && ids.send(batch).is_err() {
            return;
        }
    }
}
