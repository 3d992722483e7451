//! The runtime factory: builds sinks from a config string, caches them by
//! name, and gives a composite the very sinks its targets' own names give.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sinks::{Message, SinkError, SinkFactory};

use crate::common::{self, bounded, unix_path, unix_peer};

/// Two relays on Unix sockets in `dir` and a fanout over both.
fn config(dir: &Path) -> String {
    let relay = unix_path(dir, "test_relay");
    let other = unix_path(dir, "other_relay");
    format!(
        r#"
[services.test_relay]
type = "relay"
endpoint = "unix://{relay}"
buffer_size = 100
lazy.connect_timeout_secs = 0.2
lazy.retry_delay_ms = 20
lazy.max_retries = 1

[services.other_relay]
type = "relay"
endpoint = "{other}"
lazy.connect_timeout_secs = 0.2
lazy.retry_delay_ms = 20
lazy.max_retries = 1

[services.broadcast]
type = "composite"
pattern = "fanout"
targets = ["test_relay", "other_relay"]
"#,
        relay = relay.display(),
        other = other.display(),
    )
}

#[tokio::test]
async fn factory_builds_a_relay_from_a_config_string() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (_path, received, accepts, _peer) = unix_peer(dir.path(), "test_relay");
    let factory = SinkFactory::from_config_str(&config(dir.path())).expect("a valid config");
    let relay = factory.create_sink("test_relay").await.expect("create");
    let metadata = relay.metadata();
    assert_eq!(metadata.name, "test_relay");
    assert_eq!(metadata.sink_type, "relay");
    assert_eq!(accepts.get(), 0, "create_sink connected");
    bounded("send", relay.send(Message::from("from the factory")))
        .await
        .expect("send");
    received.wait_for(1).await;
    assert_eq!(received.payloads(), vec![b"from the factory".to_vec()]);
}

#[tokio::test]
async fn factory_fractional_connect_timeout_secs_bounds_each_attempt() {
    // A peer that accepts but never answers the WebSocket handshake.
    let (listener, address) = common::bind_tcp().await;
    let _silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let factory = SinkFactory::from_config_str(&format!(
        r#"
[services.silent]
type = "direct"
endpoint = "ws://{address}/feed"
max_retries = 1
retry_delay_ms = 30
lazy.connect_timeout_secs = 0.2
lazy.wait_timeout_secs = 2
"#
    ))
    .expect("a valid config");
    let sink = factory.create_sink("silent").await.expect("create");
    let started = Instant::now();
    let result = bounded("a send to a silent peer", sink.send(Message::from("x"))).await;
    let elapsed = started.elapsed();
    assert!(
        matches!(result, Err(SinkError::ConnectionFailed { attempts: 2, .. })),
        "{result:?}"
    );
    // Two 200 ms attempts and a 30 ms pause; the 5 s default would be far longer.
    assert!(elapsed >= Duration::from_millis(430), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[tokio::test]
async fn factory_caches_so_the_same_name_gives_the_same_sink() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let factory = SinkFactory::from_config_str(&config(dir.path())).expect("a valid config");
    let first = factory.create_sink("test_relay").await.expect("create");
    let second = factory.create_sink("test_relay").await.expect("create");
    assert!(Arc::ptr_eq(&first, &second));
    let broadcast = factory.create_sink("broadcast").await.expect("create");
    assert!(Arc::ptr_eq(
        &broadcast,
        &factory.create_sink("broadcast").await.expect("create")
    ));
    let missing = factory.create_sink("test_rely").await;
    assert!(
        matches!(missing, Err(SinkError::InvalidConfig(_))),
        "{missing:?}"
    );
}

#[tokio::test]
async fn factory_composite_fanout_sends_to_all_targets() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (_a, relay_received, _, _relay_peer) = unix_peer(dir.path(), "test_relay");
    let (_b, other_received, _, _other_peer) = unix_peer(dir.path(), "other_relay");
    let factory = SinkFactory::from_config_str(&config(dir.path())).expect("a valid config");
    let broadcast = factory.create_sink("broadcast").await.expect("create");
    assert_eq!(broadcast.metadata().sink_type, "composite");
    for id in 0..3 {
        bounded(
            "fanout send",
            broadcast.send(Message::new(common::payload(id, 16))),
        )
        .await
        .expect("send");
    }
    bounded("flush", broadcast.flush()).await.expect("flush");
    for received in [&relay_received, &other_received] {
        received.wait_for(3).await;
        assert_eq!(received.ids(), vec![0, 1, 2]);
    }
}

#[tokio::test]
async fn factory_composite_targets_are_the_standalone_sinks_themselves() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (_a, relay_received, relay_accepts, _relay_peer) = unix_peer(dir.path(), "test_relay");
    let (_b, _other_received, _, _other_peer) = unix_peer(dir.path(), "other_relay");
    let factory = SinkFactory::from_config_str(&config(dir.path())).expect("a valid config");
    // The composite first, so its targets are built through it.
    let broadcast = factory.create_sink("broadcast").await.expect("create");
    let relay = factory.create_sink("test_relay").await.expect("create");
    assert_eq!(relay.metadata().messages_sent, 0);
    bounded(
        "fanout send",
        broadcast.send(Message::from("via composite")),
    )
    .await
    .expect("send");
    bounded("flush", broadcast.flush()).await.expect("flush");
    assert_eq!(
        relay.metadata().messages_sent,
        1,
        "the standalone relay did not see the composite's send"
    );
    bounded("send", relay.send(Message::from("direct")))
        .await
        .expect("send");
    relay_received.wait_for(2).await;
    assert_eq!(relay_accepts.get(), 1, "one endpoint, one connection");
    assert_eq!(
        relay_received.payloads(),
        vec![b"via composite".to_vec(), b"direct".to_vec()]
    );
}
