//! A peer that is not up yet: the send fails within the retry budget, the
//! message is not accepted, and once the peer is up the same sink delivers.

use std::time::{Duration, Instant};

use sinks::{ConnectionState, MessageSink, SinkError};
use tokio::net::TcpListener;

use crate::peers::{Log, Transport, bounded, eventually, give_up_fast, message, serve_forever};

/// Slack for scheduling on a loaded machine, on top of the retry budget.
const SLACK: Duration = Duration::from_millis(500);

#[tokio::test]
async fn unix_send_to_absent_peer_fails_within_budget_then_succeeds_once_it_is_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    absent_then_up(Transport::unix(dir.path(), "late")).await;
}

#[tokio::test]
async fn tcp_send_to_absent_peer_fails_within_budget_then_succeeds_once_it_is_up() {
    absent_then_up(Transport::loopback(false).await).await;
}

/// Nobody listens at `transport`: a send fails with `ConnectionFailed` after
/// `1 + max_retries` attempts and within the connect budget, without
/// accepting the message. Then the peer binds, and the next send on the
/// same sink is delivered.
async fn absent_then_up(transport: Transport) {
    let retry = give_up_fast();
    let sink = transport.sink("late", |config| config.with_retry(retry));

    let started = Instant::now();
    let result = bounded("a send to an absent peer", sink.send(message(1))).await;
    let elapsed = started.elapsed();
    match result {
        Err(SinkError::ConnectionFailed { attempts, .. }) => {
            assert_eq!(attempts, 1 + retry.max_retries(), "every attempt was made")
        }
        other => panic!("expected ConnectionFailed, got {other:?}"),
    }
    assert!(
        elapsed <= retry.connect_budget() + SLACK,
        "the failed send took {elapsed:?}, more than the budget {:?}",
        retry.connect_budget()
    );
    assert_eq!(sink.state(), ConnectionState::Failed);
    assert_eq!(
        sink.metadata().messages_failed,
        0,
        "a send that failed did not accept its message, so nothing is counted failed"
    );

    let log = Log::default();
    let peer = serve_forever(transport.bind().await, log.clone());
    bounded("the send after the peer came up", sink.send(message(2)))
        .await
        .expect("the next send on the same sink succeeds");
    bounded("flush", sink.flush())
        .await
        .expect("the message was written");
    bounded("disconnect", sink.disconnect())
        .await
        .expect("disconnect");
    eventually("the peer reads message 2", || log.count() == 1).await;
    assert_eq!(log.ids(), [2], "only the accepted message arrives");
    peer.abort();
}

/// A peer that accepts TCP but never answers the WebSocket handshake: each
/// attempt ends at `connect_timeout`, and the send fails after all of them,
/// not later. Then a real server takes the address and the next send works.
#[tokio::test]
async fn send_to_peer_that_never_answers_fails_when_every_attempt_timed_out() {
    let transport = Transport::loopback(true).await;
    let Transport::WebSocket(address) = transport else {
        unreachable!("asked for a WebSocket transport")
    };
    let listener = TcpListener::bind(address).await.expect("bind");
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let retry = give_up_fast();
    let sink = transport.sink("silent", |config| config.with_retry(retry));

    let started = Instant::now();
    let result = bounded("a send to a silent peer", sink.send(message(1))).await;
    let elapsed = started.elapsed();
    match &result {
        Err(SinkError::ConnectionFailed {
            attempts, reason, ..
        }) => {
            assert_eq!(*attempts, 1 + retry.max_retries());
            assert!(reason.contains("timed out"), "reason: {reason}");
        }
        other => panic!("expected ConnectionFailed after timeouts, got {other:?}"),
    }
    let attempts_time = retry.connect_timeout() * (1 + retry.max_retries());
    assert!(
        elapsed >= attempts_time && elapsed <= retry.connect_budget() + SLACK,
        "took {elapsed:?}; every attempt should have waited out {:?}, the whole connect at most {:?}",
        retry.connect_timeout(),
        retry.connect_budget()
    );

    silent.abort();
    let _ = silent.await;
    let log = Log::default();
    let peer = serve_forever(transport.bind().await, log.clone());
    bounded("the send after the server came up", sink.send(message(2)))
        .await
        .expect("the next send on the same sink succeeds");
    bounded("disconnect", sink.disconnect())
        .await
        .expect("disconnect");
    eventually("the server reads message 2", || log.count() == 1).await;
    assert_eq!(log.ids(), [2]);
    peer.abort();
}
