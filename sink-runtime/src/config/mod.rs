//! The `services.toml` schema: parsing, endpoint syntax, interpolation,
//! deploy-time overrides and validation.
//!
//! This module never touches tokio or the network, so that `include_sinks!`
//! runs exactly this code while the user's crate compiles and `SinkFactory`
//! (and the generated `Sinks::from_env`) run it at start-up: one validator,
//! one verdict, the same messages.
//!
//! # Layout
//! - `schema`: every key, described once ([`KEYS`]); drives the rest.
//! - `document`: the walk over the file and its overlay layers; `keys`: which keys a table may hold.
//! - `values`: typed readers with the schema's ranges; `interpolate`: `${VAR}`.
//! - `leaf`, `composite`: one service of each kind; `topology`: checks across services.
//! - `endpoint`, `host`: endpoint strings and host names; `nats`: `nats://`
//!   endpoints; `tls_ca`: `tls_ca_file`.
//! - `syntax`: TOML-level errors; `diagnostics`: errors and their rendering.
//! - `overrides`: [`Overrides`]; `domain`: the seed's `domain` and `precision_context`.
//! - `model`: the validated config; `retry`: [`RetryPolicy`]; `names`: which service names can be methods.

mod composite;
mod diagnostics;
mod document;
mod domain;
mod endpoint;
mod host;
mod interpolate;
mod keys;
mod leaf;
mod model;
mod names;
mod nats;
mod overrides;
mod retry;
mod schema;
mod syntax;
mod tls_ca;
mod topology;
mod values;

pub(crate) use diagnostics::did_you_mean;
pub use diagnostics::{ConfigError, ConfigErrors, Location};
pub use document::parse_config;
pub use domain::{Domain, PrecisionContext};
pub use endpoint::{
    Endpoint, EndpointError, MAX_UNIX_PATH_BYTES, SUPPORTED_SCHEMES, UnixSocketPath,
    WebSocketEndpoint, redact,
};
pub use model::{
    CompositeConfig, CompositePattern, Framing, LeafConfig, ServiceConfig, ServiceKind,
    ServicesConfig,
};
pub use names::{RESERVED_NAMES, is_accessor_name};
pub use nats::{DEFAULT_NATS_PORT, NatsAuth, NatsEndpoint};
pub use overrides::{OVERLAY_VARIABLE, Overrides};
pub use retry::RetryPolicy;
pub use schema::{
    Applies, KEYS, Key, MAX_BACKOFF_MULTIPLIER, MAX_BUFFER_SIZE, MAX_JETSTREAM_IN_FLIGHT,
    MAX_MESSAGE_BYTES, MAX_RETRIES, MAX_RETRY_DELAY_MS, MAX_SECONDS, MIN_BACKOFF_MULTIPLIER,
    MIN_BUFFER_SIZE, MIN_JETSTREAM_IN_FLIGHT, MIN_MESSAGE_BYTES, MIN_SECONDS, ValueKind, find_key,
    markdown_table,
};
pub use tls_ca::TlsCa;

use std::path::Path;

use document::{Input, read};

impl ServicesConfig {
    /// Parses and validates TOML text with its compiled values; every
    /// problem is in the error.
    pub fn from_toml_str(source: &str) -> Result<ServicesConfig, ConfigErrors> {
        parse_config(source, None)
    }

    /// Parses and validates TOML text, resolved with `overrides`; every
    /// problem of every source is in the error.
    pub fn from_toml_str_with(
        source: &str,
        overrides: &Overrides,
    ) -> Result<ServicesConfig, ConfigErrors> {
        read(&Input {
            source,
            file: None,
            base_dir: None,
            embedded_cas: None,
            overrides: Some(overrides),
        })
    }

    /// Reads, parses and validates a file with its compiled values.
    pub fn from_file(path: impl AsRef<Path>) -> Result<ServicesConfig, ConfigErrors> {
        let path = path.as_ref();
        let source = read_file(path)?;
        parse_config(&source, Some(path))
    }

    /// Reads, parses and validates a file, resolved with `overrides`.
    pub fn from_file_with(
        path: impl AsRef<Path>,
        overrides: &Overrides,
    ) -> Result<ServicesConfig, ConfigErrors> {
        let path = path.as_ref();
        let source = read_file(path)?;
        read(&Input {
            source: &source,
            file: Some(path.display().to_string()),
            base_dir: path.parent().map(Path::to_path_buf),
            embedded_cas: None,
            overrides: Some(overrides),
        })
    }

    /// A config compiled into the binary by `include_sinks!`: `file` as the
    /// user wrote it, the text, and each `tls_ca_file`'s PEM embedded at
    /// compile time as `(service, value as written, PEM)`. With `overrides`,
    /// their variables and overlays apply; a `tls_ca_file` they change is
    /// read from the file system now.
    pub fn from_compiled(
        file: &str,
        source: &str,
        embedded_cas: &[(&str, &str, &[u8])],
        overrides: Option<&Overrides>,
    ) -> Result<ServicesConfig, ConfigErrors> {
        read(&Input {
            source,
            file: Some(file.to_owned()),
            base_dir: None,
            embedded_cas: Some(embedded_cas),
            overrides,
        })
    }
}

fn read_file(path: &Path) -> Result<String, ConfigErrors> {
    std::fs::read_to_string(path).map_err(|error| ConfigErrors {
        file: Some(path.display().to_string()),
        errors: vec![ConfigError::new(format!(
            "cannot read the config file: {error}"
        ))],
    })
}
