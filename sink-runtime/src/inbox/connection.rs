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
}

impl Closed {
    fn malformed(reason: impl Into<String>) -> Closed {
        Closed {
            kind: io::ErrorKind::InvalidData,
            reason: reason.into(),
        }
    }
}

/// Reads messages until the peer closes, the input is malformed (then one
/// error item), or the inbox is gone.
pub(super) async fn read(stream: Incoming, context: Context) {
    let result = match stream {
        Incoming::Unix(stream) => read_stream(stream, &context).await,
        Incoming::Tcp(stream) => read_stream(stream, &context).await,
        Incoming::WebSocket(stream) => read_websocket(stream, &context).await,
    };
    if let Err(closed) = result {
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
}

/// Sends one message on; `false` once the inbox is dropped. Waiting here for
/// room is the backpressure: the connection is not read meanwhile.
async fn deliver(context: &Context, payload: Bytes) -> bool {
    context.sender.send(Ok(payload)).await.is_ok()
}

async fn read_stream(stream: impl AsyncRead + Unpin, context: &Context) -> Result<(), Closed> {
    match context.options.framing {
        Framing::LengthPrefixed => {
            let codec = LengthPrefixed::with_max_frame_bytes(context.options.max_frame_bytes);
            let mut frames = FramedRead::new(stream, codec);
            while let Some(frame) = frames.next().await {
                let payload = frame.map_err(|error| {
                    let error = io::Error::from(error);
                    Closed {
                        kind: error.kind(),
                        reason: error.to_string(),
                    }
                })?;
                if !deliver(context, payload).await {
                    return Ok(());
                }
            }
        }
        Framing::Raw => {
            let mut chunks = FramedRead::new(stream, BytesCodec::new());
            while let Some(chunk) = chunks.next().await {
                let chunk = chunk.map_err(|error| Closed {
                    kind: error.kind(),
                    reason: error.to_string(),
                })?;
                if !deliver(context, chunk.freeze()).await {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

async fn read_websocket(stream: TcpStream, context: &Context) -> Result<(), Closed> {
    let limit = context.options.max_frame_bytes;
    let config = WebSocketConfig::default()
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit));
    let mut socket = tokio_tungstenite::accept_async_with_config(stream, Some(config))
        .await
        .map_err(|error| Closed::malformed(format!("the WebSocket handshake failed: {error}")))?;
    while let Some(message) = socket.next().await {
        match message {
            Ok(Message::Binary(payload)) => {
                if !deliver(context, payload).await {
                    return Ok(());
                }
            }
            Ok(Message::Text(_)) => {
                let goodbye = CloseFrame {
                    code: CloseCode::Unsupported,
                    reason: "binary frames only".into(),
                };
                // The connection is being dropped either way.
                let _ = tokio_tungstenite::WebSocketStream::close(&mut socket, Some(goodbye)).await;
                return Err(Closed::malformed(
                    "it sent a text frame; an inbox takes binary frames, one per message",
                ));
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
                return Err(Closed {
                    kind: io::ErrorKind::UnexpectedEof,
                    reason: "the peer closed the connection without a close frame; a message may have been cut off".to_owned(),
                });
            }
            Err(tungstenite::Error::Io(error)) => {
                return Err(Closed {
                    kind: error.kind(),
                    reason: error.to_string(),
                });
            }
            Err(error) => return Err(Closed::malformed(error.to_string())),
        }
    }
    Ok(())
}
