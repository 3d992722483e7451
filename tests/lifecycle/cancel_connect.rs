//! `disconnect()` while the writer retries a refused connect: it cancels
//! the retries at once instead of waiting out the retry budget (here a
//! thousand attempts 2 s apart), fails what was queued for the real cause,
//! and the next send connects again once a peer is up.

use std::sync::Arc;
use std::time::Duration;

use sinks::config::{Endpoint, LeafConfig, RetryPolicy};
use sinks::{EndpointSink, MessageSink, SinkError};

use crate::support::{SocketDir, WatchedPeer, bind_unix, bounded, eventually, ids_of, numbered};

/// The pause between connect attempts.
const RETRY_DELAY: Duration = Duration::from_secs(2);
/// "Promptly": well under one retry delay.
const PROMPTLY: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_while_a_connect_retries_a_refused_address_returns_promptly_and_the_next_send_connects()
 {
    let dir = SocketDir::new();
    let path = dir.path("relay");
    // A socket file nothing listens on: every connect is refused.
    drop(std::os::unix::net::UnixListener::bind(&path).expect("bind"));
    let sink = Arc::new(EndpointSink::relay(
        "relay",
        LeafConfig::new(Endpoint::unix(&path).expect("an absolute socket path")).with_retry(
            RetryPolicy::default()
                .with_max_retries(1_000)
                .with_retry_delay(RETRY_DELAY)
                .with_backoff_multiplier(1.0)
                // Far beyond PROMPTLY, so the drain deadline cannot be what
                // ends the connect.
                .with_wait_timeout(Duration::from_secs(10)),
        ),
    ));
    sink.try_send(numbered(1, 32))
        .expect("queued; the writer starts connecting");
    // A send waiting for the connection, as well as the queued message.
    let waiting = tokio::spawn({
        let sink = Arc::clone(&sink);
        async move { sink.send(numbered(2, 32)).await }
    });
    // The first attempt is refused at once; the writer is in its pause.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let result = tokio::time::timeout(PROMPTLY, sink.disconnect())
        .await
        .unwrap_or_else(|_| {
            panic!("disconnect waited on the retries: not done within {PROMPTLY:?} (retry delay {RETRY_DELAY:?})")
        });
    match result {
        Err(SinkError::SendFailed { failed, reason, .. }) => {
            assert_eq!(failed, 1, "the queued message failed");
            assert!(reason.contains("refused"), "the real cause: {reason}");
        }
        other => panic!("disconnect: expected SendFailed for the queued message, got {other:?}"),
    }
    let waited = tokio::time::timeout(PROMPTLY, waiting)
        .await
        .expect("the waiting send ends with the cancelled connect")
        .expect("the send task");
    match waited {
        Err(SinkError::ConnectionFailed { reason, .. }) => {
            assert!(reason.contains("refused"), "the real cause: {reason}")
        }
        other => panic!("the waiting send: expected ConnectionFailed, got {other:?}"),
    }

    // A peer comes up; the next send connects again.
    let peer = WatchedPeer::start(bind_unix(&path));
    bounded("a send after the disconnect", sink.send(numbered(3, 32)))
        .await
        .expect("the next send connects");
    bounded("flush", sink.flush())
        .await
        .expect("nothing new failed");
    eventually("the new message arriving", || peer.frame_count() >= 1).await;
    let frames: Vec<Vec<u8>> = peer
        .connections()
        .into_iter()
        .flat_map(|connection| connection.frames)
        .collect();
    assert_eq!(
        ids_of(&frames),
        vec![3],
        "only the message sent after the disconnect"
    );
}
