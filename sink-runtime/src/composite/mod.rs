//! Composite sinks: one name in front of several target sinks.
//!
//! - `fanout` sends every message to every target (the payload is shared,
//!   not copied) and succeeds only if all accepted it.
//! - `round_robin` sends each message to the next target in turn.
//! - `failover` sends every message to the first target in order that is
//!   not failing, and goes back to an earlier one as soon as it reconnects.
//!
//! Round robin and failover skip a target whose last connect gave up
//! (`ConnectionState::Failed`) and reconnect it in the background at most
//! once per probe interval; they fail only when every target failed.

mod fanout;
mod health;
mod ordered;

use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use futures_util::future::join_all;

use crate::config::CompositePattern;
use crate::{ConnectionState, Message, MessageSink, SinkError, SinkFuture, SinkMetadata};

use health::Health;

/// A composite service (`type = "composite"`).
///
/// Holds its targets as `Arc`s: the very same sinks their own services use,
/// so one endpoint is one connection however many composites reach it.
pub struct CompositeSink {
    name: String,
    pattern: CompositePattern,
    targets: Vec<Target>,
    /// Round robin: the next starting target.
    cursor: AtomicUsize,
    /// Failover: the target the last message went to (`usize::MAX`: none yet).
    last_routed: AtomicUsize,
    probe_interval: Duration,
    counters: Counters,
}

struct Target {
    name: String,
    sink: Arc<dyn MessageSink>,
    health: Health,
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    failed: AtomicU64,
    bytes: AtomicU64,
    /// The last error a send returned, and when.
    last_error: Mutex<Option<(String, SystemTime)>>,
}

impl CompositeSink {
    /// How often a failing target is reconnected in the background, by default.
    pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_millis(500);

    /// A composite over `targets`, in order. Does no I/O.
    pub fn new(
        name: impl Into<String>,
        pattern: CompositePattern,
        targets: Vec<Arc<dyn MessageSink>>,
    ) -> CompositeSink {
        let targets = targets
            .into_iter()
            .map(|sink| Target {
                name: sink.metadata().name,
                sink,
                health: Health::default(),
            })
            .collect();
        CompositeSink {
            name: name.into(),
            pattern,
            targets,
            cursor: AtomicUsize::new(0),
            last_routed: AtomicUsize::new(usize::MAX),
            probe_interval: Self::DEFAULT_PROBE_INTERVAL,
            counters: Counters::default(),
        }
    }

    /// Sets how often a failing target is reconnected in the background.
    pub fn with_probe_interval(mut self, probe_interval: Duration) -> CompositeSink {
        self.probe_interval = probe_interval;
        self
    }

    /// The service name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The pattern.
    pub fn pattern(&self) -> CompositePattern {
        self.pattern
    }

    /// The target sinks, in order.
    pub fn targets(&self) -> impl Iterator<Item = &Arc<dyn MessageSink>> {
        self.targets.iter().map(|target| &target.sink)
    }

    /// Counts a send's outcome and passes it on.
    fn record(&self, bytes: usize, result: Result<(), SinkError>) -> Result<(), SinkError> {
        match &result {
            Ok(()) => {
                self.counters.sent.fetch_add(1, Ordering::Relaxed);
                self.counters
                    .bytes
                    .fetch_add(bytes as u64, Ordering::Relaxed);
            }
            Err(error) => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                *self
                    .counters
                    .last_error
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) =
                    Some((error.to_string(), SystemTime::now()));
            }
        }
        result
    }

    /// Combines the per-target results of an operation run on every target.
    fn all_of(&self, results: Vec<(String, Result<(), SinkError>)>) -> Result<(), SinkError> {
        let total = results.len();
        let failed: Vec<(String, SinkError)> = results
            .into_iter()
            .filter_map(|(name, result)| result.err().map(|error| (name, error)))
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(SinkError::TargetsFailed {
                sink: self.name.clone(),
                total,
                failed,
            })
        }
    }

    /// Runs `operation` on every target at once and collects the failures.
    async fn on_every_target<'a>(
        &'a self,
        operation: impl Fn(&'a dyn MessageSink) -> SinkFuture<'a, Result<(), SinkError>>,
    ) -> Vec<(String, Result<(), SinkError>)> {
        let futures = self
            .targets
            .iter()
            .map(|target| operation(target.sink.as_ref()));
        let results = join_all(futures).await;
        self.targets
            .iter()
            .map(|target| target.name.clone())
            .zip(results)
            .collect()
    }
}

impl MessageSink for CompositeSink {
    fn send(&self, message: Message) -> SinkFuture<'_, Result<(), SinkError>> {
        match self.pattern {
            // Dropped after every target took what it needs of it.
            CompositePattern::Fanout => self.fanout_send(&message),
            _ => self.ordered_send(message),
        }
    }

    fn send_borrowed(&self, message: &Message) -> SinkFuture<'_, Result<(), SinkError>> {
        match self.pattern {
            CompositePattern::Fanout => self.fanout_send(message),
            _ => self.ordered_send(message.clone()),
        }
    }

    fn try_send(&self, message: Message) -> Result<(), SinkError> {
        let bytes = message.payload.len();
        let result = match self.pattern {
            CompositePattern::Fanout => self.fanout_try_send(&message),
            _ => self.ordered_try_send(message),
        };
        self.record(bytes, result)
    }

    fn try_send_borrowed(&self, message: &Message) -> Result<(), SinkError> {
        let result = match self.pattern {
            CompositePattern::Fanout => self.fanout_try_send(message),
            _ => self.ordered_try_send(message.clone()),
        };
        self.record(message.payload.len(), result)
    }

    fn flush(&self) -> SinkFuture<'_, Result<(), SinkError>> {
        SinkFuture::waiting(async move {
            // Settle every target first and take the reports only once all
            // are settled, in one step: a flush cut short takes none.
            let settled = self.on_every_target(|sink| sink.settle()).await;
            self.all_of(settled)?;
            self.take_failures()
        })
    }

    fn settle(&self) -> SinkFuture<'_, Result<(), SinkError>> {
        SinkFuture::waiting(async move {
            let settled = self.on_every_target(|sink| sink.settle()).await;
            self.all_of(settled)
        })
    }

    fn take_failures(&self) -> Result<(), SinkError> {
        let reports = self
            .targets
            .iter()
            .map(|target| (target.name.clone(), target.sink.take_failures()))
            .collect();
        self.all_of(reports)
    }

    fn is_connected(&self) -> bool {
        self.state() == ConnectionState::Connected
    }

    fn connect(&self) -> SinkFuture<'_, Result<(), SinkError>> {
        SinkFuture::waiting(async move {
            let results = self.on_every_target(|sink| sink.connect()).await;
            let any_connected = results.iter().any(|(_, result)| result.is_ok());
            match self.pattern {
                // Round robin and failover work as long as one target does.
                CompositePattern::RoundRobin | CompositePattern::Failover if any_connected => {
                    Ok(())
                }
                _ => self.all_of(results),
            }
        })
    }

    fn disconnect(&self) -> SinkFuture<'_, Result<(), SinkError>> {
        SinkFuture::waiting(async move {
            // No probe claimed before this reconnects a target after it.
            for target in &self.targets {
                target.health.cancel_probes();
            }
            let results = self.on_every_target(|sink| sink.disconnect()).await;
            self.all_of(results)
        })
    }

    fn metadata(&self) -> SinkMetadata {
        let last_error = self
            .counters
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        SinkMetadata {
            name: self.name.clone(),
            sink_type: "composite".to_owned(),
            endpoint: None,
            state: self.state(),
            messages_sent: self.counters.sent.load(Ordering::Relaxed),
            messages_failed: self.counters.failed.load(Ordering::Relaxed),
            bytes_sent: self.counters.bytes.load(Ordering::Relaxed),
            last_error: last_error.as_ref().map(|(error, _)| error.clone()),
            queue_depth: 0,
            reconnects: 0,
            connected_since: None,
            last_error_at: last_error.as_ref().map(|(_, at)| *at),
            labels: Vec::new(),
        }
    }

    /// A fanout is only as connected as its least connected target; round
    /// robin and failover are as connected as their best one.
    fn state(&self) -> ConnectionState {
        let rank = |state: ConnectionState| match state {
            ConnectionState::Failed => 0,
            ConnectionState::Disconnected => 1,
            ConnectionState::Connecting => 2,
            ConnectionState::Connected => 3,
        };
        let states = self.targets.iter().map(|target| target.sink.state());
        let chosen = match self.pattern {
            CompositePattern::Fanout => states.min_by_key(|state| rank(*state)),
            _ => states.max_by_key(|state| rank(*state)),
        };
        chosen.unwrap_or(ConnectionState::Disconnected)
    }
}

impl fmt::Debug for CompositeSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let targets: Vec<&str> = self
            .targets
            .iter()
            .map(|target| target.name.as_str())
            .collect();
        f.debug_struct("CompositeSink")
            .field("name", &self.name)
            .field("pattern", &self.pattern)
            .field("targets", &targets)
            .finish()
    }
}
