//! The validated shape of a `services.toml`: what every other part builds from.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::schema::{
    MAX_BACKOFF_MULTIPLIER, MAX_BUFFER_SIZE, MAX_JETSTREAM_IN_FLIGHT, MAX_MESSAGE_BYTES,
    MAX_RETRIES, MAX_RETRY_DELAY_MS, MAX_SECONDS, MIN_SECONDS,
};
use super::{ConfigErrors, Domain, Endpoint, Location, PrecisionContext, TlsCa};

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
    /// `domain`: the TLV types the service carries, if it says.
    pub domain: Option<Domain>,
    /// `precision_context`, if the service says.
    pub precision_context: Option<PrecisionContext>,
    /// `metadata`: free-form strings, in file order.
    pub metadata: Vec<(String, String)>,
    /// Why the service cannot be built from the compiled values alone: it
    /// names a `${VAR}` without a default and no variables were given (as
    /// for `Sinks::new()`). Its sink fails every send with these problems.
    pub unresolved: Option<ConfigErrors>,
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
    /// CA certificates to trust for `wss://` (`tls_ca_file`).
    pub tls_ca_file: Option<Arc<TlsCa>>,
    /// The TLV domain; a message with a TLV type outside it is refused (`domain`).
    pub domain: Option<Domain>,
    /// `metadata`: free-form strings, in file order, shown in `SinkMetadata::labels`.
    pub metadata: Vec<(String, String)>,
    /// `nats://` only: publish with JetStream acknowledgements and
    /// `Nats-Msg-Id` de-duplication (`jetstream`).
    pub jetstream: bool,
    /// `jetstream` only: how many publishes may await their acknowledgement
    /// at once (`jetstream_max_in_flight`).
    pub jetstream_max_in_flight: usize,
}

impl LeafConfig {
    /// Default `buffer_size`.
    pub const DEFAULT_BUFFER_SIZE: usize = 10_000;
    /// Default `max_message_bytes`: 16 MiB.
    pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
    /// Default `jetstream_max_in_flight`: enough to keep a loopback or LAN
    /// round trip busy, few enough that a lost connection re-publishes little.
    pub const DEFAULT_JETSTREAM_MAX_IN_FLIGHT: usize = 256;

    /// Settings with every default, for `endpoint`.
    pub fn new(endpoint: Endpoint) -> LeafConfig {
        LeafConfig {
            endpoint,
            buffer_size: Self::DEFAULT_BUFFER_SIZE,
            max_message_bytes: Self::DEFAULT_MAX_MESSAGE_BYTES,
            framing: Framing::LengthPrefixed,
            retry: RetryPolicy::default(),
            tls_ca_file: None,
            domain: None,
            metadata: Vec::new(),
            jetstream: false,
            jetstream_max_in_flight: Self::DEFAULT_JETSTREAM_MAX_IN_FLIGHT,
        }
    }

    /// Sets `buffer_size`, clamped to what the config accepts (1 to 16777216).
    pub fn buffer_size(mut self, buffer_size: usize) -> LeafConfig {
        self.buffer_size = buffer_size.clamp(1, MAX_BUFFER_SIZE as usize);
        self
    }

    /// Sets `max_message_bytes`, clamped to what the config accepts (1 to 4294967295).
    pub fn max_message_bytes(mut self, max_message_bytes: usize) -> LeafConfig {
        self.max_message_bytes =
            max_message_bytes.clamp(1, usize::try_from(MAX_MESSAGE_BYTES).unwrap_or(usize::MAX));
        self
    }

    /// The value of setting `key` (a [`KEYS`](super::KEYS) name, `lazy.`
    /// prefix included) as the config would write it; `None` for a key that
    /// does not apply or is not set. Endpoints are shown without credentials.
    pub fn setting(&self, key: &str) -> Option<String> {
        let retry = &self.retry;
        Some(match key {
            "endpoint" => self.endpoint.to_string(),
            "buffer_size" => self.buffer_size.to_string(),
            "max_message_bytes" => self.max_message_bytes.to_string(),
            "framing" => match (&self.endpoint, self.framing) {
                (Endpoint::WebSocket(_), _) => return None,
                (_, Framing::LengthPrefixed) => "length_prefixed".into(),
                (_, Framing::Raw) => "raw".into(),
            },
            "lazy.max_retries" => retry.max_retries.to_string(),
            "lazy.retry_delay_ms" => retry.retry_delay.as_millis().to_string(),
            "lazy.backoff_multiplier" => retry.backoff_multiplier.to_string(),
            "lazy.max_retry_delay_secs" => retry.max_retry_delay.as_secs_f64().to_string(),
            "lazy.connect_timeout_secs" => retry.connect_timeout.as_secs_f64().to_string(),
            "lazy.auto_reconnect" => retry.auto_reconnect.to_string(),
            "lazy.wait_timeout_secs" => retry.wait_timeout.as_secs_f64().to_string(),
            "tls_ca_file" => self.tls_ca_file.as_ref()?.written().to_owned(),
            "jetstream" if matches!(self.endpoint, Endpoint::Nats(_)) => self.jetstream.to_string(),
            "jetstream_max_in_flight" if self.jetstream => self.jetstream_max_in_flight.to_string(),
            "domain" => self.domain?.to_string(),
            "metadata" if !self.metadata.is_empty() => {
                let entries: Vec<String> = self
                    .metadata
                    .iter()
                    .map(|(name, value)| format!("{name} = {value:?}"))
                    .collect();
                format!("{{ {} }}", entries.join(", "))
            }
            _ => return None,
        })
    }

    /// Sets `jetstream` (meaningful for a `nats://` endpoint only).
    pub fn jetstream(mut self, jetstream: bool) -> LeafConfig {
        self.jetstream = jetstream;
        self
    }

    /// Sets `jetstream_max_in_flight`, clamped to what the config accepts
    /// (1 to 65536).
    pub fn jetstream_max_in_flight(mut self, max_in_flight: usize) -> LeafConfig {
        self.jetstream_max_in_flight = max_in_flight.clamp(1, MAX_JETSTREAM_IN_FLIGHT as usize);
        self
    }

    /// Sets `domain`.
    pub fn domain(mut self, domain: Domain) -> LeafConfig {
        self.domain = Some(domain);
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

    /// Sets `tls_ca_file`: a PEM file read at connect. A config's
    /// `tls_ca_file` is read and checked with the config instead.
    pub fn tls_ca_file(mut self, path: impl Into<PathBuf>) -> LeafConfig {
        self.tls_ca_file = Some(Arc::new(TlsCa::at_path(path)));
        self
    }

    /// Sets CA certificates already read and checked.
    pub fn tls_ca(mut self, ca: TlsCa) -> LeafConfig {
        self.tls_ca_file = Some(Arc::new(ca));
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
    /// The TLV domain every target shares, if the composite names one.
    pub domain: Option<Domain>,
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

    /// Sets `max_retries`, at most 1000000 as in the config.
    pub fn max_retries(mut self, max_retries: u32) -> RetryPolicy {
        self.max_retries = max_retries.min(MAX_RETRIES as u32);
        self
    }

    /// Sets `retry_delay`, at most a day as in the config.
    pub fn retry_delay(mut self, retry_delay: Duration) -> RetryPolicy {
        self.retry_delay = retry_delay.min(Duration::from_millis(MAX_RETRY_DELAY_MS));
        self
    }

    /// Sets `backoff_multiplier`, clamped to 1 to 1000 as in the config (NaN counts as 1).
    pub fn backoff_multiplier(mut self, backoff_multiplier: f64) -> RetryPolicy {
        self.backoff_multiplier = if backoff_multiplier >= 1.0 {
            backoff_multiplier.min(MAX_BACKOFF_MULTIPLIER)
        } else {
            1.0
        };
        self
    }

    /// Sets `max_retry_delay`, clamped to 1 ms to a day as in the config.
    pub fn max_retry_delay(mut self, max_retry_delay: Duration) -> RetryPolicy {
        self.max_retry_delay = clamp_seconds(max_retry_delay);
        self
    }

    /// Sets `auto_reconnect`.
    pub fn auto_reconnect(mut self, auto_reconnect: bool) -> RetryPolicy {
        self.auto_reconnect = auto_reconnect;
        self
    }

    /// Sets `connect_timeout`, clamped to 1 ms to a day as in the config.
    pub fn connect_timeout(mut self, connect_timeout: Duration) -> RetryPolicy {
        self.connect_timeout = clamp_seconds(connect_timeout);
        self
    }

    /// Sets `wait_timeout`, clamped to 1 ms to a day as in the config.
    pub fn wait_timeout(mut self, wait_timeout: Duration) -> RetryPolicy {
        self.wait_timeout = clamp_seconds(wait_timeout);
        self
    }

    /// The pause before retry number `retry` (1-based):
    /// `retry_delay * backoff_multiplier^(retry-1)`, at most `max_retry_delay`.
    pub fn delay_before_retry(&self, retry: u32) -> Duration {
        if self.retry_delay.is_zero() {
            // `0 * growth^n` is NaN once `growth^n` overflows to infinity.
            return Duration::ZERO;
        }
        let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
        let delay = self.retry_delay.as_secs_f64() * self.backoff_multiplier.powi(exponent);
        if delay.is_finite() && delay < self.max_retry_delay.as_secs_f64() {
            saturating_seconds(delay)
        } else {
            self.max_retry_delay
        }
    }

    /// The longest one connect can take: every attempt timing out, every
    /// pause. Constant time (a closed form of the geometric series, not a loop
    /// over the attempts) and saturating at `Duration::MAX`, for any value the
    /// fields hold.
    pub fn connect_budget(&self) -> Duration {
        let attempts = self.max_retries.saturating_add(1);
        let timeouts = self.connect_timeout.saturating_mul(attempts);
        timeouts.saturating_add(self.total_pauses())
    }

    /// The sum of the pauses before every retry.
    fn total_pauses(&self) -> Duration {
        let retries = f64::from(self.max_retries);
        let first = self.retry_delay.as_secs_f64();
        let cap = self.max_retry_delay.as_secs_f64();
        let growth = self.backoff_multiplier;
        if retries == 0.0 || first == 0.0 {
            return Duration::ZERO;
        }
        if first >= cap {
            return saturating_seconds(cap * retries);
        }
        // NaN too: no growth.
        if growth.is_nan() || growth <= 1.0 {
            return saturating_seconds(first * retries);
        }
        // Retries whose pause is below the cap: `first * growth^j < cap` for
        // j = 0..below; the rest each pause for `cap`.
        let below = ((cap / first).ln() / growth.ln())
            .ceil()
            .clamp(0.0, retries);
        let growing = first * (growth.powf(below) - 1.0) / (growth - 1.0);
        saturating_seconds(growing + cap * (retries - below))
    }
}

/// `seconds` as a Duration; `Duration::MAX` if it is more than one holds,
/// zero if negative or NaN.
fn saturating_seconds(seconds: f64) -> Duration {
    if seconds.is_nan() || seconds <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)
}

/// `duration` within what a config's `_secs` keys accept.
fn clamp_seconds(duration: Duration) -> Duration {
    duration.clamp(
        Duration::from_secs_f64(MIN_SECONDS),
        Duration::from_secs_f64(MAX_SECONDS),
    )
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
