//! Peers that break the connection rudely: one that hangs up in the middle
//! of a frame, a WebSocket server that sends a close frame, a TCP server that
//! resets the connection. Each time the sink reports why (in
//! `metadata().last_error`), reconnects by itself without waiting for a
//! send, delivers the next message, and nothing in the runtime panics.

use std::time::Duration;

use futures_util::StreamExt;
use sinks::config::LeafConfig;
use sinks::{EndpointSink, MessageSink};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::peers::{
    Listener, Log, Transport, bounded, eventually, message_sized, panics_outside_tests,
    quick_retry, serve_forever, watch_panics,
};

/// Message 0's payload; the first peer reads only its prefix and two bytes.
const PAYLOAD: usize = 64;

fn sink_for(transport: &Transport, name: &str) -> EndpointSink {
    EndpointSink::direct(
        name,
        LeafConfig::new(transport.endpoint()).with_retry(quick_retry()),
    )
}

/// Reads the length prefix and two payload bytes of the first frame, then
/// returns, so that the caller hangs up in the middle of that frame.
async fn read_part_of_a_frame<S: AsyncRead + Unpin>(stream: &mut S) {
    let mut part = [0u8; 6];
    stream
        .read_exact(&mut part)
        .await
        .expect("the first frame's beginning");
    assert_eq!(
        u32::from_le_bytes(part[..4].try_into().expect("4 bytes")) as usize,
        PAYLOAD
    );
}

/// The sink's first connection was broken (the peer logged it as connection
/// 0); checks that the sink reconnects by itself, reported `reason_has`, and
/// delivers message 1 on the new connection.
async fn recovers(sink: &EndpointSink, log: &Log, reason_has: &[&str]) {
    eventually("the sink reconnects by itself, with no send", || {
        log.connection_count() == 2 && sink.is_connected()
    })
    .await;
    let last_error = sink.metadata().last_error.unwrap_or_default();
    assert!(
        reason_has.iter().any(|part| last_error.contains(part)),
        "the sink should report why the connection dropped ({reason_has:?}), it says {last_error:?}"
    );
    bounded(
        "a send after the break",
        sink.send(message_sized(1, PAYLOAD)),
    )
    .await
    .expect("the sink sends again");
    bounded("flush", sink.flush())
        .await
        .expect("message 1 was written");
    bounded("disconnect", sink.disconnect())
        .await
        .expect("disconnect");
    eventually("the peer reads message 1", || {
        log.connections().get(1).is_some_and(|ids| !ids.is_empty())
    })
    .await;
    assert_eq!(
        log.connections()[1],
        [1],
        "message 1 arrived whole on the new connection"
    );
    assert_eq!(
        panics_outside_tests(),
        0,
        "something outside the tests panicked"
    );
}

/// The first connection's peer reads part of message 0 and hangs up; then a
/// peer on the same address serves for ever.
async fn peer_closing_mid_frame_is_reported_and_the_sink_recovers(transport: Transport) {
    watch_panics();
    let listener = transport.bind().await;
    let log = Log::default();
    let sink = sink_for(&transport, "torn");
    let peer = tokio::spawn({
        let log = log.clone();
        async move {
            let mut stream = listener.accept_bytes().await;
            log.open();
            read_part_of_a_frame(&mut stream).await;
            drop(stream);
            serve_forever(listener, log).await.ok();
        }
    });
    bounded("send", sink.send(message_sized(0, PAYLOAD)))
        .await
        .expect("send");
    recovers(&sink, &log, &["closed", "Broken pipe", "reset"]).await;
    peer.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_peer_closing_mid_frame_is_reported_and_the_sink_recovers() {
    let dir = tempfile::tempdir().expect("temp dir");
    peer_closing_mid_frame_is_reported_and_the_sink_recovers(Transport::unix(dir.path(), "torn"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_peer_closing_mid_frame_is_reported_and_the_sink_recovers() {
    peer_closing_mid_frame_is_reported_and_the_sink_recovers(Transport::loopback(false).await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_reset_by_server_is_reported_and_the_sink_recovers() {
    watch_panics();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let transport = Transport::Tcp(listener.local_addr().expect("address"));
    let log = Log::default();
    let sink = sink_for(&transport, "reset");
    let peer = tokio::spawn({
        let log = log.clone();
        async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let connection = log.open();
            let mut frame = [0u8; 4 + PAYLOAD];
            stream.read_exact(&mut frame).await.expect("message 0");
            log.record(connection, crate::peers::id_of(&frame[4..]));
            // Linger 0: close() sends a RST instead of a FIN. (tokio deprecates
            // it because a nonzero linger blocks on drop; zero does not.)
            #[allow(deprecated)]
            stream
                .set_linger(Some(Duration::ZERO))
                .expect("SO_LINGER 0");
            drop(stream);
            serve_forever(Listener::Tcp(listener, false), log)
                .await
                .ok();
        }
    });
    bounded("send", sink.send(message_sized(0, PAYLOAD)))
        .await
        .expect("send");
    recovers(&sink, &log, &["reset"]).await;
    assert_eq!(
        log.connections()[0],
        [0],
        "message 0 arrived before the reset"
    );
    peer.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_close_frame_is_reported_and_the_sink_reconnects() {
    watch_panics();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let transport = Transport::WebSocket(listener.local_addr().expect("address"));
    let log = Log::default();
    let sink = sink_for(&transport, "closed_ws");
    let peer = tokio::spawn({
        let log = log.clone();
        async move {
            let (stream, _) = listener.accept().await.expect("accept");
            let mut ws = tokio_tungstenite::accept_async(stream)
                .await
                .expect("WebSocket handshake");
            let connection = log.open();
            if let Some(Ok(message)) = ws.next().await {
                log.record(connection, crate::peers::id_of(&message.into_data()));
            }
            ws.close(Some(CloseFrame {
                code: CloseCode::Away,
                reason: "restarting".into(),
            }))
            .await
            .expect("send the close frame");
            // Let the client answer the close, as the protocol asks.
            while let Some(Ok(_)) = ws.next().await {}
            serve_forever(Listener::Tcp(listener, true), log).await.ok();
        }
    });
    bounded("send", sink.send(message_sized(0, PAYLOAD)))
        .await
        .expect("send");
    recovers(&sink, &log, &["close frame"]).await;
    assert_eq!(
        log.connections()[0],
        [0],
        "message 0 arrived before the close"
    );
    peer.abort();
}
