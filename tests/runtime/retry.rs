//! Retry with backoff and a per-attempt connect timeout: an unreachable
//! endpoint fails with `ConnectionFailed` once the retries are spent, in
//! bounded time; a listener that appears during the retries is reached.

use std::time::{Duration, Instant};

use sinks::config::{Endpoint, LeafConfig, RetryPolicy};
use sinks::{ConnectionState, EndpointSink, MessageSink, SinkError, SinkFactory};

use crate::support::{
    Peer, SilentPeer, SocketDir, bind_tcp, bind_unix, bounded, ids_of, numbered, quick_retry,
    refused_tcp_address, tcp_endpoint, ws_endpoint,
};

/// Four attempts, pauses of 20, 40 and 80 ms between them.
fn backoff() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_retries(3)
        .with_retry_delay(Duration::from_millis(20))
        .with_backoff_multiplier(2.0)
        .with_connect_timeout(Duration::from_millis(300))
        .with_wait_timeout(Duration::from_secs(2))
}

/// The sum of the pauses of [`backoff`].
const BACKOFF_PAUSES: Duration = Duration::from_millis(20 + 40 + 80);

fn expect_connection_failed(result: Result<(), SinkError>, attempts: u32) -> String {
    match result {
        Err(SinkError::ConnectionFailed {
            attempts: made,
            reason,
            ..
        }) => {
            assert_eq!(made, attempts, "1 + max_retries attempts");
            reason
        }
        other => panic!("expected ConnectionFailed, got {other:?}"),
    }
}

#[tokio::test]
async fn send_to_missing_unix_socket_fails_after_retries() {
    let dir = SocketDir::new();
    let sink = EndpointSink::relay(
        "absent",
        LeafConfig::new(Endpoint::unix(dir.path("absent")).expect("an absolute socket path"))
            .with_retry(backoff()),
    );
    let started = Instant::now();
    let result = bounded("send", sink.send(numbered(0, 8))).await;
    let elapsed = started.elapsed();
    expect_connection_failed(result, 4);
    assert!(
        elapsed >= BACKOFF_PAUSES,
        "gave up after {elapsed:?}, before the backoff pauses ({BACKOFF_PAUSES:?})"
    );
    assert_eq!(sink.state(), ConnectionState::Failed);
    // The message was refused, not accepted: there is nothing for flush to report.
    assert_eq!(sink.metadata().messages_failed, 0);
    bounded("flush", sink.flush())
        .await
        .expect("nothing accepted");
}

#[tokio::test]
async fn send_and_connect_to_refused_tcp_port_fail_after_retries() {
    let sink = EndpointSink::direct(
        "refused",
        LeafConfig::new(tcp_endpoint(refused_tcp_address().await)).with_retry(backoff()),
    );
    let reason = expect_connection_failed(bounded("send", sink.send(numbered(0, 8))).await, 4);
    assert!(
        reason.to_lowercase().contains("refused"),
        "reason: {reason}"
    );
    expect_connection_failed(bounded("connect", sink.connect()).await, 4);
    assert_eq!(sink.state(), ConnectionState::Failed);
}

#[tokio::test]
async fn retry_policy_from_config_with_fractional_seconds() {
    let dir = SocketDir::new();
    let factory = SinkFactory::from_config_str(&format!(
        "[services.absent]\n\
         type = \"relay\"\n\
         endpoint = \"unix://{}\"\n\
         max_retries = 2\n\
         retry_delay_ms = 10\n\
         lazy.connect_timeout_secs = 0.2\n\
         lazy.wait_timeout_secs = 1.5\n",
        dir.path("absent").display()
    ))
    .expect("a valid config");
    let sink = factory.create_sink("absent").await.expect("create_sink");
    expect_connection_failed(bounded("send", sink.send(numbered(0, 8))).await, 3);
}

/// A WebSocket handshake to a peer that accepts TCP and never answers hangs;
/// each attempt is cut at `connect_timeout`, and the pauses between attempts
/// grow by the multiplier.
#[tokio::test]
async fn each_attempt_is_bounded_by_connect_timeout_and_pauses_back_off() {
    let (listener, address) = bind_tcp().await;
    let silent = SilentPeer::start(listener);
    let connect_timeout = Duration::from_millis(60);
    let sink = EndpointSink::direct(
        "silent",
        LeafConfig::new(ws_endpoint(address)).with_retry(
            RetryPolicy::default()
                .with_max_retries(3)
                .with_retry_delay(Duration::from_millis(30))
                .with_backoff_multiplier(3.0)
                .with_connect_timeout(connect_timeout)
                .with_wait_timeout(Duration::from_secs(2)),
        ),
    );
    let started = Instant::now();
    let reason = expect_connection_failed(bounded("send", sink.send(numbered(0, 8))).await, 4);
    let elapsed = started.elapsed();
    assert!(reason.contains("timed out"), "reason: {reason}");
    // 4 timeouts of 60 ms and pauses of 30, 90 and 270 ms.
    let least = connect_timeout * 4 + Duration::from_millis(30 + 90 + 270);
    assert!(
        elapsed >= least,
        "gave up after {elapsed:?}, expected at least {least:?}"
    );
    assert!(
        elapsed < Duration::from_secs(3),
        "gave up after {elapsed:?}"
    );

    let accepted_at = silent.accepted_at();
    assert_eq!(accepted_at.len(), 4, "one TCP connection per attempt");
    for (gap, pause) in accepted_at.windows(2).zip([30, 90, 270]) {
        let gap = gap[1] - gap[0];
        let least = connect_timeout + Duration::from_millis(pause);
        assert!(
            gap >= least,
            "attempts {gap:?} apart, expected at least {least:?}"
        );
    }
}

#[tokio::test]
async fn retries_reach_a_listener_that_appears_late() {
    let dir = SocketDir::new();
    let path = dir.path("late");
    let sink = EndpointSink::relay(
        "late",
        LeafConfig::new(Endpoint::unix(&path).expect("an absolute socket path"))
            .with_retry(quick_retry()),
    );
    let mut send = Box::pin(sink.send(numbered(3, 16)));
    crate::support::assert_pending_for(
        "a send with no listener",
        &mut send,
        Duration::from_millis(80),
    )
    .await;
    let peer = Peer::length_prefixed(bind_unix(&path));
    bounded("send", send).await.expect("a retry connects");
    assert_eq!(ids_of(&peer.recording().wait_for_frames(1).await), vec![3]);
}

#[tokio::test]
async fn next_send_tries_again_after_connect_gave_up() {
    let dir = SocketDir::new();
    let path = dir.path("later");
    let sink = EndpointSink::relay(
        "later",
        LeafConfig::new(Endpoint::unix(&path).expect("an absolute socket path"))
            .with_retry(backoff()),
    );
    expect_connection_failed(bounded("send", sink.send(numbered(0, 8))).await, 4);
    let peer = Peer::length_prefixed(bind_unix(&path));
    bounded("send", sink.send(numbered(1, 8)))
        .await
        .expect("the next send connects");
    assert_eq!(sink.state(), ConnectionState::Connected);
    assert_eq!(ids_of(&peer.recording().wait_for_frames(1).await), vec![1]);
}

/// `try_send` accepts without waiting and connects in the background; when
/// that connect gives up, the message is counted and `flush` reports it.
#[tokio::test]
async fn try_send_to_unreachable_endpoint_is_reported_by_flush() {
    let sink = EndpointSink::direct(
        "refused",
        LeafConfig::new(tcp_endpoint(refused_tcp_address().await)).with_retry(backoff()),
    );
    sink.try_send(numbered(0, 8)).expect("accepted");
    sink.try_send(numbered(1, 8)).expect("accepted");
    match bounded("flush", sink.flush()).await {
        Err(SinkError::SendFailed { failed, .. }) => assert_eq!(failed, 2),
        other => panic!("expected SendFailed, got {other:?}"),
    }
    assert_eq!(sink.metadata().messages_failed, 2);
    bounded("flush", sink.flush())
        .await
        .expect("failures are reported once");
}
