//! From TOML text to a [`ServicesConfig`], collecting every problem on the way.
//!
//! The file is read as a spanned tree rather than through serde so that one
//! pass reports every unknown key, bad value and broken reference with its
//! line and column. Deploy-time overlays are further layers over the same
//! services: each value is read from the top-most layer that sets it, by the
//! same readers, so an overlay is checked by the very rules the file is.

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diagnostics::LineIndex;
use super::interpolate::Vars;
use super::model::{ServiceConfig, ServicesConfig};
use super::names::name_problem;
use super::overrides::Overrides;
use super::schema::{self, Key};
use super::syntax::syntax_problems;
use super::topology::{TargetList, check_topology};
use super::{ConfigError, ConfigErrors, Location, did_you_mean};

/// Parses and validates a whole config with its compiled values alone.
/// `origin` is the file it came from: it names the file in messages and
/// anchors a relative `tls_ca_file`.
///
/// A `${VAR}` without a default is not an error here: its service comes back
/// with [`ServiceConfig::unresolved`] set. Resolve variables with
/// [`ServicesConfig::from_file_with`].
pub fn parse_config(source: &str, origin: Option<&Path>) -> Result<ServicesConfig, ConfigErrors> {
    read(&Input {
        source,
        file: origin.map(|path| path.display().to_string()),
        base_dir: origin.and_then(Path::parent).map(Path::to_path_buf),
        embedded_cas: None,
        overrides: None,
    })
}

/// What a config is read from.
#[derive(Debug)]
pub(crate) struct Input<'a> {
    pub(crate) source: &'a str,
    /// The file as messages name it.
    pub(crate) file: Option<String>,
    /// What a relative `tls_ca_file` of the file is relative to.
    pub(crate) base_dir: Option<PathBuf>,
    /// The `tls_ca_file` PEM of each service, embedded at compile time;
    /// `None` reads the files.
    pub(crate) embedded_cas: Option<&'a [(&'a str, &'a str, &'a [u8])]>,
    /// Variables and overlays; `None` for the compiled values alone.
    pub(crate) overrides: Option<&'a Overrides>,
}

/// Reads `input` and every overlay of its overrides, reporting every
/// problem of every source together.
pub(crate) fn read(input: &Input<'_>) -> Result<ServicesConfig, ConfigErrors> {
    let overlays = input.overrides.map(Overrides::layers).unwrap_or_default();
    let lookup = |name: &str| {
        input
            .overrides
            .and_then(|overrides| overrides.var_value(name))
    };
    let vars = match input.overrides {
        Some(_) => Vars::Given(&lookup),
        None => Vars::Compiled,
    };
    let mut errors = input
        .overrides
        .map(|overrides| overrides.problems().to_vec())
        .unwrap_or_default();
    let mut broken_services = HashSet::new();
    let mut first_broken_header = None;
    let mut parsed = Vec::with_capacity(1 + overlays.len());
    for (index, text) in std::iter::once(input.source)
        .chain(overlays.iter().map(|overlay| overlay.text.as_str()))
        .enumerate()
    {
        let overlay = index.checked_sub(1).map(|index| &overlays[index]);
        let lines = LineIndex::new(text);
        let (document, parse_errors) = DeTable::parse_recoverable(text);
        let label = overlay.map(|overlay| overlay.label.as_str());
        let mut problems = syntax_problems(text, &lines, &parse_errors, label);
        if overlay.is_some_and(|overlay| !overlay.show_location) {
            problems
                .errors
                .iter_mut()
                .for_each(|error| error.location = None);
        }
        errors.extend(problems.errors);
        broken_services.extend(problems.services);
        if index == 0 {
            first_broken_header = problems.first_broken_header;
        }
        parsed.push((lines, document.into_inner(), overlay));
    }
    let mut reader = Reader {
        layers: Vec::with_capacity(parsed.len()),
        file: input.file.clone(),
        errors,
        target_lists: Vec::new(),
        vars,
        embedded_cas: input.embedded_cas,
        broken_services,
        first_broken_header,
        pending: Vec::new(),
    };
    for (lines, document, overlay) in parsed.iter() {
        reader.layers.push(Layer {
            source: overlay.map(|overlay| overlay.label.clone()),
            lines: lines.clone(),
            show_location: overlay.is_none_or(|overlay| overlay.show_location),
            base_dir: match overlay {
                Some(overlay) => overlay.base_dir.clone(),
                None => input.base_dir.clone(),
            },
            document,
        });
    }
    let services = reader.document();
    let mut errors = reader.errors;
    errors.sort_by(|a, b| (&a.source, a.location).cmp(&(&b.source, b.location)));
    if errors.is_empty() {
        Ok(ServicesConfig { services })
    } else {
        Err(ConfigErrors {
            file: input.file.clone(),
            errors,
        })
    }
}

/// One source of values: the config file (layer 0) or an overlay.
#[derive(Debug)]
pub(crate) struct Layer<'a> {
    /// `None` for the config file, which `ConfigErrors::file` names.
    pub(crate) source: Option<String>,
    pub(crate) lines: LineIndex<'a>,
    /// Whether locations in it mean anything to a user (not for a value
    /// given to `Overrides::endpoint`).
    pub(crate) show_location: bool,
    pub(crate) base_dir: Option<PathBuf>,
    pub(crate) document: &'a DeTable<'a>,
}

pub(crate) type KeyRef<'a> = &'a Spanned<Cow<'a, str>>;
pub(crate) type ValueRef<'a> = &'a Spanned<DeValue<'a>>;

/// A value found for a key: where, and the key as written there.
#[derive(Debug, Clone)]
pub(crate) struct Found<'a> {
    pub(crate) layer: usize,
    pub(crate) key: KeyRef<'a>,
    pub(crate) value: ValueRef<'a>,
    /// `lazy.max_retries` or `max_retries`.
    pub(crate) written: String,
}

#[derive(Debug)]
pub(crate) struct Reader<'a> {
    pub(crate) layers: Vec<Layer<'a>>,
    /// The config file as messages name it.
    pub(crate) file: Option<String>,
    pub(crate) errors: Vec<ConfigError>,
    /// Every composite's targets, checked together once all names are known.
    pub(crate) target_lists: Vec<TargetList>,
    pub(crate) vars: Vars<'a>,
    pub(crate) embedded_cas: Option<&'a [(&'a str, &'a str, &'a [u8])]>,
    /// Services with a TOML error inside: a key they miss may be the one the
    /// parser could not read, so missing keys are not reported for them.
    pub(crate) broken_services: HashSet<String>,
    /// The first line of the file's table header with a TOML error.
    pub(crate) first_broken_header: Option<usize>,
    /// The current service's values that need a variable not given.
    pub(crate) pending: Vec<ConfigError>,
}

impl<'a> Reader<'a> {
    /// An error about `span` of `layer`, located and sourced.
    pub(crate) fn error_at(
        &self,
        layer: usize,
        span: std::ops::Range<usize>,
        message: impl Into<String>,
    ) -> ConfigError {
        let layer = &self.layers[layer];
        let mut error = ConfigError::new(message);
        if layer.show_location {
            error.location = Some(layer.lines.location(span.start));
        }
        error.source = layer.source.clone();
        error
    }

    pub(crate) fn push(&mut self, error: ConfigError) {
        self.errors.push(error);
    }

    /// The table of `service` in `layer`, if that layer has one.
    pub(crate) fn table(&self, layer: usize, service: &str) -> Option<&'a DeTable<'a>> {
        let document: &'a DeTable<'a> = self.layers[layer].document;
        match document.get("services").map(Spanned::get_ref) {
            Some(DeValue::Table(services)) => match services.get(service).map(Spanned::get_ref) {
                Some(DeValue::Table(table)) => Some(table),
                _ => None,
            },
            _ => None,
        }
    }

    /// The value of `key` for `service` from the top-most layer that sets it.
    pub(crate) fn lookup(&mut self, service: &str, key: &Key) -> Option<Found<'a>> {
        (0..self.layers.len()).rev().find_map(|layer| {
            let table = self.table(layer, service)?;
            self.lookup_in(layer, table, service, key)
        })
    }

    fn lookup_in(
        &mut self,
        layer: usize,
        table: &'a DeTable<'a>,
        service: &str,
        key: &Key,
    ) -> Option<Found<'a>> {
        let Some(short) = key.name.strip_prefix("lazy.") else {
            let (key_ref, value) = table.get_key_value(key.name)?;
            return Some(Found {
                layer,
                key: key_ref,
                value,
                written: key.name.to_owned(),
            });
        };
        let nested = match table.get("lazy").map(Spanned::get_ref) {
            Some(DeValue::Table(lazy)) => lazy.get_key_value(short),
            _ => None,
        };
        let top = if key.also_top_level {
            table.get_key_value(short)
        } else {
            None
        };
        // Both at once is ambiguous.
        if let (Some(_), Some((nested_key, _))) = (top, nested) {
            let error = self
                .error_at(
                    layer,
                    nested_key.span(),
                    format!("`{short}` is set both at the top level and as `lazy.{short}`"),
                )
                .service(service)
                .key(key.name)
                .help("keep one of them");
            self.push(error);
        }
        match (nested, top) {
            (Some((key_ref, value)), _) => Some(Found {
                layer,
                key: key_ref,
                value,
                written: key.name.to_owned(),
            }),
            (None, Some((key_ref, value))) => Some(Found {
                layer,
                key: key_ref,
                value,
                written: short.to_owned(),
            }),
            (None, None) => None,
        }
    }

    /// Reports a key the service lacks, unless a TOML error may have eaten it.
    pub(crate) fn missing(&mut self, service: &str, error: ConfigError) {
        if !self.broken_services.contains(service) {
            self.push(error);
        }
    }

    fn document(&mut self) -> Vec<ServiceConfig> {
        let document = self.layers[0].document;
        let after_broken_header = |reader: &Self, key: KeyRef<'a>| {
            let line = reader.layers[0].lines.location(key.span().start).line;
            reader
                .first_broken_header
                .is_some_and(|header| line >= header)
        };
        for (key, _) in document
            .iter()
            .filter(|(key, _)| key.get_ref() != "services")
        {
            // Keys under a header the parser could not read landed here.
            if after_broken_header(self, key) {
                continue;
            }
            let error = self
                .error_at(
                    0,
                    key.span(),
                    format!("unknown top-level key `{}`", key.get_ref()),
                )
                .help("every service is a `[services.NAME]` table");
            self.push(error);
        }
        let Some(services) = document.get("services") else {
            if self.errors.is_empty() {
                let mut error = ConfigError::new("the config defines no services")
                    .at(Location { line: 1, column: 1 })
                    .help("add a `[services.NAME]` table with a `type`");
                error.source = None;
                self.push(error);
            }
            return Vec::new();
        };
        let DeValue::Table(table) = services.get_ref() else {
            let error = self
                .error_at(0, services.span(), "`services` must be a table of services")
                .help("write each service as a `[services.NAME]` table");
            self.push(error);
            return Vec::new();
        };
        if table.is_empty() {
            let error = self
                .error_at(0, services.span(), "the config defines no services")
                .help("add a `[services.NAME]` table with a `type`");
            self.push(error);
        }
        let names: Vec<&str> = table
            .iter()
            .map(|(name, _)| name.get_ref().as_ref())
            .collect();
        self.check_overlays(&names);
        let built: Vec<ServiceConfig> = table
            .iter()
            .filter_map(|(name, value)| self.service(name, value))
            .collect();
        let topology_errors = check_topology(&names, &self.target_lists, &built);
        self.errors.extend(topology_errors);
        built
    }

    /// An overlay may only set values of services the file defines.
    fn check_overlays(&mut self, defined: &[&str]) {
        for layer in 1..self.layers.len() {
            let document = self.layers[layer].document;
            for (key, value) in document.iter() {
                if key.get_ref() != "services" {
                    let error = self
                        .error_at(
                            layer,
                            key.span(),
                            format!("unknown top-level key `{}`", key.get_ref()),
                        )
                        .help("an overlay sets values as `[services.NAME]` tables");
                    self.push(error);
                    continue;
                }
                let DeValue::Table(services) = value.get_ref() else {
                    continue;
                };
                for (name, _) in services.iter() {
                    let name = name.get_ref().as_ref();
                    if defined.contains(&name) {
                        continue;
                    }
                    let (key_ref, _) = services
                        .get_key_value(name)
                        .expect("the name was just listed");
                    let mut error = self
                        .error_at(
                            layer,
                            key_ref.span(),
                            format!("service `{name}` is not in the compiled topology"),
                        )
                        .service(name);
                    error.help = Some(match did_you_mean(name, defined.iter().copied()) {
                        Some(guess) => format!(
                            "{guess} The topology is fixed at compile time: an overlay only changes values of its services"
                        ),
                        None => "the topology is fixed at compile time: add the service to the config file and rebuild".to_owned(),
                    });
                    self.push(error);
                }
            }
        }
    }

    /// One `[services.NAME]` table; `None` if it has errors.
    fn service(&mut self, name_key: KeyRef<'a>, value: ValueRef<'a>) -> Option<ServiceConfig> {
        let name = name_key.get_ref().as_ref();
        let location = self.layers[0].lines.location(name_key.span().start);
        let errors_before = self.errors.len();
        self.pending.clear();
        if let Some((message, help)) = name_problem(name) {
            self.push(
                ConfigError::new(message)
                    .at(location)
                    .service(name)
                    .help(help),
            );
        }
        let DeValue::Table(table) = value.get_ref() else {
            self.push(
                ConfigError::new(format!(
                    "must be a table, found {}",
                    a_value_of(value.get_ref())
                ))
                .at(location)
                .service(name)
                .help(format!(
                    "write it as `[services.{name}]` followed by its keys"
                )),
            );
            return None;
        };
        let service_type = self.service_type(name, location, table);
        for layer in 0..self.layers.len() {
            if let Some(table) = self.table(layer, name) {
                self.check_keys(layer, name, table, service_type);
            }
        }
        let kind = match service_type {
            Some("relay") => self.leaf(name, location, true),
            Some("direct") => self.leaf(name, location, false),
            Some("composite") => self.composite(name, location),
            _ => None,
        };
        let common = self.common(name);
        let kind = kind?;
        if self.errors.len() != errors_before {
            return None;
        }
        let unresolved = (!self.pending.is_empty()).then(|| ConfigErrors {
            file: self.file.clone(),
            errors: std::mem::take(&mut self.pending),
        });
        Some(ServiceConfig {
            name: name.to_owned(),
            location,
            kind,
            domain: common.domain,
            precision_context: common.precision_context,
            metadata: common.metadata,
            unresolved,
        })
    }

    fn service_type(
        &mut self,
        name: &str,
        location: Location,
        table: &'a DeTable<'a>,
    ) -> Option<&'static str> {
        let Some((key, value)) = table.get_key_value("type") else {
            self.missing(
                name,
                ConfigError::new("missing `type`")
                    .at(location)
                    .service(name)
                    .key("type")
                    .help("add `type = \"relay\"`, `\"direct\"` or `\"composite\"`"),
            );
            return None;
        };
        let found = Found {
            layer: 0,
            key,
            value,
            written: "type".into(),
        };
        let text = self.fixed_string(name, &found)?;
        let known = schema::TYPES.iter().copied().find(|t| *t == text);
        if known.is_none() {
            let mut error = self
                .error_at(0, value.span(), format!("unknown type `{text}`"))
                .service(name)
                .key("type");
            error.help = Some(match did_you_mean(&text, schema::TYPES.iter().copied()) {
                Some(guess) => guess,
                None => "the types are `relay`, `direct` and `composite`".into(),
            });
            self.push(error);
        }
        known
    }

    /// Unknown keys, keys that do not apply to this type, and (in an
    /// overlay) keys a deployment may not change.
    fn check_keys(
        &mut self,
        layer: usize,
        name: &str,
        table: &'a DeTable<'a>,
        service_type: Option<&str>,
    ) {
        for (key, value) in table.iter() {
            let key_name = key.get_ref().as_ref();
            if key_name == "lazy" {
                self.check_lazy(layer, name, key, value, service_type);
                continue;
            }
            let Some(spec) = schema::find_key(key_name) else {
                let mut error = self
                    .error_at(layer, key.span(), format!("unknown key `{key_name}`"))
                    .service(name)
                    .key(key_name);
                error.help = did_you_mean(key_name, schema::top_level_names()).or_else(|| {
                    Some(format!(
                        "the keys a service takes are {}",
                        schema::top_level_names().collect::<Vec<_>>().join(", ")
                    ))
                });
                self.push(error);
                continue;
            };
            self.check_key(layer, name, key, spec, key_name, service_type);
        }
    }

    fn check_lazy(
        &mut self,
        layer: usize,
        name: &str,
        key: KeyRef<'a>,
        value: ValueRef<'a>,
        service_type: Option<&str>,
    ) {
        let DeValue::Table(lazy) = value.get_ref() else {
            let error = self
                .error_at(
                    layer,
                    key.span(),
                    format!(
                        "`lazy` must be a table, found {}",
                        a_value_of(value.get_ref())
                    ),
                )
                .service(name)
                .key("lazy")
                .help("write `lazy.max_retries = 5` or a `[services.NAME.lazy]` table");
            self.push(error);
            return;
        };
        if service_type == Some("composite") {
            let error = self
                .error_at(layer, key.span(), "`lazy` does not apply to a composite")
                .service(name)
                .key("lazy")
                .help("set `lazy` on the target services instead");
            self.push(error);
            return;
        }
        for (inner, _) in lazy.iter() {
            let inner_name = inner.get_ref().as_ref();
            let written = format!("lazy.{inner_name}");
            match schema::KEYS.iter().find(|spec| spec.name == written) {
                Some(spec) => self.check_key(layer, name, inner, spec, &written, service_type),
                None => {
                    let mut error = self
                        .error_at(layer, inner.span(), format!("unknown key `{written}`"))
                        .service(name)
                        .key(written.clone());
                    error.help = super::diagnostics::closest(inner_name, schema::lazy_names())
                        .map(|guess| format!("did you mean `lazy.{guess}`?"))
                        .or_else(|| {
                            Some(format!(
                                "the `lazy` keys are {}",
                                schema::lazy_names().collect::<Vec<_>>().join(", ")
                            ))
                        });
                    self.push(error);
                }
            }
        }
    }

    fn check_key(
        &mut self,
        layer: usize,
        name: &str,
        key: KeyRef<'a>,
        spec: &Key,
        written: &str,
        service_type: Option<&str>,
    ) {
        if layer > 0 && !spec.overridable {
            let error = self
                .error_at(
                    layer,
                    key.span(),
                    format!("an overlay cannot set `{written}`: the topology is fixed at compile time"),
                )
                .service(name)
                .key(written)
                .help("an overlay may set endpoint, buffer and retry settings, lazy.*, tls_ca_file, max_message_bytes, framing, jetstream, jetstream_max_in_flight and metadata; change the rest in the config file and rebuild");
            self.push(error);
            return;
        }
        let leaf_only = matches!(
            spec.applies,
            schema::Applies::Leaf
                | schema::Applies::ByteStream
                | schema::Applies::SecureWebSocket
                | schema::Applies::Nats
                | schema::Applies::JetStream
        );
        let problem = match service_type {
            Some("composite") if leaf_only => Some((
                format!("`{written}` does not apply to a composite"),
                if written == "endpoint" {
                    "a composite sends through its `targets`; remove `endpoint`, or make the service `relay` or `direct`".to_owned()
                } else {
                    format!("set `{written}` on the target services instead")
                },
            )),
            Some(leaf @ ("relay" | "direct")) if spec.applies == schema::Applies::Composite => {
                Some((
                    format!("`{written}` only applies to a composite, not a {leaf}"),
                    format!("remove `{written}`, or make the service `type = \"composite\"`"),
                ))
            }
            _ => None,
        };
        if let Some((message, help)) = problem {
            let error = self
                .error_at(layer, key.span(), message)
                .service(name)
                .key(written)
                .help(help);
            self.push(error);
        }
    }
}

/// "a string", "an integer": the TOML type of `value` with its article.
pub(crate) fn a_value_of(value: &DeValue<'_>) -> String {
    let type_name = value.type_str();
    let article = if type_name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {type_name}")
}
