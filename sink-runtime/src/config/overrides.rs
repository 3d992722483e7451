//! [`Overrides`]: the values a deployment changes in a compiled topology.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::ConfigError;

/// The environment variable naming an overlay file for [`Overrides::from_env`].
pub const OVERLAY_VARIABLE: &str = "SINKS_OVERLAY";

/// Deploy-time values for a topology fixed at compile time: variables for
/// `${VAR}` interpolation, overlay files, and endpoints by service.
///
/// An overlay is TOML in the config's own `[services.NAME]` form that may
/// only set values: `endpoint`, `buffer_size`, `max_message_bytes`,
/// `framing`, `max_retries`, `retry_delay_ms`, `lazy.*`, `tls_ca_file`,
/// `metadata`. Later sources win: overlays in the order given, then
/// [`endpoint`](Overrides::endpoint). A variable from [`var`](Overrides::var)
/// wins over the environment.
///
/// The methods never fail: an unreadable overlay file and every other
/// problem is kept and reported, with all problems of every source, when the
/// overrides are applied (`Sinks::with_overrides`, `SinkFactory::from_config_with`),
/// as one `SinkError::InvalidConfig`.
///
/// ```
/// # use sink_runtime::config::Overrides;
/// // `sinks::Overrides` in a crate that uses `sinks`.
/// let overrides = Overrides::new()
///     .var("GATEWAY_HOST", "gw.prod.internal")
///     .overlay_str("[services.market_data_relay]\nbuffer_size = 50000\n")
///     .endpoint("dashboard", "ws://10.0.0.5:8080/ws");
/// # let _ = overrides;
/// ```
#[derive(Clone, Default)]
pub struct Overrides {
    /// From the process environment (`from_env`).
    environment: HashMap<String, String>,
    /// From `var`, which win over the environment.
    vars: HashMap<String, String>,
    overlays: Vec<OverlayText>,
    endpoints: Vec<(String, String)>,
    problems: Vec<ConfigError>,
}

/// One overlay's text, as a layer over the config file.
#[derive(Debug, Clone)]
pub(crate) struct OverlayText {
    /// `overlay prod.toml`, for messages.
    pub(crate) label: String,
    pub(crate) text: String,
    /// What a relative `tls_ca_file` in it is relative to.
    pub(crate) base_dir: Option<PathBuf>,
    /// False for generated text, whose lines mean nothing to a user.
    pub(crate) show_location: bool,
}

impl Overrides {
    /// No overrides: `${VAR:-default}` takes its default, and a `${VAR}`
    /// without one is an error when applied.
    pub fn new() -> Overrides {
        Overrides::default()
    }

    /// The process environment for `${VAR}`, plus the overlay file named by
    /// `SINKS_OVERLAY` if it is set. Variables whose value is not UTF-8 are
    /// treated as unset.
    pub fn from_env() -> Overrides {
        let mut overrides = Overrides::new();
        overrides.environment = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect();
        match std::env::var_os(OVERLAY_VARIABLE) {
            Some(path) if !path.is_empty() => overrides.overlay_file(PathBuf::from(path)),
            _ => overrides,
        }
    }

    /// Sets variable `name` for `${name}`; wins over the environment.
    pub fn var(mut self, name: impl Into<String>, value: impl Into<String>) -> Overrides {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// Adds the overlay file at `path`, read now; a relative `tls_ca_file`
    /// in it is relative to it.
    pub fn overlay_file(mut self, path: impl AsRef<Path>) -> Overrides {
        let path = path.as_ref();
        let label = format!("overlay {}", path.display());
        match std::fs::read_to_string(path) {
            Ok(text) => self.overlays.push(OverlayText {
                label,
                text,
                base_dir: path.parent().map(Path::to_path_buf),
                show_location: true,
            }),
            Err(error) => self.problems.push(
                ConfigError::new(format!("cannot read the overlay file: {error}"))
                    .sourced(label)
                    .help("check the path (from `SINKS_OVERLAY` or `Overrides::overlay_file`)"),
            ),
        }
        self
    }

    /// Adds an overlay given as TOML text; a relative `tls_ca_file` in it is
    /// relative to the current directory.
    pub fn overlay_str(mut self, toml: impl Into<String>) -> Overrides {
        let label = format!("overlay #{} (overlay_str)", self.overlays.len() + 1);
        self.overlays.push(OverlayText {
            label,
            text: toml.into(),
            base_dir: None,
            show_location: true,
        });
        self
    }

    /// Sets the endpoint of `service`, checked as the config's `endpoint` is.
    pub fn endpoint(
        mut self,
        service: impl Into<String>,
        endpoint: impl Into<String>,
    ) -> Overrides {
        self.endpoints.push((service.into(), endpoint.into()));
        self
    }

    /// The value of variable `name`: from `var`, else from the environment.
    pub(crate) fn var_value(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .or_else(|| self.environment.get(name))
            .cloned()
    }

    /// Every overlay, then one per `endpoint` call, in the order they apply.
    pub(crate) fn layers(&self) -> Vec<OverlayText> {
        let mut layers = self.overlays.clone();
        layers.extend(
            self.endpoints
                .iter()
                .map(|(service, endpoint)| OverlayText {
                    label: format!("Overrides::endpoint({service:?}, ..)"),
                    text: format!(
                        "[services.{}]\nendpoint = {}\n",
                        toml_string(service),
                        toml_string(endpoint)
                    ),
                    base_dir: None,
                    show_location: false,
                }),
        );
        layers
    }

    /// The problems found while collecting (unreadable overlay files).
    pub(crate) fn problems(&self) -> &[ConfigError] {
        &self.problems
    }
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// Names only: values may be secrets.
impl fmt::Debug for Overrides {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut vars: Vec<&str> = self.vars.keys().map(String::as_str).collect();
        vars.sort_unstable();
        let overlays: Vec<&str> = self.overlays.iter().map(|o| o.label.as_str()).collect();
        let endpoints: Vec<&str> = self.endpoints.iter().map(|(s, _)| s.as_str()).collect();
        f.debug_struct("Overrides")
            .field("environment", &self.environment.len())
            .field("vars", &vars)
            .field("overlays", &overlays)
            .field("endpoints", &endpoints)
            .field("problems", &self.problems.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServicesConfig;

    #[test]
    fn debug_shows_names_never_values() {
        let overrides = Overrides::new()
            .var("API_TOKEN", "hunter2")
            .endpoint("feed", "ws://user:hunter2@h/x");
        let shown = format!("{overrides:?}");
        assert!(
            shown.contains("API_TOKEN") && shown.contains("feed"),
            "{shown}"
        );
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn an_endpoint_override_is_quoted_as_toml_whatever_it_holds() {
        let source = "[services.a]\ntype = \"relay\"\nendpoint = \"/tmp/a.sock\"\n";
        // Quotes, backslashes and a newline reach the endpoint parser as given.
        let path = "/tmp/quote\"and\\back\nslash.sock";
        let overrides = Overrides::new().endpoint("a", path);
        let config = ServicesConfig::from_toml_str_with(source, &overrides).expect("valid");
        let Some(crate::config::ServiceKind::Relay(leaf)) = config.get("a").map(|s| &s.kind) else {
            panic!("a relay");
        };
        assert_eq!(leaf.endpoint.unix_path(), Some(std::path::Path::new(path)));
    }
}
