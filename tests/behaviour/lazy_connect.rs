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

#[tokio::test]
async fn try_send_on_a_fresh_sink_connects_and_delivers() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (path, received, accepts, _peer) = unix_peer(dir.path(), "relay");
    let sink = EndpointSink::relay("relay", leaf(Endpoint::Unix(path)));
    sink.try_send(Message::from("queued before connecting"))
        .expect("try_send queues while the first connect runs");
    bounded("flush", sink.flush()).await.expect("flush");
    received.wait_for(1).await;
    assert_eq!(
        received.payloads(),
        vec![b"queued before connecting".to_vec()]
    );
    assert_eq!(accepts.get(), 1);
}

#[tokio::test]
async fn disconnect_writes_what_is_queued_then_closes_and_a_later_send_connects_again() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (path, received, accepts, _peer) = unix_peer(dir.path(), "relay");
    let sink = EndpointSink::relay("relay", leaf(Endpoint::Unix(path)));
    for id in 0..200 {
        sink.try_send(Message::new(common::payload(id, 512)))
            .expect("the default buffer has room");
    }
    bounded("disconnect", sink.disconnect())
        .await
        .expect("disconnect");
    assert_eq!(sink.state(), ConnectionState::Disconnected);
    assert_eq!(sink.metadata().messages_sent, 200);
    received.wait_for(200).await;
    assert_eq!(received.ids(), (0..200).collect::<Vec<u64>>());

    bounded("send", sink.send(Message::new(common::payload(200, 512))))
        .await
        .expect("a send after disconnect connects again");
    received.wait_for(201).await;
    assert_eq!(accepts.get(), 2);
    assert_eq!(received.connection_count(), 2);
}

#[tokio::test]
async fn dropping_the_sink_drains_the_queue_in_the_background_then_closes() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = common::unix_path(dir.path(), "relay");
    let listener = common::bind_unix(&path);
    let peer = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        common::read_to_end(&mut stream).await
    });
    let sink = EndpointSink::relay("relay", leaf(Endpoint::Unix(path)));
    for id in 0..300 {
        bounded("send", sink.send(Message::new(common::payload(id, 256))))
            .await
            .expect("send");
    }
    drop(sink);
    // The peer sees every message, then the end of the stream.
    let wire = bounded("the peer reading to EOF", peer)
        .await
        .expect("peer");
    let ids: Vec<u64> = common::split_frames(&wire)
        .iter()
        .map(|frame| common::id_of(frame))
        .collect();
    assert_eq!(ids, (0..300).collect::<Vec<u64>>());
}
