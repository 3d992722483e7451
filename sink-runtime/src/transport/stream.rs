//! A Unix or TCP connection that the writer task and senders can both reach.
//!
//! The writer owns the connection, but while it is parked on an idle sink a
//! sender may write one frame straight to the socket (see `write_through`),
//! so the stream sits behind an `Arc` and every operation takes `&self`:
//! tokio's readiness-based `try_*` calls rather than `AsyncWrite`. Writes
//! never overlap: a sender writes only under the queue lock while the writer
//! is parked, and the writer leaves its parked state under that same lock.

use std::io::{self, IoSlice};
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UnixStream};

use super::framing::length_prefix;
use crate::config::Framing;

/// A connected byte stream, cheap to clone.
#[derive(Debug, Clone)]
pub(crate) enum SharedStream {
    Unix(Arc<UnixStream>),
    Tcp(Arc<TcpStream>),
}

impl SharedStream {
    /// One non-blocking attempt to write the frame of `payload`: the bytes
    /// the kernel took, which may be fewer than the frame (or an error,
    /// `WouldBlock` included). Prefix and payload go in one vectored write.
    pub(crate) fn try_write_frame(&self, framing: Framing, payload: &Bytes) -> io::Result<usize> {
        let prefix = length_prefix(payload);
        let prefixed = [IoSlice::new(&prefix), IoSlice::new(payload)];
        let slices = match framing {
            Framing::LengthPrefixed => &prefixed[..],
            _ => &prefixed[1..],
        };
        match self {
            SharedStream::Unix(stream) => stream.try_write_vectored(slices),
            SharedStream::Tcp(stream) => stream.try_write_vectored(slices),
        }
    }

    /// Writes some of `slices`, in one vectored write, waiting until the
    /// socket can take it.
    pub(crate) async fn write_vectored(&self, slices: &[IoSlice<'_>]) -> io::Result<usize> {
        loop {
            let attempt = match self {
                SharedStream::Unix(stream) => {
                    stream.writable().await?;
                    stream.try_write_vectored(slices)
                }
                SharedStream::Tcp(stream) => {
                    stream.writable().await?;
                    stream.try_write_vectored(slices)
                }
            };
            match attempt {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                result => return result,
            }
        }
    }

    /// Resolves when the peer closes the connection or it fails, with the
    /// reason; whatever the peer sends is read and dropped. Cancel safe.
    pub(crate) async fn closed(&self) -> String {
        let mut scratch = [0u8; 1024];
        loop {
            let attempt = match self {
                SharedStream::Unix(stream) => match stream.readable().await {
                    Ok(()) => stream.try_read(&mut scratch),
                    Err(error) => Err(error),
                },
                SharedStream::Tcp(stream) => match stream.readable().await {
                    Ok(()) => stream.try_read(&mut scratch),
                    Err(error) => Err(error),
                },
            };
            match attempt {
                Ok(0) => return "the peer closed the connection".to_owned(),
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return error.to_string(),
            }
        }
    }

    /// Shuts down the write side if this is the last handle; otherwise the
    /// socket closes when the last handle is dropped.
    pub(crate) async fn shutdown(self) {
        // The connection is going away either way; a failed goodbye changes nothing.
        match self {
            SharedStream::Unix(stream) => {
                if let Ok(mut stream) = Arc::try_unwrap(stream) {
                    drop(stream.shutdown().await);
                }
            }
            SharedStream::Tcp(stream) => {
                if let Ok(mut stream) = Arc::try_unwrap(stream) {
                    drop(stream.shutdown().await);
                }
            }
        }
    }
}
