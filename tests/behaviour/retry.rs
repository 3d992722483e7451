//! Connecting is bounded: `1 + max_retries` attempts, each bounded by
//! `connect_timeout`, with growing pauses; then `ConnectionFailed`, never a hang.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sinks::config::{Endpoint, LeafConfig, RetryPolicy};
use sinks::{ConnectionState, EndpointSink, Message, MessageSink, SinkError};

use crate::common::{self, bind_tcp, bounded, unix_path, unix_peer, ws_endpoint};

/// Four attempts with pauses of 50, 100 and 200 ms between them.
fn backoff_policy() -> RetryPolicy {
    RetryPolicy::default()
        .max_retries(3)
        .retry_delay(Duration::from_millis(50))
        .backoff_multiplier(2.0)
        .connect_timeout(Duration::from_millis(300))
        .wait_timeout(Duration::from_secs(2))
}

#[tokio::test]
async fn send_to_an_absent_peer_fails_with_connection_failed_after_every_retry() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = unix_path(dir.path(), "absent");
    let sink = EndpointSink::relay(
        "absent",
        LeafConfig::new(Endpoint::Unix(path)).retry(backoff_policy()),
    );
    let started = Instant::now();
    let result = bounded("a send to an absent peer", sink.send(Message::from("x"))).await;
    let elapsed = started.elapsed();
    match result {
        Err(SinkError::ConnectionFailed { sink, attempts, .. }) => {
            assert_eq!(sink, "absent");
            assert_eq!(attempts, 4, "1 + max_retries attempts");
        }
        other => panic!("expected ConnectionFailed, got {other:?}"),
    }
    assert!(
        elapsed >= Duration::from_millis(350),
        "gave up after {elapsed:?}, before the pauses of 50 + 100 + 200 ms"
    );
    assert_eq!(sink.state(), ConnectionState::Failed);
    assert_eq!(
        sink.metadata().messages_failed,
        0,
        "the message was not accepted"
    );
}

#[tokio::test]
async fn the_pause_between_attempts_grows_by_the_multiplier_up_to_the_cap() {
    // A peer that hangs up on every connection: each attempt fails at once,
    // so the gaps between accepts are the pauses alone.
    let (listener, address) = bind_tcp().await;
    let attempts_at = Arc::new(Mutex::new(Vec::new()));
    let _peer = {
        let attempts_at = Arc::clone(&attempts_at);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                attempts_at.lock().expect("lock").push(Instant::now());
                drop(stream);
            }
        })
    };
    let policy = RetryPolicy::default()
        .max_retries(3)
        .retry_delay(Duration::from_millis(100))
        .backoff_multiplier(3.0)
        .max_retry_delay(Duration::from_millis(200))
        .connect_timeout(Duration::from_millis(500))
        .wait_timeout(Duration::from_secs(2));
    let sink = EndpointSink::direct(
        "hangs_up",
        LeafConfig::new(ws_endpoint(address, "/feed")).retry(policy),
    );
    let result = bounded(
        "a send to a peer that hangs up",
        sink.send(Message::from("x")),
    )
    .await;
    assert!(
        matches!(result, Err(SinkError::ConnectionFailed { attempts: 4, .. })),
        "{result:?}"
    );
    let at = attempts_at.lock().expect("lock").clone();
    assert_eq!(at.len(), 4, "one accept per attempt");
    let gaps: Vec<Duration> = at.windows(2).map(|pair| pair[1] - pair[0]).collect();
    // Pauses: 100 ms, then 300 ms capped to 200 ms, then 900 ms capped to 200 ms.
    assert!(gaps[0] >= Duration::from_millis(100), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(200), "{gaps:?}");
    assert!(gaps[2] >= Duration::from_millis(200), "{gaps:?}");
    assert!(
        gaps[2] < Duration::from_millis(800),
        "max_retry_delay did not cap the pause: {gaps:?}"
    );
}

#[tokio::test]
async fn connect_timeout_bounds_each_attempt_against_a_peer_that_never_answers() {
    // Accepts the TCP connection but never answers the WebSocket handshake.
    let (listener, address) = bind_tcp().await;
    let accepts = common::AcceptCounter::default();
    let _peer = {
        let accepts = accepts.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                accepts.accepted();
                held.push(stream);
            }
        })
    };
    let policy = RetryPolicy::default()
        .max_retries(1)
        .retry_delay(Duration::from_millis(50))
        .connect_timeout(Duration::from_millis(200))
        .wait_timeout(Duration::from_secs(1));
    let sink = EndpointSink::direct(
        "silent",
        LeafConfig::new(ws_endpoint(address, "/feed")).retry(policy),
    );
    let started = Instant::now();
    let result = bounded("a send to a silent peer", sink.send(Message::from("x"))).await;
    let elapsed = started.elapsed();
    match result {
        Err(SinkError::ConnectionFailed {
            attempts, reason, ..
        }) => {
            assert_eq!(attempts, 2);
            assert!(reason.contains("timed out"), "{reason}");
        }
        other => panic!("expected ConnectionFailed, got {other:?}"),
    }
    assert!(
        elapsed >= Duration::from_millis(450),
        "two 200 ms attempts and a 50 ms pause took only {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    assert_eq!(accepts.get(), 2);
}

#[tokio::test]
async fn a_send_after_giving_up_tries_again_from_scratch() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = unix_path(dir.path(), "late");
    let sink = EndpointSink::relay(
        "late",
        LeafConfig::new(Endpoint::Unix(path)).retry(common::give_up_fast()),
    );
    let first = bounded("a send to an absent peer", sink.send(Message::from("lost"))).await;
    assert!(
        matches!(first, Err(SinkError::ConnectionFailed { .. })),
        "{first:?}"
    );

    let (_path, received, accepts, _peer) = unix_peer(dir.path(), "late");
    bounded(
        "a send once the peer is up",
        sink.send(Message::from("found")),
    )
    .await
    .expect("the next send connects again");
    received.wait_for(1).await;
    assert_eq!(received.payloads(), vec![b"found".to_vec()]);
    assert_eq!(accepts.get(), 1);
}

#[tokio::test]
async fn retries_ride_out_a_peer_that_starts_late() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = unix_path(dir.path(), "slow_start");
    let sink = EndpointSink::relay(
        "slow_start",
        LeafConfig::new(Endpoint::Unix(path)).retry(common::quick_retry()),
    );
    let late_peer = {
        let dir = dir.path().to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            unix_peer(&dir, "slow_start")
        })
    };
    let started = Instant::now();
    bounded(
        "a send while the peer starts",
        sink.send(Message::from("hi")),
    )
    .await
    .expect("a retry reaches the peer once it is up");
    assert!(started.elapsed() >= Duration::from_millis(140));
    let (_path, received, accepts, _peer) = late_peer.await.expect("the late peer");
    received.wait_for(1).await;
    assert_eq!(received.payloads(), vec![b"hi".to_vec()]);
    assert_eq!(accepts.get(), 1);
}
