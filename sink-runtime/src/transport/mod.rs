//! One open connection to an endpoint, whatever its transport.

mod framing;
mod stream;
mod tls;
mod websocket;

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rustls::ClientConfig;
use tokio::net::{TcpStream, UnixStream};
use tokio_tungstenite::tungstenite;

use crate::config::{Endpoint, Framing, LeafConfig};

pub(crate) use framing::{encode, frame_len};
pub(crate) use stream::SharedStream;
pub(crate) use tls::client_config;

/// How many bytes the writer gathers before one write call. Large enough that
/// small messages cost a fraction of a syscall each, small enough to stay in cache.
const WRITE_CHUNK: usize = 256 * 1024;

/// An open connection. One enum rather than a trait object, so the writer's
/// calls are direct.
#[derive(Debug)]
pub(crate) enum Connection {
    /// Unix or TCP: shared with senders that write through (see `write_through`).
    Stream(SharedStream),
    WebSocket(Box<websocket::WsStream>),
}

/// What writing one batch achieved.
#[derive(Debug, Default)]
pub(crate) struct BatchOutcome {
    /// Messages, from the front of the batch, wholly handed to the connection.
    pub(crate) written: usize,
    /// Bytes those messages took on the wire.
    pub(crate) bytes: u64,
    /// Messages after `written` that may or may not have reached the peer
    /// (a WebSocket flush that failed midway); they are counted as failed,
    /// never resent, so the peer never sees a duplicate.
    pub(crate) uncertain: usize,
    /// Why the batch stopped early.
    pub(crate) error: Option<String>,
}

impl Connection {
    /// One connect attempt (no retry, no timeout: see `lazy`).
    pub(crate) async fn open(
        config: &LeafConfig,
        tls: Option<&Arc<ClientConfig>>,
    ) -> Result<Connection, String> {
        match &config.endpoint {
            Endpoint::Unix(path) => UnixStream::connect(path)
                .await
                .map(|stream| Connection::Stream(SharedStream::Unix(Arc::new(stream))))
                .map_err(|error| error.to_string()),
            Endpoint::Tcp { host, port } => {
                let stream = TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(|error| error.to_string())?;
                // Latency matters more than packet count for this traffic, and
                // the writer already batches.
                stream
                    .set_nodelay(true)
                    .map_err(|error| error.to_string())?;
                Ok(Connection::Stream(SharedStream::Tcp(Arc::new(stream))))
            }
            Endpoint::WebSocket(ws) => websocket::connect(ws, tls)
                .await
                .map(|stream| Connection::WebSocket(Box::new(stream))),
        }
    }

    /// The stream senders may write through while the writer is parked;
    /// `None` for WebSocket, whose frames only the writer's codec may write.
    pub(crate) fn shared_stream(&self) -> Option<SharedStream> {
        match self {
            Connection::Stream(stream) => Some(stream.clone()),
            Connection::WebSocket(_) => None,
        }
    }

    /// Writes `batch` in order, in chunks of about `WRITE_CHUNK` bytes. The
    /// first `skip` bytes of the first frame are already on this connection
    /// (a sender's write-through that the socket took only part of).
    pub(crate) async fn write_batch(
        &mut self,
        batch: &VecDeque<Bytes>,
        framing: Framing,
        skip: usize,
        out: &mut Vec<u8>,
    ) -> BatchOutcome {
        match self {
            Connection::Stream(stream) => write_stream(stream, batch, framing, skip, out).await,
            Connection::WebSocket(stream) => write_websocket(stream, batch).await,
        }
    }

    /// Resolves when the peer closes the connection or it fails, with the
    /// reason. Anything the peer sends is read and dropped: sinks are one-way.
    /// Cancel safe, so the idle writer can race it against new work.
    pub(crate) async fn closed(&mut self) -> String {
        match self {
            Connection::Stream(stream) => stream.closed().await,
            Connection::WebSocket(stream) => loop {
                match stream.next().await {
                    None => return "the peer closed the connection".to_owned(),
                    Some(Err(error)) => return error.to_string(),
                    Some(Ok(tungstenite::Message::Close(frame))) => {
                        return match frame {
                            Some(frame) => format!(
                                "the peer sent a close frame ({} {})",
                                frame.code, frame.reason
                            ),
                            None => "the peer sent a close frame".to_owned(),
                        };
                    }
                    // tungstenite queues the pong for a ping; send it now.
                    Some(Ok(tungstenite::Message::Ping(_))) => {
                        if let Err(error) = stream.flush().await {
                            return error.to_string();
                        }
                    }
                    Some(Ok(_)) => {}
                }
            },
        }
    }

    /// Closes the connection politely (WebSocket close frame, stream shutdown).
    pub(crate) async fn shutdown(self) {
        match self {
            Connection::Stream(stream) => stream.shutdown().await,
            // The connection is going away either way; a failed goodbye changes nothing.
            Connection::WebSocket(mut stream) => {
                drop(tokio_tungstenite::WebSocketStream::close(&mut stream, None).await)
            }
        }
    }
}

async fn write_stream(
    stream: &SharedStream,
    batch: &VecDeque<Bytes>,
    framing: Framing,
    mut skip: usize,
    out: &mut Vec<u8>,
) -> BatchOutcome {
    let mut outcome = BatchOutcome::default();
    let mut next = 0;
    while next < batch.len() {
        out.clear();
        let first = next;
        while next < batch.len()
            && (out.is_empty() || out.len() + frame_len(framing, &batch[next]) <= WRITE_CHUNK)
        {
            encode(framing, &batch[next], out);
            next += 1;
        }
        // Only the first chunk holds the first frame.
        let mut written = std::mem::take(&mut skip);
        while written < out.len() {
            let result = stream.write(&out[written..]).await;
            match result {
                Ok(0) => {
                    return partial(
                        outcome,
                        batch,
                        first,
                        written,
                        framing,
                        "the connection closed".into(),
                    );
                }
                Ok(count) => written += count,
                Err(error) => {
                    return partial(outcome, batch, first, written, framing, error.to_string());
                }
            }
        }
        outcome.written = next;
        outcome.bytes += out.len() as u64;
    }
    outcome
}

/// Counts the messages of the chunk starting at `first` that were wholly
/// written before `written` bytes; a message cut in the middle is not counted,
/// so it is sent again, whole, on the next connection.
fn partial(
    mut outcome: BatchOutcome,
    batch: &VecDeque<Bytes>,
    first: usize,
    written: usize,
    framing: Framing,
    error: String,
) -> BatchOutcome {
    let mut end = 0;
    for payload in batch.range(first..) {
        let next_end = end + frame_len(framing, payload);
        if next_end > written {
            break;
        }
        end = next_end;
        outcome.written += 1;
    }
    outcome.bytes += end as u64;
    outcome.error = Some(error);
    outcome
}

async fn write_websocket(
    stream: &mut websocket::WsStream,
    batch: &VecDeque<Bytes>,
) -> BatchOutcome {
    let mut outcome = BatchOutcome::default();
    let mut next = 0;
    while next < batch.len() {
        let first = next;
        let mut chunk_bytes = 0u64;
        while next < batch.len()
            && (next == first || chunk_bytes + (batch[next].len() as u64) <= WRITE_CHUNK as u64)
        {
            chunk_bytes += batch[next].len() as u64;
            // `feed` only buffers; a failure here means nothing of this
            // message reached the socket.
            if let Err(error) = stream
                .feed(tungstenite::Message::Binary(batch[next].clone()))
                .await
            {
                outcome.uncertain = next - first;
                outcome.error = Some(error.to_string());
                return outcome;
            }
            next += 1;
        }
        if let Err(error) = stream.flush().await {
            outcome.uncertain = next - first;
            outcome.error = Some(error.to_string());
            return outcome;
        }
        outcome.written = next;
        outcome.bytes += chunk_bytes;
    }
    outcome
}
