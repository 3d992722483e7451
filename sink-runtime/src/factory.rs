//! The runtime `SinkFactory`: sinks built from a config file at start-up.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::config::{ConfigError, ConfigErrors, ServiceKind, ServicesConfig, did_you_mean};
use crate::{CompositeSink, EndpointSink, MessageSink, SinkError};

/// Builds sinks by service name from a validated `services.toml`.
///
/// Creating the factory validates the whole file and reports every problem
/// at once. `create_sink` does no I/O: every sink connects lazily on its
/// first send. It caches: the same name always gives the same `Arc`, and a
/// composite's targets are the very sinks `create_sink` returns for their
/// names, so one endpoint is one connection.
///
/// Prefer `include_sinks!` when the config is known at build time: the same
/// checks then fail the build instead of the start-up.
pub struct SinkFactory {
    config: ServicesConfig,
    /// Built sinks by name. A std mutex: it is never held across an await,
    /// building a sink does no I/O.
    cache: Mutex<HashMap<String, Arc<dyn MessageSink>>>,
}

impl SinkFactory {
    /// Reads and validates the config at `path`.
    pub fn from_config(path: impl AsRef<Path>) -> Result<SinkFactory, SinkError> {
        Ok(SinkFactory::from_services(ServicesConfig::from_file(path)?))
    }

    /// Validates config text.
    pub fn from_config_str(source: &str) -> Result<SinkFactory, SinkError> {
        Ok(SinkFactory::from_services(ServicesConfig::from_toml_str(
            source,
        )?))
    }

    /// A factory for an already validated config.
    pub fn from_services(config: ServicesConfig) -> SinkFactory {
        SinkFactory {
            config,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The config the factory builds from.
    pub fn config(&self) -> &ServicesConfig {
        &self.config
    }

    /// The sink for `service_name`, built on first request and cached.
    pub async fn create_sink(&self, service_name: &str) -> Result<Arc<dyn MessageSink>, SinkError> {
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.build(service_name, &mut cache)
    }

    /// Builds `name` and, first, every target it needs. The validator
    /// rejected cycles, so the recursion ends.
    fn build(
        &self,
        name: &str,
        cache: &mut HashMap<String, Arc<dyn MessageSink>>,
    ) -> Result<Arc<dyn MessageSink>, SinkError> {
        if let Some(sink) = cache.get(name) {
            return Ok(Arc::clone(sink));
        }
        let Some(service) = self.config.get(name) else {
            let mut error = ConfigError::new(format!("service `{name}` is not defined"));
            error.help = did_you_mean(name, self.config.names());
            return Err(SinkError::InvalidConfig(ConfigErrors {
                file: None,
                errors: vec![error],
            }));
        };
        let sink: Arc<dyn MessageSink> = match &service.kind {
            ServiceKind::Composite(composite) => {
                let targets = composite
                    .targets
                    .iter()
                    .map(|target| self.build(target, cache))
                    .collect::<Result<Vec<_>, _>>()?;
                Arc::new(CompositeSink::new(name, composite.pattern, targets))
            }
            _ => match EndpointSink::from_service(service) {
                Some(sink) => Arc::new(sink),
                None => unreachable!("relay and direct services have an endpoint sink"),
            },
        };
        cache.insert(name.to_owned(), Arc::clone(&sink));
        Ok(sink)
    }
}

impl std::fmt::Debug for SinkFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.config.names().collect();
        f.debug_struct("SinkFactory")
            .field("services", &names)
            .finish()
    }
}
