//! Auto-reconnect: a dropped connection is reopened and what was not yet
//! written is sent on it; what cannot be sent is counted and reported; with
//! `auto_reconnect = false` the drop is reported, not retried.

use std::time::Duration;

use sinks::config::{Endpoint, LeafConfig, RetryPolicy};
use sinks::{EndpointSink, Message, MessageSink, SinkError};
use tokio::net::UnixListener;
use tokio::sync::oneshot;

use crate::common::{self, Received, bind_unix, bounded, id_of, read_frames, unix_path};

/// A peer that reads `first` frames on its first connection, records them,
/// drops that connection and signals `dropped`; then, if `accept_again`, it
/// accepts on the same listener and records until EOF.
fn dropping_peer(
    listener: UnixListener,
    first: usize,
    accept_again: bool,
    received: Received,
    accepts: common::AcceptCounter,
) -> (oneshot::Receiver<()>, tokio::task::JoinHandle<()>) {
    let (dropped_tx, dropped) = oneshot::channel();
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        accepts.accepted();
        let connection = received.open();
        let frames = read_frames(&mut stream, first)
            .await
            .expect("the first frames");
        for frame in frames {
            received.record(connection, frame);
        }
        drop(stream);
        let listener = accept_again.then_some(listener);
        let _ = dropped_tx.send(());
        let Some(listener) = listener else {
            // Gone for good: the socket file stays, but nothing listens.
            return;
        };
        while let Ok((mut stream, _)) = listener.accept().await {
            accepts.accepted();
            common::record_frames(&mut stream, &received).await;
        }
    });
    (dropped, task)
}

#[tokio::test]
async fn reconnects_after_the_peer_drops_the_connection_and_sends_the_rest_on_the_new_one() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = unix_path(dir.path(), "relay");
    let received = Received::default();
    let accepts = common::AcceptCounter::default();
    let (dropped, _peer) = dropping_peer(
        bind_unix(&path),
        100,
        true,
        received.clone(),
        accepts.clone(),
    );
    let sink = EndpointSink::relay("relay", common::leaf(Endpoint::Unix(path)));
    for id in 0..100 {
        bounded("send", sink.send(Message::new(common::payload(id, 64))))
            .await
            .expect("send");
    }
    bounded("the peer dropping the connection", dropped)
        .await
        .expect("dropped");
    for id in 100..200 {
        bounded("send", sink.send(Message::new(common::payload(id, 64))))
            .await
            .expect("sends are accepted while reconnecting");
    }
    bounded("flush", sink.flush())
        .await
        .expect("flush after reconnecting");
    received.wait_for(200).await;
    let connections = received.connections();
    assert_eq!(connections.len(), 2, "one reconnect");
    assert_eq!(
        connections[0].iter().map(|p| id_of(p)).collect::<Vec<_>>(),
        (0..100).collect::<Vec<u64>>()
    );
    assert_eq!(
        connections[1].iter().map(|p| id_of(p)).collect::<Vec<_>>(),
        (100..200).collect::<Vec<u64>>(),
        "the new connection gets exactly what the old one did not, in order"
    );
    assert!(received.payloads().iter().all(|p| p.len() == 64));
    let metadata = sink.metadata();
    assert_eq!((metadata.messages_sent, metadata.messages_failed), (200, 0));
    assert_eq!(accepts.get(), 2);
}

#[tokio::test]
async fn when_reconnecting_gives_up_every_accepted_message_is_received_or_counted_failed() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = unix_path(dir.path(), "relay");
    let received = Received::default();
    let accepts = common::AcceptCounter::default();
    // The peer goes away for good: connection and listener.
    let (dropped, _peer) = dropping_peer(
        bind_unix(&path),
        10,
        false,
        received.clone(),
        accepts.clone(),
    );
    let sink = EndpointSink::relay(
        "relay",
        LeafConfig::new(Endpoint::Unix(path)).retry(common::give_up_fast()),
    );
    for id in 0..10 {
        bounded("send", sink.send(Message::new(common::payload(id, 64))))
            .await
            .expect("send");
    }
    bounded("the peer going away", dropped)
        .await
        .expect("dropped");
    let mut accepted_after_drop = 0u64;
    for id in 10..30 {
        if bounded("send", sink.send(Message::new(common::payload(id, 64))))
            .await
            .is_ok()
        {
            accepted_after_drop += 1;
        }
    }
    assert!(
        accepted_after_drop > 0,
        "no send was accepted after the drop"
    );
    let flushed = bounded("flush", sink.flush()).await;
    let metadata = sink.metadata();
    assert_eq!(received.count(), 10, "nothing arrived after the drop");
    assert_eq!(metadata.messages_sent, 10);
    assert_eq!(
        metadata.messages_failed, accepted_after_drop,
        "every accepted message not received is counted failed"
    );
    match flushed {
        Err(SinkError::SendFailed { failed, .. }) => assert_eq!(failed, accepted_after_drop),
        other => panic!("expected SendFailed, got {other:?}"),
    }
    // Reported once.
    bounded("flush", sink.flush())
        .await
        .expect("nothing new to report");
}

#[tokio::test]
async fn without_auto_reconnect_a_drop_is_reported_and_not_retried() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = unix_path(dir.path(), "relay");
    let received = Received::default();
    let accepts = common::AcceptCounter::default();
    let (dropped, _peer) =
        dropping_peer(bind_unix(&path), 5, true, received.clone(), accepts.clone());
    let retry = RetryPolicy::default()
        .auto_reconnect(false)
        .retry_delay(Duration::from_millis(20))
        .connect_timeout(Duration::from_millis(300))
        .wait_timeout(Duration::from_secs(2));
    let sink = EndpointSink::relay("relay", LeafConfig::new(Endpoint::Unix(path)).retry(retry));
    for id in 0..5 {
        bounded("send", sink.send(Message::new(common::payload(id, 64))))
            .await
            .expect("send");
    }
    bounded("the peer dropping the connection", dropped)
        .await
        .expect("dropped");
    // The writer notices the drop while idle and gives up without retrying.
    common::eventually("the drop being noticed", || {
        sink.metadata().state == sinks::ConnectionState::Failed
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(accepts.get(), 1, "the sink reconnected by itself");
    let last_error = sink.metadata().last_error;
    assert!(last_error.is_some(), "the drop left no last_error");
    assert_eq!(received.count(), 5);
}

/// Which peer `reconnects_proactively` runs against.
#[derive(Debug, Clone, Copy)]
enum Peer {
    Tcp,
    WebSocket,
}

/// The peer reads `first` messages on its first connection and hangs up;
/// the idle writer notices at once and reconnects before anything else is
/// sent, so what is sent next arrives whole, in order, on the new connection.
async fn reconnects_proactively(peer: Peer) {
    let (listener, address) = common::bind_tcp().await;
    let received = Received::default();
    let accepts = common::AcceptCounter::default();
    let first = 20;
    let _server = {
        let received = received.clone();
        let accepts = accepts.clone();
        tokio::spawn(async move {
            let mut serving_first = true;
            while let Ok((mut stream, _)) = listener.accept().await {
                accepts.accepted();
                match (peer, serving_first) {
                    (Peer::Tcp, true) => {
                        let connection = received.open();
                        for frame in read_frames(&mut stream, first).await.expect("frames") {
                            received.record(connection, frame);
                        }
                    }
                    (Peer::WebSocket, true) => {
                        use futures_util::StreamExt;
                        let mut ws = tokio_tungstenite::accept_async(stream)
                            .await
                            .expect("handshake");
                        let connection = received.open();
                        while received.connections()[connection].len() < first {
                            match ws.next().await {
                                Some(Ok(tokio_tungstenite::tungstenite::Message::Binary(p))) => {
                                    received.record(connection, p.to_vec())
                                }
                                Some(Ok(_)) => {}
                                other => panic!("the first connection ended early: {other:?}"),
                            }
                        }
                        let _ = ws.close(None).await;
                    }
                    (Peer::Tcp, false) => {
                        let received = received.clone();
                        tokio::spawn(
                            async move { common::record_frames(&mut stream, &received).await },
                        );
                    }
                    (Peer::WebSocket, false) => {
                        let received = received.clone();
                        tokio::spawn(
                            async move { common::record_websocket(stream, &received).await },
                        );
                    }
                }
                serving_first = false;
            }
        })
    };
    let endpoint = match peer {
        Peer::Tcp => common::tcp_endpoint(address),
        Peer::WebSocket => common::ws_endpoint(address, "/feed"),
    };
    let sink = EndpointSink::direct("peer", common::leaf(endpoint));
    for id in 0..first as u64 {
        bounded("send", sink.send(Message::new(common::payload(id, 64))))
            .await
            .expect("send");
    }
    bounded("flush", sink.flush()).await.expect("flush");
    common::eventually("the sink reconnecting by itself", || accepts.get() == 2).await;
    common::eventually("the new connection being up", || sink.is_connected()).await;
    for id in first as u64..100 {
        bounded("send", sink.send(Message::new(common::payload(id, 64))))
            .await
            .expect("send");
    }
    bounded("flush", sink.flush()).await.expect("flush");
    received.wait_for(100).await;
    let connections = received.connections();
    assert_eq!(connections.len(), 2, "{peer:?}");
    let ids = |payloads: &Vec<Vec<u8>>| payloads.iter().map(|p| id_of(p)).collect::<Vec<_>>();
    assert_eq!(ids(&connections[0]), (0..first as u64).collect::<Vec<_>>());
    assert_eq!(
        ids(&connections[1]),
        (first as u64..100).collect::<Vec<_>>()
    );
    let metadata = sink.metadata();
    assert_eq!((metadata.messages_sent, metadata.messages_failed), (100, 0));
}

#[tokio::test]
async fn tcp_sink_reconnects_as_soon_as_the_peer_hangs_up() {
    reconnects_proactively(Peer::Tcp).await;
}

#[tokio::test]
async fn websocket_sink_reconnects_as_soon_as_the_peer_closes() {
    reconnects_proactively(Peer::WebSocket).await;
}
