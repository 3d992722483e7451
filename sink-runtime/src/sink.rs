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
/// and, once the budget is spent (every 128 units), yields once before
/// completing, so a task sending in a tight loop lets the sink's writer and
/// other tasks run. A send that wakes its sink's parked writer also yields
/// once, by spending the rest of the budget: tokio queues the woken writer
/// behind the sender on its worker (always so on a current-thread runtime),
/// and it should write while the sender goes on, not after the budget runs
/// out. Inside `tokio::task::unconstrained` neither yields. A send with room
/// queues its message when `send` is called: dropping that future unawaited
/// does not take the message back.
pub trait MessageSink: Send + Sync + fmt::Debug {
    /// Queues `message`, connecting first if the sink is not connected, and
    /// waiting for room if the queue is full (backpressure). `Ok` means the
    /// message was accepted: it will be written or counted as failed, and
    /// [`flush`](MessageSink::flush) reports failures.
    fn send(&self, message: Message) -> SinkFuture<'_, Result<(), SinkError>>;

    /// Sends every message in order, as `send` would; stops at the first
    /// error, which it returns. The messages before the one that failed
    /// were accepted, that one and the ones after it were not. An endpoint
    /// sink queues the batch under one hold of its lock per run of messages
    /// and spends one unit of the task's cooperative budget per call; this
    /// default (what composites use) awaits one `send` per message.
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

    /// `send` of a message the caller keeps, as a fanout hands one message
    /// to each of its targets. The default sends a clone. A relay or direct
    /// sink over Unix or TCP copies a small payload into its queue without
    /// cloning it, and clones it only when it keeps the payload as sent:
    /// cloning a `Bytes` made from a `Vec` allocates a shared count.
    fn send_borrowed(&self, message: &Message) -> SinkFuture<'_, Result<(), SinkError>> {
        self.send(message.clone())
    }

    /// `try_send` of a message the caller keeps (see
    /// [`send_borrowed`](MessageSink::send_borrowed)).
    fn try_send_borrowed(&self, message: &Message) -> Result<(), SinkError> {
        self.try_send(message.clone())
    }

    /// Resolves once every message accepted so far has been written or has
    /// failed; an error if any failed since the last flush. Nothing happens
    /// until the future is first polled, and a flush that is dropped or
    /// times out while waiting takes no failure report with it: the next
    /// flush still returns it.
    fn flush(&self) -> SinkFuture<'_, Result<(), SinkError>>;

    /// Like [`flush`](MessageSink::flush), but leaves the failure reports
    /// for a later `flush` or [`take_failures`](MessageSink::take_failures):
    /// an error only if the wait timed out. A group of sinks is flushed by
    /// settling them all, then taking every report at once, so a group
    /// flush that is cut short loses none of them. The default flushes
    /// (taking the reports); every sink of this crate overrides it.
    fn settle(&self) -> SinkFuture<'_, Result<(), SinkError>> {
        self.flush()
    }

    /// Returns, and clears, the failures not yet reported: `SendFailed` with
    /// their count (for a composite, `TargetsFailed`), or `Ok`. Does not wait.
    fn take_failures(&self) -> Result<(), SinkError> {
        Ok(())
    }

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
    /// Messages wholly handed to the connection (for a byte stream: to the
    /// kernel; see "The socket window" in the README). For a composite: the
    /// sends the composite itself completed with `Ok`.
    pub messages_sent: u64,
    /// Accepted messages that will never be written: a connect or reconnect
    /// gave up, the drain deadline of a close passed, or the runtime running
    /// the writer shut down. For a composite: its sends that returned an error.
    pub messages_failed: u64,
    /// Bytes of the messages counted in `messages_sent`, framing included
    /// (the u32 prefix of `length_prefixed`; a WebSocket frame's payload).
    /// For a composite: the payload bytes of its successful sends.
    pub bytes_sent: u64,
    /// The last connection or write error, even after a recovery: compare
    /// `last_error_at` with `connected_since` to tell old from new.
    pub last_error: Option<String>,
    /// Messages accepted and not yet written or failed (queued, or in the
    /// batch being written); 0 for a composite.
    pub queue_depth: usize,
    /// Connections made after a connection was lost (the first connect of a
    /// writer, and connects after `disconnect`, are not reconnects).
    pub reconnects: u64,
    /// When the current connection was made; `None` when not connected.
    pub connected_since: Option<std::time::SystemTime>,
    /// When `last_error` was last seen.
    pub last_error_at: Option<std::time::SystemTime>,
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
    /// Complete; yields once first when `yield_first`.
    Ready {
        value: Option<T>,
        yield_first: bool,
    },
    Waiting(Pin<Box<dyn Future<Output = T> + Send + 'a>>),
}

impl<'a, T> SinkFuture<'a, T> {
    /// A future that is already complete.
    pub fn ready(value: T) -> SinkFuture<'a, T> {
        SinkFuture::ready_yielding(value, false)
    }

    /// A future that is already complete and, if `yields`, yields once to
    /// the scheduler before reporting it: what a `send` that woke its
    /// sink's writer returns, so that the writer runs (see [`MessageSink`]).
    /// A composite passes its targets' wish on.
    pub fn ready_yielding(value: T, yields: bool) -> SinkFuture<'a, T> {
        SinkFuture {
            inner: Inner::Ready {
                value: Some(value),
                yield_first: yields,
            },
        }
    }

    /// Whether this future is complete but yields once before reporting
    /// (see [`SinkFuture::ready_yielding`]); `into_ready` drops that wish,
    /// so a sink that unwraps another's future reads it first.
    pub fn yields_first(&self) -> bool {
        matches!(
            self.inner,
            Inner::Ready {
                yield_first: true,
                ..
            }
        )
    }

    /// Whether the value is already there: the call needed no waiting. It
    /// may still yield once when polled (see [`SinkFuture::yields_first`]),
    /// so await it rather than unwrapping it with `into_ready` in a loop.
    pub fn is_ready(&self) -> bool {
        matches!(self.inner, Inner::Ready { .. })
    }

    /// A future that must wait.
    pub fn waiting(future: impl Future<Output = T> + Send + 'a) -> SinkFuture<'a, T> {
        SinkFuture {
            inner: Inner::Waiting(Box::pin(future)),
        }
    }

    /// The value, if the future completed without waiting. A wish to yield
    /// first is dropped: a loop that sends this way never yields, and
    /// starves a writer queued behind it (see [`MessageSink`]); `.await` it
    /// instead.
    pub fn into_ready(self) -> Result<T, SinkFuture<'a, T>> {
        match self.inner {
            Inner::Ready {
                value: Some(value), ..
            } => Ok(value),
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
            Inner::Ready { value, yield_first } => {
                if std::mem::take(yield_first) {
                    // Spend what is left of the task's cooperative budget, so
                    // that it yields through tokio's own mechanism (and not
                    // inside `tokio::task::unconstrained`): the writer, and
                    // whatever else is queued on this worker, runs before
                    // this task goes on. tokio's budget is 128 per poll.
                    for _ in 0..128 {
                        let coop = std::task::ready!(tokio::task::coop::poll_proceed(cx));
                        coop.made_progress();
                    }
                } else {
                    // A unit of the budget, as tokio's own channels spend:
                    // a producer sending in a tight loop into a sink with
                    // room never waits, and without this it would keep its
                    // worker until the queue filled, starving the sink's
                    // writer and other tasks queued behind it. The message
                    // is already queued: yielding here only delays the report.
                    let coop = std::task::ready!(tokio::task::coop::poll_proceed(cx));
                    coop.made_progress();
                }
                Poll::Ready(value.take().expect("SinkFuture polled after completion"))
            }
            Inner::Waiting(future) => future.as_mut().poll(cx),
        }
    }
}

impl<T> fmt::Debug for SinkFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.inner {
            Inner::Ready { .. } => "ready",
            Inner::Waiting(_) => "waiting",
        };
        f.debug_struct("SinkFuture").field("state", &state).finish()
    }
}
