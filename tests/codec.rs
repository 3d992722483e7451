//! `sinks::codec::LengthPrefixed` over real sockets: it writes the bytes an
//! independent encoder writes, reads what a sink writes, and refuses frames
//! over its maximum and streams torn mid-frame.

#[path = "support/mod.rs"]
mod support;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use proptest::prelude::*;
use sinks::codec::{FrameError, LengthPrefixed};
use sinks::config::LeafConfig;
use sinks::{EndpointSink, MessageSink};
use support::{bind_tcp, bounded, tcp_endpoint};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::{Decoder, Encoder, FramedRead, FramedWrite};

#[tokio::test]
async fn framed_write_puts_the_wire_format_on_a_socket() {
    let (listener, address) = bind_tcp().await;
    let client = TcpStream::connect(address).await.expect("connect");
    let (mut server, _) = listener.accept().await.expect("accept");
    let mut frames = FramedWrite::new(client, LengthPrefixed::new());
    let payloads: [&[u8]; 3] = [b"one", b"", b"three"];
    for payload in payloads {
        frames
            .send(Bytes::from_static(payload))
            .await
            .expect("send");
    }
    drop(frames);
    let mut received = Vec::new();
    bounded("read", server.read_to_end(&mut received))
        .await
        .expect("read");
    assert_eq!(received, support::length_prefixed(&payloads));
}

#[tokio::test]
async fn framed_read_gets_what_a_sink_sent() {
    let (listener, address) = bind_tcp().await;
    let sink = EndpointSink::direct("feed", LeafConfig::new(tcp_endpoint(address)));
    let sending = async {
        for id in 0..100 {
            sink.send(support::numbered(id, 10 + id as usize * 100))
                .await
                .expect("send");
        }
        sink.flush().await.expect("flush");
        sink.disconnect().await.expect("disconnect");
    };
    let receiving = async {
        let (server, _) = listener.accept().await.expect("accept");
        let frames: Vec<Bytes> = FramedRead::new(server, LengthPrefixed::new())
            .map(|frame| frame.expect("a whole frame"))
            .collect()
            .await;
        frames
    };
    let ((), frames) = bounded("send and receive", async {
        tokio::join!(sending, receiving)
    })
    .await;
    let ids: Vec<u64> = frames.iter().map(|frame| support::id_of(frame)).collect();
    assert_eq!(ids, (0..100).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_frame_over_the_maximum_is_refused_before_it_arrives() {
    let (listener, address) = bind_tcp().await;
    let mut client = TcpStream::connect(address).await.expect("connect");
    let (server, _) = listener.accept().await.expect("accept");
    // Only the prefix is sent: the codec must refuse without waiting for the payload.
    client
        .write_all(&100_000u32.to_le_bytes())
        .await
        .expect("write");
    let mut frames = FramedRead::new(server, LengthPrefixed::with_max_frame_bytes(99_999));
    match bounded("decode", frames.next()).await {
        Some(Err(FrameError::TooLong { length, max })) => {
            assert_eq!((length, max), (100_000, 99_999))
        }
        other => panic!("expected TooLong, got {other:?}"),
    }
}

#[tokio::test]
async fn a_stream_torn_mid_frame_is_an_error_after_the_whole_frames() {
    let (listener, address) = bind_tcp().await;
    let mut client = TcpStream::connect(address).await.expect("connect");
    let (server, _) = listener.accept().await.expect("accept");
    let mut bytes = support::length_prefixed(&[&b"whole"[..], b"torn payload"]);
    bytes.truncate(bytes.len() - 5);
    client.write_all(&bytes).await.expect("write");
    client.shutdown().await.expect("shutdown");
    let mut frames = FramedRead::new(server, LengthPrefixed::new());
    assert_eq!(
        bounded("decode", frames.next())
            .await
            .expect("a frame")
            .expect("whole"),
        "whole"
    );
    let error = bounded("decode", frames.next())
        .await
        .expect("an item")
        .expect_err("torn");
    assert_eq!(
        error.to_string(),
        "the stream ended inside a frame: 11 of 16 bytes arrived; the sender hung up mid-message"
    );
}

#[test]
fn encoding_a_payload_over_the_maximum_writes_nothing() {
    let mut codec = LengthPrefixed::with_max_frame_bytes(3);
    let mut out = BytesMut::new();
    let error = codec.encode(&b"four"[..], &mut out).expect_err("too long");
    assert_eq!(
        error.to_string(),
        "a frame of 4 bytes is over the maximum of 3 bytes; raise the maximum if such messages are expected"
    );
    assert!(out.is_empty());
    codec.encode(&b"abc"[..], &mut out).expect("fits");
    assert_eq!(&out[..], b"\x03\x00\x00\x00abc");
}

proptest! {
    /// However the bytes are split into reads, the same payloads come out.
    #[test]
    fn decodes_the_same_payloads_at_any_chunking(
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..20),
        cuts in prop::collection::vec(1usize..64, 1..50),
    ) {
        let wire = support::length_prefixed(&payloads);
        let mut codec = LengthPrefixed::new();
        let mut buffer = BytesMut::new();
        let mut decoded = Vec::new();
        let mut offset = 0;
        let mut cut = cuts.iter().cycle();
        while offset < wire.len() {
            let end = (offset + cut.next().copied().unwrap_or(1)).min(wire.len());
            buffer.extend_from_slice(&wire[offset..end]);
            offset = end;
            while let Some(frame) = codec.decode(&mut buffer).expect("valid frames") {
                decoded.push(frame.to_vec());
            }
        }
        prop_assert_eq!(codec.decode_eof(&mut buffer).expect("no torn frame"), None);
        prop_assert_eq!(decoded, payloads);
    }
}
