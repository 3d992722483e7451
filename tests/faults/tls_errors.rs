//! `wss://` to a peer that cannot complete TLS as asked: a plain TCP server,
//! and a server whose certificate names another host. Both give a clear TLS
//! error at once, not a hang until the connect timeout.

use std::time::{Duration, Instant};

use sinks::config::{Endpoint, LeafConfig, RetryPolicy};
use sinks::{EndpointSink, MessageSink, SinkError};
use tokio::net::TcpListener;

use crate::peers::{
    Log, bounded, eventually, message, plain_http_server, tls_identity, tls_ws_server,
};

/// Long enough that a hang is told apart from an answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

fn wss_sink(name: &str, port: u16, ca_file: Option<&std::path::Path>) -> EndpointSink {
    let endpoint =
        Endpoint::parse_direct(&format!("wss://127.0.0.1:{port}/feed")).expect("a wss:// URL");
    let retry = RetryPolicy::default()
        .with_max_retries(0)
        .with_connect_timeout(CONNECT_TIMEOUT);
    let mut config = LeafConfig::new(endpoint).with_retry(retry);
    if let Some(path) = ca_file {
        config = config.with_tls_ca_file(path).expect("a wss:// endpoint");
    }
    EndpointSink::direct(name, config)
}

/// Sends once and returns the reason of the `ConnectionFailed` it must give,
/// checking that it came well before the connect timeout.
async fn tls_failure(sink: &EndpointSink) -> String {
    let started = Instant::now();
    let result = bounded("a send over wss://", sink.send(message(1))).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed < CONNECT_TIMEOUT / 2,
        "the TLS failure took {elapsed:?}: the sink waited instead of failing"
    );
    match result {
        Err(SinkError::ConnectionFailed { reason, .. }) => {
            assert!(
                reason.contains("TLS") && !reason.contains("timed out"),
                "not a clear TLS error: {reason}"
            );
            reason
        }
        other => panic!("expected ConnectionFailed with a TLS error, got {other:?}"),
    }
}

#[tokio::test]
async fn wss_to_plain_tcp_server_fails_with_tls_error_not_a_hang() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let server = plain_http_server(listener);
    let sink = wss_sink("plain", port, None);
    tls_failure(&sink).await;
    server.abort();
}

#[tokio::test]
async fn wss_with_certificate_for_another_name_fails_with_tls_error() {
    let dir = tempfile::tempdir().expect("temp dir");

    // The same kind of server with a certificate for 127.0.0.1 works, so
    // what fails below is the name alone.
    let (acceptor, pem) = tls_identity(&["127.0.0.1"]);
    let right_ca = dir.path().join("right.pem");
    std::fs::write(&right_ca, pem).expect("write the CA file");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let log = Log::default();
    let right = tls_ws_server(listener, acceptor, log.clone());
    let sink = wss_sink("right_name", port, Some(&right_ca));
    bounded("a send to the right name", sink.send(message(7)))
        .await
        .expect("a certificate for the endpoint's host is accepted");
    bounded("disconnect", sink.disconnect())
        .await
        .expect("disconnect");
    eventually("the server gets message 7", || log.count() == 1).await;
    right.abort();

    let (acceptor, pem) = tls_identity(&["other.example"]);
    let wrong_ca = dir.path().join("wrong.pem");
    std::fs::write(&wrong_ca, pem).expect("write the CA file");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let log = Log::default();
    let wrong = tls_ws_server(listener, acceptor, log.clone());
    let sink = wss_sink("wrong_name", port, Some(&wrong_ca));
    let reason = tls_failure(&sink).await;
    assert!(
        reason.contains("not valid for name"),
        "the error should say the certificate is for another name: {reason}"
    );
    assert_eq!(log.count(), 0, "nothing reached the server");
    wrong.abort();
}
