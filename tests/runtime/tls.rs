//! `wss://` over rustls with the server certificate verified (a private CA
//! is trusted through `tls_ca_file`), and endpoint credentials: sent as
//! HTTP basic auth, never shown in errors, Debug output or metadata.

use sinks::config::{Endpoint, LeafConfig};
use sinks::{EndpointSink, MessageSink, SinkError, SinkFactory};

use crate::support::{
    Peer, SocketDir, TestCa, bind_tcp, bounded, give_up_fast, ids_of, numbered, refused_tcp_address,
};

fn wss_localhost(port: u16) -> Endpoint {
    Endpoint::parse_direct(&format!("wss://localhost:{port}/feed")).expect("a valid wss:// URL")
}

fn expect_certificate_error(result: Result<(), SinkError>) -> String {
    match result {
        Err(SinkError::ConnectionFailed { reason, .. }) => {
            assert!(
                reason.to_lowercase().contains("certificate"),
                "the reason names the certificate: {reason}"
            );
            reason
        }
        other => panic!("expected ConnectionFailed, got {other:?}"),
    }
}

#[tokio::test]
async fn wss_with_private_ca_file_delivers_binary_frames() {
    let dir = SocketDir::new();
    let ca = TestCa::new();
    let (listener, address) = bind_tcp().await;
    let peer = Peer::secure_websocket(listener, ca.acceptor_for(&["localhost"]));
    let sink = EndpointSink::direct(
        "secure",
        LeafConfig::new(wss_localhost(address.port()))
            .with_tls_ca_file(ca.write_pem(dir.path("ca")))
            .expect("a wss:// endpoint")
            .with_retry(give_up_fast()),
    );
    for id in 0..3 {
        bounded("send", sink.send(numbered(id, 5000)))
            .await
            .expect("send over TLS");
    }
    bounded("flush", sink.flush()).await.expect("flush");
    let frames = peer.recording().wait_for_frames(3).await;
    assert_eq!(ids_of(&frames), vec![0, 1, 2]);
    assert_eq!(frames[0], numbered(0, 5000).payload.to_vec());
    assert!(peer.recording().handshake_failures().is_empty());
}

#[tokio::test]
async fn wss_without_the_private_ca_fails_with_a_certificate_error() {
    let ca = TestCa::new();
    let (listener, address) = bind_tcp().await;
    let peer = Peer::secure_websocket(listener, ca.acceptor_for(&["localhost"]));
    let sink = EndpointSink::direct(
        "untrusted",
        LeafConfig::new(wss_localhost(address.port())).with_retry(give_up_fast()),
    );
    let reason = expect_certificate_error(bounded("send", sink.send(numbered(0, 8))).await);
    assert!(reason.contains("TLS"), "{reason}");
    assert_eq!(peer.recording().frame_count(), 0);
    assert!(
        !peer.recording().handshake_failures().is_empty(),
        "the server saw the handshake refused"
    );
}

#[tokio::test]
async fn wss_rejects_a_certificate_for_another_name() {
    let dir = SocketDir::new();
    let ca = TestCa::new();
    let (listener, address) = bind_tcp().await;
    let peer = Peer::secure_websocket(listener, ca.acceptor_for(&["other.example"]));
    let sink = EndpointSink::direct(
        "wrong_name",
        LeafConfig::new(wss_localhost(address.port()))
            .with_tls_ca_file(ca.write_pem(dir.path("ca")))
            .expect("a wss:// endpoint")
            .with_retry(give_up_fast()),
    );
    expect_certificate_error(bounded("send", sink.send(numbered(0, 8))).await);
    assert_eq!(peer.recording().frame_count(), 0);
}

#[tokio::test]
async fn wss_tls_ca_file_from_config_is_trusted() {
    let dir = SocketDir::new();
    let ca = TestCa::new();
    let ca_file = ca.write_pem(dir.path("ca"));
    let (listener, address) = bind_tcp().await;
    let peer = Peer::secure_websocket(listener, ca.acceptor_for(&["localhost"]));
    let factory = SinkFactory::from_config_str(&format!(
        "[services.secure]\ntype = \"direct\"\nendpoint = \"wss://localhost:{}/feed\"\n\
         tls_ca_file = \"{}\"\n",
        address.port(),
        ca_file.display()
    ))
    .expect("a valid config");
    let sink = factory.create_sink("secure").await.expect("create_sink");
    bounded("send", sink.send(numbered(9, 64)))
        .await
        .expect("send over TLS");
    assert_eq!(ids_of(&peer.recording().wait_for_frames(1).await), vec![9]);
}

const SECRET: &str = "s3cr3t-pw";

fn assert_no_credentials(what: &str, text: &str) {
    assert!(
        !text.contains(SECRET) && !text.contains("alice:"),
        "{what} shows the credentials: {text}"
    );
}

#[tokio::test]
async fn credentials_go_in_the_authorization_header_and_nowhere_else() {
    let (listener, address) = bind_tcp().await;
    let peer = Peer::websocket(listener);
    let endpoint = Endpoint::parse_direct(&format!("ws://alice:{SECRET}@{address}/feed"))
        .expect("a valid ws:// URL");
    let sink = EndpointSink::direct(
        "private",
        LeafConfig::new(endpoint).with_retry(give_up_fast()),
    );
    bounded("send", sink.send(numbered(1, 16)))
        .await
        .expect("send");
    assert_eq!(ids_of(&peer.recording().wait_for_frames(1).await), vec![1]);
    // base64("alice:s3cr3t-pw"), computed outside the runtime.
    assert_eq!(
        peer.recording().authorization_headers(),
        vec![Some("Basic YWxpY2U6czNjcjN0LXB3".to_owned())]
    );

    let metadata = sink.metadata();
    assert_no_credentials("metadata", &format!("{metadata:?}"));
    let shown = metadata.endpoint.expect("an endpoint");
    assert_eq!(shown, format!("ws://***@{address}/feed"));
    assert_no_credentials("the sink's Debug", &format!("{sink:?}"));
    assert_no_credentials("the config's Debug", &format!("{:?}", sink.config()));
}

#[tokio::test]
async fn credentials_never_appear_in_connection_errors() {
    let address = refused_tcp_address().await;
    let endpoint = Endpoint::parse_direct(&format!("ws://alice:{SECRET}@{address}/feed"))
        .expect("a valid ws:// URL");
    let sink = EndpointSink::direct(
        "private",
        LeafConfig::new(endpoint).with_retry(give_up_fast()),
    );
    let error = bounded("send", sink.send(numbered(1, 16)))
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(error, SinkError::ConnectionFailed { .. }),
        "{error:?}"
    );
    assert_no_credentials("the error's Display", &error.to_string());
    assert_no_credentials("the error's Debug", &format!("{error:?}"));
    assert_no_credentials(
        "metadata after the failure",
        &format!("{:?}", sink.metadata()),
    );

    // The same through the factory, whose config holds the raw string.
    let factory = SinkFactory::from_config_str(&format!(
        "[services.private]\ntype = \"direct\"\nendpoint = \"ws://alice:{SECRET}@{address}/feed\"\n\
         max_retries = 0\n"
    ))
    .expect("a valid config");
    assert_no_credentials("the factory's Debug", &format!("{factory:?}"));
    assert_no_credentials("the config's Debug", &format!("{:?}", factory.config()));
    let sink = factory.create_sink("private").await.expect("create_sink");
    let error = bounded("send", sink.send(numbered(1, 16)))
        .await
        .expect_err("nothing listens");
    assert_no_credentials("the error's Display", &error.to_string());
    assert_no_credentials("the error's Debug", &format!("{error:?}"));
    assert_no_credentials("the sink's Debug", &format!("{sink:?}"));
}
