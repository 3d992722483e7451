//! Lazy connect: building a sink does no I/O and spawns nothing; the first
//! send (or `connect`) connects; many first sends at once share one connection.

use std::sync::Arc;
use std::time::Duration;

use sinks::config::{Endpoint, LeafConfig};
use sinks::{ConnectionState, EndpointSink, MessageSink};

use crate::support::{
    Peer, SocketDir, bind_tcp, bounded, ids_of, numbered, quick_retry, tcp_endpoint,
};

/// How long a test watches for a connection that must not come.
const QUIET: Duration = Duration::from_millis(100);

/// A plain test: no tokio runtime exists, so a sink that spawned or
/// connected while being built would panic or show on the listener.
#[test]
fn building_a_sink_needs_no_runtime_and_opens_nothing() {
    let dir = SocketDir::new();
    let path = dir.path("relay");
    let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");

    let sink = EndpointSink::relay(
        "relay",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path")),
    );
    assert_eq!(sink.state(), ConnectionState::Disconnected);
    assert!(!sink.is_connected());
    let metadata = sink.metadata();
    assert_eq!((metadata.messages_sent, metadata.bytes_sent), (0, 0));
    assert_eq!(
        listener.accept().map_err(|error| error.kind()).err(),
        Some(std::io::ErrorKind::WouldBlock),
        "building the sink connected"
    );

    // The same sink connects once a runtime runs its first send.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let listener = tokio::net::UnixListener::from_std(listener).expect("to tokio");
        let peer = Peer::length_prefixed(listener);
        bounded("send", sink.send(numbered(1, 8)))
            .await
            .expect("send");
        let frames = peer.recording().wait_for_frames(1).await;
        assert_eq!(ids_of(&frames), vec![1]);
        assert_eq!(peer.recording().accepted(), 1);
    });
}

#[tokio::test]
async fn first_send_opens_the_connection() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("relay");
    let peer = Peer::length_prefixed(listener);
    let sink = EndpointSink::relay(
        "relay",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_retry(quick_retry()),
    );

    tokio::time::sleep(QUIET).await;
    assert_eq!(
        peer.recording().accepted(),
        0,
        "no connection before the first send"
    );
    assert_eq!(sink.state(), ConnectionState::Disconnected);

    bounded("send", sink.send(numbered(7, 32)))
        .await
        .expect("send");
    assert!(sink.is_connected());
    let frames = peer.recording().wait_for_frames(1).await;
    assert_eq!(ids_of(&frames), vec![7]);
    assert_eq!(peer.recording().accepted(), 1);
}

#[tokio::test]
async fn connect_opens_the_connection_without_sending() {
    let (listener, address) = bind_tcp().await;
    let peer = Peer::length_prefixed(listener);
    let sink = EndpointSink::direct(
        "tcp",
        LeafConfig::new(tcp_endpoint(address)).with_retry(quick_retry()),
    );
    tokio::time::sleep(QUIET).await;
    assert_eq!(peer.recording().accepted(), 0);

    bounded("connect", sink.connect()).await.expect("connect");
    assert_eq!(sink.state(), ConnectionState::Connected);
    peer.recording().wait_for_accepts(1).await;
    // Connecting again is a no-op.
    bounded("connect", sink.connect()).await.expect("connect");
    bounded("disconnect", sink.disconnect())
        .await
        .expect("disconnect");
    assert_eq!(sink.state(), ConnectionState::Disconnected);
    assert_eq!(peer.recording().accepted(), 1);
    assert_eq!(peer.recording().frame_count(), 0, "connect sends nothing");
}

/// 64 tasks released together onto a fresh sink.
async fn concurrent_first_sends(sink: EndpointSink, peer: &Peer) {
    const TASKS: u64 = 64;
    let sink = Arc::new(sink);
    let start = Arc::new(tokio::sync::Barrier::new(TASKS as usize));
    let mut tasks = tokio::task::JoinSet::new();
    for id in 0..TASKS {
        let sink = Arc::clone(&sink);
        let start = Arc::clone(&start);
        tasks.spawn(async move {
            start.wait().await;
            sink.send(numbered(id, 64)).await
        });
    }
    while let Some(result) = bounded("the senders", tasks.join_next()).await {
        result.expect("a sender task").expect("send");
    }
    bounded("flush", sink.flush()).await.expect("flush");
    let mut ids = ids_of(&peer.recording().wait_for_frames(TASKS as usize).await);
    ids.sort_unstable();
    assert_eq!(ids, (0..TASKS).collect::<Vec<_>>(), "every message, once");
    // A second connection, had one been opened, would be accepted by now.
    tokio::time::sleep(QUIET).await;
    assert_eq!(peer.recording().accepted(), 1, "exactly one connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_sends_share_one_unix_connection() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("relay");
    let peer = Peer::length_prefixed(listener);
    let sink = EndpointSink::relay(
        "relay",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_retry(quick_retry()),
    );
    concurrent_first_sends(sink, &peer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_sends_share_one_tcp_connection() {
    let (listener, address) = bind_tcp().await;
    let peer = Peer::length_prefixed(listener);
    let sink = EndpointSink::direct(
        "tcp",
        LeafConfig::new(tcp_endpoint(address)).with_retry(quick_retry()),
    );
    concurrent_first_sends(sink, &peer).await;
}
