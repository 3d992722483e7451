//! `SinkFactory` from config text: sink types, caching by name, composites
//! built over the very sinks of their target services. The first three are
//! the seed's own factory tests (SINK-003, "Testing Requirements"), under
//! their names, filled in against real peers.

use std::sync::Arc;

use sinks::{SinkError, SinkFactory};

use crate::support::{Peer, SocketDir, bind_tcp, bounded, ids_of, length_prefixed, numbered};

/// A relay (Unix), a direct TCP service and a fanout over both, all bound to
/// real peers.
async fn topology(dir: &SocketDir) -> (SinkFactory, Peer, Peer) {
    let (relay_listener, relay_path) = dir.bind("test_relay");
    let (tcp_listener, address) = bind_tcp().await;
    let factory = SinkFactory::from_config_str(&format!(
        r#"
[services.test_relay]
type = "relay"
endpoint = "unix://{}"
max_retries = 1
retry_delay_ms = 10

[services.test_direct]
type = "direct"
endpoint = "tcp://{address}"

[services.broadcast]
type = "composite"
pattern = "fanout"
targets = ["test_relay", "test_direct"]
"#,
        relay_path.display()
    ))
    .expect("a valid config");
    (
        factory,
        Peer::length_prefixed(relay_listener),
        Peer::length_prefixed(tcp_listener),
    )
}

/// A relay service is a relay sink that delivers length-prefixed frames.
#[tokio::test]
async fn test_factory_creates_relay_sink() {
    let dir = SocketDir::new();
    let (factory, relay_peer, _) = topology(&dir).await;
    let sink = factory
        .create_sink("test_relay")
        .await
        .expect("create_sink");
    let metadata = sink.metadata();
    assert_eq!(metadata.sink_type, "relay");
    assert_eq!(metadata.name, "test_relay");
    assert_eq!(
        metadata.endpoint,
        Some(format!("unix://{}", dir.path("test_relay").display()))
    );

    // The old smoke test: 1000 four-byte messages make 8000 bytes on the wire.
    let payloads: Vec<[u8; 4]> = (0..1000u32).map(u32::to_le_bytes).collect();
    for payload in &payloads {
        bounded("send", sink.send(payload.to_vec().into()))
            .await
            .expect("send");
    }
    bounded("flush", sink.flush()).await.expect("flush");
    assert_eq!(sink.metadata().messages_sent, 1000);
    assert_eq!(sink.metadata().bytes_sent, 8000);
    let frames = relay_peer.recording().wait_for_frames(1000).await;
    assert_eq!(length_prefixed(&frames), length_prefixed(&payloads));
}

/// The same name gives the same `Arc`; an undefined name is an error naming it.
#[tokio::test]
async fn test_factory_caches_sinks() {
    let dir = SocketDir::new();
    let (factory, _, _) = topology(&dir).await;
    let first = factory
        .create_sink("test_relay")
        .await
        .expect("create_sink");
    let again = factory
        .create_sink("test_relay")
        .await
        .expect("create_sink");
    assert!(
        Arc::ptr_eq(&first, &again),
        "the same name gives the same sink"
    );
    let other = factory
        .create_sink("test_direct")
        .await
        .expect("create_sink");
    assert!(!Arc::ptr_eq(&first, &other));
    assert_eq!(other.metadata().sink_type, "direct");

    let error = factory
        .create_sink("test_relya")
        .await
        .expect_err("not defined");
    assert!(matches!(error, SinkError::InvalidConfig(_)));
    assert!(error.to_string().contains("test_relya"), "{error}");
}

/// A fanout from the config sends every message to all its targets.
#[tokio::test]
async fn test_composite_fanout() {
    let dir = SocketDir::new();
    let (factory, relay_peer, tcp_peer) = topology(&dir).await;
    let broadcast = factory.create_sink("broadcast").await.expect("create_sink");
    assert_eq!(broadcast.metadata().sink_type, "composite");
    for id in 0..5 {
        bounded("send", broadcast.send(numbered(id, 32)))
            .await
            .expect("send");
    }
    bounded("flush", broadcast.flush()).await.expect("flush");
    for peer in [&relay_peer, &tcp_peer] {
        assert_eq!(
            ids_of(&peer.recording().wait_for_frames(5).await),
            (0..5).collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn composite_targets_are_the_standalone_sinks() {
    let dir = SocketDir::new();
    let (factory, relay_peer, tcp_peer) = topology(&dir).await;
    // The composite first: its targets are built for it and cached.
    let broadcast = factory.create_sink("broadcast").await.expect("create_sink");
    let relay = factory
        .create_sink("test_relay")
        .await
        .expect("create_sink");
    let direct = factory
        .create_sink("test_direct")
        .await
        .expect("create_sink");
    assert_eq!(relay.metadata().messages_sent, 0);

    bounded("send", broadcast.send(numbered(1, 32)))
        .await
        .expect("send");
    bounded("flush", broadcast.flush()).await.expect("flush");
    assert_eq!(
        relay.metadata().messages_sent,
        1,
        "sent through the standalone relay"
    );
    assert_eq!(
        direct.metadata().messages_sent,
        1,
        "sent through the standalone direct"
    );

    // Both paths share one connection per endpoint.
    bounded("send", relay.send(numbered(2, 32)))
        .await
        .expect("send");
    bounded("flush", relay.flush()).await.expect("flush");
    assert_eq!(
        ids_of(&relay_peer.recording().wait_for_frames(2).await),
        vec![1, 2]
    );
    assert_eq!(relay_peer.recording().accepted(), 1);
    assert_eq!(tcp_peer.recording().accepted(), 1);
}
