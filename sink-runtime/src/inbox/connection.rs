//! Reading one accepted connection into the inbox's channel.

use std::io;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::AsyncRead;
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::codec::{BytesCodec, FramedRead};

use super::InboxOptions;
use crate::SinkError;
use crate::codec::{FrameError, LengthPrefixed};
use crate::config::Framing;

/// An accepted connection, before it is read.
#[derive(Debug)]
pub(super) enum Incoming {
    Unix(UnixStream),
    Tcp(TcpStream),
    /// A TCP connection that still has to do the WebSocket handshake.
    WebSocket(TcpStream),
}

/// What a connection task needs besides its stream.
#[derive(Debug)]
pub(super) struct Context {
    pub(super) options: InboxOptions,
    pub(super) local_endpoint: String,
    /// Who connected, for error messages.
    pub(super) peer: String,
    pub(super) sender: mpsc::Sender<Result<Bytes, SinkError>>,
}

/// Why a connection was closed by the inbox.
struct Closed {
    kind: io::ErrorKind,
    reason: String,
    /// A WebSocket peer is told why in a close frame with this code.
    close_code: Option<CloseCode>,
}

impl Closed {
    fn malformed(reason: impl Into<String>) -> Closed {
        Closed::new(io::ErrorKind::InvalidData, reason)
    }

    fn new(kind: io::ErrorKind, reason: impl Into<String>) -> Closed {
        Closed {
            kind,
            reason: reason.into(),
            close_code: None,
        }
    }
}

/// Reads messages until the peer closes, the input is malformed (then one
/// error item), or the inbox is gone.
///
/// The error item is queued before the connection is closed, so a peer that
/// sees the close and then sends on another connection finds its message
/// behind the error in the inbox, never ahead of it: a reader that stops
/// after the next message (`sinks listen --expect`) still reports the error.
pub(super) async fn read(stream: Incoming, context: Context) {
    match stream {
        Incoming::Unix(mut stream) => {
            let result = read_stream(&mut stream, &context).await;
            report(&context, result).await;
        }
        Incoming::Tcp(mut stream) => {
            let result = read_stream(&mut stream, &context).await;
            report(&context, result).await;
        }
        Incoming::WebSocket(stream) => read_websocket(stream, &context).await,
    }
}

/// Queues the error item for a connection the inbox closes, if it does.
async fn report(context: &Context, result: Result<(), Closed>) {
    let Err(closed) = result else {
        return;
    };
    let message = format!(
        "inbox {}: closed the connection from {}: {}",
        context.local_endpoint, context.peer, closed.reason
    );
    // If the inbox is gone, nobody is left to tell.
    let _ = context
        .sender
        .send(Err(SinkError::Io(io::Error::new(closed.kind, message))))
        .await;
}

/// Sends one message on; `false` once the inbox is dropped. Waiting here for
/// room is the backpressure: the connection is not read meanwhile.
async fn deliver(context: &Context, payload: Bytes) -> bool {
    context.sender.send(Ok(payload)).await.is_ok()
}

async fn read_stream(
    stream: &mut (impl AsyncRead + Unpin),
    context: &Context,
) -> Result<(), Closed> {
    match context.options.framing {
        Framing::LengthPrefixed => {
            let codec = LengthPrefixed::with_max_frame_bytes(context.options.max_frame_bytes);
            let mut frames = FramedRead::new(stream, codec);
            while let Some(frame) = frames.next().await {
                let payload = frame.map_err(|error| {
                    let error = io::Error::from(error);
                    Closed::new(error.kind(), error.to_string())
                })?;
                if !deliver(context, payload).await {
                    return Ok(());
                }
            }
        }
        Framing::Raw => {
            let mut chunks = FramedRead::new(stream, BytesCodec::new());
            while let Some(chunk) = chunks.next().await {
                let chunk = chunk.map_err(|error| Closed::new(error.kind(), error.to_string()))?;
                if !deliver(context, chunk.freeze()).await {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

/// The handshake borrows the stream rather than taking it, so that a failed
/// one is reported before the stream is dropped, as for any other closed
/// connection (see `read`).
async fn read_websocket(mut stream: TcpStream, context: &Context) {
    let limit = context.options.max_frame_bytes;
    let config = WebSocketConfig::default()
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit));
    let handshake = tokio_tungstenite::accept_async_with_config(&mut stream, Some(config)).await;
    let mut socket = match handshake {
        Ok(socket) => socket,
        Err(error) => {
            let closed = Closed::malformed(format!("the WebSocket handshake failed: {error}"));
            report(context, Err(closed)).await;
            drop(stream);
            return;
        }
    };
    let result = websocket_messages(&mut socket, context).await;
    let close_code = result.as_ref().err().and_then(|closed| closed.close_code);
    report(context, result).await;
    if let Some(code) = close_code {
        let goodbye = CloseFrame {
            code,
            reason: "binary frames only".into(),
        };
        // The connection is being dropped either way.
        let _ = tokio_tungstenite::WebSocketStream::close(&mut socket, Some(goodbye)).await;
    }
}

/// The messages of an open WebSocket, until it closes or is malformed.
async fn websocket_messages(
    socket: &mut tokio_tungstenite::WebSocketStream<&mut TcpStream>,
    context: &Context,
) -> Result<(), Closed> {
    while let Some(message) = socket.next().await {
        match message {
            Ok(Message::Binary(payload)) => {
                if !deliver(context, payload).await {
                    return Ok(());
                }
            }
            // Closed with a close frame by `read_websocket`, once reported.
            Ok(Message::Text(_)) => {
                return Err(Closed {
                    close_code: Some(CloseCode::Unsupported),
                    ..Closed::malformed(
                        "it sent a text frame; an inbox takes binary frames, one per message",
                    )
                });
            }
            Ok(Message::Close(_)) => return Ok(()),
            // tungstenite answers pings by itself.
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                return Ok(());
            }
            Err(tungstenite::Error::Capacity(CapacityError::MessageTooLong { size, max_size })) => {
                return Err(Closed::malformed(
                    FrameError::TooLong {
                        length: size,
                        max: max_size,
                    }
                    .to_string(),
                ));
            }
            Err(tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake)) => {
                return Err(Closed::new(
                    io::ErrorKind::UnexpectedEof,
                    "the peer closed the connection without a close frame; a message may have been cut off",
                ));
            }
            Err(tungstenite::Error::Io(error)) => {
                return Err(Closed::new(error.kind(), error.to_string()));
            }
            Err(error) => return Err(Closed::malformed(error.to_string())),
        }
    }
    Ok(())
}
