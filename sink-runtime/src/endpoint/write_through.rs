//! A send into an idle sink writes its frame itself.
//!
//! Under load the writer task batches: a send only queues, and one syscall
//! carries thousands of messages. On an idle sink that hand-off is pure
//! latency: the writer must be woken and scheduled (on another worker, a
//! cross-CPU wakeup; on the same one, after the sender yields) before the
//! bytes leave. So a send that finds the writer parked on a Unix or TCP
//! connection, nothing queued, and the sink idle for at least [`IDLE`],
//! tries one non-blocking write of its frame, under the queue lock, which
//! keeps it ordered with every other send and with the writer.
//!
//! Only the first send of an idle period writes through: the next one within
//! [`IDLE`] queues and wakes the writer as before, so a burst becomes a
//! batch, not a syscall per message. A sink found busy skips the check (and
//! its clock read) for its next [`SKIPS_WHEN_BUSY`] chances. A socket that
//! takes part of the frame
//! leaves the rest to the writer (`front_written` in `state`); one that takes
//! none, or fails, leaves the whole message to the writer, which handles
//! errors and reconnects as for any write.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::config::Framing;
use crate::transport::{SharedStream, frame_len};

/// How long a sink must have been idle for a send to write through. Far
/// above the gap between sends of a burst (tens of nanoseconds), far below
/// the gap between sparse messages, where latency is what matters.
pub(crate) const IDLE: Duration = Duration::from_micros(20);

/// After a send found the sink busy, how many of the next chances to write
/// through are passed up without reading the clock. A writer that keeps up
/// with a steady stream parks between most messages, and a clock read (about
/// 25 ns here) under the queue lock on each would cost that stream more than
/// a third of a send; sparse traffic loses at most this many write-throughs
/// when it follows a stream.
pub(crate) const SKIPS_WHEN_BUSY: u32 = 64;

/// What one write-through attempt put on the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The whole frame, this many bytes.
    Whole(usize),
    /// The first this many bytes; the writer writes the rest.
    Part(usize),
    /// Nothing: not idle long enough, no stream, the socket full or failed.
    Nothing,
}

/// One non-blocking write of the frame of `payload` if the sink has been
/// idle since `idle_since` for at least [`IDLE`]. Runs under the sink's lock,
/// which keeps it ordered with every other send and with the writer. A
/// failed write is left to the writer, whose own write meets the error and
/// reconnects.
pub(crate) fn attempt(
    stream: Option<&SharedStream>,
    idle_since: &mut Option<Instant>,
    skips: &mut u32,
    framing: Framing,
    payload: &Bytes,
) -> Outcome {
    let (Some(stream), Some(since)) = (stream, *idle_since) else {
        return Outcome::Nothing;
    };
    if since.elapsed() < IDLE {
        *skips = SKIPS_WHEN_BUSY;
        return Outcome::Nothing;
    }
    let result = stream.try_write_frame(framing, payload);
    // Idle from the end of this write: a syscall slowed down by a busy
    // machine must not let the next send of a burst write through too.
    *idle_since = Some(Instant::now());
    match result {
        Ok(0) | Err(_) => Outcome::Nothing,
        Ok(written) if written == frame_len(framing, payload) => Outcome::Whole(written),
        Ok(written) => Outcome::Part(written),
    }
}
