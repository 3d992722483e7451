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
//! its clock read) for its next [`SKIPS_WHEN_BUSY`] chances. A socket that takes part of the frame
//! leaves the rest to the writer (`Queue::front_written`); one that takes
//! none, or fails, leaves the whole message to the writer, which handles
//! errors and reconnects as for any write.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::config::Framing;
use crate::queue::Queue;
use crate::transport::frame_len;

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
const SKIPS_WHEN_BUSY: u32 = 64;

/// What a write-through attempt did with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteThrough {
    /// The whole frame is on the socket.
    Written,
    /// The socket took this many bytes of the frame; the writer must write the rest.
    Partial(usize),
    /// Nothing was written: the sink was busy, or the socket took nothing.
    Queue,
}

/// Writes `payload`'s frame straight to the parked writer's socket if the
/// sink is idle. Runs under the queue lock; the caller has seen the writer
/// parked and nothing queued. Kept out of line: the busy path never calls it.
#[inline(never)]
pub(crate) fn attempt(queue: &mut Queue, framing: Framing, payload: &Bytes) -> WriteThrough {
    debug_assert!(queue.writer_parked && queue.pending.is_empty());
    if queue.write_through_skips > 0 {
        queue.write_through_skips -= 1;
        return WriteThrough::Queue;
    }
    let (Some(stream), Some(idle_since)) = (&queue.parked_stream, queue.idle_since) else {
        return WriteThrough::Queue;
    };
    if idle_since.elapsed() < IDLE {
        queue.write_through_skips = SKIPS_WHEN_BUSY;
        return WriteThrough::Queue;
    }
    let frame = frame_len(framing, payload);
    let result = stream.try_write_frame(framing, payload);
    // Idle from the end of this write: a syscall slowed down by a busy
    // machine must not let the next send of a burst write through too.
    queue.idle_since = Some(Instant::now());
    match result {
        Ok(written) if written == frame => WriteThrough::Written,
        Ok(0) => WriteThrough::Queue,
        Ok(written) => WriteThrough::Partial(written),
        // WouldBlock: the socket is full and the writer will wait for room.
        // Any other error: the writer's own write meets it and reconnects.
        Err(_) => WriteThrough::Queue,
    }
}
