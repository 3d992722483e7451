//! What a running sink tells its operator: `tracing` events (target
//! `sinks`), rate limited where a condition repeats, and, with the `metrics`
//! feature, counters and gauges through the `metrics` facade.
//!
//! The library installs no subscriber and no recorder. Every event carries
//! `sink` (the service name); endpoint events also carry `endpoint`, always
//! with credentials hidden. The README lists every event and metric.

mod metrics;
mod throttle;

pub(crate) use metrics::SinkMetrics;
pub(crate) use throttle::Throttle;

/// The `tracing` target of every event the library emits.
pub(crate) const TARGET: &str = "sinks";
