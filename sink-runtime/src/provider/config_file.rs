//! The config-file provider: services from a validated `services.toml`.

use std::path::Path;

use super::{ProviderFuture, ServiceProvider};
use crate::SinkError;
use crate::config::{ConfigError, ConfigErrors, Overrides, ServicesConfig, did_you_mean};

/// Services from a whole `services.toml`, validated when it is opened (every
/// problem at once), as `SinkFactory::from_config` reads it: `${VAR}`s and
/// the `SINKS_OVERLAY` overlay resolved from the environment.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    config: ServicesConfig,
}

impl ConfigFile {
    /// Reads and validates the file at `path`, resolved from the
    /// environment ([`Overrides::from_env`]).
    pub fn open(path: impl AsRef<Path>) -> Result<ConfigFile, SinkError> {
        ConfigFile::open_with(path, &Overrides::from_env())
    }

    /// Reads and validates the file at `path`, resolved with `overrides`.
    pub fn open_with(
        path: impl AsRef<Path>,
        overrides: &Overrides,
    ) -> Result<ConfigFile, SinkError> {
        Ok(ConfigFile {
            config: ServicesConfig::from_file_with(path, overrides)?,
        })
    }

    /// A provider for an already validated config.
    pub fn from_services(config: ServicesConfig) -> ConfigFile {
        ConfigFile { config }
    }
}

impl ServiceProvider for ConfigFile {
    fn resolve<'a>(&'a self, service: &'a str) -> ProviderFuture<'a> {
        let resolved = match self.config.get(service) {
            Some(found) => Ok(found.clone()),
            None => {
                let mut error = ConfigError::new(format!("service `{service}` is not defined"));
                error.help = did_you_mean(service, self.config.names());
                Err(SinkError::InvalidConfig(ConfigErrors {
                    file: None,
                    errors: vec![error],
                }))
            }
        };
        Box::pin(std::future::ready(resolved))
    }
}
