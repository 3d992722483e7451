//! `group::connect_all`: connect every endpoint now, naming each that failed.

use std::sync::Arc;
use std::time::Duration;

use sinks::{MessageSink, SinkError};

use crate::support::{
    Peer, SilentPeer, SocketDir, bind_tcp, bounded, give_up_fast, refused_tcp_address,
    targets_failed, tcp_endpoint, ws_endpoint,
};
use crate::{sink_to, unix_sink};

#[tokio::test]
async fn connect_all_connects_the_live_endpoint_and_names_the_refused_one() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("live");
    let peer = Peer::length_prefixed(listener);
    let live = Arc::new(unix_sink("ca_live", &path, give_up_fast()));
    let refused_at = refused_tcp_address().await;
    let refused = Arc::new(sink_to(
        "ca_refused",
        tcp_endpoint(refused_at),
        give_up_fast(),
    ));

    let sinks = [Arc::clone(&live), Arc::clone(&refused)];
    let error = bounded(
        "connect_all",
        sinks::group::connect_all("ca_topology", &sinks, Duration::from_secs(5)),
    )
    .await
    .expect_err("one endpoint refuses");

    assert_eq!(error.failed_targets(), vec!["ca_refused"], "{error}");
    let failed = targets_failed(&error, "ca_topology", 2);
    assert!(
        matches!(&failed[0].1, SinkError::ConnectionFailed { endpoint, .. } if *endpoint == format!("tcp://{refused_at}")),
        "{error}"
    );
    assert!(live.is_connected(), "the live one is connected now");
    peer.recording().wait_for_accepts(1).await;
    assert!(!refused.is_connected());
}

#[tokio::test]
async fn connect_all_names_an_endpoint_that_does_not_answer_within_the_timeout() {
    let (listener, address) = bind_tcp().await;
    // Accepts the TCP connection, never answers the WebSocket handshake.
    let _silent = SilentPeer::start(listener);
    let patient = give_up_fast().with_connect_timeout(Duration::from_secs(30));
    let silent = Arc::new(sink_to("ca_silent", ws_endpoint(address), patient));

    let timeout = Duration::from_millis(200);
    let error = bounded(
        "connect_all",
        sinks::group::connect_all("ca_timeouts", &[Arc::clone(&silent)], timeout),
    )
    .await
    .expect_err("the handshake never completes");
    assert_eq!(error.failed_targets(), vec!["ca_silent"], "{error}");
    let SinkError::TargetsFailed { failed, .. } = &error else {
        panic!("expected TargetsFailed, got {error}");
    };
    assert!(
        matches!(failed[0].1, SinkError::Timeout { operation: "connect", after, .. } if after == timeout),
        "{error}"
    );
}
