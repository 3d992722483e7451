//! Lazy connect: building a sink does no I/O and spawns nothing; the first
//! send (or `connect`) connects; many first sends at once share one connection.

use std::sync::Arc;
use std::time::Duration;

use sinks::config::{Endpoint, LeafConfig};
use sinks::{ConnectionState, EndpointSink, Message, MessageSink};

use crate::common::{self, bounded, leaf, unix_peer};

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

#[test]
fn building_a_sink_needs_no_runtime() {
    // No tokio runtime exists here: building (and dropping) must not need one.
    let sink = EndpointSink::relay(
        "relay",
        LeafConfig::new(Endpoint::Unix("/nonexistent/relay.sock".into())),
    );
    assert_eq!(sink.state(), ConnectionState::Disconnected);
    assert_eq!(sink.metadata().messages_sent, 0);
}

#[tokio::test]
async fn building_a_sink_does_no_io_and_spawns_nothing_until_the_first_send() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (path, received, accepts, _peer) = unix_peer(dir.path(), "relay");
    tokio::task::yield_now().await;
    let tasks_before = alive_tasks();

    let sink = EndpointSink::relay("relay", leaf(Endpoint::Unix(path)));
    let _ = sink.metadata();
    let _ = sink.is_connected();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        accepts.get(),
        0,
        "the listener saw a connection before any send"
    );
    assert_eq!(
        alive_tasks(),
        tasks_before,
        "building the sink spawned a task"
    );
    assert_eq!(sink.state(), ConnectionState::Disconnected);

    bounded("send", sink.send(Message::from("first")))
        .await
        .expect("send");
    assert!(
        alive_tasks() > tasks_before,
        "the first send spawned no writer"
    );
    received.wait_for(1).await;
    assert_eq!(accepts.get(), 1);
    assert_eq!(received.payloads(), vec![b"first".to_vec()]);
    assert!(sink.is_connected());
}

#[tokio::test]
async fn connect_opens_the_connection_before_any_send() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (path, received, accepts, _peer) = unix_peer(dir.path(), "relay");
    let sink = EndpointSink::relay("relay", leaf(Endpoint::Unix(path)));
    bounded("connect", sink.connect()).await.expect("connect");
    assert!(sink.is_connected());
    assert_eq!(sink.state(), ConnectionState::Connected);
    common::eventually("the listener accepting", || accepts.get() == 1).await;
    // A second connect on a live connection opens nothing new.
    bounded("connect", sink.connect()).await.expect("connect");
    bounded("send", sink.send(Message::from("after connect")))
        .await
        .expect("send");
    received.wait_for(1).await;
    assert_eq!(accepts.get(), 1);
    assert_eq!(received.connection_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_tasks_sending_at_once_through_a_fresh_sink_open_one_connection() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (path, received, accepts, _peer) = unix_peer(dir.path(), "relay");
    let sink = Arc::new(EndpointSink::relay("relay", leaf(Endpoint::Unix(path))));
    let start = Arc::new(tokio::sync::Barrier::new(64));
    let mut senders = tokio::task::JoinSet::new();
    for task in 0..64u64 {
        let sink = Arc::clone(&sink);
        let start = Arc::clone(&start);
        senders.spawn(async move {
            start.wait().await;
            sink.send(Message::new(common::payload(task, 16))).await
        });
    }
    let results = bounded("64 concurrent sends", senders.join_all()).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    bounded("flush", sink.flush()).await.expect("flush");
    received.wait_for(64).await;
    // Let a second, late connection show, if one was opened.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(accepts.get(), 1, "more than one connection was opened");
    let mut ids = received.ids();
    ids.sort_unstable();
    assert_eq!(ids, (0..64).collect::<Vec<u64>>());
}
