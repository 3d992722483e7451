//! Deploy-time overrides of a compiled topology against real listeners:
//! `Sinks::with_overrides` and `SinkFactory::from_config_with` send to
//! endpoints that differ from the compiled ones; every rejected case has its
//! whole message asserted. `Sinks::from_env()` is in `deploy_from_env.rs`,
//! alone in its binary because it sets process environment variables.

#[path = "support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::path::Path;

use sinks::{Message, MessageSink, Overrides, SinkError, SinkFactory};

use support::{Peer, SocketDir, TestCa, bind_tcp, bounded, ids_of, numbered};

sinks::include_sinks!("tests/deploy.toml" as Deployed);

/// The compiled topology's variables pointed at real listeners.
fn overrides_for(dir: &Path, gateway: SocketAddr) -> Overrides {
    Overrides::new()
        .var("DEPLOY_RUN_DIR", dir.display().to_string())
        .var("DEPLOY_GATEWAY_HOST", gateway.ip().to_string())
        .var("DEPLOY_GATEWAY_PORT", gateway.port().to_string())
}

fn invalid_config(result: Result<impl std::fmt::Debug, SinkError>) -> String {
    match result {
        Err(SinkError::InvalidConfig(errors)) => errors.to_string(),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

#[tokio::test]
async fn with_overrides_sends_to_the_endpoints_the_variables_name() {
    let dir = SocketDir::new();
    let (relay_listener, relay_path) = dir.bind("relay");
    let relay_peer = Peer::length_prefixed(relay_listener);
    let (gateway_listener, gateway) = bind_tcp().await;
    let gateway_peer = Peer::length_prefixed(gateway_listener);
    let root = relay_path
        .parent()
        .expect("in the socket dir")
        .to_path_buf();
    let sinks = Deployed::with_overrides(&overrides_for(&root, gateway)).expect("valid overrides");
    bounded("fanout", sinks.both().send(numbered(1, 32)))
        .await
        .expect("send");
    assert_eq!(
        ids_of(&relay_peer.recording().wait_for_frames(1).await),
        [1]
    );
    assert_eq!(
        ids_of(&gateway_peer.recording().wait_for_frames(1).await),
        [1]
    );
    assert_eq!(
        sinks.relay().metadata().labels,
        [
            ("team".to_owned(), "quant".to_owned()),
            ("region".to_owned(), "eu".to_owned())
        ]
    );
}

#[tokio::test]
async fn an_overlay_and_an_endpoint_override_win_over_the_compiled_values() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("elsewhere.sock");
    let peer = Peer::length_prefixed(listener);
    let (gateway_listener, gateway) = bind_tcp().await;
    let gateway_peer = Peer::length_prefixed(gateway_listener);
    let overrides = Overrides::new()
        .overlay_str(
            "[services.relay]\nendpoint = \"unix:///nonexistent/overlaid.sock\"\nbuffer_size = 7\nmetadata = { team = \"ops\" }\n",
        )
        .endpoint("relay", format!("unix://{}", path.display()))
        .endpoint("gateway", format!("tcp://{gateway}"));
    let sinks = Deployed::with_overrides(&overrides).expect("valid overrides");
    assert_eq!(sinks.relay().config().buffer_size(), 7);
    assert_eq!(
        sinks.relay().metadata().labels,
        [("team".to_owned(), "ops".to_owned())]
    );
    bounded("send", sinks.relay().send(numbered(5, 16)))
        .await
        .expect("send");
    bounded("send", sinks.gateway().send(numbered(6, 16)))
        .await
        .expect("send");
    assert_eq!(ids_of(&peer.recording().wait_for_frames(1).await), [5]);
    assert_eq!(
        ids_of(&gateway_peer.recording().wait_for_frames(1).await),
        [6]
    );
}

#[tokio::test]
async fn new_uses_the_defaults_and_a_sink_without_its_variable_refuses_every_send() {
    let sinks = Deployed::new();
    assert_eq!(
        sinks.relay().metadata().endpoint.as_deref(),
        Some("unix:///nonexistent-sinks-run-dir/relay.sock")
    );
    let expected = "1 problem in the sinks config\n  tests/deploy.toml:10:12: service `gateway`, key `endpoint`: needs the variable `DEPLOY_GATEWAY_HOST` (no default), but the sinks were built from the compiled values alone; build them with `from_env()` or `with_overrides(..)`, or give a default: `${VAR:-value}`";
    assert_eq!(
        invalid_config(sinks.gateway().try_send(numbered(1, 8))),
        expected
    );
    assert_eq!(
        invalid_config(bounded("send", sinks.gateway().send(numbered(1, 8))).await),
        expected
    );
    assert_eq!(
        invalid_config(bounded("connect", sinks.gateway().connect()).await),
        expected
    );
    assert!(!sinks.gateway().is_connected());
}

#[tokio::test]
async fn every_problem_of_every_source_comes_back_together() {
    let dir = tempfile::tempdir().expect("temp dir");
    let overlay = dir.path().join("prod.toml");
    std::fs::write(
        &overlay,
        "[services.relay]\nbuffer_size = 0\ntype = \"direct\"\n\n[services.reporting]\nendpoint = \"tcp://127.0.0.1:1\"\n\n[services.both]\ntargets = [\"relay\"]\n",
    )
    .expect("write overlay");
    let overrides = Overrides::new()
        .overlay_file(&overlay)
        .overlay_file(dir.path().join("missing.toml"))
        .endpoint("gateway", "tcp://exa!mple.com:1");
    let shown = invalid_config(Deployed::with_overrides(&overrides));
    let overlay = overlay.display();
    let missing = dir.path().join("missing.toml");
    let missing = missing.display();
    assert_eq!(
        shown,
        format!(
            "6 problems in the sinks config\n  \
             Overrides::endpoint(\"gateway\", ..): service `gateway`, key `endpoint`: the host `exa!mple.com` contains '!'; a host name has letters, digits, `-` and `.` only; write a host name (RFC 1123), an IPv4 address or a bracketed IPv6 address\n  \
             overlay {missing}: cannot read the overlay file: No such file or directory (os error 2); check the path (from `SINKS_OVERLAY` or `Overrides::overlay_file`)\n  \
             overlay {overlay}:2:15: service `relay`, key `buffer_size`: `buffer_size` is 0; use a whole number from 1 to 16777216\n  \
             overlay {overlay}:3:1: service `relay`, key `type`: an overlay cannot set `type`: the topology is fixed at compile time; an overlay may set endpoint, buffer and retry settings, lazy.*, tls_ca_file, max_message_bytes, framing, jetstream, jetstream_max_in_flight and metadata; change the rest in the config file and rebuild\n  \
             overlay {overlay}:5:11: service `reporting`: service `reporting` is not in the compiled topology; the topology is fixed at compile time: add the service to the config file and rebuild\n  \
             overlay {overlay}:9:1: service `both`, key `targets`: an overlay cannot set `targets`: the topology is fixed at compile time; an overlay may set endpoint, buffer and retry settings, lazy.*, tls_ca_file, max_message_bytes, framing, jetstream, jetstream_max_in_flight and metadata; change the rest in the config file and rebuild"
        )
    );
}

#[tokio::test]
async fn from_config_with_applies_the_overrides_to_a_runtime_config() {
    let dir = SocketDir::new();
    let (listener, relay_path) = dir.bind("relay");
    let peer = Peer::length_prefixed(listener);
    let (_gateway_listener, gateway) = bind_tcp().await;
    let factory = SinkFactory::from_config_with(
        "tests/deploy.toml",
        &overrides_for(relay_path.parent().expect("in the socket dir"), gateway)
            .var("DEPLOY_REGION", "us"),
    )
    .expect("valid overrides");
    let relay = factory.create_sink("relay").await.expect("defined");
    bounded("send", relay.send(numbered(3, 8)))
        .await
        .expect("send");
    assert_eq!(ids_of(&peer.recording().wait_for_frames(1).await), [3]);
    assert_eq!(
        relay.metadata().labels[1],
        ("region".to_owned(), "us".to_owned())
    );
    let rejected = SinkFactory::from_config_with(
        "tests/deploy.toml",
        &Overrides::new().var("DEPLOY_GATEWAY_HOST", "a..b"),
    );
    assert_eq!(
        invalid_config(rejected),
        "1 problem in the sinks config\n  tests/deploy.toml:10:12: service `gateway`, key `endpoint`: the host `a..b` has an empty label (two dots in a row, or a leading dot) (after interpolating `${DEPLOY_GATEWAY_HOST}`, `${DEPLOY_GATEWAY_PORT}`); write a host name (RFC 1123), an IPv4 address or a bracketed IPv6 address"
    );
}

#[tokio::test]
async fn an_overlay_tls_ca_file_is_read_when_applied_and_trusted_at_connect() {
    let dir = SocketDir::new();
    let ca = TestCa::new();
    let ca_file = ca.write_pem(dir.path("ca.pem"));
    let (listener, address) = bind_tcp().await;
    let peer = Peer::secure_websocket(listener, ca.acceptor_for(&["localhost"]));
    let overlay = format!(
        "[services.feed]\nendpoint = \"wss://localhost:{}/feed\"\ntls_ca_file = \"{}\"\n",
        address.port(),
        ca_file.display()
    );
    // `gateway` needs its variable whatever else is overridden.
    let base = || Overrides::new().var("DEPLOY_GATEWAY_HOST", "127.0.0.1");
    let sinks =
        Deployed::with_overrides(&base().overlay_str(overlay.clone())).expect("valid overrides");
    // Read when applied: the file may go away before the connect.
    std::fs::remove_file(&ca_file).expect("remove the CA file");
    bounded("send", sinks.feed().send(numbered(8, 16)))
        .await
        .expect("send over TLS");
    assert_eq!(ids_of(&peer.recording().wait_for_frames(1).await), [8]);
    let rejected = Deployed::with_overrides(&base().overlay_str(overlay));
    assert_eq!(
        invalid_config(rejected),
        format!(
            "1 problem in the sinks config\n  overlay #1 (overlay_str):3:15: service `feed`, key `tls_ca_file`: cannot read `{}`: No such file or directory (os error 2); name a PEM file of CA certificates; a relative path is relative to the file that names it",
            ca_file.display()
        )
    );
}

#[tokio::test]
async fn a_sink_with_a_domain_refuses_a_tlv_type_outside_it_before_writing() {
    let (listener, gateway) = bind_tcp().await;
    let peer = Peer::length_prefixed(listener);
    let dir = SocketDir::new();
    let sinks =
        Deployed::with_overrides(&overrides_for(&dir.path("unused"), gateway)).expect("valid");
    let outside = numbered(1, 8).with_tlv_type(5);
    match sinks.gateway().try_send(outside.clone()) {
        Err(error @ SinkError::OutsideDomain { .. }) => assert_eq!(
            error.to_string(),
            "sink `gateway`: TLV type 5 is outside the `execution` domain, which takes TLV types 40 to 79; send it to a service of its domain"
        ),
        other => panic!("expected OutsideDomain, got {other:?}"),
    }
    assert!(matches!(
        bounded("send", sinks.gateway().send(outside)).await,
        Err(SinkError::OutsideDomain { .. })
    ));
    // Nothing was written: the first frame the peer sees is the next message.
    let inside: Message = numbered(2, 8).with_tlv_type(40);
    bounded("send", sinks.gateway().send(inside))
        .await
        .expect("in the domain");
    bounded("send", sinks.gateway().send(numbered(3, 8)))
        .await
        .expect("no TLV type");
    assert_eq!(ids_of(&peer.recording().wait_for_frames(2).await), [2, 3]);
    assert_eq!(sinks.gateway().metadata().messages_sent, 2);
}
