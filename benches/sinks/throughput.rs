//! One producer, `send` in a loop then `flush`, against the raw limit and the
//! seed's per-message design on the same socket.

use std::time::Instant;

use bytes::Bytes;
use futures_util::SinkExt;
use sinks::config::LeafConfig;
use sinks::{EndpointSink, Message, MessageSink};
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::{TcpStream, UnixStream};
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite;

use crate::alloc::AllocCount;
use crate::peers::{Expect, Peer, Transport};
use crate::run_task;

/// A payload size: the body every message but the last carries, and a
/// different last one the receiver checks. Both are `'static`, so making a
/// message (`Bytes::from_static`) allocates nothing.
#[derive(Debug, Clone, Copy)]
pub struct Payload {
    pub body: &'static [u8],
    pub last: &'static [u8],
}

static BODY_64: [u8; 64] = [0xAB; 64];
static LAST_64: [u8; 64] = [0xEE; 64];
static BODY_512: [u8; 512] = [0xAB; 512];
static LAST_512: [u8; 512] = [0xEE; 512];

pub const PAYLOAD_64: Payload = Payload {
    body: &BODY_64,
    last: &LAST_64,
};
pub const PAYLOAD_512: Payload = Payload {
    body: &BODY_512,
    last: &LAST_512,
};

impl Payload {
    pub fn len(&self) -> usize {
        self.body.len()
    }

    /// What the receiver of `WARM_UP + messages` frames expects.
    pub fn expect(&self, messages: u64) -> Expect {
        Expect {
            frames: WARM_UP + messages,
            payload_len: self.len(),
            last: Some(self.last),
        }
    }
}

/// Messages sent and flushed before the clock starts, in every run of the
/// sink and of its baselines: twice the default buffer, so the queue's
/// deques, the write buffer and the socket are at their steady state.
pub const WARM_UP: u64 = 20_000;

/// The sink for `peer`: a relay for Unix, a direct service otherwise, with
/// default settings.
pub fn sink_for(transport: Transport, peer: &Peer) -> EndpointSink {
    let config = LeafConfig::new(peer.endpoint.clone());
    match transport {
        Transport::Unix => EndpointSink::relay("bench", config),
        _ => EndpointSink::direct("bench", config),
    }
}

/// One run of the sink: returns messages per second, measured from the first
/// send to the receiver reading the last frame, and what the send loop and
/// flush allocated.
pub fn sink_run(
    runtime: &Runtime,
    transport: Transport,
    payload: Payload,
    messages: u64,
) -> (f64, SendCost) {
    let peer = Peer::start(transport, payload.expect(messages));
    let sink = sink_for(transport, &peer);
    let (start, cost) = run_task(runtime, async move {
        sink.connect().await.expect("connect");
        for _ in 0..WARM_UP {
            let message = Message::new(Bytes::from_static(payload.body));
            sink.send(message).await.expect("send");
        }
        sink.flush().await.expect("flush");
        let allocations = AllocCount::now();
        let mut waits = 0;
        let start = Instant::now();
        for index in 0..messages {
            let body = if index + 1 == messages {
                payload.last
            } else {
                payload.body
            };
            // `send(..).await`, with a count of the sends that had to wait
            // for room (the only ones that box a future).
            match sink
                .send(Message::new(Bytes::from_static(body)))
                .into_ready()
            {
                Ok(result) => result.expect("send"),
                Err(waiting) => {
                    waits += 1;
                    waiting.await.expect("send");
                }
            }
        }
        sink.flush().await.expect("flush");
        let allocated = allocations.since();
        sink.disconnect().await.expect("disconnect");
        (start, SendCost { allocated, waits })
    });
    let done = peer.finish().check(WARM_UP + messages);
    (messages as f64 / (done - start).as_secs_f64(), cost)
}

/// What a sink's send loop and flush cost besides time.
#[derive(Debug, Clone, Copy)]
pub struct SendCost {
    pub allocated: AllocCount,
    /// Sends that found the queue full and waited for room.
    pub waits: u64,
}

/// How the baseline writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// Every frame through a 64 KiB `BufWriter`, one flush at the end
    /// (WebSocket: tokio-tungstenite `feed` every message, then `flush`).
    Raw,
    /// The seed's design: write the length, write the payload, flush, per message.
    PerMessage,
}

/// One run of a baseline on a plain tokio socket; messages per second.
pub fn baseline_run(
    runtime: &Runtime,
    transport: Transport,
    baseline: Baseline,
    payload: Payload,
    messages: u64,
) -> f64 {
    let peer = Peer::start(transport, payload.expect(messages));
    let path = peer.path.clone();
    let address = peer.address.clone();
    let start = run_task(runtime, async move {
        match transport {
            Transport::Unix => {
                let path = path.expect("a Unix peer has a path");
                let stream = UnixStream::connect(path).await.expect("connect");
                write_frames(stream, baseline, payload, messages).await
            }
            Transport::Tcp => {
                let stream = TcpStream::connect(&address).await.expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                write_frames(stream, baseline, payload, messages).await
            }
            Transport::WebSocket => {
                assert_eq!(
                    baseline,
                    Baseline::Raw,
                    "WebSocket has only the raw baseline"
                );
                write_websocket(&address, payload, messages).await
            }
        }
    });
    let done = peer.finish().check(WARM_UP + messages);
    messages as f64 / (done - start).as_secs_f64()
}

async fn write_frames<S: AsyncWrite + Unpin>(
    stream: S,
    baseline: Baseline,
    payload: Payload,
    messages: u64,
) -> Instant {
    let prefix = (payload.len() as u32).to_le_bytes();
    let mut writer = BufWriter::with_capacity(64 * 1024, stream);
    for _ in 0..WARM_UP {
        writer.write_all(&prefix).await.expect("write");
        writer.write_all(payload.body).await.expect("write");
    }
    writer.flush().await.expect("flush");
    let start = Instant::now();
    match baseline {
        Baseline::Raw => {
            for index in 0..messages {
                let body = if index + 1 == messages {
                    payload.last
                } else {
                    payload.body
                };
                writer.write_all(&prefix).await.expect("write");
                writer.write_all(body).await.expect("write");
            }
            writer.flush().await.expect("flush");
            writer.shutdown().await.expect("shutdown");
        }
        Baseline::PerMessage => {
            // Empty after the flush above: every write goes straight through.
            let mut stream = writer.into_inner();
            for index in 0..messages {
                let body = if index + 1 == messages {
                    payload.last
                } else {
                    payload.body
                };
                stream.write_all(&prefix).await.expect("write");
                stream.write_all(body).await.expect("write");
                stream.flush().await.expect("flush");
            }
            stream.shutdown().await.expect("shutdown");
        }
    }
    start
}

async fn write_websocket(address: &str, payload: Payload, messages: u64) -> Instant {
    let stream = TcpStream::connect(address).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut socket, _) = tokio_tungstenite::client_async(format!("ws://{address}/"), stream)
        .await
        .expect("WebSocket handshake");
    for _ in 0..WARM_UP {
        let message = tungstenite::Message::Binary(Bytes::from_static(payload.body));
        socket.feed(message).await.expect("feed");
    }
    socket.flush().await.expect("flush");
    let start = Instant::now();
    for index in 0..messages {
        let body = if index + 1 == messages {
            payload.last
        } else {
            payload.body
        };
        let message = tungstenite::Message::Binary(Bytes::from_static(body));
        socket.feed(message).await.expect("feed");
    }
    socket.flush().await.expect("flush");
    socket.close(None).await.expect("close");
    start
}
