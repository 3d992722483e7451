//! The runtime `SinkFactory`, and the one topology builder both it and the
//! code `include_sinks!` generates use.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use std::time::Duration;

use crate::config::{
    ConfigError, ConfigErrors, Overrides, ServiceConfig, ServiceKind, ServicesConfig, did_you_mean,
};
use crate::provider::ServiceProvider;
use crate::{CompositeSink, EndpointSink, MessageSink, SinkError, SinkMetadata, group};

/// Builds sinks by service name from a validated `services.toml`.
///
/// Creating the factory validates the whole file (with its `${VAR}`s and
/// overlays resolved) and reports every problem at once. No sink does I/O
/// until its first send. The same name always gives the same `Arc`, and a
/// composite's targets are the very sinks `create_sink` returns for their
/// names, so one endpoint is one connection.
///
/// Prefer `include_sinks!` when the config is known at build time: the same
/// checks then fail the build instead of the start-up.
pub struct SinkFactory {
    config: ServicesConfig,
    built: Built,
    /// Each service's sink among `built`, by name.
    places: HashMap<String, SinkRef>,
    /// `from_provider`: where services are resolved, and what it built so far.
    provider: Option<Provided>,
}

/// The services a provider resolved, built on first request and cached.
struct Provided {
    provider: Arc<dyn ServiceProvider>,
    /// A std mutex: never held across an await (building a sink does no I/O).
    built: Mutex<ProvidedSinks>,
}

#[derive(Default)]
struct ProvidedSinks {
    /// Every sink built, by name.
    sinks: HashMap<String, Arc<dyn MessageSink>>,
    /// The relay and direct ones among them, in the order built, for
    /// `flush_all`, `connect_all`, `shutdown` and `snapshot`.
    endpoints: Vec<(String, Arc<EndpointSink>)>,
}

impl SinkFactory {
    /// Reads and validates the config at `path`, resolved from the
    /// environment: `${VAR}` from the process environment, and the overlay
    /// file `SINKS_OVERLAY` names, if set ([`Overrides::from_env`]).
    pub fn from_config(path: impl AsRef<Path>) -> Result<SinkFactory, SinkError> {
        SinkFactory::from_config_with(path, &Overrides::from_env())
    }

    /// Reads and validates the config at `path`, resolved with `overrides`;
    /// every problem of every source comes back in one `InvalidConfig`.
    pub fn from_config_with(
        path: impl AsRef<Path>,
        overrides: &Overrides,
    ) -> Result<SinkFactory, SinkError> {
        let config = ServicesConfig::from_file_with(path, overrides)?;
        Ok(SinkFactory::from_services(config))
    }

    /// Validates config text, resolved from the environment as `from_config` does.
    pub fn from_config_str(source: &str) -> Result<SinkFactory, SinkError> {
        let config = ServicesConfig::from_toml_str_with(source, &Overrides::from_env())?;
        Ok(SinkFactory::from_services(config))
    }

    /// A factory for an already validated config.
    pub fn from_services(config: ServicesConfig) -> SinkFactory {
        let built = Built::new(&config);
        let places = built
            .places(&config)
            .into_iter()
            .map(|(name, place)| (name.to_owned(), place))
            .collect();
        SinkFactory {
            config,
            built,
            places,
            provider: None,
        }
    }

    /// A factory whose services come from `provider` (the seed's Stage 2):
    /// each is resolved, and validated, when `create_sink` first asks for it
    /// (or for a composite that targets it), then cached as for a config
    /// file: the same name always gives the same `Arc`, and a composite's
    /// targets are the sinks their own names give. Such a factory's
    /// `config()` is empty: the provider, not a file, knows the names;
    /// `snapshot`, `flush_all`, `connect_all` and `shutdown` cover the sinks
    /// built so far.
    pub fn from_provider(provider: impl ServiceProvider + 'static) -> SinkFactory {
        let mut factory = SinkFactory::from_services(ServicesConfig {
            services: Vec::new(),
        });
        factory.provider = Some(Provided {
            provider: Arc::new(provider),
            built: Mutex::new(ProvidedSinks::default()),
        });
        factory
    }

    /// The config the factory builds from.
    pub fn config(&self) -> &ServicesConfig {
        &self.config
    }

    /// The sink for `service_name`.
    pub async fn create_sink(&self, service_name: &str) -> Result<Arc<dyn MessageSink>, SinkError> {
        if let Some(provided) = &self.provider {
            return provided.create(service_name).await;
        }
        match self.places.get(service_name) {
            Some(&place) => Ok(self.built.sink(place)),
            None => {
                let mut error =
                    ConfigError::new(format!("service `{service_name}` is not defined"));
                error.help = did_you_mean(service_name, self.config.names());
                Err(SinkError::InvalidConfig(ConfigErrors {
                    file: None,
                    errors: vec![error],
                }))
            }
        }
    }
}

/// Every sink of the factory at once (`Sinks` has the same, generated).
impl SinkFactory {
    /// Every service's metadata, in the order the config defines them.
    pub fn snapshot(&self) -> Vec<SinkMetadata> {
        let order: Vec<SinkRef> = self
            .config
            .names()
            .filter_map(|name| self.places.get(name).copied())
            .collect();
        let mut snapshot = self.built.snapshot(&order);
        if let Some(provided) = &self.provider {
            let built = provided.lock();
            snapshot.extend(
                built
                    .endpoints
                    .iter()
                    .map(|(name, _)| built.sinks[name].metadata()),
            );
        }
        snapshot
    }

    /// Flushes every relay and direct sink; the error names each that failed.
    pub async fn flush_all(&self) -> Result<(), SinkError> {
        match self.provided_endpoints() {
            Some(endpoints) => group::flush_all("SinkFactory", &endpoints).await,
            None => self.built.flush_all("SinkFactory").await,
        }
    }

    /// Connects every relay and direct sink now, each within `timeout`;
    /// the error names each that failed and why.
    pub async fn connect_all(&self, timeout: Duration) -> Result<(), SinkError> {
        match self.provided_endpoints() {
            Some(endpoints) => group::connect_all("SinkFactory", &endpoints, timeout).await,
            None => self.built.connect_all("SinkFactory", timeout).await,
        }
    }

    /// Flushes every relay and direct sink, then closes it, all within
    /// `timeout`; the error names each sink with messages not written.
    pub async fn shutdown(&self, timeout: Duration) -> Result<(), SinkError> {
        match self.provided_endpoints() {
            Some(endpoints) => group::shutdown("SinkFactory", &endpoints, timeout).await,
            None => self.built.shutdown("SinkFactory", timeout).await,
        }
    }

    /// `from_provider`: the relay and direct sinks built so far (the lock is
    /// released before the caller awaits them).
    fn provided_endpoints(&self) -> Option<Vec<Arc<EndpointSink>>> {
        let provided = self.provider.as_ref()?;
        let built = provided.lock();
        Some(
            built
                .endpoints
                .iter()
                .map(|(_, sink)| sink.clone())
                .collect(),
        )
    }
}

/// A sink being built through a provider (boxed: composites recurse).
type SinkBuild<'a> =
    std::pin::Pin<Box<dyn Future<Output = Result<Arc<dyn MessageSink>, SinkError>> + Send + 'a>>;

impl Provided {
    fn lock(&self) -> MutexGuard<'_, ProvidedSinks> {
        self.built
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `create_sink` through the provider: resolves `name` and its targets
    /// (without holding the lock across the provider's awaits), then builds
    /// under the lock, where a sink another task built meanwhile wins.
    fn create<'a>(&'a self, name: &'a str) -> SinkBuild<'a> {
        Box::pin(async move {
            if let Some(sink) = self.lock().sinks.get(name) {
                return Ok(Arc::clone(sink));
            }
            let service = self.provider.resolve(name).await?;
            let mut targets = Vec::new();
            if let ServiceKind::Composite(composite) = &service.kind {
                for target in &composite.targets {
                    targets.push(self.create(target).await?);
                }
            }
            let mut built = self.lock();
            if let Some(sink) = built.sinks.get(name) {
                return Ok(Arc::clone(sink));
            }
            let sink: Arc<dyn MessageSink> = match &service.kind {
                ServiceKind::Composite(composite) => Arc::new(CompositeSink::new(
                    service.name.clone(),
                    composite.pattern,
                    targets,
                )),
                _ => {
                    let sink = Arc::new(Built::leaf(&service));
                    built.endpoints.push((name.to_owned(), Arc::clone(&sink)));
                    sink
                }
            };
            built.sinks.insert(name.to_owned(), Arc::clone(&sink));
            Ok(sink)
        })
    }
}

impl fmt::Debug for Provided {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let built = self.lock();
        let mut names: Vec<&str> = built.sinks.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Provided")
            .field("provider", &self.provider)
            .field("built", &names)
            .finish()
    }
}

impl fmt::Debug for SinkFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.config.names().collect();
        f.debug_struct("SinkFactory")
            .field("services", &names)
            .field("provider", &self.provider)
            .finish()
    }
}

/// Where a service's sink is among the built ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkRef {
    /// The relay or direct sink at this index of the construction order.
    Endpoint(usize),
    /// The composite at this index of the construction order.
    Composite(usize),
}

/// Every sink of a topology, built in [`ServicesConfig::construction_order`]:
/// relay and direct sinks in one list, composites in another.
pub struct Built {
    endpoints: Box<[Arc<EndpointSink>]>,
    composites: Box<[Arc<CompositeSink>]>,
}

/// How to build a topology: its services in construction order, each
/// composite's targets already resolved to places. Computed once per config
/// (for `Sinks::new()`, once per process), so building does no name lookups.
#[derive(Debug)]
pub struct Plan {
    steps: Vec<Step>,
}

#[derive(Debug)]
enum Step {
    /// The relay or direct service at this index of `config.services()`.
    Endpoint(usize),
    /// The composite at this index of `config.services()`, over these sinks.
    Composite(usize, Vec<SinkRef>),
}

impl Plan {
    /// The plan for `config`, in [`ServicesConfig::construction_order`].
    pub fn new(config: &ServicesConfig) -> Plan {
        let index_of: HashMap<&str, usize> = config
            .services()
            .iter()
            .enumerate()
            .map(|(index, service)| (service.name.as_str(), index))
            .collect();
        let mut places: HashMap<&str, SinkRef> = HashMap::with_capacity(index_of.len());
        let (mut endpoints, mut composites) = (0, 0);
        let mut steps = Vec::with_capacity(index_of.len());
        for service in config.construction_order() {
            let index = index_of[service.name.as_str()];
            let place = match &service.kind {
                ServiceKind::Composite(composite) => {
                    // The validator guarantees every target exists and comes first.
                    let targets = composite
                        .targets
                        .iter()
                        .filter_map(|target| places.get(target.as_str()).copied())
                        .collect();
                    steps.push(Step::Composite(index, targets));
                    composites += 1;
                    SinkRef::Composite(composites - 1)
                }
                _ => {
                    steps.push(Step::Endpoint(index));
                    endpoints += 1;
                    SinkRef::Endpoint(endpoints - 1)
                }
            };
            places.insert(service.name.as_str(), place);
        }
        Plan { steps }
    }
}

impl Built {
    /// Builds every sink of `config`: no I/O, nothing spawned. A service
    /// whose config needs a variable it was not given gets a sink that
    /// refuses every send with the problem.
    pub fn new(config: &ServicesConfig) -> Built {
        Built::from_plan(config, &Plan::new(config))
    }

    /// Builds every sink of `config` by `plan`, made for it.
    pub fn from_plan(config: &ServicesConfig, plan: &Plan) -> Built {
        let services = config.services();
        let mut endpoints: Vec<Arc<EndpointSink>> = Vec::with_capacity(plan.steps.len());
        let mut composites: Vec<Arc<CompositeSink>> = Vec::new();
        for step in &plan.steps {
            match step {
                Step::Composite(index, targets) => {
                    let targets = targets
                        .iter()
                        .map(|place| -> Arc<dyn MessageSink> {
                            match *place {
                                SinkRef::Endpoint(index) => endpoints[index].clone(),
                                SinkRef::Composite(index) => composites[index].clone(),
                            }
                        })
                        .collect();
                    let service = &services[*index];
                    let ServiceKind::Composite(composite) = &service.kind else {
                        unreachable!("the plan was made for this config");
                    };
                    composites.push(Arc::new(CompositeSink::new(
                        service.name.clone(),
                        composite.pattern,
                        targets,
                    )));
                }
                Step::Endpoint(index) => {
                    endpoints.push(Arc::new(Built::leaf(&services[*index])));
                }
            }
        }
        Built {
            endpoints: endpoints.into_boxed_slice(),
            composites: composites.into_boxed_slice(),
        }
    }

    /// The sink of a relay or direct `service`. A service whose config needs
    /// a variable it was not given gets a sink that refuses every send with
    /// the problem.
    fn leaf(service: &ServiceConfig) -> EndpointSink {
        match (&service.kind, &service.unresolved) {
            (ServiceKind::Relay(leaf) | ServiceKind::Direct(leaf), Some(problem)) => {
                EndpointSink::unresolved(
                    service.name.clone(),
                    service.kind.type_name(),
                    leaf.clone(),
                    problem.clone(),
                )
            }
            _ => match EndpointSink::from_service(service) {
                Some(sink) => sink,
                None => unreachable!("relay and direct services have an endpoint sink"),
            },
        }
    }

    /// The config `include_sinks!` compiled in, with its compiled values
    /// (the defaults of `${VAR:-default}`): parsed and planned once per
    /// process into `cache`, then built. The macro validated the very same
    /// text with the very same parser, so parsing cannot fail here.
    pub fn compiled(
        file: &str,
        source: &str,
        embedded_cas: &[(&str, &str, &[u8])],
        cache: &OnceLock<(ServicesConfig, Plan)>,
    ) -> Built {
        let (config, plan) = cache.get_or_init(|| {
            let config = ServicesConfig::from_compiled(file, source, embedded_cas, None)
                .expect("include_sinks! validated this config at compile time");
            let plan = Plan::new(&config);
            (config, plan)
        });
        Built::from_plan(config, plan)
    }

    /// The config `include_sinks!` compiled in, resolved with `overrides`.
    pub fn compiled_with(
        file: &str,
        source: &str,
        embedded_cas: &[(&str, &str, &[u8])],
        overrides: &Overrides,
    ) -> Result<Built, SinkError> {
        let config = ServicesConfig::from_compiled(file, source, embedded_cas, Some(overrides))?;
        Ok(Built::new(&config))
    }

    /// Every service's place, by name.
    fn places<'c>(&self, config: &'c ServicesConfig) -> Vec<(&'c str, SinkRef)> {
        let (mut endpoints, mut composites) = (0, 0);
        config
            .construction_order()
            .into_iter()
            .map(|service| {
                let place = match service.kind {
                    ServiceKind::Composite(_) => {
                        composites += 1;
                        SinkRef::Composite(composites - 1)
                    }
                    _ => {
                        endpoints += 1;
                        SinkRef::Endpoint(endpoints - 1)
                    }
                };
                (service.name.as_str(), place)
            })
            .collect()
    }

    /// The relay or direct sink at `index`.
    pub fn endpoint(&self, index: usize) -> &EndpointSink {
        &self.endpoints[index]
    }

    /// The composite at `index`.
    pub fn composite(&self, index: usize) -> &CompositeSink {
        &self.composites[index]
    }

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

    /// Flushes every relay and direct sink at once; `TargetsFailed` names
    /// each that failed. Every sink settles before any report is taken, so a
    /// `flush_all` that times out or is dropped loses none.
    pub async fn flush_all(&self, owner: &str) -> Result<(), SinkError> {
        group::flush_all(owner, &self.endpoints).await
    }

    /// Disconnects every relay and direct sink at once.
    pub async fn disconnect_all(&self, owner: &str) -> Result<(), SinkError> {
        group::disconnect_all(owner, &self.endpoints).await
    }

    /// Connects every relay and direct sink now, each within `timeout`.
    pub async fn connect_all(&self, owner: &str, timeout: Duration) -> Result<(), SinkError> {
        group::connect_all(owner, &self.endpoints, timeout).await
    }

    /// Flushes, then closes, every relay and direct sink within `timeout`.
    pub async fn shutdown(&self, owner: &str, timeout: Duration) -> Result<(), SinkError> {
        group::shutdown(owner, &self.endpoints, timeout).await
    }

    /// One connection attempt per relay and direct sink, each with its own
    /// settings (TLS included) and within `timeout`, closed again; see
    /// [`Preflight`](crate::Preflight).
    pub async fn preflight(&self, timeout: Duration) -> crate::Preflight {
        let leaves = self
            .endpoints
            .iter()
            .map(|sink| (sink.name(), sink.config()));
        crate::preflight_leaves(leaves, timeout).await
    }

    /// The metadata of the sinks `order` points at, in that order.
    pub fn snapshot(&self, order: &[SinkRef]) -> Vec<SinkMetadata> {
        order
            .iter()
            .map(|place| match *place {
                SinkRef::Endpoint(index) => self.endpoints[index].metadata(),
                SinkRef::Composite(index) => self.composites[index].metadata(),
            })
            .collect()
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
