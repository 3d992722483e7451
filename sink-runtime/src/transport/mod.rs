//! One open connection to an endpoint, whatever its transport.

mod framing;
#[cfg(feature = "nats")]
mod nats;
mod pending;
mod stream;
mod tls;
mod websocket;

use std::io::IoSlice;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rustls::ClientConfig;
use tokio::net::{TcpStream, UnixStream};
use tokio_tungstenite::tungstenite;

use crate::config::{Endpoint, Framing, LeafConfig};

pub(crate) use framing::{frame_len, length_prefix};
#[cfg(feature = "nats")]
pub(crate) use pending::Queued;
pub(crate) use pending::{INLINE_MAX, Offer, Pending, Run};
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
    /// A NATS client publishing on the endpoint's subject.
    #[cfg(feature = "nats")]
    Nats(Box<nats::NatsConnection>),
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
            #[cfg(feature = "nats")]
            Endpoint::Nats(endpoint) => nats::NatsConnection::open(endpoint, config)
                .await
                .map(|connection| Connection::Nats(Box::new(connection))),
            #[cfg(not(feature = "nats"))]
            Endpoint::Nats(_) => Err(
                "this build has no NATS support; enable the `nats` feature of the `sinks` crate"
                    .to_owned(),
            ),
        }
    }

    /// The stream senders may write through while the writer is parked;
    /// `None` for WebSocket, whose frames only the writer's codec may write,
    /// and for NATS, whose client publishes.
    pub(crate) fn shared_stream(&self) -> Option<SharedStream> {
        match self {
            Connection::Stream(stream) => Some(stream.clone()),
            Connection::WebSocket(_) => None,
            #[cfg(feature = "nats")]
            Connection::Nats(_) => None,
        }
    }

    /// Writes `batch` in order, in vectored writes of about `WRITE_CHUNK`
    /// bytes. The first `skip` bytes of the first frame are already on this
    /// connection (a sender's write-through that the socket took only part of).
    ///
    /// `progress` is told, as the batch goes out, how many messages from its
    /// front are wholly written and the bytes they took, so that a write cut
    /// off (its task dropped) counts those as sent. A WebSocket takes each
    /// payload out of `batch` as it sends it (see `Pending::take_payload`).
    pub(crate) async fn write_batch(
        &mut self,
        batch: &mut Pending,
        framing: Framing,
        skip: usize,
        progress: &mut (dyn FnMut(usize, u64) + Send),
    ) -> BatchOutcome {
        match self {
            Connection::Stream(stream) => {
                write_stream(stream, batch, framing, skip, progress).await
            }
            Connection::WebSocket(stream) => write_websocket(stream, batch, progress).await,
            #[cfg(feature = "nats")]
            Connection::Nats(connection) => connection.write_batch(batch, progress).await,
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
            #[cfg(feature = "nats")]
            Connection::Nats(connection) => connection.closed().await,
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
            #[cfg(feature = "nats")]
            Connection::Nats(connection) => connection.shutdown().await,
        }
    }
}

/// At most this many slices in one vectored write (well under `IOV_MAX`).
const MAX_SLICES: usize = 64;

/// Where a write of the batch's wire bytes stands: run `run`, `offset`
/// bytes into its wire bytes.
#[derive(Debug, Clone, Copy, Default)]
struct Cursor {
    run: usize,
    offset: usize,
}

/// The wire bytes a run takes.
fn run_len(run: Run<'_>, framing: Framing) -> usize {
    match run {
        Run::Frames { bytes, .. } => bytes.len(),
        Run::Payload(payload) => frame_len(framing, payload),
    }
}

impl Cursor {
    fn advance(&mut self, batch: &Pending, framing: Framing, mut bytes: usize) {
        while bytes > 0 {
            let Some(run) = batch.run(self.run) else {
                return;
            };
            let left = run_len(run, framing) - self.offset;
            if bytes < left {
                self.offset += bytes;
                return;
            }
            bytes -= left;
            self.run += 1;
            self.offset = 0;
        }
    }
}

async fn write_stream(
    stream: &SharedStream,
    batch: &Pending,
    framing: Framing,
    skip: usize,
    progress: &mut (dyn FnMut(usize, u64) + Send),
) -> BatchOutcome {
    let prefixed = framing == Framing::LengthPrefixed;
    let mut done = WholeFrames::default();
    let mut cursor = Cursor::default();
    cursor.advance(batch, framing, skip);
    let mut position = skip;
    loop {
        // The length prefixes of the payload runs this write covers, made
        // first so the slices below can borrow them.
        let mut prefixes = [[0u8; 4]; MAX_SLICES / 2];
        for (run, prefix) in (cursor.run..).zip(prefixes.iter_mut()) {
            match batch.run(run) {
                Some(Run::Payload(payload)) => *prefix = length_prefix(payload),
                Some(Run::Frames { .. }) => {}
                None => break,
            }
        }
        let mut slices = [IoSlice::new(&[]); MAX_SLICES];
        let (mut count, mut gathered, mut offset) = (0, 0, cursor.offset);
        for (index, prefix) in prefixes.iter().enumerate() {
            if count + 2 > MAX_SLICES || gathered >= WRITE_CHUNK {
                break;
            }
            let Some(current) = batch.run(cursor.run + index) else {
                break;
            };
            match current {
                Run::Frames { bytes, .. } => {
                    slices[count] = IoSlice::new(&bytes[offset..]);
                    count += 1;
                    gathered += bytes.len() - offset;
                }
                Run::Payload(payload) => {
                    let head = if prefixed { prefix.len() } else { 0 };
                    if offset < head {
                        slices[count] = IoSlice::new(&prefix[offset..]);
                        count += 1;
                        gathered += head - offset;
                    }
                    let body = offset.saturating_sub(head);
                    slices[count] = IoSlice::new(&payload[body..]);
                    count += 1;
                    gathered += payload.len() - body;
                }
            }
            offset = 0;
        }
        if count == 0 {
            return done.outcome(batch, framing, position, None);
        }
        match stream.write_vectored(&slices[..count]).await {
            Ok(0) => {
                let error = Some("the connection closed".into());
                return done.outcome(batch, framing, position, error);
            }
            Ok(written) => {
                cursor.advance(batch, framing, written);
                position += written;
                // Only a batch that takes more than one write reports as it
                // goes: the common one-write batch settles once, at the end.
                if batch.run(cursor.run).is_some() {
                    done.advance_to(batch, framing, position);
                    progress(done.messages, done.bytes as u64);
                }
            }
            Err(error) => {
                return done.outcome(batch, framing, position, Some(error.to_string()));
            }
        }
    }
}

/// The messages from the front of a batch that are wholly on the wire,
/// counted as the write goes: each frame is looked at once, however many
/// writes the batch takes.
#[derive(Debug, Default)]
struct WholeFrames {
    /// The run being counted, and how far into its bytes.
    run: usize,
    offset: usize,
    messages: usize,
    /// Wire bytes of the counted messages.
    bytes: usize,
}

impl WholeFrames {
    /// Counts every frame that ends at or before `position`.
    fn advance_to(&mut self, batch: &Pending, framing: Framing, position: usize) {
        while let Some(run) = batch.run(self.run) {
            match run {
                // A run wholly on the wire counts without parsing its frames.
                Run::Frames { bytes, count }
                    if self.offset == 0 && self.bytes + bytes.len() <= position =>
                {
                    self.bytes += bytes.len();
                    self.messages += count;
                }
                Run::Frames { bytes, .. } => {
                    for frame in pending::frames(&bytes[self.offset..]) {
                        if self.bytes + frame.len() > position {
                            return;
                        }
                        self.bytes += frame.len();
                        self.offset += frame.len();
                        self.messages += 1;
                    }
                }
                Run::Payload(payload) => {
                    let len = frame_len(framing, payload);
                    if self.bytes + len > position {
                        return;
                    }
                    self.bytes += len;
                    self.messages += 1;
                }
            }
            self.run += 1;
            self.offset = 0;
        }
    }

    /// The outcome of a batch of which the first `position` wire bytes are
    /// on the connection: a message cut in the middle is not counted, so it
    /// is sent again, whole, on the next connection.
    fn outcome(
        mut self,
        batch: &Pending,
        framing: Framing,
        position: usize,
        error: Option<String>,
    ) -> BatchOutcome {
        self.advance_to(batch, framing, position);
        BatchOutcome {
            written: self.messages,
            bytes: self.bytes as u64,
            uncertain: 0,
            error,
        }
    }
}

async fn write_websocket(
    stream: &mut websocket::WsStream,
    batch: &mut Pending,
    progress: &mut (dyn FnMut(usize, u64) + Send),
) -> BatchOutcome {
    let mut chunk = WsChunk {
        outcome: BatchOutcome::default(),
        unflushed: 0,
        unflushed_bytes: 0,
        progress,
    };
    let mut index = 0;
    // WebSocket payloads are never copied into frames (see `pending`), but
    // a run of frames would still go one message per WebSocket frame.
    let mut copied: Vec<Bytes> = Vec::new();
    loop {
        let payload = match copied.pop() {
            Some(payload) => payload,
            None if index == batch.run_count() => break,
            None => {
                index += 1;
                match batch.take_payload(index - 1) {
                    // Moved into the codec, not cloned: a fed message is never resent.
                    Some(payload) => payload,
                    None => {
                        if let Some(Run::Frames { bytes, .. }) = batch.run(index - 1) {
                            copied.extend(
                                pending::frames(bytes)
                                    .map(|frame| Bytes::copy_from_slice(&frame[4..])),
                            );
                            copied.reverse();
                        }
                        continue;
                    }
                }
            }
        };
        // One flat loop, the feed inline: this runs once per message. The
        // message counts as fed before the codec has it: its payload is
        // moved out of the batch, so if the feed fails it must fail with
        // the unflushed ones rather than be queued again, empty.
        chunk.unflushed += 1;
        chunk.unflushed_bytes += payload.len() as u64;
        if let Err(error) = stream.feed(tungstenite::Message::Binary(payload)).await {
            return chunk.failed(error.to_string());
        }
        if chunk.unflushed_bytes >= WRITE_CHUNK as u64
            && let Err(error) = chunk.flush(stream).await
        {
            return chunk.failed(error);
        }
    }
    match chunk.flush(stream).await {
        Ok(()) => chunk.outcome,
        Err(error) => chunk.failed(error),
    }
}

/// Messages fed to the WebSocket codec and flushed every `WRITE_CHUNK` bytes.
struct WsChunk<'p> {
    outcome: BatchOutcome,
    /// Fed since the last flush: written or not, nobody knows yet.
    unflushed: usize,
    unflushed_bytes: u64,
    progress: &'p mut (dyn FnMut(usize, u64) + Send),
}

impl WsChunk<'_> {
    async fn flush(&mut self, stream: &mut websocket::WsStream) -> Result<(), String> {
        if self.unflushed == 0 {
            return Ok(());
        }
        stream.flush().await.map_err(|error| error.to_string())?;
        self.outcome.written += std::mem::take(&mut self.unflushed);
        self.outcome.bytes += std::mem::take(&mut self.unflushed_bytes);
        (self.progress)(self.outcome.written, self.outcome.bytes);
        Ok(())
    }

    /// Messages fed since the last flush may or may not have reached the
    /// peer: they count as failed, never resent, so the peer never sees a
    /// duplicate.
    fn failed(mut self, error: String) -> BatchOutcome {
        self.outcome.uncertain = self.unflushed;
        self.outcome.error = Some(error);
        self.outcome
    }
}
