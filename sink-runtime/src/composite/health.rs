//! Which targets round robin and failover should skip, and when to probe them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::observe::{TARGET, Throttle};
use crate::{ConnectionState, MessageSink};

/// Per-target bookkeeping for skipping and probing.
#[derive(Debug, Default)]
pub(super) struct Health {
    /// When the next background reconnect may start, in nanoseconds since `epoch()`.
    next_probe_ns: AtomicU64,
    /// A background reconnect is running: the target stays skipped until it
    /// succeeds, so no message waits on a connect that is likely to fail.
    /// Set and cleared by the probe task itself (see `Probing`), so a probe
    /// that never runs or is dropped midway cannot leave it set.
    probe: Arc<ProbeState>,
    /// Rate limit of the `target skipped` event.
    skipped: Throttle,
}

#[derive(Debug, Default)]
struct ProbeState {
    running: AtomicBool,
    /// Bumped by the composite's `disconnect`: a probe claimed before it
    /// does not connect the target again after it.
    epoch: AtomicU64,
}

fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ns() -> u64 {
    u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Marks a probe as running for as long as the probe task's future lives.
struct Probing(Arc<ProbeState>);

impl Probing {
    fn start(probe: Arc<ProbeState>) -> Probing {
        probe.running.store(true, Ordering::Release);
        Probing(probe)
    }
}

impl Drop for Probing {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::Release);
    }
}

impl Health {
    /// Whether to route to `sink` now, from its published state (no lock).
    /// A target whose last connect gave up is skipped; when a message is
    /// routed past it and its last probe began at least `interval` ago, it
    /// is reconnected in the background, and once that succeeds it is used
    /// again.
    pub(super) fn usable(
        &self,
        names: (&str, &str),
        sink: &Arc<dyn MessageSink>,
        interval: Duration,
    ) -> bool {
        let (composite, target) = names;
        if self.probe.running.load(Ordering::Acquire) {
            return false;
        }
        if sink.state() != ConnectionState::Failed {
            return true;
        }
        if let Some(burst) = self.skipped.admit(1) {
            tracing::warn!(
                target: TARGET,
                sink = composite,
                target_sink = target,
                skipped = burst.occurrences,
                "target skipped: its last connect gave up; probing it in the background"
            );
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
                // Weak: a probe keeps neither the target nor the composite alive.
                let sink: Weak<dyn MessageSink> = Arc::downgrade(sink);
                let probe = Arc::downgrade(&self.probe);
                let epoch = self.probe.epoch.load(Ordering::Acquire);
                let (composite, target) = (composite.to_owned(), target.to_owned());
                runtime.spawn(async move {
                    let (Some(sink), Some(probe)) = (sink.upgrade(), probe.upgrade()) else {
                        return;
                    };
                    if probe.epoch.load(Ordering::Acquire) != epoch {
                        return;
                    }
                    let _probing = Probing::start(probe);
                    // A failed probe shows in the target's state and its own events.
                    if sink.connect().await.is_ok() {
                        tracing::info!(
                            target: TARGET,
                            sink = %composite,
                            target_sink = %target,
                            "target back: the probe reconnected it, routing to it again"
                        );
                    }
                });
            }
        }
        false
    }

    /// Whether `usable` would route to `sink` now, without claiming a probe.
    pub(super) fn is_skipped(&self, sink: &Arc<dyn MessageSink>) -> bool {
        self.probe.running.load(Ordering::Acquire) || sink.state() == ConnectionState::Failed
    }

    /// Makes every probe claimed so far a no-op (the composite disconnects).
    pub(super) fn cancel_probes(&self) {
        self.probe.epoch.fetch_add(1, Ordering::AcqRel);
    }
}
