//! `send_borrowed` and `try_send_borrowed`: a message the caller keeps, as a
//! fanout hands one message to each target. The sink takes what it needs
//! (a copy of a small payload, a clone of a large one) and the caller's
//! message is left as it was, to send again or elsewhere.

use sinks::config::{Endpoint, LeafConfig};
use sinks::{EndpointSink, Message, MessageSink, SinkError};

use crate::support::{
    Peer, SocketDir, bind_tcp, bounded, ids_of, numbered, quick_retry, ws_endpoint,
};

/// Small (copied into the queue) and large (kept as sent) payloads.
const SIZES: [usize; 2] = [64, 4_096];

async fn sends_borrowed_and_keeps_each(sink: &EndpointSink, peer: &Peer) {
    let messages: Vec<Message> = (0..40)
        .map(|id| numbered(id, SIZES[id as usize % 2]))
        .collect();
    for message in &messages {
        bounded("send_borrowed", sink.send_borrowed(message))
            .await
            .expect("send_borrowed");
    }
    bounded("flush", sink.flush()).await.expect("flush");
    let frames = peer.recording().wait_for_frames(messages.len()).await;
    assert_eq!(ids_of(&frames), (0..40).collect::<Vec<_>>());
    for (message, frame) in messages.iter().zip(&frames) {
        assert_eq!(
            &message.payload[..],
            &frame[..],
            "the caller's message is intact"
        );
    }
}

#[tokio::test]
async fn send_borrowed_on_a_relay_delivers_and_leaves_the_message_with_the_caller() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("relay");
    let peer = Peer::length_prefixed(listener);
    let sink = EndpointSink::relay(
        "borrowed",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_retry(quick_retry()),
    );
    // The first send finds the sink idle: it waits for the connection with
    // a clone of its own.
    sends_borrowed_and_keeps_each(&sink, &peer).await;
}

#[tokio::test]
async fn send_borrowed_over_websocket_delivers_and_leaves_the_message_with_the_caller() {
    let (listener, address) = bind_tcp().await;
    let peer = Peer::websocket(listener);
    let sink = EndpointSink::direct(
        "borrowed-ws",
        LeafConfig::new(ws_endpoint(address)).with_retry(quick_retry()),
    );
    sends_borrowed_and_keeps_each(&sink, &peer).await;
}

#[tokio::test]
async fn a_try_send_borrowed_refused_for_a_full_queue_leaves_the_message_to_retry() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("relay");
    let peer = Peer::length_prefixed(listener);
    let sink = EndpointSink::relay(
        "full",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_buffer_size(1)
            .with_retry(quick_retry()),
    );
    bounded("connect", sink.connect()).await.expect("connect");
    peer.pause_reading();
    // Fill the socket and the queue of one with large messages, then keep
    // offering the same message until the queue has room again.
    let message = numbered(1_000_000, 512 * 1024);
    let mut refused = 0;
    let mut accepted = 0u64;
    while refused == 0 {
        match sink.try_send_borrowed(&message) {
            Ok(()) => accepted += 1,
            Err(SinkError::BufferFull { .. }) => refused += 1,
            Err(other) => panic!("try_send_borrowed: {other}"),
        }
        tokio::task::yield_now().await;
    }
    peer.resume_reading();
    bounded("the same message, once there is room", async {
        while sink.try_send_borrowed(&message).is_err() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await;
    bounded("flush", sink.flush()).await.expect("flush");
    let frames = peer
        .recording()
        .wait_for_frames(accepted as usize + 1)
        .await;
    assert!(frames.iter().all(|frame| frame[..] == message.payload[..]));
    assert_eq!(sink.metadata().messages_sent, accepted + 1);
}
