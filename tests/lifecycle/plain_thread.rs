//! `handle.block_on(sink.send(m))` from a plain thread, outside any runtime:
//! the send defers its work to its first poll, which runs inside the
//! runtime, so it connects and delivers (before the fix it failed with
//! `NoRuntime`, while `block_on(async { sink.send(m).await })` worked).

use std::sync::Arc;

use sinks::config::{Endpoint, LeafConfig};
use sinks::{EndpointSink, MessageSink, SinkError};
use tokio::runtime::{Builder, Handle};

use crate::support::{
    SocketDir, WatchedPeer, bind_unix, eventually, ids_of, numbered, quick_retry,
};

#[test]
fn handle_block_on_send_from_a_plain_thread_connects_and_delivers() {
    let runtime = Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = SocketDir::new();
    let path = dir.path("relay");
    let peer = runtime.block_on(async { WatchedPeer::start(bind_unix(&path)) });
    let sink = Arc::new(EndpointSink::relay(
        "relay",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_retry(quick_retry()),
    ));

    let handle = runtime.handle().clone();
    let thread_sink = Arc::clone(&sink);
    let outcome = std::thread::spawn(move || {
        let sink = thread_sink;
        assert!(
            Handle::try_current().is_err(),
            "the thread is in no runtime"
        );
        // Without a runtime an idle sink cannot start its writer: try_send
        // says so and accepts nothing, rather than queue for nobody.
        match sink.try_send(numbered(0, 32)) {
            Err(SinkError::NoRuntime { .. }) => {}
            other => panic!("try_send outside a runtime: expected NoRuntime, got {other:?}"),
        }
        // The first send finds the sink idle: it starts the writer when
        // block_on first polls it, inside the runtime.
        handle.block_on(sink.send(numbered(1, 32)))?;
        // Connected: the ready path.
        handle.block_on(sink.send(numbered(2, 32)))?;
        handle.block_on(sink.disconnect())?;
        // Idle again after the disconnect: connects again the same way.
        handle.block_on(sink.send(numbered(3, 32)))?;
        handle.block_on(sink.flush())
    })
    .join()
    .expect("the plain thread");
    outcome.expect("every call from the plain thread succeeds");

    runtime.block_on(async {
        eventually("three messages arriving", || peer.frame_count() >= 3).await;
        let frames: Vec<Vec<u8>> = peer
            .connections()
            .into_iter()
            .flat_map(|connection| connection.frames)
            .collect();
        assert_eq!(ids_of(&frames), vec![1, 2, 3]);
        assert_eq!(
            peer.accepted(),
            2,
            "one connection before the disconnect, one after"
        );
        let metadata = sink.metadata();
        assert_eq!((metadata.messages_sent, metadata.messages_failed), (3, 0));
    });
}
