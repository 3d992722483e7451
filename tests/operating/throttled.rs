//! A condition that repeats is logged once per interval (5 s) per sink,
//! with a count, never once per message.

use std::time::Instant;

use sinks::config::LeafConfig;
use sinks::{EndpointSink, MessageSink, SinkError};
use tracing::Level;

use crate::capture;
use crate::support::{give_up_fast, numbered, refused_tcp_address, tcp_endpoint};

/// The conditions a dead peer makes a sink log: a connect attempt failed,
/// retries exhausted, messages failed, the queue full.
const CONDITIONS: u64 = 4;

#[tokio::test]
async fn a_dead_peer_under_ten_thousand_sends_logs_a_bounded_number_of_lines() {
    capture::install();
    let started = Instant::now();
    let address = refused_tcp_address().await;
    let config = LeafConfig::new(tcp_endpoint(address))
        .with_retry(give_up_fast().with_max_retries(0))
        .with_buffer_size(16);
    let sink = EndpointSink::direct("throttle_dead", config);

    let (mut refused, mut rejected, mut accepted) = (0u64, 0u64, 0u64);
    for id in 0..5_000 {
        // `send` waits for the connect, which is refused.
        match sink.send(numbered(id, 16)).await {
            Err(SinkError::ConnectionFailed { .. }) => refused += 1,
            other => panic!("a send to a dead peer: {other:?}"),
        }
    }
    for id in 5_000..10_000 {
        // `try_send` queues behind the connect until the queue is full;
        // the queued messages fail with it.
        match sink.try_send(numbered(id, 16)) {
            Ok(()) => accepted += 1,
            Err(SinkError::BufferFull { .. }) => rejected += 1,
            Err(other) => panic!("a try_send to a dead peer: {other}"),
        }
        if id % 100 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let _ = sink.flush().await;
    assert_eq!(refused, 5_000);
    assert!(
        rejected > 0 && accepted > 0,
        "{accepted} accepted, {rejected} rejected"
    );

    let events = capture::of("throttle_dead");
    let intervals = 1 + started.elapsed().as_secs() / 5;
    assert!(
        events.len() as u64 <= CONDITIONS * intervals,
        "{} lines for 10,000 sends in {:?}: {events:#?}",
        events.len(),
        started.elapsed()
    );
    // Every condition was logged, at its level, and says what it stands for.
    let attempts = capture::saying("throttle_dead", "connect attempt failed");
    assert_eq!(attempts[0].number("failed_attempts"), 1);
    assert!(attempts.iter().all(|event| event.level == Level::WARN));
    let exhausted = capture::saying("throttle_dead", "retries exhausted");
    assert!(!exhausted.is_empty() && exhausted[0].number("times") == 1);
    let full = capture::saying("throttle_dead", "queue full");
    assert!(!full.is_empty() && full[0].level == Level::WARN);
    assert_eq!(full[0].number("rejected"), 1);
    let failed = capture::saying("throttle_dead", "messages failed");
    assert!(!failed.is_empty() && failed[0].level == Level::ERROR);
    let logged_failures: u64 = failed.iter().map(|event| event.number("count")).sum();
    assert!(logged_failures <= accepted);
    assert_eq!(sink.metadata().messages_failed, accepted);
}
