//! The validated shape of a `services.toml`: what every other part builds from.

use std::path::PathBuf;
use std::sync::Arc;

use super::leaf::{
    FRAMING_ON_WEBSOCKET, JETSTREAM_IN_FLIGHT_WITHOUT_JETSTREAM, JETSTREAM_NOT_NATS,
    TLS_CA_FILE_EMPTY, TLS_CA_FILE_NOT_WSS,
};
use super::schema::{
    MAX_BUFFER_SIZE, MAX_JETSTREAM_IN_FLIGHT, MAX_MESSAGE_BYTES, MIN_BUFFER_SIZE,
    MIN_JETSTREAM_IN_FLIGHT, MIN_MESSAGE_BYTES,
};
use super::{
    ConfigError, ConfigErrors, Domain, Endpoint, Location, PrecisionContext, RetryPolicy, TlsCa,
};

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
///
/// Read through the methods named like the settings; built with
/// [`LeafConfig::new`] and the `with_*` methods. Every way to make one keeps
/// it a config the validator accepts: the numeric setters clamp to the
/// schema's range, and the settings that only apply to some endpoints
/// (`framing`, `jetstream`, `jetstream_max_in_flight`, `tls_ca_file`) are
/// set by methods that return the validator's error for any other endpoint.
/// The endpoint is only set by `new`: the settings above were checked against
/// it, so another endpoint means a new `LeafConfig`.
///
/// ```
/// use sink_runtime::config::{Endpoint, Framing, LeafConfig}; // `sinks::config` in a crate that uses `sinks`
///
/// let endpoint: Endpoint = "tcp://127.0.0.1:9000".parse()?;
/// let leaf = LeafConfig::new(endpoint)
///     .with_buffer_size(0) // below the config's minimum: 1
///     .with_framing(Framing::Raw)?;
/// assert_eq!(leaf.buffer_size(), 1);
/// assert_eq!(leaf.framing(), Framing::Raw);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LeafConfig {
    // `pub(crate)` so that the config reader sets them from values it has
    // checked; code outside the crate goes through the setters, which keep
    // every value in the schema's range.
    pub(crate) endpoint: Endpoint,
    pub(crate) buffer_size: usize,
    pub(crate) max_message_bytes: usize,
    pub(crate) framing: Framing,
    pub(crate) retry: RetryPolicy,
    pub(crate) tls_ca_file: Option<Arc<TlsCa>>,
    pub(crate) domain: Option<Domain>,
    pub(crate) metadata: Vec<(String, String)>,
    pub(crate) jetstream: bool,
    pub(crate) jetstream_max_in_flight: usize,
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

    /// Where messages go (`endpoint`).
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// How many accepted messages may wait to be written (`buffer_size`).
    pub fn buffer_size(&self) -> usize {
        self.buffer_size
    }

    /// The largest payload a send accepts, in bytes (`max_message_bytes`).
    pub fn max_message_bytes(&self) -> usize {
        self.max_message_bytes
    }

    /// How messages are delimited on a byte stream (`framing`). A WebSocket
    /// endpoint ignores it: one binary frame is one message.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Connect, retry and reconnect behaviour (`max_retries`, `lazy.*`).
    pub fn retry(&self) -> RetryPolicy {
        self.retry
    }

    /// CA certificates to trust for `wss://` (`tls_ca_file`), if set.
    pub fn tls_ca_file(&self) -> Option<&Arc<TlsCa>> {
        self.tls_ca_file.as_ref()
    }

    /// The TLV domain; a message with a TLV type outside it is refused (`domain`).
    pub fn domain(&self) -> Option<Domain> {
        self.domain
    }

    /// `metadata`: free-form strings, in file order, shown in `SinkMetadata::labels`.
    pub fn metadata(&self) -> &[(String, String)] {
        &self.metadata
    }

    /// `nats://` only: publish with JetStream acknowledgements and
    /// `Nats-Msg-Id` de-duplication (`jetstream`).
    pub fn jetstream(&self) -> bool {
        self.jetstream
    }

    /// `jetstream` only: how many publishes may await their acknowledgement
    /// at once (`jetstream_max_in_flight`).
    pub fn jetstream_max_in_flight(&self) -> usize {
        self.jetstream_max_in_flight
    }

    /// Sets `buffer_size`, clamped to what the config accepts:
    /// [`MIN_BUFFER_SIZE`](super::MIN_BUFFER_SIZE) (1) to
    /// [`MAX_BUFFER_SIZE`](super::MAX_BUFFER_SIZE) (16777216).
    pub fn with_buffer_size(mut self, buffer_size: usize) -> LeafConfig {
        self.buffer_size = clamp_count(buffer_size, MIN_BUFFER_SIZE, MAX_BUFFER_SIZE);
        self
    }

    /// Sets `max_message_bytes`, clamped to what the config accepts:
    /// [`MIN_MESSAGE_BYTES`](super::MIN_MESSAGE_BYTES) (1) to
    /// [`MAX_MESSAGE_BYTES`](super::MAX_MESSAGE_BYTES) (4294967295, what a
    /// frame's u32 length prefix holds).
    pub fn with_max_message_bytes(mut self, max_message_bytes: usize) -> LeafConfig {
        self.max_message_bytes =
            clamp_count(max_message_bytes, MIN_MESSAGE_BYTES, MAX_MESSAGE_BYTES);
        self
    }

    /// Sets `framing`.
    ///
    /// # Errors
    /// On a WebSocket endpoint, where the config rejects `framing` too (each
    /// message is one binary frame), with the validator's message. Nothing
    /// can be clamped there, so the setter refuses rather than ignore it.
    pub fn with_framing(mut self, framing: Framing) -> Result<LeafConfig, ConfigErrors> {
        if let Endpoint::WebSocket(_) = self.endpoint {
            return Err(setter_error(
                "framing",
                FRAMING_ON_WEBSOCKET,
                "leave `framing` unset for a `ws://` or `wss://` endpoint",
            ));
        }
        self.framing = framing;
        Ok(self)
    }

    /// Sets the retry policy; [`RetryPolicy`]'s own setters keep it in range.
    pub fn with_retry(mut self, retry: RetryPolicy) -> LeafConfig {
        self.retry = retry;
        self
    }

    /// Sets `tls_ca_file`: a PEM file read at connect. A config's
    /// `tls_ca_file` is read and checked with the config instead.
    ///
    /// # Errors
    /// With the validator's message, when the endpoint is not `wss://` (the
    /// config rejects `tls_ca_file` there) or the path is empty.
    pub fn with_tls_ca_file(self, path: impl Into<PathBuf>) -> Result<LeafConfig, ConfigErrors> {
        let path = path.into();
        if path.as_os_str().is_empty() {
            return Err(setter_error(
                "tls_ca_file",
                TLS_CA_FILE_EMPTY,
                "name a PEM file of CA certificates",
            ));
        }
        self.with_tls_ca(TlsCa::at_path(path))
    }

    /// Sets CA certificates already read and checked, as `tls_ca_file`.
    ///
    /// # Errors
    /// When the endpoint is not `wss://`, with the validator's message.
    pub fn with_tls_ca(mut self, ca: TlsCa) -> Result<LeafConfig, ConfigErrors> {
        if !matches!(&self.endpoint, Endpoint::WebSocket(ws) if ws.secure) {
            return Err(setter_error(
                "tls_ca_file",
                TLS_CA_FILE_NOT_WSS,
                "set it on a `wss://` endpoint only",
            ));
        }
        self.tls_ca_file = Some(Arc::new(ca));
        Ok(self)
    }

    /// Sets `domain`: a message with a TLV type outside it is refused.
    pub fn with_domain(mut self, domain: Domain) -> LeafConfig {
        self.domain = Some(domain);
        self
    }

    /// Sets the `metadata` entry `name` to `value`. A name already set keeps
    /// its place and takes the new value, as a TOML table holds each name once.
    pub fn with_metadata(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> LeafConfig {
        let (name, value) = (name.into(), value.into());
        match self
            .metadata
            .iter_mut()
            .find(|(existing, _)| *existing == name)
        {
            Some(entry) => entry.1 = value,
            None => self.metadata.push((name, value)),
        }
        self
    }

    /// Sets `jetstream`. `false` is the default and always accepted.
    ///
    /// # Errors
    /// `true` on an endpoint other than `nats://`, which the config rejects
    /// too, with the validator's message.
    pub fn with_jetstream(mut self, jetstream: bool) -> Result<LeafConfig, ConfigErrors> {
        if jetstream && !matches!(self.endpoint, Endpoint::Nats(_)) {
            return Err(setter_error(
                "jetstream",
                JETSTREAM_NOT_NATS,
                "use a `nats://host:4222/subject` endpoint",
            ));
        }
        self.jetstream = jetstream;
        Ok(self)
    }

    /// Sets `jetstream_max_in_flight`, clamped to what the config accepts:
    /// [`MIN_JETSTREAM_IN_FLIGHT`](super::MIN_JETSTREAM_IN_FLIGHT) (1) to
    /// [`MAX_JETSTREAM_IN_FLIGHT`](super::MAX_JETSTREAM_IN_FLIGHT) (65536).
    ///
    /// # Errors
    /// Unless `jetstream` is on (call [`with_jetstream(true)`](Self::with_jetstream)
    /// first), as the config rejects the key without `jetstream = true`.
    pub fn with_jetstream_max_in_flight(
        mut self,
        max_in_flight: usize,
    ) -> Result<LeafConfig, ConfigErrors> {
        if !self.jetstream {
            return Err(setter_error(
                "jetstream_max_in_flight",
                JETSTREAM_IN_FLIGHT_WITHOUT_JETSTREAM,
                "call `with_jetstream(true)` first, on a `nats://` endpoint",
            ));
        }
        self.jetstream_max_in_flight = clamp_count(
            max_in_flight,
            MIN_JETSTREAM_IN_FLIGHT,
            MAX_JETSTREAM_IN_FLIGHT,
        );
        Ok(self)
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
}

/// `value` within `min..=max`, as a count the platform holds.
fn clamp_count(value: usize, min: u64, max: u64) -> usize {
    let to_usize = |bound: u64| usize::try_from(bound).unwrap_or(usize::MAX);
    value.clamp(to_usize(min), to_usize(max))
}

/// A setter's refusal: one problem, about `key`, with the validator's message.
fn setter_error(key: &str, message: &str, help: &str) -> ConfigErrors {
    ConfigErrors {
        file: None,
        errors: vec![ConfigError::new(message).key(key).help(help)],
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
