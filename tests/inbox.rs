//! `Inbox` against real sinks and hand-written peers: every transport
//! delivers in order, malformed input closes only its own connection with one
//! error, a slow consumer holds the sender back, and dropping the inbox ends it.

#[path = "support/mod.rs"]
mod support;

use std::io;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sinks::config::{Endpoint, Framing, LeafConfig};
use sinks::{EndpointSink, Inbox, InboxOptions, MessageSink, SinkError};
use support::{SocketDir, assert_pending_for, bounded, eventually, id_of, numbered};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// A direct sink aimed at the inbox.
fn sink_to(inbox: &Inbox) -> EndpointSink {
    let endpoint = Endpoint::parse_direct(&inbox.local_endpoint()).expect("a sink endpoint");
    EndpointSink::direct(
        "feed",
        LeafConfig::new(endpoint).with_retry(support::quick_retry()),
    )
}

/// The next item, which must be a message.
async fn next_message(inbox: &mut Inbox) -> Vec<u8> {
    match bounded("a message", inbox.recv()).await {
        Some(Ok(payload)) => payload.to_vec(),
        other => panic!("expected a message, got {other:?}"),
    }
}

/// The next item, which must be an error; its kind and text.
async fn next_error(inbox: &mut Inbox) -> (io::ErrorKind, String) {
    match bounded("an error", inbox.recv()).await {
        Some(Err(SinkError::Io(error))) => (error.kind(), error.to_string()),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

/// The inbox closed `peer`'s connection: reading it ends (a clean end, or a
/// reset when the inbox dropped unread bytes) with nothing sent back.
async fn assert_closed_by_inbox(peer: &mut TcpStream) {
    let mut rest = Vec::new();
    match bounded("the connection closes", peer.read_to_end(&mut rest)).await {
        Ok(_) => assert!(rest.is_empty(), "the inbox sent {rest:?}"),
        Err(error) => assert_eq!(error.kind(), io::ErrorKind::ConnectionReset),
    }
}

async fn receives_in_order(endpoint: &str) {
    let mut inbox = Inbox::bind(endpoint).await.expect("bind the inbox");
    assert!(
        !inbox.local_endpoint().contains(":0"),
        "the port is resolved: {}",
        inbox.local_endpoint()
    );
    let sink = sink_to(&inbox);
    for id in 0..200 {
        sink.send(numbered(id, 64 + id as usize))
            .await
            .expect("send");
    }
    bounded("flush", sink.flush()).await.expect("flush");
    for id in 0..200 {
        assert_eq!(id_of(&next_message(&mut inbox).await), id);
    }
}

#[tokio::test]
async fn receives_a_tcp_sinks_messages_in_order() {
    receives_in_order("tcp://127.0.0.1:0").await;
}

#[tokio::test]
async fn receives_a_websocket_sinks_messages_in_order() {
    receives_in_order("ws://127.0.0.1:0/feed").await;
}

#[tokio::test]
async fn receives_a_unix_sinks_messages_in_order() {
    let dir = SocketDir::new();
    let endpoint = format!("unix://{}", dir.path("inbox").display());
    receives_in_order(&endpoint).await;
}

#[tokio::test]
async fn local_endpoint_keeps_the_websocket_path_and_the_unix_path() {
    let inbox = Inbox::bind("ws://127.0.0.1:0/ticks?x=1")
        .await
        .expect("bind");
    let endpoint = inbox.local_endpoint();
    assert!(endpoint.starts_with("ws://127.0.0.1:"), "{endpoint}");
    assert!(endpoint.ends_with("/ticks?x=1"), "{endpoint}");
    let dir = SocketDir::new();
    let path = dir.path("bare");
    let inbox = Inbox::bind(&path.display().to_string())
        .await
        .expect("bind");
    assert_eq!(inbox.local_endpoint(), format!("unix://{}", path.display()));
}

#[tokio::test]
async fn messages_from_many_connections_each_arrive_in_their_order() {
    let mut inbox = Inbox::bind("tcp://127.0.0.1:0").await.expect("bind");
    let sinks: Vec<EndpointSink> = (0..4).map(|_| sink_to(&inbox)).collect();
    for (index, sink) in sinks.iter().enumerate() {
        for sequence in 0..50u64 {
            let id = index as u64 * 1000 + sequence;
            sink.send(numbered(id, 16)).await.expect("send");
        }
    }
    for sink in &sinks {
        bounded("flush", sink.flush()).await.expect("flush");
    }
    let mut last_per_sink = [None::<u64>; 4];
    for _ in 0..200 {
        let id = id_of(&next_message(&mut inbox).await);
        let (sink, sequence) = ((id / 1000) as usize, id % 1000);
        assert_eq!(
            last_per_sink[sink].map_or(0, |last| last + 1),
            sequence,
            "sink {sink} out of order"
        );
        last_per_sink[sink] = Some(sequence);
    }
}

#[tokio::test]
async fn raw_framing_yields_the_bytes_as_they_come() {
    let mut inbox = Inbox::bind_with("tcp://127.0.0.1:0", Framing::Raw)
        .await
        .expect("bind");
    let address = inbox.local_endpoint().replace("tcp://", "");
    let mut peer = TcpStream::connect(address).await.expect("connect");
    let sent: Vec<u8> = (0..100_000u32).map(|index| index as u8).collect();
    peer.write_all(&sent).await.expect("write");
    let mut received = Vec::new();
    while received.len() < sent.len() {
        received.extend(next_message(&mut inbox).await);
    }
    assert_eq!(received, sent);
}

#[tokio::test]
async fn a_frame_over_the_maximum_closes_only_its_connection() {
    let options = InboxOptions::new().max_frame_bytes(8);
    let mut inbox = Inbox::bind_with("tcp://127.0.0.1:0", options)
        .await
        .expect("bind");
    let address = inbox.local_endpoint().replace("tcp://", "");
    let mut bad = TcpStream::connect(&address).await.expect("connect");
    bad.write_all(&support::length_prefixed(&[b"123456789"]))
        .await
        .expect("write");
    let (kind, message) = next_error(&mut inbox).await;
    assert_eq!(kind, io::ErrorKind::InvalidData);
    assert!(
        message.contains("a frame of 9 bytes is over the maximum of 8 bytes"),
        "{message}"
    );
    assert_closed_by_inbox(&mut bad).await;

    // Nothing else changed: a new connection is read as before.
    let mut good = TcpStream::connect(&address).await.expect("connect");
    good.write_all(&support::length_prefixed(&[&b"12345678"[..], b"ok"]))
        .await
        .expect("write");
    assert_eq!(next_message(&mut inbox).await, b"12345678");
    assert_eq!(next_message(&mut inbox).await, b"ok");
}

#[tokio::test]
async fn a_torn_frame_is_an_error_after_the_whole_ones() {
    let dir = SocketDir::new();
    let endpoint = format!("unix://{}", dir.path("torn").display());
    let mut inbox = Inbox::bind(&endpoint).await.expect("bind");
    let mut peer = UnixStream::connect(dir.path("torn"))
        .await
        .expect("connect");
    let mut bytes = support::length_prefixed(&[&b"whole"[..], b"cut off here"]);
    bytes.truncate(bytes.len() - 4);
    peer.write_all(&bytes).await.expect("write");
    peer.shutdown().await.expect("shutdown");
    assert_eq!(next_message(&mut inbox).await, b"whole");
    let (kind, message) = next_error(&mut inbox).await;
    assert_eq!(kind, io::ErrorKind::UnexpectedEof);
    assert!(
        message.contains("the stream ended inside a frame: 12 of 16 bytes arrived"),
        "{message}"
    );
}

#[tokio::test]
async fn a_websocket_text_frame_closes_only_its_connection() {
    let mut inbox = Inbox::bind("ws://127.0.0.1:0/").await.expect("bind");
    let url = inbox.local_endpoint();
    let (mut bad, _) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("connect");
    bad.send(WsMessage::text("hello")).await.expect("send text");
    let (kind, message) = next_error(&mut inbox).await;
    assert_eq!(kind, io::ErrorKind::InvalidData);
    assert!(message.contains("it sent a text frame"), "{message}");
    match bounded("the close frame", bad.next()).await {
        Some(Ok(WsMessage::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1003),
        other => panic!("expected a close frame, got {other:?}"),
    }

    let (mut good, _) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("connect");
    good.send(WsMessage::binary(&b"binary"[..]))
        .await
        .expect("send binary");
    assert_eq!(next_message(&mut inbox).await, b"binary");
}

/// A failed WebSocket handshake is reported before its connection closes,
/// like any other malformed input: with the inbox full, the report waits for
/// room, and the peer must not see the close meanwhile (else its next
/// connection's message could overtake the error in the inbox).
#[tokio::test]
async fn a_failed_websocket_handshake_is_reported_before_the_close() {
    let options = InboxOptions::new().capacity(1);
    let mut inbox = Inbox::bind_with("ws://127.0.0.1:0/", options)
        .await
        .expect("bind");
    let url = inbox.local_endpoint();
    let (mut filler, _) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("connect");
    filler
        .send(WsMessage::binary(&b"fills the inbox"[..]))
        .await
        .expect("send");
    let address = url
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .to_owned();
    let mut bad = TcpStream::connect(&address).await.expect("connect");
    // An HTTP request without the upgrade: the handshake refuses it.
    bad.write_all(b"GET / HTTP/1.1\r\nHost: inbox\r\n\r\n")
        .await
        .expect("write");
    let mut closed = Box::pin(async move {
        let mut answer = Vec::new();
        let _ = bad.read_to_end(&mut answer).await;
        answer
    });
    assert_pending_for(
        "the refused connection's close, while its report waits for room",
        &mut closed,
        Duration::from_millis(300),
    )
    .await;
    assert_eq!(next_message(&mut inbox).await, b"fills the inbox");
    let (kind, message) = next_error(&mut inbox).await;
    assert_eq!(kind, io::ErrorKind::InvalidData);
    assert!(
        message.contains("the WebSocket handshake failed"),
        "{message}"
    );
    bounded("the refused connection closes", closed).await;
}

#[tokio::test]
async fn a_websocket_message_over_the_maximum_closes_its_connection() {
    let options = InboxOptions::new().max_frame_bytes(4);
    let mut inbox = Inbox::bind_with("ws://127.0.0.1:0/", options)
        .await
        .expect("bind");
    let (mut peer, _) = tokio_tungstenite::connect_async(inbox.local_endpoint())
        .await
        .expect("connect");
    peer.send(WsMessage::binary(&b"fits"[..]))
        .await
        .expect("send");
    peer.send(WsMessage::binary(&b"too long"[..]))
        .await
        .expect("send");
    assert_eq!(next_message(&mut inbox).await, b"fits");
    let (kind, message) = next_error(&mut inbox).await;
    assert_eq!(kind, io::ErrorKind::InvalidData);
    assert!(
        message.contains("a frame of 8 bytes is over the maximum of 4 bytes"),
        "{message}"
    );
}

#[tokio::test]
async fn a_slow_consumer_holds_the_sender_back() {
    let dir = SocketDir::new();
    let endpoint = format!("unix://{}", dir.path("slow").display());
    let mut inbox = Inbox::bind_with(&endpoint, InboxOptions::new().capacity(2))
        .await
        .expect("bind");
    // 64 MiB: far more than the socket buffers and the two waiting items hold.
    let frames = 1024;
    let payload = vec![7u8; 64 * 1024];
    let mut peer = UnixStream::connect(dir.path("slow"))
        .await
        .expect("connect");
    let mut writer = Box::pin(async move {
        for _ in 0..frames {
            peer.write_all(&support::length_prefixed(&[&payload]))
                .await?;
        }
        io::Result::Ok(peer)
    });
    // Nobody calls recv: without backpressure the inbox would read it all.
    assert_pending_for("the writer", &mut writer, Duration::from_millis(500)).await;
    let reader = async {
        for _ in 0..frames {
            assert_eq!(next_message(&mut inbox).await.len(), 64 * 1024);
        }
    };
    let (written, ()) = bounded("writing and reading", async {
        tokio::join!(&mut writer, reader)
    })
    .await;
    written.expect("every frame written");
}

#[tokio::test]
async fn dropping_the_inbox_closes_connections_and_stops_accepting() {
    let mut inbox = Inbox::bind("tcp://127.0.0.1:0").await.expect("bind");
    let address = inbox.local_endpoint().replace("tcp://", "");
    let mut peer = TcpStream::connect(&address).await.expect("connect");
    peer.write_all(&support::length_prefixed(&[b"before"]))
        .await
        .expect("write");
    assert_eq!(next_message(&mut inbox).await, b"before");
    drop(inbox);
    assert_closed_by_inbox(&mut peer).await;
    let mut refused = false;
    eventually("connecting is refused", || {
        refused = std::net::TcpStream::connect(&address).is_err();
        refused
    })
    .await;

    let dir = SocketDir::new();
    let path = dir.path("gone");
    let inbox = Inbox::bind(&format!("unix://{}", path.display()))
        .await
        .expect("bind");
    assert!(path.exists());
    drop(inbox);
    assert!(!path.exists(), "the socket file is removed");
}

#[tokio::test]
async fn a_stale_socket_file_is_replaced_but_a_live_one_is_not() {
    let dir = SocketDir::new();
    let path = dir.path("stale");
    drop(std::os::unix::net::UnixListener::bind(&path).expect("bind"));
    assert!(path.exists(), "a dead listener leaves its file");
    let endpoint = format!("unix://{}", path.display());
    let live = Inbox::bind(&endpoint)
        .await
        .expect("the stale file is replaced");
    let error = Inbox::bind(&endpoint)
        .await
        .expect_err("the live one is kept");
    assert!(
        error.to_string().starts_with(&format!(
            "cannot bind an inbox to {endpoint}: Address already in use"
        )),
        "{error}"
    );
    drop(live);
}

#[tokio::test]
async fn bad_endpoints_are_refused_with_the_config_rules() {
    for (endpoint, expected) in [
        (
            "tcp://127.0.0.1",
            r#"key `endpoint`: cannot bind an inbox to "tcp://127.0.0.1": the endpoint has no port after the host "127.0.0.1"; write it as `127.0.0.1:PORT`"#,
        ),
        (
            "wss://127.0.0.1:0/",
            r#"key `endpoint`: cannot bind an inbox to "wss://127.0.0.1:0/": an inbox does not serve TLS; bind a `ws://` endpoint (put a TLS proxy in front if needed)"#,
        ),
        (
            "tcp://u:secret@127.0.0.1:0",
            r#"key `endpoint`: cannot bind an inbox to "tcp://***@127.0.0.1:0": only ws://, wss:// and nats:// endpoints take a `user:password@`; remove the part up to `@`"#,
        ),
    ] {
        match Inbox::bind(endpoint).await {
            Err(SinkError::InvalidConfig(errors)) => {
                assert_eq!(errors.errors.len(), 1);
                assert_eq!(errors.render(&errors.errors[0]), expected);
            }
            other => panic!("{endpoint}: expected InvalidConfig, got {other:?}"),
        }
    }
}
