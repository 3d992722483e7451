//! The lifecycle events of an endpoint sink: target `sinks`, fields `sink`
//! and `endpoint` (credentials hidden), one event per occurrence, at the
//! level a user expects (a reconnect is not an error; losing messages is).

use std::time::Duration;

use sinks::config::Endpoint;
use sinks::{ConnectionState, MessageSink, SinkError};
use tracing::Level;

use crate::support::{
    Peer, SocketDir, bind_tcp, bounded, eventually, give_up_fast, numbered, quick_retry,
    refused_tcp_address, tcp_endpoint,
};
use crate::{capture, sink_to, unix_sink};

#[tokio::test]
async fn connected_is_one_info_event_whose_endpoint_hides_the_credentials() {
    capture::install();
    let (listener, address) = bind_tcp().await;
    let peer = Peer::websocket(listener);
    let endpoint = Endpoint::parse_direct(&format!("ws://alice:s3cret@{address}/feed"))
        .expect("a ws:// endpoint with credentials");
    let sink = sink_to("ev_connected", endpoint, quick_retry());

    bounded("send", sink.send(numbered(0, 16)))
        .await
        .expect("send");
    bounded("flush", sink.flush()).await.expect("flush");
    peer.recording().wait_for_frames(1).await;

    let event = capture::the_one("ev_connected", "connected", Level::INFO);
    assert_eq!(event.field("endpoint"), format!("ws://***@{address}/feed"));
    assert_eq!(event.number("attempts"), 1);
    let everything = format!("{:?}", capture::of("ev_connected"));
    assert!(
        !everything.contains("s3cret") && !everything.contains("alice"),
        "credentials reached an event: {everything}"
    );
    assert_eq!(
        capture::of("ev_connected").len(),
        1,
        "a healthy connect and send logs nothing else: {everything}"
    );
}

#[tokio::test]
async fn a_connect_that_gives_up_logs_the_failed_attempt_and_retries_exhausted_once() {
    capture::install();
    let address = refused_tcp_address().await;
    let sink = sink_to(
        "ev_gives_up",
        tcp_endpoint(address),
        give_up_fast().with_max_retries(0),
    );

    let error = bounded("send", sink.send(numbered(0, 16)))
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(error, SinkError::ConnectionFailed { .. }),
        "{error}"
    );

    let endpoint = format!("tcp://{address}");
    let attempt = capture::the_one("ev_gives_up", "connect attempt failed", Level::WARN);
    assert_eq!(attempt.field("endpoint"), endpoint);
    assert_eq!(attempt.number("attempt"), 1);
    assert_eq!(attempt.number("failed_attempts"), 1);
    assert!(!attempt.field("error").is_empty());
    let exhausted = capture::the_one("ev_gives_up", "retries exhausted", Level::WARN);
    assert_eq!(exhausted.field("endpoint"), endpoint);
    assert_eq!(exhausted.number("attempts"), 1);
    // The send was refused, not accepted: no message failed.
    assert!(capture::saying("ev_gives_up", "messages failed").is_empty());
    assert!(capture::saying("ev_gives_up", "connected").is_empty());
}

#[tokio::test]
async fn every_connect_attempt_runs_in_a_connect_span_naming_sink_endpoint_and_attempt() {
    capture::install();
    let address = refused_tcp_address().await;
    let sink = sink_to(
        "ev_spans",
        tcp_endpoint(address),
        give_up_fast().with_max_retries(2),
    );
    let _ = bounded("send", sink.send(numbered(0, 16))).await;

    let spans = capture::spans_of("ev_spans", "connect");
    let attempts: Vec<u64> = spans.iter().map(|span| span.number("attempt")).collect();
    assert_eq!(attempts, vec![1, 2, 3], "one span per attempt: {spans:#?}");
    for span in &spans {
        assert_eq!((span.target.as_str(), span.level), ("sinks", Level::INFO));
        assert_eq!(span.field("endpoint"), format!("tcp://{address}"));
    }
}

#[tokio::test]
async fn no_event_or_span_of_a_failing_websocket_sink_shows_its_credentials() {
    capture::install();
    let address = refused_tcp_address().await;
    let endpoint = Endpoint::parse_direct(&format!("ws://alice:s3cret@{address}/feed"))
        .expect("a ws:// endpoint with credentials");
    let sink = sink_to("ev_secret", endpoint, give_up_fast());
    let _ = bounded("send", sink.send(numbered(0, 16))).await;
    // A try_send queues behind the connect and fails with it: `messages failed`.
    sink.try_send(numbered(1, 16))
        .expect("queued behind the connect");
    let _ = bounded("flush", sink.flush()).await;

    let events = capture::of("ev_secret");
    assert!(!capture::saying("ev_secret", "connect attempt failed").is_empty());
    assert!(!capture::saying("ev_secret", "retries exhausted").is_empty());
    assert!(!capture::saying("ev_secret", "messages failed").is_empty());
    let spans = capture::spans_of("ev_secret", "connect");
    assert!(!spans.is_empty());
    let everything = format!("{events:?} {spans:?}");
    assert!(
        !everything.contains("s3cret") && !everything.contains("alice"),
        "credentials reached an event or span: {everything}"
    );
    for event in &events {
        assert_eq!(event.field("endpoint"), format!("ws://***@{address}/feed"));
    }
}

#[tokio::test]
async fn a_peer_restart_logs_connection_lost_as_a_warning_and_reconnected_as_info() {
    capture::install();
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("restarting");
    let peer = Peer::length_prefixed(listener);
    let sink = unix_sink("ev_restart", &path, quick_retry());

    bounded("send", sink.send(numbered(0, 16)))
        .await
        .expect("send");
    peer.recording().wait_for_frames(1).await;
    peer.hang_up();
    eventually("the sink reconnects", || {
        sink.metadata().reconnects == 1 && sink.state() == ConnectionState::Connected
    })
    .await;
    bounded("send", sink.send(numbered(1, 16)))
        .await
        .expect("send");
    bounded("flush", sink.flush()).await.expect("flush");

    let endpoint = format!("unix://{}", path.display());
    let connected = capture::the_one("ev_restart", "connected", Level::INFO);
    assert_eq!(connected.field("endpoint"), endpoint);
    let lost = capture::the_one("ev_restart", "connection lost", Level::WARN);
    assert_eq!(lost.field("endpoint"), endpoint);
    assert_eq!(lost.field("reconnecting"), "true");
    assert!(!lost.field("error").is_empty());
    let reconnected = capture::the_one("ev_restart", "reconnected", Level::INFO);
    assert_eq!(reconnected.field("endpoint"), endpoint);
    let errors: Vec<_> = capture::of("ev_restart")
        .into_iter()
        .filter(|event| event.level == Level::ERROR)
        .collect();
    assert!(errors.is_empty(), "a restart loses nothing: {errors:#?}");
}

#[tokio::test]
async fn messages_that_fail_when_reconnecting_gives_up_are_one_error_event_with_their_count() {
    capture::install();
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("dying");
    let peer = Peer::length_prefixed(listener);
    // Reconnecting is refused for about 300 ms before it gives up: room
    // enough to queue behind it.
    let retry = give_up_fast()
        .with_max_retries(30)
        .with_retry_delay(Duration::from_millis(10));
    let sink = unix_sink("ev_failed", &path, retry);

    bounded("send", sink.send(numbered(0, 16)))
        .await
        .expect("send");
    peer.recording().wait_for_frames(1).await;
    peer.shutdown().await;
    eventually("the sink notices and reconnects", || {
        sink.state() == ConnectionState::Connecting
    })
    .await;
    for id in 1..=5 {
        sink.try_send(numbered(id, 16))
            .expect("queued behind the reconnect");
    }
    let error = bounded("flush", sink.flush())
        .await
        .expect_err("the queued messages fail");
    assert!(
        matches!(error, SinkError::SendFailed { failed: 5, .. }),
        "{error}"
    );

    let failed = capture::the_one("ev_failed", "messages failed", Level::ERROR);
    assert_eq!(failed.number("count"), 5);
    assert_eq!(
        failed.field("endpoint"),
        format!("unix://{}", path.display())
    );
    assert!(!failed.field("error").is_empty());
    capture::the_one("ev_failed", "connection lost", Level::WARN);
    capture::the_one("ev_failed", "retries exhausted", Level::WARN);
    assert!(capture::saying("ev_failed", "reconnected").is_empty());
}
