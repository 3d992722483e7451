//! Used by code that `include_sinks!` generates; not public API.
//!
//! The macro describes a topology as constant tables of plain data
//! ([`LeafSpec`], [`CompositeSpec`]) and [`build`] turns them into sinks at
//! run time. Data rather than one constructor expression per service keeps
//! the generated code small: a config of 10,000 services compiles like a
//! 10,000-row table, not like a 10,000-statement function. Generated code
//! names everything through `::sinks::__private`, so the user's crate
//! depends on `sinks` alone.

use std::fmt;
use std::path::PathBuf;
pub use std::sync::Arc;
use std::time::Duration;

pub use crate::config::CompositePattern;
use crate::config::{Endpoint, Framing, LeafConfig, RetryPolicy, WebSocketEndpoint};
use crate::{CompositeSink, EndpointSink, MessageSink, SinkError};

/// A relay or direct service, as validated at compile time.
#[derive(Debug)]
pub struct LeafSpec {
    pub name: &'static str,
    /// `type = "relay"` (otherwise direct).
    pub relay: bool,
    pub endpoint: EndpointSpec,
    /// `None`: every setting at its default.
    pub settings: Option<SettingsSpec>,
}

/// An endpoint, as validated at compile time.
#[derive(Debug)]
pub enum EndpointSpec {
    Unix(&'static str),
    Tcp(&'static str, u16),
    WebSocket {
        secure: bool,
        host: &'static str,
        port: u16,
        path: &'static str,
        credentials: Option<&'static str>,
    },
}

/// The settings of a leaf that differ from the defaults somewhere.
#[derive(Debug)]
pub struct SettingsSpec {
    pub buffer_size: usize,
    pub max_message_bytes: usize,
    pub raw_framing: bool,
    pub max_retries: u32,
    pub retry_delay_ns: u64,
    pub backoff_multiplier: f64,
    pub max_retry_delay_ns: u64,
    pub auto_reconnect: bool,
    pub connect_timeout_ns: u64,
    pub wait_timeout_ns: u64,
    pub tls_ca_file: Option<&'static str>,
}

/// A composite; its targets were built before it (the macro orders the table).
#[derive(Debug)]
pub struct CompositeSpec {
    pub name: &'static str,
    pub pattern: CompositePattern,
    pub targets: &'static [SinkRef],
}

/// Where a service's sink is among the built ones.
#[derive(Debug, Clone, Copy)]
pub enum SinkRef {
    Endpoint(usize),
    Composite(usize),
}

/// Every sink of a topology, in table order.
pub struct Built {
    pub endpoints: Box<[Arc<EndpointSink>]>,
    pub composites: Box<[Arc<CompositeSink>]>,
}

/// Builds every sink: no I/O, nothing spawned.
pub fn build(leaves: &[LeafSpec], composites: &[CompositeSpec]) -> Built {
    let endpoints: Box<[Arc<EndpointSink>]> = leaves
        .iter()
        .map(|leaf| Arc::new(leaf_sink(leaf)))
        .collect();
    let mut built: Vec<Arc<CompositeSink>> = Vec::with_capacity(composites.len());
    for spec in composites {
        let targets = spec
            .targets
            .iter()
            .map(|target| -> Arc<dyn MessageSink> {
                match *target {
                    SinkRef::Endpoint(index) => endpoints[index].clone(),
                    SinkRef::Composite(index) => built[index].clone(),
                }
            })
            .collect();
        built.push(Arc::new(CompositeSink::new(
            spec.name,
            spec.pattern,
            targets,
        )));
    }
    Built {
        endpoints,
        composites: built.into_boxed_slice(),
    }
}

fn leaf_sink(leaf: &LeafSpec) -> EndpointSink {
    let endpoint = match &leaf.endpoint {
        EndpointSpec::Unix(path) => Endpoint::Unix(PathBuf::from(path)),
        EndpointSpec::Tcp(host, port) => Endpoint::Tcp {
            host: (*host).to_owned(),
            port: *port,
        },
        EndpointSpec::WebSocket {
            secure,
            host,
            port,
            path,
            credentials,
        } => Endpoint::WebSocket(WebSocketEndpoint {
            secure: *secure,
            host: (*host).to_owned(),
            port: *port,
            path: (*path).to_owned(),
            credentials: credentials.map(str::to_owned),
        }),
    };
    let mut config = LeafConfig::new(endpoint);
    if let Some(settings) = &leaf.settings {
        config = config
            .buffer_size(settings.buffer_size)
            .max_message_bytes(settings.max_message_bytes)
            .framing(if settings.raw_framing {
                Framing::Raw
            } else {
                Framing::LengthPrefixed
            })
            .retry(
                RetryPolicy::default()
                    .max_retries(settings.max_retries)
                    .retry_delay(Duration::from_nanos(settings.retry_delay_ns))
                    .backoff_multiplier(settings.backoff_multiplier)
                    .max_retry_delay(Duration::from_nanos(settings.max_retry_delay_ns))
                    .auto_reconnect(settings.auto_reconnect)
                    .connect_timeout(Duration::from_nanos(settings.connect_timeout_ns))
                    .wait_timeout(Duration::from_nanos(settings.wait_timeout_ns)),
            );
        if let Some(path) = settings.tls_ca_file {
            config = config.tls_ca_file(path);
        }
    }
    if leaf.relay {
        EndpointSink::relay(leaf.name, config)
    } else {
        EndpointSink::direct(leaf.name, config)
    }
}

impl Built {
    /// The sink `reference` points at.
    pub fn sink(&self, reference: SinkRef) -> Arc<dyn MessageSink> {
        match reference {
            SinkRef::Endpoint(index) => self.endpoints[index].clone(),
            SinkRef::Composite(index) => self.composites[index].clone(),
        }
    }

    /// `get(name)`: `index` is sorted by name.
    pub fn find(&self, index: &[(&str, SinkRef)], name: &str) -> Option<Arc<dyn MessageSink>> {
        let position = index
            .binary_search_by(|(entry, _)| (*entry).cmp(name))
            .ok()?;
        Some(self.sink(index[position].1))
    }

    /// Flushes every endpoint sink at once; `TargetsFailed` names each that failed.
    pub async fn flush_all(&self, owner: &str) -> Result<(), SinkError> {
        crate::group::flush_all(owner, &self.endpoints).await
    }

    /// Disconnects every endpoint sink at once; `TargetsFailed` names each that failed.
    pub async fn disconnect_all(&self, owner: &str) -> Result<(), SinkError> {
        crate::group::disconnect_all(owner, &self.endpoints).await
    }
}

impl fmt::Debug for Built {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.endpoints.iter().map(|sink| sink as &dyn fmt::Debug))
            .entries(self.composites.iter().map(|sink| sink as &dyn fmt::Debug))
            .finish()
    }
}
