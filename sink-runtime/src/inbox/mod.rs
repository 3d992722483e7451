//! [`Inbox`]: the receiving end of every stream transport, and the reference
//! receiver of the wire format.
//!
//! Layout:
//! - `options`: [`InboxOptions`], framing, the frame limit and the channel depth.
//! - `listener`: the endpoint string, binding and accepting per transport.
//! - `connection`: reading one connection's messages into the channel.

mod connection;
mod listener;
mod options;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use options::InboxOptions;

use crate::SinkError;
use listener::Listener;

/// Receives the messages sinks send: binds a `unix://`, `tcp://` or `ws://`
/// endpoint, accepts every connection and yields every message from every
/// connection through [`recv`](Inbox::recv), each connection's messages in
/// the order they were sent.
///
/// It reads exactly the wire format the sinks write (see the README's "Wire
/// format"), so it is the reference receiver: a test of a service can bind
/// an inbox on port 0, point the service at
/// [`local_endpoint`](Inbox::local_endpoint) and assert what arrives.
///
/// - Unix and TCP, `length_prefixed` (the default): frames are decoded with
///   [`codec::LengthPrefixed`](crate::codec::LengthPrefixed); one that
///   announces more than the maximum, or a stream that ends inside a frame,
///   closes that connection and yields one error.
/// - Unix and TCP, `raw`: each read's bytes are one item, as they come.
/// - WebSocket: one binary frame is one message; the request path is not
///   checked. A text frame or a message over the maximum closes that
///   connection and yields one error.
///
/// An error never stops the inbox: other connections go on, new ones are
/// accepted. Memory is bounded: connections put messages into a channel of
/// [`InboxOptions::capacity`] items, and a connection whose message finds the
/// channel full stops reading until `recv` makes room, so a slow consumer
/// slows the senders (their socket buffers fill) instead of growing a buffer.
///
/// Dropping the inbox stops accepting, closes every connection and, for
/// `unix://`, removes the socket file it created.
///
/// ```no_run
/// # async fn example() -> Result<(), sink_runtime::SinkError> {
/// use sink_runtime::{Inbox, Message, MessageSink, SinkFactory};
///
/// let mut inbox = Inbox::bind("tcp://127.0.0.1:0").await?;
/// let config = format!(
///     "[services.feed]\ntype = \"direct\"\nendpoint = \"{}\"",
///     inbox.local_endpoint()
/// );
/// let feed = SinkFactory::from_config_str(&config)?.create_sink("feed").await?;
/// feed.send(Message::from("tick")).await?;
/// assert_eq!(inbox.recv().await.transpose()?.as_deref(), Some(&b"tick"[..]));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Inbox {
    local_endpoint: String,
    messages: mpsc::Receiver<Result<Bytes, SinkError>>,
    /// The accept loop; it owns every connection task, so aborting it on
    /// drop ends them all.
    acceptor: JoinHandle<()>,
    /// The socket file to remove on drop, for `unix://`.
    socket_file: Option<std::path::PathBuf>,
}

impl Inbox {
    /// Binds `endpoint` with the defaults: `length_prefixed` framing, frames
    /// up to 16 MiB. Takes `unix:///abs/path` (or the bare absolute path),
    /// `tcp://host:port` and `ws://host:port[/path]`; port 0 picks a free
    /// port, which [`local_endpoint`](Inbox::local_endpoint) then shows.
    pub async fn bind(endpoint: &str) -> Result<Inbox, SinkError> {
        Inbox::bind_with(endpoint, InboxOptions::new()).await
    }

    /// Binds `endpoint` with a framing (`Inbox::bind_with(e, Framing::Raw)`)
    /// or with [`InboxOptions`].
    pub async fn bind_with(
        endpoint: &str,
        options: impl Into<InboxOptions>,
    ) -> Result<Inbox, SinkError> {
        let options = options.into();
        let listener = Listener::bind(endpoint).await?;
        let local_endpoint = listener.local_endpoint()?;
        let socket_file = listener.socket_file();
        let (sender, messages) = mpsc::channel(options.capacity);
        let acceptor = tokio::spawn(listener.run(options, local_endpoint.clone(), sender));
        Ok(Inbox {
            local_endpoint,
            messages,
            acceptor,
            socket_file,
        })
    }

    /// The endpoint the inbox listens on, with the port it got when port 0
    /// was asked for: `tcp://127.0.0.1:40213`, `ws://127.0.0.1:40214/ws`,
    /// `unix:///tmp/x.sock`. A sink pointed at it reaches this inbox.
    pub fn local_endpoint(&self) -> String {
        self.local_endpoint.clone()
    }

    /// The next message from any connection, or an error that closed one
    /// connection (the inbox goes on). `None` only once the inbox can receive
    /// nothing more (its accept loop failed, which it reports first).
    pub async fn recv(&mut self) -> Option<Result<Bytes, SinkError>> {
        self.messages.recv().await
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        self.acceptor.abort();
        if let Some(path) = &self.socket_file {
            // Already gone is as good as removed.
            let _ = std::fs::remove_file(path);
        }
    }
}
