//! The `services.toml` schema: parsing, endpoint syntax and validation.
//!
//! This module never touches tokio or the network, so that `include_sinks!`
//! runs exactly this code while the user's crate compiles and `SinkFactory`
//! runs it at start-up: one validator, one verdict, the same messages.

mod diagnostics;
mod endpoint;
mod model;
mod names;
mod parse;
mod topology;

pub(crate) use diagnostics::did_you_mean;
pub use diagnostics::{ConfigError, ConfigErrors, Location};
pub use endpoint::{
    Endpoint, EndpointError, MAX_UNIX_PATH_BYTES, SUPPORTED_SCHEMES, WebSocketEndpoint, redact,
};
pub use model::{
    CompositeConfig, CompositePattern, Framing, LeafConfig, RetryPolicy, ServiceConfig,
    ServiceKind, ServicesConfig,
};
pub use names::RESERVED_NAMES;
pub use parse::parse_config;

use std::path::Path;

impl ServicesConfig {
    /// Parses and validates TOML text; every problem is in the error.
    pub fn from_toml_str(source: &str) -> Result<ServicesConfig, ConfigErrors> {
        parse_config(source, None)
    }

    /// Reads, parses and validates a file; every problem is in the error.
    pub fn from_file(path: impl AsRef<Path>) -> Result<ServicesConfig, ConfigErrors> {
        let path = path.as_ref();
        match std::fs::read_to_string(path) {
            Ok(source) => parse_config(&source, Some(path)),
            Err(error) => Err(ConfigErrors {
                file: Some(path.display().to_string()),
                errors: vec![ConfigError::new(format!(
                    "cannot read the config file: {error}"
                ))],
            }),
        }
    }
}
