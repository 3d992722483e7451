//! The wire format: on a byte stream a u32 little-endian length, then the
//! payload (`framing = "raw"`: the payload alone); on WebSocket one binary
//! frame per message. A payload over the limit is rejected, never cut.

use bytes::Bytes;
use sinks::config::{Endpoint, Framing, LeafConfig};
use sinks::{EndpointSink, Message, MessageSink, SinkError, SinkFactory};
use tokio::io::AsyncReadExt;

use crate::support::{
    Peer, SocketDir, StreamListener, bind_tcp, bounded, give_up_fast, length_prefixed,
    tcp_endpoint, ws_endpoint,
};

/// Payloads that show the prefix's byte order and size: empty, one byte,
/// 300 bytes (prefix `2c 01 00 00`) and 70 000 bytes (prefix `70 11 01 00`).
fn payloads() -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"a"),
        Bytes::new(),
        Bytes::from((0..300).map(|i| i as u8).collect::<Vec<u8>>()),
        Bytes::from((0..70_000).map(|i| (i * 7) as u8).collect::<Vec<u8>>()),
    ]
}

/// Accepts one connection and reads it to the end.
fn read_one_connection(listener: impl Into<StreamListener>) -> tokio::task::JoinHandle<Vec<u8>> {
    let listener = listener.into();
    tokio::spawn(async move {
        let mut stream = listener.accept().await.expect("accept");
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.expect("read");
        bytes
    })
}

async fn send_all_then_disconnect(sink: &dyn MessageSink, payloads: &[Bytes]) {
    for payload in payloads {
        bounded("send", sink.send(Message::new(payload.clone())))
            .await
            .expect("send");
    }
    bounded("flush", sink.flush()).await.expect("flush");
    bounded("disconnect", sink.disconnect())
        .await
        .expect("disconnect");
}

fn assert_length_prefixed(bytes: &[u8], payloads: &[Bytes]) {
    // Spelled out once, so the helper's own encoding is checked too.
    assert_eq!(
        &bytes[..5],
        b"\x01\x00\x00\x00a",
        "u32 LE length 1, then `a`"
    );
    assert_eq!(
        &bytes[5..9],
        b"\x00\x00\x00\x00",
        "an empty payload is a zero length"
    );
    assert_eq!(
        &bytes[9..13],
        b"\x2c\x01\x00\x00",
        "300 as u32 little-endian"
    );
    assert_eq!(
        &bytes[313..317],
        b"\x70\x11\x01\x00",
        "70 000 as u32 little-endian"
    );
    assert_eq!(bytes, length_prefixed(payloads), "the whole stream");
}

#[tokio::test]
async fn unix_stream_carries_u32_le_length_then_payload() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("relay");
    let reader = read_one_connection(listener);
    let sink = EndpointSink::relay(
        "relay",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_retry(give_up_fast()),
    );
    send_all_then_disconnect(&sink, &payloads()).await;
    let bytes = bounded("the peer reads", reader).await.expect("reader");
    assert_length_prefixed(&bytes, &payloads());
    let metadata = sink.metadata();
    assert_eq!(metadata.messages_sent, 4);
    assert_eq!(metadata.bytes_sent, bytes.len() as u64);
}

#[tokio::test]
async fn tcp_stream_carries_u32_le_length_then_payload() {
    let (listener, address) = bind_tcp().await;
    let reader = read_one_connection(listener);
    let sink = EndpointSink::direct(
        "tcp",
        LeafConfig::new(tcp_endpoint(address)).with_retry(give_up_fast()),
    );
    send_all_then_disconnect(&sink, &payloads()).await;
    let bytes = bounded("the peer reads", reader).await.expect("reader");
    assert_length_prefixed(&bytes, &payloads());
}

#[tokio::test]
async fn raw_framing_from_config_sends_payloads_alone() {
    let (listener, address) = bind_tcp().await;
    let reader = read_one_connection(listener);
    let factory = SinkFactory::from_config_str(&format!(
        "[services.raw_feed]\ntype = \"direct\"\nendpoint = \"tcp://{address}\"\nframing = \"raw\"\n"
    ))
    .expect("a valid config");
    let sink = factory.create_sink("raw_feed").await.expect("create_sink");
    send_all_then_disconnect(sink.as_ref(), &payloads()).await;
    let bytes = bounded("the peer reads", reader).await.expect("reader");
    assert_eq!(
        bytes,
        payloads().concat(),
        "the payloads back to back, no prefix"
    );
}

#[tokio::test]
async fn raw_framing_over_unix_sends_payloads_alone() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("raw");
    let reader = read_one_connection(listener);
    let sink = EndpointSink::relay(
        "raw",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_framing(Framing::Raw)
            .expect("framing applies to this endpoint")
            .with_retry(give_up_fast()),
    );
    send_all_then_disconnect(&sink, &payloads()).await;
    let bytes = bounded("the peer reads", reader).await.expect("reader");
    assert_eq!(bytes, payloads().concat());
}

#[tokio::test]
async fn websocket_sends_one_binary_frame_per_message() {
    let (listener, address) = bind_tcp().await;
    let peer = Peer::websocket(listener);
    let sink = EndpointSink::direct(
        "ws",
        LeafConfig::new(ws_endpoint(address)).with_retry(give_up_fast()),
    );
    send_all_then_disconnect(&sink, &payloads()).await;
    let expected: Vec<Vec<u8>> = payloads().iter().map(|p| p.to_vec()).collect();
    let frames = peer.recording().wait_for_frames(expected.len()).await;
    assert_eq!(
        frames, expected,
        "one binary frame per message, empty one included"
    );
    assert_eq!(peer.recording().accepted(), 1);
    assert!(
        peer.recording().anomalies().is_empty(),
        "no text frame, no broken frame: {:?}",
        peer.recording().anomalies()
    );
}

#[tokio::test]
async fn payload_over_max_message_bytes_is_rejected_not_truncated() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("small");
    let peer = Peer::length_prefixed(listener);
    let sink = EndpointSink::relay(
        "small",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_max_message_bytes(16)
            .with_retry(give_up_fast()),
    );

    let too_large = Message::new(vec![7u8; 17]);
    match bounded("send", sink.send(too_large.clone())).await {
        Err(SinkError::MessageTooLarge { size, limit, .. }) => assert_eq!((size, limit), (17, 16)),
        other => panic!("expected MessageTooLarge, got {other:?}"),
    }
    assert!(matches!(
        sink.try_send(too_large),
        Err(SinkError::MessageTooLarge {
            size: 17,
            limit: 16,
            ..
        })
    ));
    // A rejected payload opens no connection and is not counted as accepted.
    assert_eq!(peer.recording().accepted(), 0);

    let fits = vec![9u8; 16];
    bounded("send", sink.send(Message::new(fits.clone())))
        .await
        .expect("16 bytes fit");
    bounded("flush", sink.flush()).await.expect("flush");
    let frames = peer.recording().wait_for_frames(1).await;
    assert_eq!(
        frames,
        vec![fits],
        "only the payload that fits arrived, whole"
    );
    assert_eq!(sink.metadata().messages_failed, 0);
}

/// A 4 GiB + 1 byte payload, mapped but never touched, so the test costs no memory.
struct HugeZeroes {
    start: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is private to this value, read-only and freed once, on drop.
unsafe impl Send for HugeZeroes {}
// SAFETY: as above; shared access only reads.
unsafe impl Sync for HugeZeroes {}

impl HugeZeroes {
    fn new(len: usize) -> HugeZeroes {
        // SAFETY: an anonymous private mapping with no address hint; checked below.
        // MAP_NORESERVE: no commit charge, the pages are never touched.
        let start = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        assert_ne!(start, libc::MAP_FAILED, "map {len} bytes of address space");
        HugeZeroes { start, len }
    }
}

impl AsRef<[u8]> for HugeZeroes {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `start..start + len` is a live readable mapping owned by self.
        unsafe { std::slice::from_raw_parts(self.start.cast::<u8>(), self.len) }
    }
}

impl Drop for HugeZeroes {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`, once.
        unsafe { libc::munmap(self.start, self.len) };
    }
}

#[tokio::test]
async fn payload_longer_than_the_u32_prefix_is_rejected() {
    let dir = SocketDir::new();
    let (listener, path) = dir.bind("huge");
    let peer = Peer::length_prefixed(listener);
    let sink = EndpointSink::relay(
        "huge",
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_max_message_bytes(usize::MAX)
            .with_retry(give_up_fast()),
    );
    let size = u32::MAX as usize + 1;
    let huge = Message::new(Bytes::from_owner(HugeZeroes::new(size)));
    match bounded("send", sink.send(huge)).await {
        Err(SinkError::MessageTooLarge {
            size: got, limit, ..
        }) => {
            assert_eq!(got, size);
            assert_eq!(limit, u32::MAX as usize, "the prefix's limit applies");
        }
        other => panic!("expected MessageTooLarge, got {other:?}"),
    }
    assert_eq!(peer.recording().accepted(), 0, "nothing was sent");
}
