//! How the writer paces itself between writes: when to take what is queued,
//! when to let it grow first, and when to park.
//!
//! A writer on its own worker thread is faster than one producer: taking the
//! queue the moment anything is in it, it writes a few dozen 64 B frames per
//! syscall (measured: 57 on average, with two workers), and every write wakes
//! the reader on the other end. The raw limit writes 64 KiB at a time. So a
//! writer that finds a small backlog still growing yields and looks again,
//! and takes it once it is a batch's worth ([`BATCH_MESSAGES`] or
//! [`BATCH_BYTES`]), once it stopped growing (the producer paused: nothing
//! gains from waiting), or at most [`GATHER_FOR`] after it first saw it,
//! which bounds the latency this adds to a message in a stream. A message
//! into an idle sink never waits here: it writes through (`write_through`),
//! or finds a backlog that does not grow and is taken at the next look.

use std::time::{Duration, Instant};

/// A backlog of this many messages is written at once.
pub(crate) const BATCH_MESSAGES: usize = 1024;

/// A backlog of this many bytes of copied frames is written at once: the
/// raw baseline's buffer size.
pub(crate) const BATCH_BYTES: usize = 64 * 1024;

/// The longest a growing backlog waits to become a batch.
pub(crate) const GATHER_FOR: Duration = Duration::from_micros(50);

/// How many times the writer yields and looks at the queue again, after a
/// write, before it parks on an empty queue. A sender that keeps sending
/// refills the queue within a few microseconds; a parked writer must be
/// woken (`notify_one`, and often a sleeping worker thread's futex), which
/// costs that sender more than the messages it sends meanwhile.
pub(crate) const LINGER_YIELDS: u32 = 8;

/// The writer's pacing state, kept by the writer task between looks at the
/// queue (it is not shared: see `EndpointState::next_step`).
#[derive(Debug, Default)]
pub(crate) struct Pacing {
    /// Yields left before parking on an empty queue.
    linger: u32,
    /// The backlog seen at the last look, and since when it is gathered.
    gathering: Option<(usize, Instant)>,
}

/// What to do with a backlog found at a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backlog {
    /// Take it and write it.
    Take,
    /// Yield and look again: it is small and still growing.
    Gather,
}

impl Pacing {
    /// After a write: linger before parking.
    pub(crate) fn wrote(&mut self) {
        self.linger = LINGER_YIELDS;
        self.gathering = None;
    }

    /// Whether to yield once more on an empty queue instead of parking.
    pub(crate) fn linger(&mut self) -> bool {
        if self.linger == 0 {
            return false;
        }
        self.linger -= 1;
        true
    }

    /// Whether to take a backlog of `messages` (`bytes` of them copied
    /// frames) now, seen at `now`.
    pub(crate) fn backlog(&mut self, messages: usize, bytes: usize, now: Instant) -> Backlog {
        if messages >= BATCH_MESSAGES || bytes >= BATCH_BYTES {
            return Backlog::Take;
        }
        match self.gathering {
            // The first look at it: give the producer one more chance.
            None => {
                self.gathering = Some((messages, now));
                Backlog::Gather
            }
            Some((seen, since))
                if messages > seen && now.saturating_duration_since(since) < GATHER_FOR =>
            {
                self.gathering = Some((messages, since));
                Backlog::Gather
            }
            Some(_) => Backlog::Take,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backlog_that_stops_growing_is_taken_at_the_second_look() {
        let mut pacing = Pacing::default();
        let now = Instant::now();
        assert_eq!(pacing.backlog(1, 68, now), Backlog::Gather);
        assert_eq!(pacing.backlog(1, 68, now), Backlog::Take);
    }

    #[test]
    fn a_growing_backlog_is_gathered_until_it_is_a_batch_or_too_old() {
        let mut pacing = Pacing::default();
        let start = Instant::now();
        assert_eq!(pacing.backlog(10, 680, start), Backlog::Gather);
        assert_eq!(pacing.backlog(20, 1360, start), Backlog::Gather);
        assert_eq!(pacing.backlog(30, BATCH_BYTES, start), Backlog::Take);
        pacing.wrote();
        assert_eq!(pacing.backlog(10, 680, start), Backlog::Gather);
        assert_eq!(pacing.backlog(BATCH_MESSAGES, 0, start), Backlog::Take);
        pacing.wrote();
        assert_eq!(pacing.backlog(10, 680, start), Backlog::Gather);
        let late = start + GATHER_FOR;
        assert_eq!(pacing.backlog(20, 1360, late), Backlog::Take);
    }

    #[test]
    fn the_writer_lingers_a_bounded_number_of_times_after_a_write() {
        let mut pacing = Pacing::default();
        assert!(!pacing.linger());
        pacing.wrote();
        let yields = std::iter::from_fn(|| pacing.linger().then_some(())).count();
        assert_eq!(yields, LINGER_YIELDS as usize);
    }
}
