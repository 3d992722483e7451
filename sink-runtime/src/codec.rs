//! The `length_prefixed` wire format as a [`tokio_util::codec`] codec, for
//! code that owns the socket: wrap a stream in `FramedRead`, `FramedWrite` or
//! `Framed` with [`LengthPrefixed`] and read or write whole messages.
//!
//! A frame is the payload length as a u32 little-endian, then the payload;
//! nothing else. [`Inbox`](crate::Inbox) reads Unix and TCP connections with
//! this very codec.
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use futures_util::StreamExt;
//! use sink_runtime::codec::LengthPrefixed;
//! use tokio_util::codec::FramedRead;
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//! let (socket, _) = listener.accept().await?;
//! let mut frames = FramedRead::new(socket, LengthPrefixed::new());
//! while let Some(payload) = frames.next().await {
//!     println!("{} bytes", payload?.len());
//! }
//! # Ok(()) }
//! ```

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::config::LeafConfig;

/// Bytes of the length prefix in front of every payload.
pub const PREFIX_BYTES: usize = 4;

/// Decodes and encodes `length_prefixed` frames, refusing payloads longer
/// than a maximum (by default 16 MiB, the sinks' default `max_message_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LengthPrefixed {
    max_frame_bytes: usize,
}

/// Why a frame could not be decoded or encoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The length prefix (or the payload to encode) is over the maximum.
    #[error(
        "a frame of {length} bytes is over the maximum of {max} bytes; raise the maximum if such messages are expected"
    )]
    TooLong {
        /// The length the prefix announced, or the payload's length.
        length: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The stream ended inside a frame: a prefix or payload cut short.
    #[error(
        "the stream ended inside a frame: {buffered} of {expected} bytes arrived; the sender hung up mid-message"
    )]
    Torn {
        /// Bytes of the frame (prefix included) that arrived.
        buffered: usize,
        /// Bytes the frame needed (just the prefix, if it was cut short).
        expected: usize,
    },
    /// Reading or writing the stream failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl LengthPrefixed {
    /// A codec with the default maximum, 16 MiB.
    pub fn new() -> LengthPrefixed {
        LengthPrefixed::with_max_frame_bytes(LeafConfig::DEFAULT_MAX_MESSAGE_BYTES)
    }

    /// A codec that refuses payloads longer than `max_frame_bytes` (which is
    /// capped at `u32::MAX`, the longest a prefix can announce).
    pub fn with_max_frame_bytes(max_frame_bytes: usize) -> LengthPrefixed {
        LengthPrefixed {
            max_frame_bytes: max_frame_bytes.min(u32::MAX as usize),
        }
    }

    /// The longest payload this codec accepts.
    pub fn max_frame_bytes(&self) -> usize {
        self.max_frame_bytes
    }

    fn check(&self, length: usize) -> Result<(), FrameError> {
        if length > self.max_frame_bytes {
            return Err(FrameError::TooLong {
                length,
                max: self.max_frame_bytes,
            });
        }
        Ok(())
    }
}

impl Default for LengthPrefixed {
    fn default() -> LengthPrefixed {
        LengthPrefixed::new()
    }
}

impl Decoder for LengthPrefixed {
    type Item = Bytes;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        let Some(prefix) = src.get(..PREFIX_BYTES) else {
            return Ok(None);
        };
        let length = u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
        // Checked before reserving, so a hostile prefix cannot make us allocate.
        self.check(length)?;
        let frame_bytes = PREFIX_BYTES + length;
        if src.len() < frame_bytes {
            // One allocation for the rest of the frame, not one per read.
            src.reserve(frame_bytes - src.len());
            return Ok(None);
        }
        src.advance(PREFIX_BYTES);
        Ok(Some(src.split_to(length).freeze()))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            None if src.is_empty() => Ok(None),
            None => {
                let expected = match src.get(..PREFIX_BYTES) {
                    Some(prefix) => {
                        PREFIX_BYTES
                            + u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]])
                                as usize
                    }
                    None => PREFIX_BYTES,
                };
                let buffered = src.len();
                // The torn bytes are reported, not offered again.
                src.clear();
                Err(FrameError::Torn { buffered, expected })
            }
        }
    }
}

impl Encoder<Bytes> for LengthPrefixed {
    type Error = FrameError;

    fn encode(&mut self, payload: Bytes, dst: &mut BytesMut) -> Result<(), FrameError> {
        Encoder::<&[u8]>::encode(self, &payload, dst)
    }
}

impl Encoder<&[u8]> for LengthPrefixed {
    type Error = FrameError;

    fn encode(&mut self, payload: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        self.check(payload.len())?;
        dst.reserve(PREFIX_BYTES + payload.len());
        // `check` capped the length at u32::MAX.
        dst.put_u32_le(payload.len() as u32);
        dst.extend_from_slice(payload);
        Ok(())
    }
}

/// For code that reports I/O errors: a frame too long is `InvalidData`, a
/// torn one `UnexpectedEof`.
impl From<FrameError> for std::io::Error {
    fn from(error: FrameError) -> std::io::Error {
        match error {
            FrameError::Io(error) => error,
            FrameError::Torn { .. } => {
                std::io::Error::new(std::io::ErrorKind::UnexpectedEof, error)
            }
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
        }
    }
}
