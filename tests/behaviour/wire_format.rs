//! Wire format: u32 little-endian length then payload on byte streams, the
//! payload alone with `framing = "raw"`, one binary frame per message on
//! WebSocket; a payload over `max_message_bytes` is rejected, not truncated.

use sinks::config::{Endpoint, Framing, LeafConfig};
use sinks::{EndpointSink, Message, MessageSink, SinkError};

use crate::common::{
    self, bind_tcp, bind_unix, bounded, leaf, read_to_end, tcp_endpoint, unix_path, ws_endpoint,
};

/// The exact bytes `payloads` must produce with length-prefixed framing.
fn length_prefixed(payloads: &[&[u8]]) -> Vec<u8> {
    let mut wire = Vec::new();
    for payload in payloads {
        wire.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        wire.extend_from_slice(payload);
    }
    wire
}

#[tokio::test]
async fn unix_relay_writes_u32_le_length_then_payload_and_nothing_else() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = unix_path(dir.path(), "relay");
    let listener = bind_unix(&path);
    let peer = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        read_to_end(&mut stream).await
    });
    let sink = EndpointSink::relay("relay", leaf(Endpoint::Unix(path)));
    let payloads: [&[u8]; 4] = [b"hello", b"", &[0xff; 300], b"AAPL 189.52"];
    for payload in payloads {
        bounded("send", sink.send(Message::from(payload)))
            .await
            .expect("send");
    }
    bounded("disconnect", sink.disconnect())
        .await
        .expect("disconnect");
    let wire = bounded("the peer reading to EOF", peer)
        .await
        .expect("peer");
    assert_eq!(&wire[..9], &[5, 0, 0, 0, b'h', b'e', b'l', b'l', b'o']);
    assert_eq!(wire, length_prefixed(&payloads));
    assert_eq!(sink.metadata().messages_sent, 4);
    assert_eq!(sink.metadata().bytes_sent, wire.len() as u64);
}

#[tokio::test]
async fn tcp_prefix_is_little_endian_for_payloads_over_64_kib() {
    let (listener, address) = bind_tcp().await;
    let peer = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        read_to_end(&mut stream).await
    });
    let sink = EndpointSink::direct("direct", leaf(tcp_endpoint(address)));
    // 70_000 = 0x0001_1170: every byte of the prefix is distinct and non-zero
    // but the last, so a big-endian or u16 prefix would show.
    let big = common::payload(7, 70_000);
    bounded("send", sink.send(Message::new(big.clone())))
        .await
        .expect("send");
    bounded("send", sink.send(Message::from("tail")))
        .await
        .expect("send");
    bounded("disconnect", sink.disconnect())
        .await
        .expect("disconnect");
    let wire = bounded("the peer reading to EOF", peer)
        .await
        .expect("peer");
    assert_eq!(&wire[..4], &[0x70, 0x11, 0x01, 0x00]);
    assert_eq!(wire, length_prefixed(&[&big, b"tail"]));
}

#[tokio::test]
async fn one_thousand_relay_messages_arrive_as_one_thousand_frames_in_order() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = unix_path(dir.path(), "relay");
    let listener = bind_unix(&path);
    let peer = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        read_to_end(&mut stream).await
    });
    let sink = EndpointSink::relay("relay", leaf(Endpoint::Unix(path)));
    for i in 0..1000u32 {
        bounded("send", sink.send(Message::from(i.to_le_bytes().to_vec())))
            .await
            .expect("send");
    }
    bounded("flush", sink.flush()).await.expect("flush");
    assert_eq!(sink.metadata().messages_sent, 1000);
    bounded("disconnect", sink.disconnect())
        .await
        .expect("disconnect");
    let wire = bounded("the peer reading to EOF", peer)
        .await
        .expect("peer");
    let frames = common::split_frames(&wire);
    let expected: Vec<Vec<u8>> = (0..1000u32).map(|i| i.to_le_bytes().to_vec()).collect();
    assert_eq!(frames, expected);
}

#[tokio::test]
async fn raw_framing_writes_the_payload_bytes_alone() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = unix_path(dir.path(), "raw");
    let listener = bind_unix(&path);
    let peer = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        read_to_end(&mut stream).await
    });
    let sink = EndpointSink::direct("raw", leaf(Endpoint::Unix(path)).framing(Framing::Raw));
    for payload in ["one,", "two,", "three"] {
        bounded("send", sink.send(Message::from(payload)))
            .await
            .expect("send");
    }
    bounded("disconnect", sink.disconnect())
        .await
        .expect("disconnect");
    let wire = bounded("the peer reading to EOF", peer)
        .await
        .expect("peer");
    assert_eq!(wire, b"one,two,three");
}

#[tokio::test]
async fn websocket_sends_one_binary_frame_per_message() {
    let (address, received, accepts, _server) = common::websocket_peer().await;
    let sink = EndpointSink::direct("ws", leaf(ws_endpoint(address, "/feed")));
    let payloads = [
        common::payload(1, 8).to_vec(),
        common::payload(2, 100_000).to_vec(),
        b"text-looking bytes".to_vec(),
    ];
    for payload in &payloads {
        bounded("send", sink.send(Message::from(payload.clone())))
            .await
            .expect("send");
    }
    bounded("flush", sink.flush()).await.expect("flush");
    received.wait_for(3).await;
    assert_eq!(received.connections(), vec![payloads.to_vec()]);
    assert!(
        received.not_binary().is_empty(),
        "{:?}",
        received.not_binary()
    );
    assert_eq!(accepts.get(), 1);
}

#[tokio::test]
async fn payload_over_max_message_bytes_is_rejected_whole_never_truncated() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = unix_path(dir.path(), "small");
    let listener = bind_unix(&path);
    let peer = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        read_to_end(&mut stream).await
    });
    let sink = EndpointSink::relay(
        "small",
        LeafConfig::new(Endpoint::Unix(path))
            .retry(common::quick_retry())
            .max_message_bytes(16),
    );
    let too_large = vec![b'x'; 17];
    match bounded("send", sink.send(Message::from(too_large.clone()))).await {
        Err(SinkError::MessageTooLarge { sink, size, limit }) => {
            assert_eq!((sink.as_str(), size, limit), ("small", 17, 16));
        }
        other => panic!("expected MessageTooLarge, got {other:?}"),
    }
    assert!(matches!(
        sink.try_send(Message::from(too_large)),
        Err(SinkError::MessageTooLarge { size: 17, .. })
    ));
    let at_limit = vec![b'y'; 16];
    bounded("send", sink.send(Message::from(at_limit.clone())))
        .await
        .expect("a payload of exactly max_message_bytes is accepted");
    bounded("disconnect", sink.disconnect())
        .await
        .expect("disconnect");
    let wire = bounded("the peer reading to EOF", peer)
        .await
        .expect("peer");
    assert_eq!(wire, length_prefixed(&[&at_limit]));
    assert_eq!(sink.metadata().messages_sent, 1);
}
