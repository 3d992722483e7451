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
use crate::endpoint_sink::mem_take_flag;
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

/// Whether to pass up this chance to write through, the sink having been
/// found busy a moment ago. Counts the chance.
#[inline]
pub(crate) fn skip(queue: &mut Queue) -> bool {
    if queue.write_through_skips == 0 {
        return false;
    }
    queue.write_through_skips -= 1;
    true
}

/// Accepts `payload` on a sink whose writer is parked with nothing queued:
/// if the sink has been idle, writes its frame straight to the socket,
/// otherwise (or for what the socket did not take) queues it for the writer.
/// Returns whether the writer must be woken. Runs under the queue lock. Kept
/// out of line, with the payload moved in: the busy path never calls it and
/// pays nothing for it.
#[inline(never)]
pub(crate) fn accept(queue: &mut Queue, framing: Framing, payload: Bytes) -> bool {
    debug_assert!(queue.writer_parked && queue.pending.is_empty());
    match write(queue, framing, &payload) {
        Some(written) if written == frame_len(framing, &payload) => {
            queue.sent += 1;
            queue.bytes_sent += written as u64;
            return false;
        }
        // The writer writes the rest of the frame first.
        Some(written) => queue.front_written = written,
        None => {}
    }
    queue.pending.push_back(payload);
    mem_take_flag(&mut queue.writer_parked)
}

/// One non-blocking write of the frame if the sink has been idle: the bytes
/// the socket took, `None` if none (busy, full, or failed).
fn write(queue: &mut Queue, framing: Framing, payload: &Bytes) -> Option<usize> {
    let (Some(stream), Some(idle_since)) = (&queue.stream, queue.idle_since) else {
        return None;
    };
    if idle_since.elapsed() < IDLE {
        queue.write_through_skips = SKIPS_WHEN_BUSY;
        return None;
    }
    let result = stream.try_write_frame(framing, payload);
    // Idle from the end of this write: a syscall slowed down by a busy
    // machine must not let the next send of a burst write through too.
    queue.idle_since = Some(Instant::now());
    match result {
        Ok(0) => None,
        Ok(written) => Some(written),
        // WouldBlock: the socket is full and the writer will wait for room.
        // Any other error: the writer's own write meets it and reconnects.
        Err(_) => None,
    }
}
