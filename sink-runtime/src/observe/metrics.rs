//! The metrics of one endpoint sink, through the `metrics` facade.
//!
//! With the `metrics` cargo feature off this is an empty type whose methods
//! do nothing and compile away. With it on, the handles are registered once,
//! when the sink is built (install the recorder before building sinks), so
//! an update is one atomic operation on a cached handle, made in the same
//! state transition that updates the matching `metadata()` counter.
//!
//! | name | kind | what |
//! | --- | --- | --- |
//! | `sinks_messages_sent_total` | counter | `messages_sent` |
//! | `sinks_messages_failed_total` | counter | `messages_failed` |
//! | `sinks_bytes_sent_total` | counter | `bytes_sent` |
//! | `sinks_connects_total` | counter | connections made |
//! | `sinks_reconnects_total` | counter | `reconnects` |
//! | `sinks_queue_depth` | gauge | `queue_depth`, set when the writer takes or settles a batch |
//! | `sinks_connected` | gauge | 1 while connected, else 0 |
//!
//! Every one has the label `sink` (the service name).

#[cfg(feature = "metrics")]
mod enabled {
    use metrics::{Counter, Gauge, counter, gauge};

    /// The registered handles of one sink.
    #[derive(Debug, Clone)]
    pub(crate) struct SinkMetrics {
        sent: Counter,
        failed: Counter,
        bytes: Counter,
        connects: Counter,
        reconnects: Counter,
        queue_depth: Gauge,
        connected: Gauge,
    }

    impl SinkMetrics {
        pub(crate) fn new(sink: &str) -> SinkMetrics {
            SinkMetrics {
                sent: counter!("sinks_messages_sent_total", "sink" => sink.to_owned()),
                failed: counter!("sinks_messages_failed_total", "sink" => sink.to_owned()),
                bytes: counter!("sinks_bytes_sent_total", "sink" => sink.to_owned()),
                connects: counter!("sinks_connects_total", "sink" => sink.to_owned()),
                reconnects: counter!("sinks_reconnects_total", "sink" => sink.to_owned()),
                queue_depth: gauge!("sinks_queue_depth", "sink" => sink.to_owned()),
                connected: gauge!("sinks_connected", "sink" => sink.to_owned()),
            }
        }

        pub(crate) fn sent(&self, messages: u64, bytes: u64) {
            self.sent.increment(messages);
            self.bytes.increment(bytes);
        }

        pub(crate) fn failed(&self, messages: u64) {
            self.failed.increment(messages);
        }

        pub(crate) fn connected(&self, reconnect: bool) {
            self.connects.increment(1);
            if reconnect {
                self.reconnects.increment(1);
            }
            self.connected.set(1.0);
        }

        pub(crate) fn disconnected(&self) {
            self.connected.set(0.0);
        }

        pub(crate) fn queue_depth(&self, depth: u64) {
            self.queue_depth.set(depth as f64);
        }
    }
}

#[cfg(not(feature = "metrics"))]
mod enabled {
    /// Without the `metrics` feature: nothing to record.
    #[derive(Debug, Clone, Default)]
    pub(crate) struct SinkMetrics;

    impl SinkMetrics {
        pub(crate) fn new(_sink: &str) -> SinkMetrics {
            SinkMetrics
        }

        #[inline(always)]
        pub(crate) fn sent(&self, _messages: u64, _bytes: u64) {}

        #[inline(always)]
        pub(crate) fn failed(&self, _messages: u64) {}

        #[inline(always)]
        pub(crate) fn connected(&self, _reconnect: bool) {}

        #[inline(always)]
        pub(crate) fn disconnected(&self) {}

        #[inline(always)]
        pub(crate) fn queue_depth(&self, _depth: u64) {}
    }
}

pub(crate) use enabled::SinkMetrics;
