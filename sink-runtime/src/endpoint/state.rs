//! The state of one endpoint sink: its queue, its connection phase, its
//! writer lease and its counters, with every transition as a method.
//!
//! # Invariants
//!
//! Nothing outside this file touches the fields; each method below keeps
//! these true, and `check_invariants` (used by the model tests) asserts them.
//!
//! 1. **At most one live writer per sink.** A writer task exists only with a
//!    [`Lease`], handed out by [`EndpointState::start_writer`] while the
//!    phase is `Idle`, before the task is spawned. The current lease is
//!    `writer`; every writer-side method takes the lease and changes nothing
//!    when it is not the current one, so a stale writer (or its drop guard)
//!    can neither revive, fail nor end its successor.
//! 2. **Every accepted message ends exactly once, as written or failed.**
//!    `accepted == sent + failed + pending.len() + in_flight` at all times:
//!    a message is pending (queued), in flight (taken by the writer, being
//!    written) or settled. A writer ends only through [`EndpointState::exit`],
//!    which fails whatever is pending or in flight, once, for its own lease.
//! 3. **Idle means empty.** With no writer (`Phase::Idle`) nothing is pending
//!    or in flight, and `writer` is `None`; with a writer, `writer` is `Some`.
//! 4. **The published state follows the phase**, so composites read it
//!    without taking this lock.
//!
//! Who calls what: senders (`accept`, `start_writer`, `request_close`,
//! `take_failures`) and the writer task holding a lease (`connected`,
//! `connection_lost`, `next_step`, `batch_written`, `exit`). All run under
//! the sink's mutex, never across an await.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Instant, SystemTime};

use super::write_through;
use crate::ConnectionState;
use crate::config::Framing;
use crate::observe::SinkMetrics;
use crate::transport::{INLINE_MAX, Offer, Pending, SharedStream};

/// Where the sink's connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// No writer: never connected, disconnected, or the last writer ended.
    Idle,
    /// A writer is making the first connection; senders wait for the outcome.
    Connecting,
    /// Connected.
    Up,
    /// The connection dropped; the writer reconnects while senders keep queuing.
    Reconnecting,
}

/// The right to act as the sink's writer, handed out before the writer task
/// is spawned and moved into it. Not `Clone`: one lease, one task.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Lease(u64);

/// How a writer ended.
#[derive(Debug, Clone)]
pub(crate) enum Exit {
    /// Closed on request (`disconnect`, or the handle dropped) after draining.
    Closed,
    /// Closed on request, but the drain deadline passed first.
    DrainTimedOut { reason: String },
    /// Connecting failed on every attempt.
    ConnectFailed { attempts: u32, reason: String },
    /// An established connection dropped and could not be restored.
    Lost { reason: String },
    /// The writer task was dropped without finishing: its runtime shut down.
    Abandoned { reason: String },
}

impl Exit {
    pub(crate) fn reason(&self) -> Option<&str> {
        match self {
            Exit::Closed => None,
            Exit::DrainTimedOut { reason }
            | Exit::ConnectFailed { reason, .. }
            | Exit::Lost { reason }
            | Exit::Abandoned { reason } => Some(reason),
        }
    }

    /// Whether senders waiting on the connection learn of it as a failure.
    fn is_failure(&self) -> bool {
        !matches!(self, Exit::Closed)
    }
}

/// What the writer does next (from [`EndpointState::next_step`]).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Write the batch just taken; `skip` bytes of its first frame are
    /// already on the connection (a write-through the socket took part of).
    Write { skip: usize },
    /// Nothing queued, but senders were busy a moment ago: yield and look again.
    Linger,
    /// Nothing to do: wait for work or for the peer to go away.
    Park,
    /// Drain done and a close was asked for: close the connection and exit.
    Close,
    /// The lease is stale: end without touching anything.
    Stale,
}

/// Why a send or `try_send` was not accepted now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The handle was dropped.
    Dropped,
    /// A `disconnect` is draining; the sink takes messages again once it closed.
    Closing,
    /// No connection yet (idle or connecting): `send` waits for it.
    NotConnected,
    /// `buffer_size` messages are pending.
    Full,
}

/// What `accept` did with a message.
#[derive(Debug)]
#[must_use = "wake the writer after unlocking"]
pub(crate) struct Accepted {
    /// The writer is parked and must be woken (a `send` then yields once, so
    /// that the writer, queued behind the sender on its worker, runs).
    pub(crate) wake: bool,
}

/// What the writer's batch achieved, as the state needs it.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Written {
    /// Messages from the front of the batch wholly handed to the connection.
    pub(crate) messages: usize,
    /// Bytes those messages took on the wire.
    pub(crate) bytes: u64,
    /// Messages after those that may or may not have reached the peer:
    /// failed, never resent.
    pub(crate) uncertain: usize,
}

/// The sink's connection state as composites read it without the lock.
#[derive(Debug, Default)]
pub(crate) struct PublishedState(AtomicU8);

impl PublishedState {
    pub(crate) fn get(&self) -> ConnectionState {
        match self.0.load(Ordering::Acquire) {
            1 => ConnectionState::Connecting,
            2 => ConnectionState::Connected,
            3 => ConnectionState::Failed,
            _ => ConnectionState::Disconnected,
        }
    }

    fn set(&self, state: ConnectionState) {
        let value = match state {
            ConnectionState::Disconnected => 0,
            ConnectionState::Connecting => 1,
            ConnectionState::Connected => 2,
            ConnectionState::Failed => 3,
        };
        self.0.store(value, Ordering::Release);
    }
}

/// Counters and timestamps for `metadata()`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Stats {
    pub(crate) accepted: u64,
    pub(crate) sent: u64,
    pub(crate) failed: u64,
    pub(crate) bytes_sent: u64,
    /// Connections made, the first one included.
    pub(crate) connects: u64,
    /// Connections made after one was lost.
    pub(crate) reconnects: u64,
    pub(crate) connected_since: Option<SystemTime>,
    pub(crate) last_error: Option<String>,
    pub(crate) last_error_at: Option<SystemTime>,
}

/// The whole state of one endpoint sink (see the invariants above).
#[derive(Debug)]
pub(crate) struct EndpointState {
    phase: Phase,
    /// The current writer's lease generation; `None` when idle.
    writer: Option<u64>,
    /// Generations handed out so far.
    leases: u64,
    /// Accepted messages not yet taken by the writer.
    pending: Pending,
    /// How messages are framed, and whether small payloads are copied into
    /// the frame buffer when accepted (length-prefixed Unix and TCP).
    framing: Framing,
    copy_small: bool,
    /// Each message gets a publish id when accepted (a JetStream sink).
    numbered: bool,
    /// Messages the writer took and has not yet reported on.
    in_flight: usize,
    /// Messages (and their bytes) from the front of the batch in flight
    /// already counted as sent by `batch_progress`.
    batch_counted: (usize, u64),
    /// The last writer ended in failure (shown as `ConnectionState::Failed`).
    failed: bool,
    /// Bumped each time a writer ends in failure, so a waiter can tell that
    /// the attempt it waited on is over.
    failures: u64,
    /// Why the last writer that failed ended, for the errors of its
    /// waiters; kept after a later writer connects.
    last_exit: Option<Exit>,
    /// A close was asked for: the writer drains, closes and exits.
    closing: bool,
    /// When the drain of a close must end (what is not written by then fails).
    close_deadline: Option<Instant>,
    /// The handle was dropped: nothing starts a writer again.
    dropped: bool,
    /// The writer is parked and must be woken by the next push.
    writer_parked: bool,
    /// The open Unix or TCP stream, for a send into an idle sink to write
    /// through while the writer is parked (see `write_through`).
    stream: Option<SharedStream>,
    /// Since when the sink has been idle (writer parked, or the last write-through).
    idle_since: Option<Instant>,
    /// Chances to write through still to pass up (see `write_through`).
    write_through_skips: u32,
    /// Bytes of the first pending frame a write-through already put on the
    /// current connection; reset when that connection is lost.
    front_written: usize,
    /// Failed messages not yet reported by a `flush`.
    failed_unreported: u64,
    stats: Stats,
    published: Arc<PublishedState>,
    /// Updated in the same transitions as `stats`, so the two agree.
    metrics: SinkMetrics,
}

impl EndpointState {
    /// `copy_small`: the transport writes frames as bytes (Unix, TCP) and
    /// `framing` is length-prefixed, so small payloads may be copied into
    /// the frame buffer when accepted (see `transport::pending`).
    /// `numbered`: a JetStream sink, whose messages get a publish id.
    pub(crate) fn new(
        published: Arc<PublishedState>,
        metrics: SinkMetrics,
        framing: Framing,
        copy_small: bool,
        numbered: bool,
    ) -> EndpointState {
        published.set(ConnectionState::Disconnected);
        EndpointState {
            phase: Phase::Idle,
            writer: None,
            leases: 0,
            pending: Pending::default(),
            framing,
            copy_small: copy_small && framing == Framing::LengthPrefixed,
            numbered,
            in_flight: 0,
            batch_counted: (0, 0),
            failed: false,
            failures: 0,
            last_exit: None,
            closing: false,
            close_deadline: None,
            dropped: false,
            writer_parked: false,
            stream: None,
            idle_since: None,
            write_through_skips: 0,
            front_written: 0,
            failed_unreported: 0,
            stats: Stats::default(),
            published,
            metrics,
        }
    }

    // ----- reading -----

    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    pub(crate) fn connection_state(&self) -> ConnectionState {
        match self.phase {
            Phase::Up => ConnectionState::Connected,
            Phase::Connecting | Phase::Reconnecting => ConnectionState::Connecting,
            Phase::Idle if self.failed => ConnectionState::Failed,
            Phase::Idle => ConnectionState::Disconnected,
        }
    }

    pub(crate) fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Messages accepted and not yet written or failed.
    pub(crate) fn unsettled(&self) -> u64 {
        self.pending.len() as u64 + self.in_flight as u64
    }

    /// Messages written or failed so far.
    pub(crate) fn settled(&self) -> u64 {
        self.stats.sent + self.stats.failed
    }

    pub(crate) fn accepted(&self) -> u64 {
        self.stats.accepted
    }

    pub(crate) fn failures(&self) -> u64 {
        self.failures
    }

    pub(crate) fn last_exit(&self) -> Option<&Exit> {
        self.last_exit.as_ref()
    }

    pub(crate) fn is_dropped(&self) -> bool {
        self.dropped
    }

    pub(crate) fn writer_parked(&self) -> bool {
        self.writer_parked
    }

    /// Whether the writer of generation `generation` has ended (or another
    /// runs): what `disconnect` waits for.
    pub(crate) fn writer_ended(&self, generation: u64) -> bool {
        self.writer != Some(generation)
    }

    // ----- senders -----

    /// Whether a `send` may queue now.
    pub(crate) fn admits_send(&self, capacity: usize) -> Result<(), Refusal> {
        self.admits(capacity)?;
        match self.phase {
            Phase::Up | Phase::Reconnecting => Ok(()),
            Phase::Idle | Phase::Connecting => Err(Refusal::NotConnected),
        }
    }

    /// Whether a `try_send` may queue now (it queues behind a connect in
    /// progress too; the caller starts a writer if idle).
    pub(crate) fn admits_try_send(&self, capacity: usize) -> Result<(), Refusal> {
        self.admits(capacity)
    }

    fn admits(&self, capacity: usize) -> Result<(), Refusal> {
        if self.dropped {
            Err(Refusal::Dropped)
        } else if self.closing {
            Err(Refusal::Closing)
        } else if self.pending.len() >= capacity {
            Err(Refusal::Full)
        } else {
            Ok(())
        }
    }

    /// Accepts `message`; the caller checked `admits_*` and that a writer
    /// exists. On an idle Unix or TCP sink the frame is written through to
    /// the socket, else queued: copied (a small payload on Unix or TCP), or
    /// kept as sent, taken out of the sender's message or cloned from one
    /// it keeps (its payload, and what a NATS publish needs besides: see
    /// `Queued` and `Offer`). Returns whether the writer must be woken. The
    /// caller wakes it and drops its message after unlocking, so that a
    /// payload copied or written is freed off the lock, on the sender's CPU;
    /// the message is borrowed rather than moved, so the payload is never
    /// copied through the stack on the way in.
    #[inline]
    pub(crate) fn accept(&mut self, message: &mut Offer<'_>) -> Accepted {
        debug_assert!(
            self.writer.is_some(),
            "messages are only accepted with a writer"
        );
        self.stats.accepted += 1;
        // What a busy sink pays: the writer is awake or work is queued, or
        // the sink was found busy a moment ago.
        if self.writer_parked && self.pending.is_empty() && !self.skip_write_through() {
            return self.accept_idle(message);
        }
        self.queue(message)
    }

    #[inline]
    fn queue(&mut self, message: &mut Offer<'_>) -> Accepted {
        let payload = &message.message().payload;
        if self.copy_small && payload.len() <= INLINE_MAX {
            self.pending.push_copy(payload);
        } else {
            self.pending.push_shared(message.take_queued(self.numbered));
        }
        Accepted {
            wake: std::mem::replace(&mut self.writer_parked, false),
        }
    }

    #[inline]
    fn skip_write_through(&mut self) -> bool {
        if self.write_through_skips == 0 {
            return false;
        }
        self.write_through_skips -= 1;
        true
    }

    /// `accept` on a parked, empty sink: write through if it has been idle.
    /// Kept out of line: the busy path never calls it.
    #[inline(never)]
    fn accept_idle(&mut self, message: &mut Offer<'_>) -> Accepted {
        let outcome = write_through::attempt(
            self.stream.as_ref(),
            &mut self.idle_since,
            &mut self.write_through_skips,
            self.framing,
            &message.message().payload,
        );
        match outcome {
            write_through::Outcome::Whole(bytes) => {
                self.stats.sent += 1;
                self.stats.bytes_sent += bytes as u64;
                self.metrics.sent(1, bytes as u64);
                return Accepted { wake: false };
            }
            // The writer writes the rest of the frame first.
            write_through::Outcome::Part(bytes) => self.front_written = bytes,
            write_through::Outcome::Nothing => {}
        }
        self.queue(message)
    }

    /// Hands out the writer lease if no writer runs and the sink may start
    /// one; the phase becomes `Connecting`. The caller spawns the task with
    /// it after unlocking (a task dropped at once, on a runtime shutting
    /// down, runs its guard, which takes this lock).
    pub(crate) fn start_writer(&mut self) -> Option<Lease> {
        if self.phase != Phase::Idle || self.dropped || self.closing {
            return None;
        }
        self.leases += 1;
        self.writer = Some(self.leases);
        self.set_phase(Phase::Connecting);
        self.writer_parked = false;
        Some(Lease(self.leases))
    }

    /// Asks the writer to drain and close by `deadline` (`disconnect`, or
    /// `dropped` for the handle's drop; an earlier request's deadline
    /// stands). Returns the generation to wait for, `None` if no writer runs.
    /// Wakes are the caller's: see `Shared::request_close`.
    pub(crate) fn request_close(&mut self, dropped: bool, deadline: Instant) -> Option<u64> {
        self.dropped |= dropped;
        let generation = self.writer?;
        self.closing = true;
        self.close_deadline.get_or_insert(deadline);
        self.writer_parked = false;
        Some(generation)
    }

    /// The pending close request: its drain deadline, and whether it cancels
    /// a connect in progress (a `disconnect` does; a dropped handle still
    /// lets the writer connect and deliver until the deadline).
    pub(crate) fn close_request(&self) -> Option<(Instant, bool)> {
        let deadline = self.close_deadline.filter(|_| self.closing)?;
        Some((deadline, !self.dropped))
    }

    /// Takes the failures not yet reported: `(count, last reason)`.
    pub(crate) fn take_failures(&mut self) -> Option<(u64, String)> {
        if self.failed_unreported == 0 {
            return None;
        }
        let count = std::mem::take(&mut self.failed_unreported);
        let reason = self
            .stats
            .last_error
            .clone()
            .unwrap_or_else(|| "unknown".to_owned());
        Some((count, reason))
    }

    // ----- the writer (each method checks its lease) -----

    fn is_current(&self, lease: &Lease) -> bool {
        self.writer == Some(lease.0)
    }

    /// Whether the writer's connect should go on retrying: not for a stale
    /// lease, nor once a `disconnect` asked to close (it cancels a connect in
    /// progress).
    pub(crate) fn keeps_connecting(&self, lease: &Lease) -> bool {
        self.is_current(lease) && !matches!(self.close_request(), Some((_, true)))
    }

    /// A connection is up. `false` for a stale lease: drop the connection.
    pub(crate) fn connected(&mut self, lease: &Lease, stream: Option<SharedStream>) -> bool {
        if !self.is_current(lease) {
            return false;
        }
        let reconnect = self.phase == Phase::Reconnecting;
        if reconnect {
            self.stats.reconnects += 1;
        }
        self.stats.connects += 1;
        self.metrics.connected(reconnect);
        self.stats.connected_since = Some(SystemTime::now());
        self.stream = stream;
        // `last_exit` stays: a send that waited on the writer that failed
        // may only now read why, after this newer writer connected.
        self.failed = false;
        self.set_phase(Phase::Up);
        true
    }

    /// The connection dropped; the writer reconnects. `false` for a stale lease.
    pub(crate) fn connection_lost(&mut self, lease: &Lease, reason: &str) -> bool {
        if !self.is_current(lease) {
            return false;
        }
        self.stream = None;
        self.writer_parked = false;
        // A frame a sender began on the lost connection is written whole on the next.
        self.front_written = 0;
        self.stats.connected_since = None;
        self.metrics.disconnected();
        self.record_error(reason);
        self.set_phase(Phase::Reconnecting);
        true
    }

    /// The writer's next step; swaps everything pending into `batch` (which
    /// the writer has emptied) when there is work.
    pub(crate) fn next_step(
        &mut self,
        lease: &Lease,
        batch: &mut Pending,
        now: Instant,
        linger: &mut u32,
    ) -> Next {
        if !self.is_current(lease) {
            return Next::Stale;
        }
        debug_assert!(batch.is_empty() && self.in_flight == 0);
        if !self.pending.is_empty() {
            std::mem::swap(&mut self.pending, batch);
            self.in_flight = batch.len();
            self.metrics.queue_depth(self.in_flight as u64);
            Next::Write {
                skip: std::mem::take(&mut self.front_written),
            }
        } else if self.closing {
            // Nothing can be queued from here on: senders wait while closing.
            self.stream = None;
            Next::Close
        } else if *linger > 0 {
            *linger -= 1;
            Next::Linger
        } else {
            self.writer_parked = true;
            self.idle_since = Some(now);
            Next::Park
        }
    }

    /// The writer has wholly written the first `messages` messages
    /// (`bytes` on the wire) of its batch so far: they count as sent now, so
    /// a writer cut off mid-batch (its runtime dropped, a drain deadline)
    /// fails only what it had not written.
    pub(crate) fn batch_progress(&mut self, lease: &Lease, messages: usize, bytes: u64) {
        if !self.is_current(lease) {
            return;
        }
        let (counted, counted_bytes) = self.batch_counted;
        let new = messages.saturating_sub(counted).min(self.in_flight);
        self.stats.sent += new as u64;
        self.stats.bytes_sent += bytes.saturating_sub(counted_bytes);
        self.metrics
            .sent(new as u64, bytes.saturating_sub(counted_bytes));
        self.in_flight -= new;
        self.batch_counted = (counted + new, bytes.max(counted_bytes));
    }

    /// Settles the batch taken by `next_step`: `written` messages from its
    /// front are sent, the `uncertain` ones after them failed with `error`,
    /// and the rest go back in front of the queue, to be written first and in
    /// order after a reconnect. Empties `batch`; returns how many messages
    /// failed. A stale lease changes nothing (its messages were settled
    /// when its lease ended).
    pub(crate) fn batch_written(
        &mut self,
        lease: &Lease,
        batch: &mut Pending,
        written: Written,
        error: Option<&str>,
    ) -> u64 {
        if !self.is_current(lease) {
            batch.clear();
            return 0;
        }
        let failed_before = self.stats.failed;
        let total = batch.len();
        let settled = (written.messages + written.uncertain).min(total);
        // What `batch_progress` counted already is not counted again.
        let (counted, counted_bytes) = std::mem::take(&mut self.batch_counted);
        let new = written.messages.min(total).saturating_sub(counted);
        let new_bytes = written.bytes.saturating_sub(counted_bytes);
        self.stats.sent += new as u64;
        self.stats.bytes_sent += new_bytes;
        self.metrics.sent(new as u64, new_bytes);
        self.in_flight = 0;
        match error {
            None => {
                // Everything not written counts as failed: a write that
                // stopped without an error wrote all or reported it.
                self.fail(
                    (total - written.messages.min(total)) as u64,
                    "the write stopped early",
                );
                batch.clear();
            }
            Some(reason) => {
                self.stream = None;
                self.fail(settled as u64 - written.messages.min(total) as u64, reason);
                batch.requeue_from(settled, &mut self.pending);
            }
        }
        self.metrics.queue_depth(self.pending.len() as u64);
        self.stats.failed - failed_before
    }

    /// Ends the writer of `lease`: fails whatever is pending or in flight,
    /// once, and makes the sink idle, so the next send starts a new writer.
    /// Returns the number of messages failed, `None` for a stale lease.
    pub(crate) fn exit(&mut self, lease: &Lease, exit: Exit) -> Option<u64> {
        if !self.is_current(lease) {
            return None;
        }
        let lost = self.unsettled();
        self.batch_counted = (0, 0);
        let reason = exit
            .reason()
            .unwrap_or("the sink was closed before the message was written")
            .to_owned();
        self.pending.clear();
        self.in_flight = 0;
        self.fail(lost, &reason);
        if exit.is_failure() {
            self.record_error(&reason);
            self.failed = true;
            self.failures += 1;
            self.last_exit = Some(exit);
        } else {
            self.failed = false;
        }
        self.writer = None;
        self.closing = false;
        self.close_deadline = None;
        self.writer_parked = false;
        self.stream = None;
        self.idle_since = None;
        self.front_written = 0;
        self.stats.connected_since = None;
        self.metrics.disconnected();
        self.metrics.queue_depth(0);
        self.set_phase(Phase::Idle);
        Some(lost)
    }

    // ----- helpers -----

    fn fail(&mut self, count: u64, reason: &str) {
        if count == 0 {
            return;
        }
        self.stats.failed += count;
        self.failed_unreported += count;
        self.metrics.failed(count);
        self.record_error(reason);
    }

    fn record_error(&mut self, reason: &str) {
        if self.stats.last_error.as_deref() != Some(reason) {
            self.stats.last_error = Some(reason.to_owned());
        }
        self.stats.last_error_at = Some(SystemTime::now());
    }

    fn set_phase(&mut self, phase: Phase) {
        self.phase = phase;
        self.published.set(self.connection_state());
    }

    /// Asserts the invariants at the top of this file (for the model tests).
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let stats = &self.stats;
        assert_eq!(
            stats.accepted,
            stats.sent + stats.failed + self.pending.len() as u64 + self.in_flight as u64,
            "every accepted message is pending, in flight, sent or failed: {self:?}"
        );
        assert_eq!(self.writer.is_none(), self.phase == Phase::Idle, "{self:?}");
        if self.phase == Phase::Idle {
            assert!(self.pending.is_empty() && self.in_flight == 0, "{self:?}");
            assert!(!self.closing, "{self:?}");
        }
        assert!(self.failed_unreported <= stats.failed);
        assert_eq!(self.published.get(), self.connection_state());
        assert!(
            self.writer
                .is_none_or(|generation| generation == self.leases)
        );
    }

    #[cfg(test)]
    pub(crate) fn pending_len(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
#[path = "state_model_tests.rs"]
mod model_tests;
