//! The `MessageSink` trait and what a sink reports about itself.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::{Message, SinkError};

/// Something messages can be sent to: an endpoint or a composite.
///
/// Usable as `Arc<dyn MessageSink>`. The async methods return a
/// [`SinkFuture`], which is ready at once when the call needs no waiting (a
/// send into a connected sink with room in its queue), so the common path
/// allocates nothing; it boxes only when it must wait. Like tokio's own
/// channels, a ready future spends a unit of the task's cooperative budget
/// and, once the budget is spent, yields once before completing, so a task
/// sending in a tight loop lets the sink's writer and other tasks run. A send
/// with room queues its message when `send` is called: dropping that future
/// unawaited does not take the message back.
pub trait MessageSink: Send + Sync + fmt::Debug {
    /// Queues `message`, connecting first if the sink is not connected, and
    /// waiting for room if the queue is full (backpressure). `Ok` means the
    /// message was accepted: it will be written or counted as failed, and
    /// [`flush`](MessageSink::flush) reports failures.
    fn send(&self, message: Message) -> SinkFuture<'_, Result<(), SinkError>>;

    /// Sends every message in order, as `send` would; stops at the first error.
    fn send_batch(&self, messages: Vec<Message>) -> SinkFuture<'_, Result<(), SinkError>> {
        SinkFuture::waiting(async move {
            for message in messages {
                self.send(message).await?;
            }
            Ok(())
        })
    }

    /// Queues `message` without waiting: `BufferFull` when the queue is full.
    /// On an idle sink it starts connecting in the background.
    fn try_send(&self, message: Message) -> Result<(), SinkError>;

    /// Resolves once every message accepted so far has been written or has
    /// failed; an error if any failed since the last flush.
    fn flush(&self) -> SinkFuture<'_, Result<(), SinkError>>;

    /// Whether a connection is up now.
    fn is_connected(&self) -> bool;

    /// Connects now rather than on the first send.
    fn connect(&self) -> SinkFuture<'_, Result<(), SinkError>>;

    /// Writes what is queued, then closes the connection. A later send connects again.
    fn disconnect(&self) -> SinkFuture<'_, Result<(), SinkError>>;

    /// The sink's name, kind, state and counters.
    fn metadata(&self) -> SinkMetadata;

    /// The connection state alone; cheaper than `metadata()` for sinks that
    /// override it, as every sink of this crate does.
    fn state(&self) -> ConnectionState {
        self.metadata().state
    }
}

/// A snapshot of a sink.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SinkMetadata {
    /// The service name.
    pub name: String,
    /// `"relay"`, `"direct"` or `"composite"`.
    pub sink_type: String,
    /// The endpoint without credentials; `None` for a composite.
    pub endpoint: Option<String>,
    /// The connection state (for a composite: the best of its targets).
    pub state: ConnectionState,
    /// Messages written to the connection.
    pub messages_sent: u64,
    /// Accepted messages that could not be written.
    pub messages_failed: u64,
    /// Payload and framing bytes written.
    pub bytes_sent: u64,
    /// The last connection or write error.
    pub last_error: Option<String>,
    /// The service's `metadata` strings from the config, in file order.
    pub labels: Vec<(String, String)>,
}

/// Where a sink's connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionState {
    /// Not connected, and nothing failed: fresh, or closed by `disconnect`.
    Disconnected,
    /// Connecting or reconnecting.
    Connecting,
    /// Connected.
    Connected,
    /// The last connect gave up; the next send tries again.
    Failed,
}

/// The future of a [`MessageSink`] method: ready at once when no waiting is
/// needed (after a yield when the task's tokio budget is spent), boxed
/// otherwise.
#[must_use = "futures do nothing unless awaited"]
pub struct SinkFuture<'a, T> {
    inner: Inner<'a, T>,
}

enum Inner<'a, T> {
    Ready(Option<T>),
    Waiting(Pin<Box<dyn Future<Output = T> + Send + 'a>>),
}

impl<'a, T> SinkFuture<'a, T> {
    /// A future that is already complete.
    pub fn ready(value: T) -> SinkFuture<'a, T> {
        SinkFuture {
            inner: Inner::Ready(Some(value)),
        }
    }

    /// A future that must wait.
    pub fn waiting(future: impl Future<Output = T> + Send + 'a) -> SinkFuture<'a, T> {
        SinkFuture {
            inner: Inner::Waiting(Box::pin(future)),
        }
    }

    /// The value, if the future completed without waiting.
    pub fn into_ready(self) -> Result<T, SinkFuture<'a, T>> {
        match self.inner {
            Inner::Ready(Some(value)) => Ok(value),
            inner => Err(SinkFuture { inner }),
        }
    }
}

// The value is only ever moved out of its `Option`, never pinned in place,
// and the waiting future is boxed: moving a `SinkFuture` is always fine.
impl<T> Unpin for SinkFuture<'_, T> {}

impl<T> Future for SinkFuture<'_, T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match &mut self.get_mut().inner {
            Inner::Ready(value) => {
                // Spend a unit of tokio's cooperative budget, as tokio's own
                // channels do: a producer sending in a tight loop into a sink
                // with room never waits, and without this it would keep its
                // worker until the queue filled, starving the sink's writer
                // task queued behind it (half the throughput with 4 producers
                // on 2 workers). The message is already queued: yielding here
                // only delays the report.
                let coop = std::task::ready!(tokio::task::coop::poll_proceed(cx));
                coop.made_progress();
                Poll::Ready(value.take().expect("SinkFuture polled after completion"))
            }
            Inner::Waiting(future) => future.as_mut().poll(cx),
        }
    }
}

impl<T> fmt::Debug for SinkFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.inner {
            Inner::Ready(_) => "ready",
            Inner::Waiting(_) => "waiting",
        };
        f.debug_struct("SinkFuture").field("state", &state).finish()
    }
}
