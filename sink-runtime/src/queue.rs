//! The state one endpoint sink shares between its senders and its writer task.
//!
//! Senders append payloads to `pending` under a mutex that is held for a push
//! and a few counter updates, never across an await (parking_lot's, which
//! spins briefly before sleeping: the critical section is a few nanoseconds). The writer swaps the
//! whole `pending` deque out in one step, so a batch of any size costs one
//! lock round trip and no allocation once the deques have grown.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::{Mutex, MutexGuard};
use tokio::sync::Notify;

use crate::ConnectionState;
use crate::config::LeafConfig;
use crate::transport::SharedStream;

/// Where the writer task, and so the connection, stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    /// No writer task: never connected, disconnected, or the last connect gave up.
    Idle,
    /// The writer is making the first connection; senders wait for the outcome.
    Connecting,
    /// Connected.
    Up,
    /// The connection dropped; the writer is reconnecting and senders keep queuing.
    Reconnecting,
}

#[derive(Debug)]
pub(crate) struct Queue {
    /// Accepted payloads not yet taken by the writer.
    pub(crate) pending: VecDeque<Bytes>,
    pub(crate) link: Link,
    /// Whether the last connect gave up (shown as `ConnectionState::Failed`).
    pub(crate) failed: bool,
    /// Bumped each time a connect gives up or the connection is lost for good,
    /// so that waiters can tell that the attempt they waited on is over.
    pub(crate) failures: u64,
    /// The writer is parked waiting for work and must be woken by the next push.
    pub(crate) writer_parked: bool,
    /// The open Unix or TCP connection's stream, for a send into an idle sink
    /// to write through while `writer_parked` (see `write_through`). Set when
    /// a connection is made, cleared when it is lost or closed.
    pub(crate) stream: Option<SharedStream>,
    /// When the writer parked, or a sender last wrote through since: how long
    /// the sink has been idle.
    pub(crate) idle_since: Option<Instant>,
    /// Chances to write through to pass up, counted down (see `write_through`).
    pub(crate) write_through_skips: u32,
    /// Bytes of the first pending message's frame that a write-through already
    /// put on the current connection; the writer writes the rest. Reset when
    /// that connection is lost, so the message is written whole on the next.
    pub(crate) front_written: usize,
    /// `disconnect` or the owner's drop asked the writer to drain and stop.
    pub(crate) closing: bool,
    /// The handle was dropped: the writer drains and ends, nothing restarts it.
    pub(crate) dropped: bool,
    pub(crate) accepted: u64,
    pub(crate) sent: u64,
    pub(crate) failed_messages: u64,
    /// Failed messages not yet reported by a `flush`.
    pub(crate) failed_unreported: u64,
    pub(crate) bytes_sent: u64,
    pub(crate) last_error: Option<String>,
    /// Why the last writer gave up, for the errors of those who waited on it.
    pub(crate) gave_up: Option<GaveUp>,
}

/// Why a writer gave up.
#[derive(Debug, Clone)]
pub(crate) enum GaveUp {
    /// Connecting failed on every attempt.
    Connect { attempts: u32, reason: String },
    /// An established connection dropped and could not be restored.
    Lost { reason: String },
}

impl GaveUp {
    pub(crate) fn reason(&self) -> &str {
        match self {
            GaveUp::Connect { reason, .. } | GaveUp::Lost { reason } => reason,
        }
    }
}

impl Queue {
    /// Messages accepted and not yet written or failed.
    pub(crate) fn unsettled(&self) -> u64 {
        self.accepted - self.sent - self.failed_messages
    }

    pub(crate) fn state(&self) -> ConnectionState {
        match self.link {
            Link::Up => ConnectionState::Connected,
            Link::Connecting | Link::Reconnecting => ConnectionState::Connecting,
            Link::Idle if self.failed => ConnectionState::Failed,
            Link::Idle => ConnectionState::Disconnected,
        }
    }

    /// Counts `count` accepted messages as failed for `reason`.
    pub(crate) fn fail(&mut self, count: u64, reason: &str) {
        self.failed_messages += count;
        self.failed_unreported += count;
        self.last_error = Some(reason.to_owned());
    }
}

/// What an endpoint sink and its writer task share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) name: String,
    pub(crate) sink_type: &'static str,
    pub(crate) config: LeafConfig,
    pub(crate) queue: Mutex<Queue>,
    /// Wakes the parked writer.
    pub(crate) work: Notify,
    /// Wakes everyone waiting on the queue: for room, for the connection
    /// outcome, for messages to settle. Each waiter rechecks its own condition.
    pub(crate) changed: Notify,
}

impl Shared {
    pub(crate) fn new(name: String, sink_type: &'static str, config: LeafConfig) -> Shared {
        Shared {
            name,
            sink_type,
            config,
            queue: Mutex::new(Queue {
                pending: VecDeque::new(),
                link: Link::Idle,
                failed: false,
                failures: 0,
                writer_parked: false,
                stream: None,
                idle_since: None,
                write_through_skips: 0,
                front_written: 0,
                closing: false,
                dropped: false,
                accepted: 0,
                sent: 0,
                failed_messages: 0,
                failed_unreported: 0,
                bytes_sent: 0,
                last_error: None,
                gave_up: None,
            }),
            work: Notify::new(),
            changed: Notify::new(),
        }
    }

    /// Locks the queue (parking_lot does not poison).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock()
    }

    /// The endpoint as shown to users: never with credentials.
    pub(crate) fn endpoint(&self) -> String {
        self.config.endpoint.to_string()
    }
}
