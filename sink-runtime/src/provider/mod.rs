//! Where a [`SinkFactory`](crate::SinkFactory) finds a service's settings
//! when they are not in one file read at start-up (the seed's Stage 2).
//!
//! A [`ServiceProvider`] resolves a service name to its validated settings the
//! first time `create_sink` asks for it; the factory caches the sink as for a
//! config file, so a name resolves once. Two providers:
//! - [`ConfigFile`]: a validated `services.toml`, as `from_config` reads.
//! - [`NatsKv`] (feature `nats`): a NATS key-value bucket whose keys are
//!   service names and whose values are each service's TOML table, so that
//!   services find endpoints a registry published instead of a shared file.
//!
//! Every provider validates with the config module's own parser, so a
//! service is accepted or rejected, with the same messages, wherever it
//! comes from.

mod config_file;
#[cfg(feature = "nats")]
mod nats_kv;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::SinkError;
use crate::config::ServiceConfig;

pub use config_file::ConfigFile;
#[cfg(feature = "nats")]
pub use nats_kv::NatsKv;

/// The future a provider returns.
pub type ProviderFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ServiceConfig, SinkError>> + Send + 'a>>;

/// Resolves service names to validated settings.
///
/// `resolve` is called at most once per name and factory, when `create_sink`
/// first asks for the name (or for a composite that targets it). A composite's
/// targets are resolved by name in turn. An unknown name is
/// `SinkError::InvalidConfig` naming it.
pub trait ServiceProvider: Send + Sync + fmt::Debug {
    /// The settings of `service`, validated.
    fn resolve<'a>(&'a self, service: &'a str) -> ProviderFuture<'a>;
}
