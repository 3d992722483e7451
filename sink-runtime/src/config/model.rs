//! The validated shape of a `services.toml`: what every other part builds from.

use std::path::PathBuf;
use std::time::Duration;

use super::{Endpoint, Location};

/// A whole validated config: the services in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct ServicesConfig {
    pub(crate) services: Vec<ServiceConfig>,
}

impl ServicesConfig {
    /// The services, in the order the file defines them.
    pub fn services(&self) -> &[ServiceConfig] {
        &self.services
    }

    /// The service called `name`.
    pub fn get(&self, name: &str) -> Option<&ServiceConfig> {
        self.services.iter().find(|service| service.name == name)
    }

    /// The service names, in file order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.services.iter().map(|service| service.name.as_str())
    }
}

/// One `[services.NAME]` table.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// The table's name, also the accessor's name in `include_sinks!`.
    pub name: String,
    /// Where the service's table starts in the file.
    pub location: Location,
    /// What the service is.
    pub kind: ServiceKind,
}

/// What a service sends to.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ServiceKind {
    /// `type = "relay"`: a local relay over a Unix socket.
    Relay(LeafConfig),
    /// `type = "direct"`: a peer over Unix, TCP or WebSocket.
    Direct(LeafConfig),
    /// `type = "composite"`: a pattern over other services.
    Composite(CompositeConfig),
}

impl ServiceKind {
    /// `"relay"`, `"direct"` or `"composite"`, as written in the config.
    pub fn type_name(&self) -> &'static str {
        match self {
            ServiceKind::Relay(_) => "relay",
            ServiceKind::Direct(_) => "direct",
            ServiceKind::Composite(_) => "composite",
        }
    }
}

/// The settings of a service with an endpoint (relay or direct).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LeafConfig {
    /// Where messages go.
    pub endpoint: Endpoint,
    /// How many accepted messages may wait to be written (`buffer_size`).
    pub buffer_size: usize,
    /// The largest payload a send accepts, in bytes (`max_message_bytes`).
    pub max_message_bytes: usize,
    /// How messages are delimited on a byte stream (`framing`).
    pub framing: Framing,
    /// Connect, retry and reconnect behaviour (`max_retries`, `lazy.*`).
    pub retry: RetryPolicy,
    /// A PEM file of CA certificates to trust for `wss://` (`tls_ca_file`).
    pub tls_ca_file: Option<PathBuf>,
}

impl LeafConfig {
    /// Default `buffer_size`.
    pub const DEFAULT_BUFFER_SIZE: usize = 10_000;
    /// Default `max_message_bytes`: 16 MiB.
    pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

    /// Settings with every default, for `endpoint`.
    pub fn new(endpoint: Endpoint) -> LeafConfig {
        LeafConfig {
            endpoint,
            buffer_size: Self::DEFAULT_BUFFER_SIZE,
            max_message_bytes: Self::DEFAULT_MAX_MESSAGE_BYTES,
            framing: Framing::LengthPrefixed,
            retry: RetryPolicy::default(),
            tls_ca_file: None,
        }
    }

    /// Sets `buffer_size` (at least 1).
    pub fn buffer_size(mut self, buffer_size: usize) -> LeafConfig {
        self.buffer_size = buffer_size.max(1);
        self
    }

    /// Sets `max_message_bytes` (at least 1).
    pub fn max_message_bytes(mut self, max_message_bytes: usize) -> LeafConfig {
        self.max_message_bytes = max_message_bytes.max(1);
        self
    }

    /// Sets `framing`.
    pub fn framing(mut self, framing: Framing) -> LeafConfig {
        self.framing = framing;
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> LeafConfig {
        self.retry = retry;
        self
    }

    /// Sets `tls_ca_file`.
    pub fn tls_ca_file(mut self, path: impl Into<PathBuf>) -> LeafConfig {
        self.tls_ca_file = Some(path.into());
        self
    }
}

/// How messages are delimited on a byte stream. WebSocket ignores it: one
/// binary frame is one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Framing {
    /// `"length_prefixed"`: a u32 little-endian payload length, then the payload.
    #[default]
    LengthPrefixed,
    /// `"raw"`: the payload alone; the receiver must know where messages end.
    Raw,
}

/// How a composite spreads messages over its targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompositePattern {
    /// Every message to every target.
    Fanout,
    /// Each message to the next healthy target in turn.
    RoundRobin,
    /// Every message to the first healthy target in order.
    Failover,
}

impl CompositePattern {
    /// The name used in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            CompositePattern::Fanout => "fanout",
            CompositePattern::RoundRobin => "round_robin",
            CompositePattern::Failover => "failover",
        }
    }
}

/// The settings of a composite service.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompositeConfig {
    /// How messages are spread.
    pub pattern: CompositePattern,
    /// The target service names, in order.
    pub targets: Vec<String>,
}

/// When and how a sink connects, retries and reconnects.
///
/// A connect makes `1 + max_retries` attempts, each bounded by
/// `connect_timeout`; the pause before retry `n` is
/// `retry_delay * backoff_multiplier^(n-1)`, capped at `max_retry_delay`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts after the first one (`max_retries`).
    pub max_retries: u32,
    /// Pause before the first retry (`retry_delay_ms`).
    pub retry_delay: Duration,
    /// Growth of the pause per retry, at least 1 (`lazy.backoff_multiplier`).
    pub backoff_multiplier: f64,
    /// The longest pause between attempts (`lazy.max_retry_delay_secs`).
    pub max_retry_delay: Duration,
    /// Reconnect by itself when an established connection drops (`lazy.auto_reconnect`).
    pub auto_reconnect: bool,
    /// The bound on one connect attempt (`lazy.connect_timeout_secs`).
    pub connect_timeout: Duration,
    /// The longest a `send`, `flush` or `connect` waits for room or for a
    /// connection before it returns `Timeout` (`lazy.wait_timeout_secs`).
    pub wait_timeout: Duration,
}

impl RetryPolicy {
    /// Default `max_retries`.
    pub const DEFAULT_MAX_RETRIES: u32 = 3;
    /// Default `retry_delay_ms`.
    pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_millis(100);
    /// Default `backoff_multiplier`.
    pub const DEFAULT_BACKOFF_MULTIPLIER: f64 = 2.0;
    /// Default `max_retry_delay_secs`.
    pub const DEFAULT_MAX_RETRY_DELAY: Duration = Duration::from_secs(5);
    /// Default `connect_timeout_secs`.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default `wait_timeout_secs`.
    pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(30);

    /// Sets `max_retries`.
    pub fn max_retries(mut self, max_retries: u32) -> RetryPolicy {
        self.max_retries = max_retries;
        self
    }

    /// Sets `retry_delay`.
    pub fn retry_delay(mut self, retry_delay: Duration) -> RetryPolicy {
        self.retry_delay = retry_delay;
        self
    }

    /// Sets `backoff_multiplier` (values below 1 count as 1).
    pub fn backoff_multiplier(mut self, backoff_multiplier: f64) -> RetryPolicy {
        self.backoff_multiplier = if backoff_multiplier >= 1.0 {
            backoff_multiplier
        } else {
            1.0
        };
        self
    }

    /// Sets `max_retry_delay`.
    pub fn max_retry_delay(mut self, max_retry_delay: Duration) -> RetryPolicy {
        self.max_retry_delay = max_retry_delay;
        self
    }

    /// Sets `auto_reconnect`.
    pub fn auto_reconnect(mut self, auto_reconnect: bool) -> RetryPolicy {
        self.auto_reconnect = auto_reconnect;
        self
    }

    /// Sets `connect_timeout`.
    pub fn connect_timeout(mut self, connect_timeout: Duration) -> RetryPolicy {
        self.connect_timeout = connect_timeout;
        self
    }

    /// Sets `wait_timeout`.
    pub fn wait_timeout(mut self, wait_timeout: Duration) -> RetryPolicy {
        self.wait_timeout = wait_timeout;
        self
    }

    /// The pause before retry number `retry` (1-based).
    pub fn delay_before_retry(&self, retry: u32) -> Duration {
        let factor = self
            .backoff_multiplier
            .powi(retry.saturating_sub(1).min(64) as i32);
        let delay = self.retry_delay.as_secs_f64() * factor;
        if delay.is_finite() && delay < self.max_retry_delay.as_secs_f64() {
            Duration::from_secs_f64(delay)
        } else {
            self.max_retry_delay
        }
    }

    /// The longest one connect can take: every attempt timing out, every pause.
    pub fn connect_budget(&self) -> Duration {
        let attempts = self.connect_timeout * (self.max_retries + 1);
        (1..=self.max_retries).fold(attempts, |total, retry| {
            total + self.delay_before_retry(retry)
        })
    }
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_retries: Self::DEFAULT_MAX_RETRIES,
            retry_delay: Self::DEFAULT_RETRY_DELAY,
            backoff_multiplier: Self::DEFAULT_BACKOFF_MULTIPLIER,
            max_retry_delay: Self::DEFAULT_MAX_RETRY_DELAY,
            auto_reconnect: true,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            wait_timeout: Self::DEFAULT_WAIT_TIMEOUT,
        }
    }
}
