//! A relay or direct service: its endpoint and every setting, read through
//! the schema table; and the keys every service takes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::document::{Found, Reader};
use super::endpoint::{Endpoint, redact};
use super::model::{Framing, LeafConfig, ServiceKind};
use super::schema::{self, KEYS};
use super::values::Parsed;
use super::{ConfigError, Domain, Location, PrecisionContext, TlsCa};

/// The validator's messages for settings that only apply to some endpoints,
/// shared with `LeafConfig`'s setters so that both say the same.
pub(super) const FRAMING_ON_WEBSOCKET: &str =
    "`framing` does not apply to a WebSocket endpoint: each message is one binary frame";
pub(super) const JETSTREAM_NOT_NATS: &str = "`jetstream` only applies to a `nats://` endpoint";
pub(super) const JETSTREAM_IN_FLIGHT_WITHOUT_JETSTREAM: &str =
    "`jetstream_max_in_flight` only applies with `jetstream = true`";
pub(super) const TLS_CA_FILE_NOT_WSS: &str = "`tls_ca_file` only applies to a `wss://` endpoint";
pub(super) const TLS_CA_FILE_EMPTY: &str = "`tls_ca_file` is empty";

/// `domain`, `precision_context` and `metadata`.
#[derive(Debug, Default)]
pub(crate) struct Common {
    pub(crate) domain: Option<Domain>,
    pub(crate) precision_context: Option<PrecisionContext>,
    pub(crate) metadata: Vec<(String, String)>,
}

/// Where an unresolved endpoint would connect: nowhere (the sink refuses
/// every send before connecting).
fn placeholder(text: &str) -> Endpoint {
    Endpoint::unchecked_unix(PathBuf::from(format!("/unresolved/{}", redact(text))))
}

impl<'a> Reader<'a> {
    pub(crate) fn common(&mut self, service: &str) -> Common {
        let mut common = Common::default();
        for key in KEYS
            .iter()
            .filter(|key| key.applies == schema::Applies::All)
        {
            let Some((_, parsed)) = (key.name != "type")
                .then(|| self.read_key(service, key))
                .flatten()
            else {
                continue;
            };
            match (key.name, parsed) {
                ("domain", Parsed::Text(text)) => common.domain = Domain::from_name(&text),
                ("precision_context", Parsed::Text(text)) => {
                    common.precision_context = PrecisionContext::from_name(&text);
                }
                ("metadata", Parsed::Table(entries)) => common.metadata = entries,
                _ => {}
            }
        }
        common
    }

    pub(crate) fn leaf(
        &mut self,
        name: &str,
        location: Location,
        is_relay: bool,
    ) -> Option<ServiceKind> {
        let type_name = if is_relay { "relay" } else { "direct" };
        let endpoint_key = schema::find_key("endpoint").expect("the schema has `endpoint`");
        // A misspelt `endpoint` is already reported as such, with the fix.
        let endpoint_misspelt = self.table(0, name).is_some_and(|table| {
            table.iter().any(|(key, _)| {
                let key = key.get_ref().as_ref();
                schema::find_key(key).is_none()
                    && key != "lazy"
                    && super::diagnostics::closest(key, schema::top_level_names())
                        == Some("endpoint")
            })
        });
        let endpoint = match self.read_key(name, endpoint_key) {
            None if self.lookup(name, endpoint_key).is_some() || endpoint_misspelt => None,
            None => {
                let example = if is_relay {
                    "unix:///tmp/relay.sock"
                } else {
                    "tcp://127.0.0.1:9000"
                };
                self.missing(
                    name,
                    ConfigError::new(format!("a {type_name} service needs an `endpoint`"))
                        .at(location)
                        .service(name)
                        .key("endpoint")
                        .help(format!("add e.g. `endpoint = \"{example}\"`")),
                );
                None
            }
            Some((found, Parsed::Text(text))) => {
                let parsed = if is_relay {
                    Endpoint::parse_relay(&text)
                } else {
                    Endpoint::parse_direct(&text)
                };
                match parsed {
                    Ok(endpoint) => Some(endpoint),
                    Err(problem) => {
                        let note = self.interpolation_note(&found);
                        let mut error =
                            self.value_error(name, &found, format!("{}{note}", problem.message));
                        error.help = problem.help;
                        self.push(error);
                        None
                    }
                }
            }
            Some((found, _)) => {
                let text = match found.value.get_ref() {
                    toml::de::DeValue::String(text) => text.to_string(),
                    _ => String::new(),
                };
                Some(placeholder(&text))
            }
        };
        let mut config = LeafConfig::new(
            endpoint
                .clone()
                .unwrap_or(Endpoint::unchecked_unix(PathBuf::new())),
        );
        for key in KEYS.iter().filter(|key| {
            !matches!(
                key.applies,
                schema::Applies::All | schema::Applies::Composite
            ) && key.name != "endpoint"
        }) {
            let Some((found, parsed)) = self.read_key(name, key) else {
                continue;
            };
            self.apply(name, &mut config, endpoint.as_ref(), &found, parsed);
        }
        let common = self.common_for_leaf(name);
        config.domain = common.0;
        config.metadata = common.1;
        config.endpoint = endpoint?;
        Some(if is_relay {
            ServiceKind::Relay(config)
        } else {
            ServiceKind::Direct(config)
        })
    }

    /// `domain` and `metadata` for the leaf's own config (they also go on
    /// the `ServiceConfig`); errors are reported by `common`.
    fn common_for_leaf(&mut self, name: &str) -> (Option<Domain>, Vec<(String, String)>) {
        let errors = self.errors.len();
        let pending = self.pending.len();
        let common = self.common(name);
        self.errors.truncate(errors);
        self.pending.truncate(pending);
        (common.domain, common.metadata)
    }

    /// Sets the field of `found`'s key; the value is in the key's range.
    fn apply(
        &mut self,
        service: &str,
        config: &mut LeafConfig,
        endpoint: Option<&Endpoint>,
        found: &Found<'a>,
        parsed: Parsed,
    ) {
        let key = found.written.trim_start_matches("lazy.");
        let retry = &mut config.retry;
        match (key, parsed) {
            ("buffer_size", Parsed::Integer(n)) => {
                config.buffer_size = usize::try_from(n).unwrap_or(usize::MAX);
            }
            ("max_message_bytes", Parsed::Integer(n)) => {
                config.max_message_bytes = usize::try_from(n).unwrap_or(usize::MAX);
            }
            ("framing", Parsed::Text(text)) => {
                if let Some(Endpoint::WebSocket(_)) = endpoint {
                    let error = self
                        .value_error(service, found, FRAMING_ON_WEBSOCKET)
                        .help("remove `framing`");
                    self.push(error);
                }
                config.framing = if text == "raw" {
                    Framing::Raw
                } else {
                    Framing::LengthPrefixed
                };
            }
            // Both in range, so the conversions are exact.
            ("max_retries", Parsed::Integer(n)) => retry.max_retries = n as u32,
            ("retry_delay_ms", Parsed::Integer(n)) => retry.retry_delay = Duration::from_millis(n),
            ("backoff_multiplier", Parsed::Number(n)) => retry.backoff_multiplier = n,
            ("max_retry_delay_secs", Parsed::Seconds(d)) => retry.max_retry_delay = d,
            ("connect_timeout_secs", Parsed::Seconds(d)) => retry.connect_timeout = d,
            ("wait_timeout_secs", Parsed::Seconds(d)) => retry.wait_timeout = d,
            ("auto_reconnect", Parsed::Boolean(flag)) => retry.auto_reconnect = flag,
            ("jetstream", Parsed::Boolean(flag)) => {
                if endpoint.is_some_and(|endpoint| !matches!(endpoint, Endpoint::Nats(_))) {
                    let error = self
                        .error_at(found.layer, found.key.span(), JETSTREAM_NOT_NATS)
                        .service(service)
                        .key("jetstream")
                        .help("remove it, or use a `nats://host:4222/subject` endpoint");
                    self.push(error);
                }
                config.jetstream = flag;
            }
            ("jetstream_max_in_flight", Parsed::Integer(n)) => {
                // `jetstream` comes first in the schema, so it is read by now.
                // With no endpoint known (it was wrong), only the value is checked.
                if endpoint.is_some() && !config.jetstream {
                    let error = self
                        .error_at(
                            found.layer,
                            found.key.span(),
                            JETSTREAM_IN_FLIGHT_WITHOUT_JETSTREAM,
                        )
                        .service(service)
                        .key("jetstream_max_in_flight")
                        .help("add `jetstream = true` on a `nats://` endpoint, or remove it");
                    self.push(error);
                }
                config.jetstream_max_in_flight = usize::try_from(n).unwrap_or(usize::MAX);
            }
            ("tls_ca_file", Parsed::Text(text)) => {
                config.tls_ca_file = self.tls_ca(service, endpoint, found, &text).map(|mut ca| {
                    ca.set_written(&text);
                    Arc::new(ca)
                });
            }
            _ => {}
        }
    }

    /// The CA certificates of `tls_ca_file`: embedded at compile time for
    /// the config file's own value, else read and checked now.
    fn tls_ca(
        &mut self,
        service: &str,
        endpoint: Option<&Endpoint>,
        found: &Found<'a>,
        text: &str,
    ) -> Option<TlsCa> {
        let is_wss = matches!(endpoint, Some(Endpoint::WebSocket(ws)) if ws.secure);
        if text.is_empty() {
            let error = self
                .value_error(service, found, TLS_CA_FILE_EMPTY)
                .help("name a PEM file of CA certificates, or remove the key");
            self.push(error);
            return None;
        }
        if endpoint.is_some() && !is_wss {
            let error = self
                .error_at(found.layer, found.key.span(), TLS_CA_FILE_NOT_WSS)
                .service(service)
                .key("tls_ca_file")
                .help("remove it, or use a `wss://` endpoint");
            self.push(error);
            return None;
        }
        let written = PathBuf::from(text);
        if found.layer == 0 {
            if let Some(embedded) = self.embedded_cas {
                // Only the value compiled in: a `${VAR}` may name another file.
                let pem = embedded
                    .iter()
                    .find(|(name, written, _)| *name == service && *written == text)
                    .map(|(_, _, pem)| *pem);
                if let Some(pem) = pem {
                    return match TlsCa::from_pem(&written, pem) {
                        Ok(ca) => Some(ca),
                        Err(message) => {
                            let error = self.value_error(service, found, message);
                            self.push(error);
                            None
                        }
                    };
                }
            }
        }
        let path = match &self.layers[found.layer].base_dir {
            Some(base) if written.is_relative() => base.join(&written),
            _ => written,
        };
        match TlsCa::read(&path) {
            Ok(ca) => Some(ca),
            Err(message) => {
                let note = self.interpolation_note(found);
                let error = self
                    .value_error(service, found, format!("{message}{note}"))
                    .help("name a PEM file of CA certificates; a relative path is relative to the file that names it");
                self.push(error);
                None
            }
        }
    }
}
