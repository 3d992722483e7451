//! One producer, `send` in a loop then `flush`, against the raw limit and the
//! seed's per-message design on the same socket, with payloads made as the
//! run's [`PayloadKind`] says (the same way on both sides).

use std::time::Instant;

use futures_util::SinkExt;
use sinks::config::LeafConfig;
use sinks::{EndpointSink, Message, MessageSink};
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::{TcpStream, UnixStream};
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite;

use crate::alloc::{AllocCount, by_user};
use crate::payloads::{Payload, PayloadKind, Source};
use crate::peers::{Peer, Transport};
use crate::run_task;

/// The sink for `peer`: a relay for Unix, a direct service otherwise, with
/// default settings but for `buffer_size` when given.
pub fn sink_for(transport: Transport, peer: &Peer, buffer_size: Option<usize>) -> EndpointSink {
    let mut config = LeafConfig::new(peer.endpoint.clone());
    if let Some(buffer_size) = buffer_size {
        config = config.with_buffer_size(buffer_size);
    }
    match transport {
        Transport::Unix => EndpointSink::relay("bench", config),
        _ => EndpointSink::direct("bench", config),
    }
}

/// How the sink's loop hands it the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sends {
    /// `send(..).await` per message.
    OneByOne,
    /// `send_batch(..).await` per this many messages, in a `Vec` the loop
    /// makes per batch (counted as the user's allocation).
    Batches(usize),
}

/// One run of the sink: returns messages per second, measured from the first
/// send to the receiver reading the last frame, and what the send loop and
/// flush allocated (the user's own payload allocations counted apart).
/// `buffer_size` overrides the default (large payloads only).
pub fn sink_run(
    runtime: &Runtime,
    transport: Transport,
    kind: PayloadKind,
    payload: Payload,
    messages: u64,
    buffer_size: Option<usize>,
    sends: Sends,
) -> (f64, SendCost) {
    let peer = Peer::start(transport, payload.expect(messages));
    let sink = sink_for(transport, &peer, buffer_size);
    let source = Source::new(kind, payload);
    let warm_up = payload.warm_up();
    let (start, cost) = run_task(runtime, async move {
        sink.connect().await.expect("connect");
        for index in 0..warm_up {
            let message = Message::new(source.body(index));
            sink.send(message).await.expect("send");
        }
        sink.flush().await.expect("flush");
        let allocations = AllocCount::now();
        let mut waits = 0;
        let start = Instant::now();
        match sends {
            Sends::OneByOne => {
                for index in 0..messages {
                    // `send(..).await`, as a user's loop does (a ready send
                    // may still yield once to let the writer run), with a
                    // count of the sends that had to wait for room.
                    let send = sink.send(Message::new(source.nth(index, messages)));
                    if !send.is_ready() {
                        waits += 1;
                    }
                    send.await.expect("send");
                }
            }
            Sends::Batches(size) => {
                let mut index = 0;
                while index < messages {
                    let end = (index + size as u64).min(messages);
                    let mut batch = by_user(|| Vec::with_capacity(size));
                    batch.extend((index..end).map(|i| Message::new(source.nth(i, messages))));
                    let send = sink.send_batch(batch);
                    if !send.is_ready() {
                        waits += 1;
                    }
                    send.await.expect("send_batch");
                    index = end;
                }
            }
        }
        sink.flush().await.expect("flush");
        let allocated = allocations.since();
        sink.disconnect().await.expect("disconnect");
        (start, SendCost { allocated, waits })
    });
    let done = peer.finish().check(warm_up + messages);
    (messages as f64 / (done - start).as_secs_f64(), cost)
}

/// What a sink's send loop and flush cost besides time.
#[derive(Debug, Clone, Copy)]
pub struct SendCost {
    pub allocated: AllocCount,
    /// Sends (or batches) that found the queue full and waited for room.
    pub waits: u64,
}

/// How the baseline writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// Every frame through a 64 KiB `BufWriter`, one flush at the end
    /// (WebSocket: tokio-tungstenite `feed` every message, then `flush`).
    /// The payload is copied into the buffer and dropped; one of 64 KiB or
    /// more goes past the buffer, straight from where it is.
    Raw,
    /// The seed's design: write the length, write the payload, flush, per message.
    PerMessage,
}

/// One run of a baseline on a plain tokio socket; messages per second.
pub fn baseline_run(
    runtime: &Runtime,
    transport: Transport,
    baseline: Baseline,
    kind: PayloadKind,
    payload: Payload,
    messages: u64,
) -> f64 {
    let peer = Peer::start(transport, payload.expect(messages));
    let path = peer.path.clone();
    let address = peer.address.clone();
    let source = Source::new(kind, payload);
    let start = run_task(runtime, async move {
        match transport {
            Transport::Unix => {
                let path = path.expect("a Unix peer has a path");
                let stream = UnixStream::connect(path).await.expect("connect");
                write_frames(stream, baseline, &source, messages).await
            }
            Transport::Tcp => {
                let stream = TcpStream::connect(&address).await.expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                write_frames(stream, baseline, &source, messages).await
            }
            Transport::WebSocket => {
                assert_eq!(
                    baseline,
                    Baseline::Raw,
                    "WebSocket has only the raw baseline"
                );
                write_websocket(&address, &source, messages).await
            }
        }
    });
    let done = peer.finish().check(payload.warm_up() + messages);
    messages as f64 / (done - start).as_secs_f64()
}

async fn write_frames<S: AsyncWrite + Unpin>(
    stream: S,
    baseline: Baseline,
    source: &Source,
    messages: u64,
) -> Instant {
    let prefix = (source.len() as u32).to_le_bytes();
    let mut writer = BufWriter::with_capacity(64 * 1024, stream);
    for index in 0..source.warm_up() {
        writer.write_all(&prefix).await.expect("write");
        writer.write_all(&source.body(index)).await.expect("write");
    }
    writer.flush().await.expect("flush");
    let start = Instant::now();
    match baseline {
        Baseline::Raw => {
            for index in 0..messages {
                let payload = source.nth(index, messages);
                writer.write_all(&prefix).await.expect("write");
                writer.write_all(&payload).await.expect("write");
            }
            writer.flush().await.expect("flush");
            writer.shutdown().await.expect("shutdown");
        }
        Baseline::PerMessage => {
            // Empty after the flush above: every write goes straight through.
            let mut stream = writer.into_inner();
            for index in 0..messages {
                let payload = source.nth(index, messages);
                stream.write_all(&prefix).await.expect("write");
                stream.write_all(&payload).await.expect("write");
                stream.flush().await.expect("flush");
            }
            stream.shutdown().await.expect("shutdown");
        }
    }
    start
}

async fn write_websocket(address: &str, source: &Source, messages: u64) -> Instant {
    let stream = TcpStream::connect(address).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut socket, _) = tokio_tungstenite::client_async(format!("ws://{address}/"), stream)
        .await
        .expect("WebSocket handshake");
    for index in 0..source.warm_up() {
        let message = tungstenite::Message::Binary(source.body(index));
        socket.feed(message).await.expect("feed");
    }
    socket.flush().await.expect("flush");
    let start = Instant::now();
    for index in 0..messages {
        let message = tungstenite::Message::Binary(source.nth(index, messages));
        socket.feed(message).await.expect("feed");
    }
    socket.flush().await.expect("flush");
    socket.close(None).await.expect("close");
    start
}
