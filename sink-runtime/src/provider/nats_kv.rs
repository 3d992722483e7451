//! The NATS key-value provider: each key is a service name, each value that
//! service's TOML table (the keys of `[services.NAME]`, without the header).

use std::collections::HashSet;

use async_nats::jetstream::kv::Store;
use toml::de::{DeTable, DeValue};

use super::{ProviderFuture, ServiceProvider};
use crate::SinkError;
use crate::config::{ConfigError, ConfigErrors, parse_config};

/// Services published in a NATS key-value bucket by a registry.
///
/// A value is validated when `create_sink` first asks for its name, by the
/// config module's own parser, on a document of that service's table and the
/// tables of every service it targets (so a composite's topology is checked
/// as in a file). Errors name the bucket.
///
/// ```no_run
/// # async fn example() -> Result<(), sink_runtime::SinkError> {
/// use sink_runtime::SinkFactory;
/// use sink_runtime::provider::NatsKv;
///
/// // The bucket `services` holds, under the key `orders`:
/// //   type = "direct"
/// //   endpoint = "nats://127.0.0.1:4222/orders.new"
/// let provider = NatsKv::connect("127.0.0.1:4222", "services").await?;
/// let factory = SinkFactory::from_provider(provider);
/// let orders = factory.create_sink("orders").await?; // resolved now, cached after
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct NatsKv {
    store: Store,
    bucket: String,
}

impl NatsKv {
    /// Connects to the NATS servers `servers` (`host:port`, several separated
    /// by commas, each optionally `nats://user:password@host:port`) and opens
    /// the existing bucket `bucket`.
    pub async fn connect(servers: &str, bucket: &str) -> Result<NatsKv, SinkError> {
        let failed = |reason: String| SinkError::ConnectionFailed {
            sink: format!("provider `{bucket}`"),
            endpoint: without_credentials(servers),
            attempts: 1,
            reason,
        };
        let addresses: Vec<&str> = servers.split(',').map(str::trim).collect();
        let client = async_nats::connect(addresses.as_slice())
            .await
            .map_err(|error| failed(format!("cannot connect to NATS: {error}")))?;
        let store = async_nats::jetstream::new(client)
            .get_key_value(bucket)
            .await
            .map_err(|error| {
                failed(format!(
                    "cannot open the key-value bucket `{bucket}`: {error}; create it (e.g. `nats kv add {bucket}`)"
                ))
            })?;
        Ok(NatsKv {
            store,
            bucket: bucket.to_owned(),
        })
    }

    /// The TOML table stored under `service`.
    async fn table(&self, service: &str) -> Result<String, SinkError> {
        let value = self.store.get(service).await.map_err(|error| {
            self.invalid(
                ConfigError::new(format!(
                    "cannot read service `{service}` from the NATS key-value bucket `{}`: {error}",
                    self.bucket
                ))
                .service(service),
            )
        })?;
        let Some(value) = value else {
            return Err(self.invalid(
                ConfigError::new(format!(
                    "service `{service}` is not in the NATS key-value bucket `{}`",
                    self.bucket
                ))
                .service(service)
                .help(format!(
                    "put its TOML table under the key `{service}`, e.g. `nats kv put {} {service} 'type = \"direct\"...'`",
                    self.bucket
                )),
            ));
        };
        String::from_utf8(value.to_vec()).map_err(|_| {
            self.invalid(
                ConfigError::new(format!(
                    "the value of `{service}` in the NATS key-value bucket `{}` is not UTF-8 text",
                    self.bucket
                ))
                .service(service)
                .help("store the service's TOML table as text"),
            )
        })
    }

    fn invalid(&self, error: ConfigError) -> SinkError {
        SinkError::InvalidConfig(ConfigErrors {
            file: Some(format!("nats-kv://{}", self.bucket)),
            errors: vec![error],
        })
    }

    /// `service`'s table and those of everything it targets, as one document.
    async fn document(&self, service: &str) -> Result<String, SinkError> {
        let mut document = String::new();
        let mut seen = HashSet::new();
        let mut pending = vec![service.to_owned()];
        while let Some(name) = pending.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            let table = self.table(&name).await?;
            pending.extend(targets(&table));
            // Service names are checked by the parser; a name that is not a
            // bare key is quoted so that it reaches it as written.
            document.push_str(&format!("[services.{}]\n{table}\n\n", quoted_key(&name)));
        }
        Ok(document)
    }
}

impl ServiceProvider for NatsKv {
    fn resolve<'a>(&'a self, service: &'a str) -> ProviderFuture<'a> {
        Box::pin(async move {
            let document = self.document(service).await?;
            let config = parse_config(&document, None).map_err(|mut errors| {
                errors.file = Some(format!("nats-kv://{}", self.bucket));
                // Lines of the assembled document would mislead: each error
                // names its service and key, which is the bucket's key.
                for error in &mut errors.errors {
                    error.location = None;
                }
                SinkError::InvalidConfig(errors)
            })?;
            config.get(service).cloned().ok_or_else(|| {
                self.invalid(ConfigError::new(format!(
                    "service `{service}` is not defined"
                )))
            })
        })
    }
}

/// The `targets` of a composite's table, if it parses; the validator reports
/// anything wrong with it.
fn targets(table: &str) -> Vec<String> {
    let Ok(parsed) = DeTable::parse(table) else {
        return Vec::new();
    };
    let parsed = parsed.into_inner();
    match parsed.get("targets").map(|value| value.get_ref()) {
        Some(DeValue::Array(items)) => items
            .iter()
            .filter_map(|item| match item.get_ref() {
                DeValue::String(name) => Some(name.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn quoted_key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_owned()
    } else {
        format!("{name:?}")
    }
}

/// `servers` with every `...@` shown as `***@`, with or without a scheme.
fn without_credentials(servers: &str) -> String {
    servers
        .split(',')
        .map(|server| {
            let (scheme, rest) = match server.split_once("://") {
                Some((scheme, rest)) => (format!("{scheme}://"), rest),
                None => (String::new(), server),
            };
            match rest.rfind('@') {
                Some(at) => format!("{scheme}***@{}", &rest[at + 1..]),
                None => server.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn server_lists_never_show_credentials() {
        assert_eq!(
            super::without_credentials("u:secret@h:1,nats://tok@h:2,h:3"),
            "***@h:1,nats://***@h:2,h:3"
        );
    }
}
