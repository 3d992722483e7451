//! `wss://` uses rustls and verifies the server certificate: a private CA in
//! `tls_ca_file` is trusted; without it the send fails, naming the certificate.

use std::time::{Duration, Instant};

use sinks::config::{Endpoint, LeafConfig};
use sinks::{EndpointSink, Message, MessageSink, SinkError};

use crate::common::{self, TestPki, bind_tcp, bounded, serve_tls_websocket};

#[tokio::test]
async fn wss_with_tls_ca_file_delivers_over_a_verified_connection() {
    let pki = TestPki::new(&["localhost"]);
    let (listener, address) = bind_tcp().await;
    let (received, _accepts, tls_failures, _server) =
        serve_tls_websocket(listener, pki.acceptor.clone());
    let endpoint = Endpoint::parse_direct(&format!("wss://localhost:{}/feed", address.port()))
        .expect("a valid wss:// endpoint");
    let sink = EndpointSink::direct("secure", common::leaf(endpoint).tls_ca_file(&pki.ca_file));
    let payloads = [b"secret tick".to_vec(), common::payload(9, 50_000).to_vec()];
    for payload in &payloads {
        bounded("send", sink.send(Message::from(payload.clone())))
            .await
            .expect("send over wss");
    }
    bounded("flush", sink.flush()).await.expect("flush");
    received.wait_for(2).await;
    assert_eq!(received.connections(), vec![payloads.to_vec()]);
    assert_eq!(tls_failures.get(), 0);
}

#[tokio::test]
async fn wss_without_the_ca_rejects_the_certificate_with_connection_failed() {
    let pki = TestPki::new(&["localhost"]);
    let (listener, address) = bind_tcp().await;
    let (received, accepts, tls_failures, _server) =
        serve_tls_websocket(listener, pki.acceptor.clone());
    let endpoint = Endpoint::parse_direct(&format!("wss://localhost:{}/feed", address.port()))
        .expect("a valid wss:// endpoint");
    let sink = EndpointSink::direct(
        "untrusting",
        LeafConfig::new(endpoint).retry(common::give_up_fast()),
    );
    let started = Instant::now();
    let result = bounded(
        "a send to an untrusted server",
        sink.send(Message::from("x")),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    match result {
        Err(SinkError::ConnectionFailed { reason, .. }) => {
            assert!(
                reason.to_lowercase().contains("certificate"),
                "the reason does not mention the certificate: {reason}"
            );
        }
        other => panic!("expected ConnectionFailed, got {other:?}"),
    }
    assert!(accepts.get() >= 1, "the server was never reached");
    common::eventually("the server seeing the TLS handshake fail", || {
        tls_failures.get() >= 1
    })
    .await;
    assert_eq!(received.count(), 0);
}

#[tokio::test]
async fn wss_to_a_certificate_for_another_name_is_rejected_even_with_the_ca() {
    let pki = TestPki::new(&["not-localhost.example"]);
    let (listener, address) = bind_tcp().await;
    let (received, _accepts, _tls_failures, _server) =
        serve_tls_websocket(listener, pki.acceptor.clone());
    let endpoint = Endpoint::parse_direct(&format!("wss://localhost:{}/feed", address.port()))
        .expect("a valid wss:// endpoint");
    let sink = EndpointSink::direct(
        "wrong_name",
        LeafConfig::new(endpoint)
            .retry(common::give_up_fast())
            .tls_ca_file(&pki.ca_file),
    );
    let result = bounded("a send to a misnamed server", sink.send(Message::from("x"))).await;
    match result {
        Err(SinkError::ConnectionFailed { reason, .. }) => {
            assert!(reason.to_lowercase().contains("certificate"), "{reason}");
        }
        other => panic!("expected ConnectionFailed, got {other:?}"),
    }
    assert_eq!(received.count(), 0);
}
