//! What an endpoint sink's handle and its writer task share: the state
//! behind one mutex, and the notifications that wake each side.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, MutexGuard};
use tokio::sync::Notify;

use super::state::{EndpointState, PublishedState};
use crate::ConnectionState;
use crate::config::{Endpoint, LeafConfig};
use crate::observe::{SinkMetrics, Throttle};

/// How far away a deadline is put when the configured duration would not
/// fit in an `Instant`: far beyond any process's life.
const FAR_AWAY: Duration = Duration::from_secs(60 * 60 * 24 * 365 * 30);

/// `now + after`, saturating rather than overflowing for huge durations.
pub(crate) fn deadline_after(after: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(after)
        .or_else(|| now.checked_add(FAR_AWAY))
        .unwrap_or(now)
}

/// One endpoint sink's shared half.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) name: String,
    pub(crate) sink_type: &'static str,
    pub(crate) config: LeafConfig,
    /// Held for a push and a few counter updates, or one state transition;
    /// never across an await. parking_lot's: it spins briefly before
    /// sleeping, and the critical sections are a few nanoseconds.
    state: Mutex<EndpointState>,
    /// The connection state, readable without the lock (composites route by it).
    published: Arc<PublishedState>,
    /// Wakes the parked writer.
    pub(crate) work: Notify,
    /// Wakes everyone waiting on the state: for room, for the connection
    /// outcome, for messages to settle, for the writer to end. Each waiter
    /// rechecks its own condition.
    pub(crate) changed: Notify,
    /// Wakes a writer that is connecting or writing when a close is asked for.
    pub(crate) close: Notify,
    /// Rate limits for the events of conditions that repeat.
    pub(crate) throttles: Throttles,
}

/// One [`Throttle`] per repeating condition of a sink.
#[derive(Debug, Default)]
pub(crate) struct Throttles {
    pub(crate) attempt_failed: Throttle,
    pub(crate) retries_exhausted: Throttle,
    pub(crate) messages_failed: Throttle,
    pub(crate) queue_full: Throttle,
}

impl Shared {
    pub(crate) fn new(name: String, sink_type: &'static str, config: LeafConfig) -> Shared {
        let published = Arc::new(PublishedState::default());
        let state = EndpointState::new(
            Arc::clone(&published),
            SinkMetrics::new(&name),
            config.framing,
            // WebSocket writes each message as its own frame, and NATS
            // publishes each with its headers: their payloads stay as they
            // were sent (NATS's writer relies on it, see `Pending::whole`).
            !matches!(config.endpoint, Endpoint::WebSocket(_) | Endpoint::Nats(_)),
            config.jetstream,
        );
        Shared {
            name,
            sink_type,
            config,
            state: Mutex::new(state),
            published,
            work: Notify::new(),
            changed: Notify::new(),
            close: Notify::new(),
            throttles: Throttles::default(),
        }
    }

    /// Locks the state (parking_lot does not poison).
    pub(crate) fn lock(&self) -> MutexGuard<'_, EndpointState> {
        self.state.lock()
    }

    /// The connection state without taking the lock.
    pub(crate) fn published_state(&self) -> ConnectionState {
        self.published.get()
    }

    /// The endpoint as shown to users: never with credentials.
    pub(crate) fn endpoint(&self) -> String {
        self.config.endpoint.to_string()
    }

    /// Asks the writer to drain and close by `deadline`: the generation to
    /// wait for, `None` if no writer runs.
    pub(crate) fn request_close(&self, dropped: bool, deadline: Instant) -> Option<u64> {
        let generation = self.lock().request_close(dropped, deadline);
        if generation.is_some() {
            // A permit for `work`, should the writer not be parked yet.
            self.work.notify_one();
            self.close.notify_waiters();
        }
        generation
    }

    /// Resolves when a `disconnect` asks to close: the writer stops
    /// retrying a connect (a dropped handle does not stop it; the drain
    /// deadline bounds that).
    pub(crate) async fn disconnect_requested(&self) {
        loop {
            let notified = self.close.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the state is read, so no request is missed.
            notified.as_mut().enable();
            let request = self.lock().close_request();
            if let Some((_, true)) = request {
                return;
            }
            notified.await;
        }
    }

    /// Resolves when a close was asked for and its drain deadline passed.
    pub(crate) async fn drain_deadline(&self) {
        loop {
            let notified = self.close.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            let request = self.lock().close_request();
            if let Some((deadline, _)) = request {
                tokio::time::sleep_until(deadline.into()).await;
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_saturates_instead_of_overflowing() {
        let far = deadline_after(Duration::MAX);
        assert!(far > Instant::now() + Duration::from_secs(60 * 60 * 24 * 365));
        let near = deadline_after(Duration::from_millis(5));
        assert!(near <= Instant::now() + Duration::from_millis(5));
    }
}
