//! Rate limiting for events of a condition that repeats.
//!
//! A dead peer under a tight send loop fails every connect attempt and
//! every send; logging each would bury everything else. A [`Throttle`] lets
//! one occurrence through per [`INTERVAL`] and counts the rest, so the line
//! that does go out says how many it stands for.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// At most one event per condition and sink this often.
pub(crate) const INTERVAL: Duration = Duration::from_secs(5);

/// Counts occurrences of one condition and admits one per [`INTERVAL`].
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    /// When the next occurrence may be logged, in nanoseconds since `epoch()`.
    next_ns: AtomicU64,
    /// Occurrences since the last one logged, this one included once admitted.
    occurrences: AtomicU64,
    /// The sum of the occurrences' amounts (messages, say) since the last log.
    amount: AtomicU64,
}

/// What a logged occurrence stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Burst {
    /// Occurrences since the last event, this one included.
    pub(crate) occurrences: u64,
    /// Their amounts added up.
    pub(crate) amount: u64,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl Throttle {
    /// Records one occurrence carrying `amount`; `Some` when it should be
    /// logged, with what it stands for.
    pub(crate) fn admit(&self, amount: u64) -> Option<Burst> {
        self.occurrences.fetch_add(1, Ordering::Relaxed);
        self.amount.fetch_add(amount, Ordering::Relaxed);
        let now = u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX);
        let due = self.next_ns.load(Ordering::Relaxed);
        if now < due {
            return None;
        }
        let next = now.saturating_add(INTERVAL.as_nanos() as u64);
        self.next_ns
            .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
            .ok()?;
        Some(Burst {
            occurrences: self.occurrences.swap(0, Ordering::Relaxed),
            amount: self.amount.swap(0, Ordering::Relaxed),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_the_first_and_counts_the_rest() {
        let throttle = Throttle::default();
        assert_eq!(
            throttle.admit(3),
            Some(Burst {
                occurrences: 1,
                amount: 3
            })
        );
        for _ in 0..1000 {
            assert_eq!(throttle.admit(1), None);
        }
        // Once the interval has passed the next one goes out with the count.
        throttle.next_ns.store(0, Ordering::Relaxed);
        assert_eq!(
            throttle.admit(1),
            Some(Burst {
                occurrences: 1001,
                amount: 1001
            })
        );
    }
}
