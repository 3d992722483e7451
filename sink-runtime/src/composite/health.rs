//! Which targets round robin and failover should skip, and when to probe them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::{ConnectionState, MessageSink};

/// Per-target bookkeeping for skipping and probing.
#[derive(Debug, Default)]
pub(super) struct Health {
    /// When the next background reconnect may start, in nanoseconds since `epoch()`.
    next_probe_ns: AtomicU64,
    /// A background reconnect is running: the target stays skipped until it
    /// succeeds, so no message waits on a connect that is likely to fail.
    probing: Arc<AtomicBool>,
}

fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ns() -> u64 {
    u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

impl Health {
    /// Whether to route to `sink` now. A target whose last connect gave up is
    /// skipped; at most once per `interval` it is reconnected in the
    /// background, and once that succeeds it is used again.
    pub(super) fn usable(&self, sink: &Arc<dyn MessageSink>, interval: Duration) -> bool {
        if self.probing.load(Ordering::Acquire) {
            return false;
        }
        if sink.state() != ConnectionState::Failed {
            return true;
        }
        let now = now_ns();
        let due = self.next_probe_ns.load(Ordering::Relaxed);
        let next = now.saturating_add(u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX));
        let claimed = now >= due
            && self
                .next_probe_ns
                .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok();
        if claimed {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let sink = Arc::clone(sink);
                let probing = Arc::clone(&self.probing);
                probing.store(true, Ordering::Release);
                runtime.spawn(async move {
                    // The probe's own result shows in the target's state.
                    drop(sink.connect().await);
                    probing.store(false, Ordering::Release);
                });
            }
        }
        false
    }
}
