//! From TOML text to a [`ServicesConfig`], collecting every problem on the way.
//!
//! The file is read as a spanned tree rather than through serde so that one
//! pass can report every unknown key, bad value and broken reference with its
//! line and column, instead of stopping at the first.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diagnostics::{LineIndex, closest};
use super::endpoint::Endpoint;
use super::model::{
    CompositeConfig, CompositePattern, Framing, LeafConfig, RetryPolicy, ServiceConfig,
    ServiceKind, ServicesConfig,
};
use super::names::name_problem;
use super::topology::{TargetList, check_topology};
use super::{ConfigError, ConfigErrors, Location, did_you_mean};

const SERVICE_KEYS: &[&str] = &[
    "type",
    "endpoint",
    "pattern",
    "targets",
    "buffer_size",
    "max_retries",
    "retry_delay_ms",
    "framing",
    "max_message_bytes",
    "tls_ca_file",
    "lazy",
];
const LEAF_ONLY_KEYS: &[&str] = &[
    "endpoint",
    "buffer_size",
    "max_retries",
    "retry_delay_ms",
    "framing",
    "max_message_bytes",
    "tls_ca_file",
    "lazy",
];
const COMPOSITE_ONLY_KEYS: &[&str] = &["pattern", "targets"];
const LAZY_KEYS: &[&str] = &[
    "max_retries",
    "retry_delay_ms",
    "backoff_multiplier",
    "max_retry_delay_secs",
    "auto_reconnect",
    "connect_timeout_secs",
    "wait_timeout_secs",
];

/// Parses and validates a whole config. `origin` is the file it came from:
/// it names the file in messages and anchors a relative `tls_ca_file`.
pub fn parse_config(source: &str, origin: Option<&Path>) -> Result<ServicesConfig, ConfigErrors> {
    let mut reader = Reader {
        source,
        lines: LineIndex::new(source),
        base_dir: origin.and_then(Path::parent).map(Path::to_path_buf),
        errors: Vec::new(),
        target_lists: Vec::new(),
    };
    let services = reader.document();
    let mut errors = reader.errors;
    errors.sort_by_key(|error| error.location);
    if errors.is_empty() {
        Ok(ServicesConfig { services })
    } else {
        Err(ConfigErrors {
            file: origin.map(|path| path.display().to_string()),
            errors,
        })
    }
}

struct Reader<'s> {
    source: &'s str,
    lines: LineIndex<'s>,
    base_dir: Option<PathBuf>,
    errors: Vec<ConfigError>,
    /// Every composite's targets, checked together once all names are known.
    target_lists: Vec<TargetList>,
}

type Entry<'a, 's> = (
    &'a Spanned<std::borrow::Cow<'s, str>>,
    &'a Spanned<DeValue<'s>>,
);

impl<'s> Reader<'s> {
    fn location(&self, span: std::ops::Range<usize>) -> Location {
        self.lines.location(span.start)
    }

    fn push(&mut self, error: ConfigError) {
        self.errors.push(error);
    }

    /// `[services.NAME]` headers that appear twice, each reported at its
    /// second appearance with the line of the first.
    fn duplicate_services(&self) -> Vec<ConfigError> {
        let mut first_seen: Vec<(&str, usize)> = Vec::new();
        let mut errors = Vec::new();
        for (index, line) in self.source.lines().enumerate() {
            // `[services.NAME]`, `[ services . NAME ]  # comment`: TOML allows
            // spaces around the dots and a comment after the header.
            let header = line.split_once('#').map_or(line, |(before, _)| before);
            let Some(name) = header
                .trim()
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|key| key.split_once('.'))
                .filter(|(table, _)| table.trim() == "services")
                .map(|(_, name)| name.trim())
                .filter(|name| !name.contains(['.', '[', ']', '"', '\'']))
            else {
                continue;
            };
            match first_seen.iter().find(|(seen, _)| *seen == name) {
                Some((_, first_line)) => errors.push(
                    ConfigError::new(format!(
                        "the table is defined twice (first at line {first_line})"
                    ))
                    .at(Location {
                        line: index + 1,
                        column: 1,
                    })
                    .service(name)
                    .help("remove one of the two tables, or rename one"),
                ),
                None => first_seen.push((name, index + 1)),
            }
        }
        errors
    }

    /// Whether `line` is still inside the table whose header is on `header`.
    fn same_table(&self, header: usize, line: usize) -> bool {
        !self
            .source
            .lines()
            .skip(header)
            .take(line.saturating_sub(header))
            .any(|text| text.trim_start().starts_with('['))
    }

    fn document(&mut self) -> Vec<ServiceConfig> {
        let (document, syntax_errors) = DeTable::parse_recoverable(self.source);
        if !syntax_errors.is_empty() {
            // A table defined twice makes the TOML parser flag each of its
            // keys as a bare "duplicate key"; say instead which service.
            let duplicates = self.duplicate_services();
            let duplicate_lines: Vec<usize> = duplicates
                .iter()
                .map(|error| error.location.map_or(0, |at| at.line))
                .collect();
            self.errors.extend(duplicates);
            for error in syntax_errors {
                let location = error.span().map(|span| self.location(span));
                let inside_duplicate = location.is_some_and(|at| {
                    duplicate_lines
                        .iter()
                        .any(|&line| at.line >= line && self.same_table(line, at.line))
                });
                if inside_duplicate && error.message().contains("duplicate key") {
                    continue;
                }
                let mut config_error =
                    ConfigError::new(format!("invalid TOML: {}", error.message().trim_end()));
                config_error.location = location;
                self.push(config_error);
            }
            return Vec::new();
        }
        let document = document.into_inner();
        for (key, _) in document
            .iter()
            .filter(|(key, _)| key.get_ref() != "services")
        {
            let error = ConfigError::new(format!("unknown top-level key `{}`", key.get_ref()))
                .at(self.location(key.span()))
                .help("every service is a `[services.NAME]` table");
            self.push(error);
        }
        let Some(services) = document.get("services") else {
            if self.errors.is_empty() {
                self.push(
                    ConfigError::new("the config defines no services")
                        .at(Location { line: 1, column: 1 })
                        .help("add a `[services.NAME]` table with a `type`"),
                );
            }
            return Vec::new();
        };
        let DeValue::Table(table) = services.get_ref() else {
            self.push(
                ConfigError::new("`services` must be a table of services")
                    .at(self.location(services.span()))
                    .help("write each service as a `[services.NAME]` table"),
            );
            return Vec::new();
        };
        if table.is_empty() {
            self.push(
                ConfigError::new("the config defines no services")
                    .at(self.location(services.span()))
                    .help("add a `[services.NAME]` table with a `type`"),
            );
        }
        let built: Vec<ServiceConfig> = table
            .iter()
            .filter_map(|(name, value)| self.service(name, value))
            .collect();
        let names: Vec<&str> = table
            .iter()
            .map(|(name, _)| name.get_ref().as_ref())
            .collect();
        let topology_errors = check_topology(&names, &self.target_lists);
        self.errors.extend(topology_errors);
        built
    }

    /// One `[services.NAME]` table; `None` if it has errors.
    fn service(
        &mut self,
        name_key: &Spanned<std::borrow::Cow<'s, str>>,
        value: &Spanned<DeValue<'s>>,
    ) -> Option<ServiceConfig> {
        let name = name_key.get_ref().as_ref();
        let location = self.location(name_key.span());
        let errors_before = self.errors.len();
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
        for (key, _) in table.iter() {
            let key_name = key.get_ref().as_ref();
            if !SERVICE_KEYS.contains(&key_name) {
                let mut error = ConfigError::new(format!("unknown key `{key_name}`"))
                    .at(self.location(key.span()))
                    .service(name)
                    .key(key_name);
                error.help = did_you_mean(key_name, SERVICE_KEYS.iter().copied()).or_else(|| {
                    Some(format!(
                        "the keys a service takes are {}",
                        SERVICE_KEYS.join(", ")
                    ))
                });
                self.push(error);
            }
        }
        let service_type = self.service_type(name, location, table);
        let kind = match service_type {
            Some("relay") => self
                .leaf(name, location, table, true)
                .map(ServiceKind::Relay),
            Some("direct") => self
                .leaf(name, location, table, false)
                .map(ServiceKind::Direct),
            Some("composite") => return self.composite(name, location, table, errors_before),
            _ => None,
        };
        let kind = kind?;
        (self.errors.len() == errors_before).then(|| ServiceConfig {
            name: name.to_owned(),
            location,
            kind,
        })
    }

    fn service_type(
        &mut self,
        name: &str,
        location: Location,
        table: &DeTable<'s>,
    ) -> Option<&'static str> {
        const TYPES: [&str; 3] = ["relay", "direct", "composite"];
        let Some((key, value)) = table.get_key_value("type") else {
            self.push(
                ConfigError::new("missing `type`")
                    .at(location)
                    .service(name)
                    .key("type")
                    .help("add `type = \"relay\"`, `\"direct\"` or `\"composite\"`"),
            );
            return None;
        };
        let text = self.string(name, (key, value))?;
        let found = TYPES.iter().copied().find(|t| *t == text);
        if found.is_none() {
            let mut error = ConfigError::new(format!("unknown type `{text}`"))
                .at(self.location(value.span()))
                .service(name)
                .key("type");
            error.help = Some(match did_you_mean(&text, TYPES) {
                Some(guess) => guess,
                None => "the types are `relay`, `direct` and `composite`".into(),
            });
            self.push(error);
        }
        found
    }

    fn leaf(
        &mut self,
        name: &str,
        location: Location,
        table: &DeTable<'s>,
        is_relay: bool,
    ) -> Option<LeafConfig> {
        let type_name = if is_relay { "relay" } else { "direct" };
        for key in COMPOSITE_ONLY_KEYS {
            if let Some((key_span, _)) = table.get_key_value(*key) {
                self.push(
                    ConfigError::new(format!(
                        "`{key}` only applies to a composite, not a {type_name}"
                    ))
                    .at(self.location(key_span.span()))
                    .service(name)
                    .key(*key)
                    .help(format!(
                        "remove `{key}`, or make the service `type = \"composite\"`"
                    )),
                );
            }
        }
        // A misspelt `endpoint` is already reported as such, with the fix.
        let endpoint_misspelt = table.iter().any(|(key, _)| {
            let key = key.get_ref().as_ref();
            !SERVICE_KEYS.contains(&key)
                && closest(key, SERVICE_KEYS.iter().copied()) == Some("endpoint")
        });
        let endpoint = match table.get_key_value("endpoint") {
            None if endpoint_misspelt => None,
            None => {
                let example = if is_relay {
                    "unix:///tmp/relay.sock"
                } else {
                    "tcp://127.0.0.1:9000"
                };
                self.push(
                    ConfigError::new(format!("a {type_name} service needs an `endpoint`"))
                        .at(location)
                        .service(name)
                        .key("endpoint")
                        .help(format!("add e.g. `endpoint = \"{example}\"`")),
                );
                None
            }
            // An endpoint of the wrong type is reported, and the service's
            // other keys are still checked.
            Some(entry) => self.string(name, entry).and_then(|text| {
                let parsed = if is_relay {
                    Endpoint::parse_relay(&text)
                } else {
                    Endpoint::parse_direct(&text)
                };
                match parsed {
                    Ok(endpoint) => Some(endpoint),
                    Err(problem) => {
                        let mut error = ConfigError::new(problem.message)
                            .at(self.location(entry.1.span()))
                            .service(name)
                            .key("endpoint");
                        error.help = problem.help;
                        self.push(error);
                        None
                    }
                }
            }),
        };
        let mut config =
            LeafConfig::new(endpoint.clone().unwrap_or(Endpoint::Unix(PathBuf::new())));
        if let Some(entry) = table.get_key_value("buffer_size") {
            if let Some(size) = self.positive_integer(name, "buffer_size", entry) {
                config.buffer_size = usize::try_from(size).unwrap_or(usize::MAX);
            }
        }
        if let Some(entry) = table.get_key_value("max_message_bytes") {
            if let Some(size) = self.positive_integer(name, "max_message_bytes", entry) {
                if size > u64::from(u32::MAX) {
                    self.push(
                        ConfigError::new(format!(
                            "{size} does not fit the u32 length prefix of a frame"
                        ))
                        .at(self.location(entry.1.span()))
                        .service(name)
                        .key("max_message_bytes")
                        .help(format!("use at most {}", u32::MAX)),
                    );
                } else {
                    config.max_message_bytes = size as usize;
                }
            }
        }
        if let Some(entry) = table.get_key_value("framing") {
            if let Some(text) = self.string(name, entry) {
                match text.as_str() {
                    "length_prefixed" => config.framing = Framing::LengthPrefixed,
                    "raw" => config.framing = Framing::Raw,
                    other => {
                        let mut error = ConfigError::new(format!("unknown framing `{other}`"))
                            .at(self.location(entry.1.span()))
                            .service(name)
                            .key("framing");
                        error.help = did_you_mean(other, ["length_prefixed", "raw"])
                            .or_else(|| Some("use `\"length_prefixed\"` or `\"raw\"`".into()));
                        self.push(error);
                    }
                }
            }
        }
        if let Some(entry) = table.get_key_value("tls_ca_file") {
            if let Some(text) = self.string(name, entry) {
                let is_wss = matches!(&endpoint, Some(Endpoint::WebSocket(ws)) if ws.secure);
                if text.is_empty() {
                    self.push(
                        ConfigError::new("`tls_ca_file` is empty")
                            .at(self.location(entry.1.span()))
                            .service(name)
                            .key("tls_ca_file")
                            .help("name a PEM file of CA certificates, or remove the key"),
                    );
                } else if endpoint.is_some() && !is_wss {
                    self.push(
                        ConfigError::new("`tls_ca_file` only applies to a `wss://` endpoint")
                            .at(self.location(entry.0.span()))
                            .service(name)
                            .key("tls_ca_file")
                            .help("remove it, or use a `wss://` endpoint"),
                    );
                } else {
                    let path = PathBuf::from(text);
                    config.tls_ca_file = Some(match &self.base_dir {
                        Some(base) if path.is_relative() => base.join(path),
                        _ => path,
                    });
                }
            }
        }
        config.retry = self.retry_policy(name, table);
        let endpoint = endpoint?;
        config.endpoint = endpoint;
        Some(config)
    }

    fn retry_policy(&mut self, name: &str, table: &DeTable<'s>) -> RetryPolicy {
        let mut policy = RetryPolicy::default();
        let lazy = match table.get_key_value("lazy") {
            None => None,
            Some((key, value)) => match value.get_ref() {
                DeValue::Table(lazy) => Some(lazy),
                other => {
                    self.push(
                        ConfigError::new(format!(
                            "`lazy` must be a table, found {}",
                            a_value_of(other)
                        ))
                        .at(self.location(key.span()))
                        .service(name)
                        .key("lazy")
                        .help("write `lazy.max_retries = 5` or a `[services.NAME.lazy]` table"),
                    );
                    None
                }
            },
        };
        if let Some(lazy) = lazy {
            for (key, _) in lazy.iter() {
                let key_name = key.get_ref().as_ref();
                if !LAZY_KEYS.contains(&key_name) {
                    let mut error = ConfigError::new(format!("unknown key `lazy.{key_name}`"))
                        .at(self.location(key.span()))
                        .service(name)
                        .key(format!("lazy.{key_name}"));
                    error.help = closest(key_name, LAZY_KEYS.iter().copied())
                        .map(|guess| format!("did you mean `lazy.{guess}`?"))
                        .or_else(|| Some(format!("the `lazy` keys are {}", LAZY_KEYS.join(", "))));
                    self.push(error);
                }
            }
        }
        // `max_retries` and `retry_delay_ms` may be written at the top level
        // (as the seed does) or under `lazy`; both at once is ambiguous.
        // Returns the entry to use and its key as written (`lazy.max_retries`
        // or `max_retries`), so that a bad value is reported under that key.
        let shared = |reader: &mut Self, key: &str| -> Option<(String, Entry<'_, 's>)> {
            let top = table.get_key_value(key);
            let nested = lazy.and_then(|lazy| lazy.get_key_value(key));
            if let (Some(_), Some((nested_key, _))) = (top, nested) {
                reader.push(
                    ConfigError::new(format!(
                        "`{key}` is set both at the top level and as `lazy.{key}`"
                    ))
                    .at(reader.location(nested_key.span()))
                    .service(name)
                    .key(format!("lazy.{key}"))
                    .help("keep one of them"),
                );
            }
            match nested {
                Some(entry) => Some((format!("lazy.{key}"), entry)),
                None => top.map(|entry| (key.to_owned(), entry)),
            }
        };
        if let Some((key, entry)) = shared(self, "max_retries") {
            if let Some(retries) = self.integer(name, &key, entry) {
                match u32::try_from(retries) {
                    Ok(retries) => policy.max_retries = retries,
                    Err(_) => self.push(
                        ConfigError::new(format!(
                            "`{key}` is {retries}, above the limit of {}",
                            u32::MAX
                        ))
                        .at(self.location(entry.1.span()))
                        .service(name)
                        .key(key),
                    ),
                }
            }
        }
        if let Some((key, entry)) = shared(self, "retry_delay_ms") {
            if let Some(millis) = self.integer(name, &key, entry) {
                policy.retry_delay = Duration::from_millis(millis);
            }
        }
        let Some(lazy) = lazy else {
            return policy;
        };
        if let Some(entry) = lazy.get_key_value("backoff_multiplier") {
            if let Some(multiplier) = self.number(name, "lazy.backoff_multiplier", entry) {
                if multiplier < 1.0 {
                    self.push(
                        ConfigError::new(format!("`backoff_multiplier` is {multiplier}, below 1"))
                            .at(self.location(entry.1.span()))
                            .service(name)
                            .key("lazy.backoff_multiplier")
                            .help("use 1 for a constant delay or more for a growing one"),
                    );
                } else {
                    policy.backoff_multiplier = multiplier;
                }
            }
        }
        if let Some(entry) = lazy.get_key_value("auto_reconnect") {
            match entry.1.get_ref() {
                DeValue::Boolean(value) => policy.auto_reconnect = *value,
                other => self.wrong_type(name, "lazy.auto_reconnect", entry.1, "a boolean", other),
            }
        }
        for (key, field) in [
            ("max_retry_delay_secs", &mut policy.max_retry_delay),
            ("connect_timeout_secs", &mut policy.connect_timeout),
            ("wait_timeout_secs", &mut policy.wait_timeout),
        ] {
            if let Some(entry) = lazy.get_key_value(key) {
                if let Some(duration) = self.seconds(name, key, entry) {
                    *field = duration;
                }
            }
        }
        policy
    }

    fn composite(
        &mut self,
        name: &str,
        location: Location,
        table: &DeTable<'s>,
        errors_before: usize,
    ) -> Option<ServiceConfig> {
        for key in LEAF_ONLY_KEYS {
            if let Some((key_span, _)) = table.get_key_value(*key) {
                let help = if *key == "endpoint" {
                    "a composite sends through its `targets`; remove `endpoint`, or make the service `relay` or `direct`".to_owned()
                } else {
                    format!("set `{key}` on the target services instead")
                };
                self.push(
                    ConfigError::new(format!("`{key}` does not apply to a composite"))
                        .at(self.location(key_span.span()))
                        .service(name)
                        .key(*key)
                        .help(help),
                );
            }
        }
        const PATTERNS: [&str; 3] = ["fanout", "round_robin", "failover"];
        let pattern = match table.get_key_value("pattern") {
            None => {
                self.push(
                    ConfigError::new("a composite needs a `pattern`")
                        .at(location)
                        .service(name)
                        .key("pattern")
                        .help("add `pattern = \"fanout\"`, `\"round_robin\"` or `\"failover\"`"),
                );
                None
            }
            Some(entry) => self
                .string(name, entry)
                .and_then(|text| match text.as_str() {
                    "fanout" => Some(CompositePattern::Fanout),
                    "round_robin" => Some(CompositePattern::RoundRobin),
                    "failover" => Some(CompositePattern::Failover),
                    other => {
                        let mut error = ConfigError::new(format!("unknown pattern `{other}`"))
                            .at(self.location(entry.1.span()))
                            .service(name)
                            .key("pattern");
                        error.help = did_you_mean(other, PATTERNS).or_else(|| {
                            Some("the patterns are `fanout`, `round_robin` and `failover`".into())
                        });
                        self.push(error);
                        None
                    }
                }),
        };
        let targets = match table.get_key_value("targets") {
            None => {
                self.push(
                    ConfigError::new("a composite needs `targets`")
                        .at(location)
                        .service(name)
                        .key("targets")
                        .help("add e.g. `targets = [\"primary\", \"backup\"]`"),
                );
                None
            }
            Some((key, value)) => self.target_list(name, key, value),
        };
        // The topology is checked even for a composite with other problems,
        // so one build also shows its broken references.
        let target_names = targets.as_ref().map(|list| list.names());
        self.target_lists.extend(targets);
        match (pattern, target_names) {
            (Some(pattern), Some(targets)) if self.errors.len() == errors_before => {
                Some(ServiceConfig {
                    name: name.to_owned(),
                    location,
                    kind: ServiceKind::Composite(CompositeConfig { pattern, targets }),
                })
            }
            _ => None,
        }
    }
}

/// Typed readers for single values; each reports a wrong type or range itself.
impl<'s> Reader<'s> {
    fn wrong_type(
        &mut self,
        service: &str,
        key: &str,
        value: &Spanned<DeValue<'s>>,
        expected: &str,
        found: &DeValue<'s>,
    ) {
        self.push(
            ConfigError::new(format!("expected {expected}, found {}", a_value_of(found)))
                .at(self.location(value.span()))
                .service(service)
                .key(key),
        );
    }

    fn string(&mut self, service: &str, (key, value): Entry<'_, 's>) -> Option<String> {
        match value.get_ref() {
            DeValue::String(text) => Some(text.to_string()),
            other => {
                self.wrong_type(service, key.get_ref(), value, "a string", other);
                None
            }
        }
    }

    /// A non-negative integer.
    fn integer(&mut self, service: &str, key: &str, (_, value): Entry<'_, 's>) -> Option<u64> {
        let DeValue::Integer(integer) = value.get_ref() else {
            self.wrong_type(service, key, value, "a whole number", value.get_ref());
            return None;
        };
        match u64::from_str_radix(integer.as_str(), integer.radix()) {
            Ok(number) => Some(number),
            Err(_) => {
                self.push(
                    ConfigError::new(format!(
                        "{integer} is not a whole number from 0 to {}",
                        u64::MAX
                    ))
                    .at(self.location(value.span()))
                    .service(service)
                    .key(key),
                );
                None
            }
        }
    }

    /// An integer of at least 1.
    fn positive_integer(&mut self, service: &str, key: &str, entry: Entry<'_, 's>) -> Option<u64> {
        match self.integer(service, key, entry)? {
            0 => {
                self.push(
                    ConfigError::new(format!("`{key}` is 0"))
                        .at(self.location(entry.1.span()))
                        .service(service)
                        .key(key)
                        .help("use at least 1"),
                );
                None
            }
            number => Some(number),
        }
    }

    /// An integer or a float.
    fn number(&mut self, service: &str, key: &str, (_, value): Entry<'_, 's>) -> Option<f64> {
        let parsed = match value.get_ref() {
            DeValue::Integer(integer) => i64::from_str_radix(integer.as_str(), integer.radix())
                .ok()
                .map(|number| number as f64),
            DeValue::Float(float) => float.as_str().parse::<f64>().ok(),
            other => {
                self.wrong_type(service, key, value, "a number", other);
                return None;
            }
        };
        match parsed {
            Some(number) if number.is_finite() => Some(number),
            _ => {
                self.push(
                    ConfigError::new("expected a finite number")
                        .at(self.location(value.span()))
                        .service(service)
                        .key(key),
                );
                None
            }
        }
    }

    /// A positive duration in seconds, whole or fractional.
    fn seconds(&mut self, service: &str, key: &str, entry: Entry<'_, 's>) -> Option<Duration> {
        let key = format!("lazy.{key}");
        let seconds = self.number(service, &key, entry)?;
        match Duration::try_from_secs_f64(seconds) {
            Ok(duration) if !duration.is_zero() => Some(duration),
            _ => {
                let problem = if seconds == 0.0 {
                    "is 0".to_owned()
                } else if seconds > 0.0 && seconds < 1.0 {
                    // Rounds to a zero `Duration`.
                    "is less than a nanosecond".to_owned()
                } else if seconds > 0.0 {
                    "is more seconds than a duration holds".to_owned()
                } else {
                    "is not a positive number of seconds".to_owned()
                };
                self.push(
                    ConfigError::new(format!("`{key}` {problem}"))
                        .at(self.location(entry.1.span()))
                        .service(service)
                        .key(key)
                        .help("use a positive number of seconds, e.g. 0.5 or 10"),
                );
                None
            }
        }
    }

    fn target_list(
        &mut self,
        service: &str,
        key: &Spanned<std::borrow::Cow<'s, str>>,
        value: &Spanned<DeValue<'s>>,
    ) -> Option<TargetList> {
        let DeValue::Array(array) = value.get_ref() else {
            self.wrong_type(
                service,
                "targets",
                value,
                "an array of service names",
                value.get_ref(),
            );
            return None;
        };
        let mut list = TargetList {
            service: service.to_owned(),
            location: self.location(key.span()),
            targets: Vec::new(),
        };
        for item in array.iter() {
            match item.get_ref() {
                DeValue::String(target) => list
                    .targets
                    .push((target.to_string(), self.location(item.span()))),
                other => self.wrong_type(service, "targets", item, "a service name", other),
            }
        }
        if list.targets.is_empty()
            && self.errors.iter().all(|e| {
                e.service.as_deref() != Some(service) || e.key.as_deref() != Some("targets")
            })
        {
            self.push(
                ConfigError::new("`targets` is empty")
                    .at(self.location(value.span()))
                    .service(service)
                    .key("targets")
                    .help("list at least one service, e.g. `targets = [\"primary\", \"backup\"]`"),
            );
        }
        Some(list)
    }
}

/// "a string", "an integer": the TOML type of `value` with its article.
fn a_value_of(value: &DeValue<'_>) -> String {
    let type_name = value.type_str();
    let article = if type_name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {type_name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = include_str!("../../../examples/services.toml");

    #[test]
    fn seed_example_parses_in_file_order() {
        let config = parse_config(SEED, None).unwrap();
        let names: Vec<&str> = config.names().collect();
        assert_eq!(names[0], "market_data_relay");
        assert!(names.contains(&"backup_strategy"));
    }

    #[test]
    fn reports_every_problem_with_its_place() {
        let source = "[services.a]\ntype = \"relay\"\nendpont = \"unix:///tmp/a\"\n\n[services.b]\ntype = \"composite\"\npattern = \"fanot\"\ntargets = [\"a\", \"c\", \"b\"]\n";
        let errors = parse_config(source, Some(Path::new("services.toml"))).unwrap_err();
        let text = errors.to_string();
        println!("{text}");
        assert_eq!(errors.errors.len(), 4, "{text}");
        assert!(text.contains("services.toml:3:1: service `a`, key `endpont`: unknown key `endpont`; did you mean `endpoint`?"), "{text}");
        assert!(text.contains("cycle: b -> b"), "{text}");
    }
}
