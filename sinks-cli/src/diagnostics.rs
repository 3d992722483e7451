//! Config problems as rustc shows errors (the TOML line, a caret under the
//! problem, `help:` with the fix) or as JSON, from the config module's own
//! `ConfigErrors`: the same problems, in the same words, as `include_sinks!`
//! and `SinkFactory` report. A problem in an overlay (`ConfigError::source`)
//! is shown in a snippet of that overlay.

use std::ops::Range;
use std::path::{Path, PathBuf};

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};
use serde::Serialize;
use sinks::Overrides;
use sinks::config::{
    ConfigError, ConfigErrors, Location, OVERLAY_VARIABLE, ServicesConfig, parse_config,
};

use crate::cli::DeployArgs;

/// A config file that did not validate: its problems, and the text of each
/// file they may point into, for the snippets.
#[derive(Debug)]
pub(crate) struct Rejected {
    /// The config file, as the user named it.
    pub(crate) file: String,
    /// The config file (`label` `None`) and each overlay that could be read.
    pub(crate) sources: Vec<SourceText>,
    pub(crate) errors: ConfigErrors,
}

/// One file a problem may point into.
#[derive(Debug)]
pub(crate) struct SourceText {
    /// `ConfigError::source` of the problems in it: `None` for the config
    /// file, `overlay PATH` for an overlay.
    label: Option<String>,
    /// The file as the user named it.
    name: String,
    /// Absent when the file cannot be read (which is then the problem).
    text: Option<String>,
}

impl Rejected {
    /// The file `error` points into, if its text is at hand.
    fn source_of(&self, error: &ConfigError) -> Option<&SourceText> {
        self.sources
            .iter()
            .find(|source| source.label == error.source)
    }

    /// The file `error` is about, as the user named it: an overlay, the
    /// config file, or the source's own label (`Overrides::endpoint(..)`).
    fn file_of<'a>(&'a self, error: &'a ConfigError) -> &'a str {
        match (self.source_of(error), &error.source) {
            (Some(source), _) => &source.name,
            (None, Some(label)) => label,
            (None, None) => &self.file,
        }
    }
}

/// Reads and validates `path` with its compiled values alone, as
/// `include_sinks!` does: what `graph` draws.
pub(crate) fn load_compiled(path: &Path) -> Result<ServicesConfig, Rejected> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        // The path makes `tls_ca_file` resolve against the file's directory.
        Ok(text) => parse_config(&text, Some(path)).map_err(|errors| Rejected {
            sources: vec![SourceText {
                label: None,
                name: file.clone(),
                text: Some(text),
            }],
            file,
            errors,
        }),
        // `from_file` fails the same way and words it as the runtime does.
        Err(_) => ServicesConfig::from_file(path).map_err(|errors| Rejected {
            file,
            sources: Vec::new(),
            errors,
        }),
    }
}

/// Reads and validates `path` as `Sinks::from_env()` would in this
/// process: `${VAR}` from the environment, the overlay `SINKS_OVERLAY`
/// names, then each `--overlay` in order.
pub(crate) fn load_deployed(path: &Path, deploy: &DeployArgs) -> Result<ServicesConfig, Rejected> {
    let overlays: Vec<PathBuf> = std::env::var_os(OVERLAY_VARIABLE)
        .filter(|named| !named.is_empty())
        .map(PathBuf::from)
        .into_iter()
        .chain(deploy.overlays.iter().cloned())
        .collect();
    // `from_env` adds the `SINKS_OVERLAY` overlay itself.
    let overrides = deploy
        .overlays
        .iter()
        .fold(Overrides::from_env(), |overrides, overlay| {
            overrides.overlay_file(overlay)
        });
    ServicesConfig::from_file_with(path, &overrides).map_err(|errors| {
        let file = path.display().to_string();
        let config = SourceText {
            label: None,
            name: file.clone(),
            text: std::fs::read_to_string(path).ok(),
        };
        // An overlay that cannot be read is itself one of the problems.
        let overlays = overlays.iter().map(|overlay| SourceText {
            label: Some(overlay_label(overlay)),
            name: overlay.display().to_string(),
            text: std::fs::read_to_string(overlay).ok(),
        });
        Rejected {
            file,
            sources: std::iter::once(config).chain(overlays).collect(),
            errors,
        }
    })
}

/// How `Overrides::overlay_file` names an overlay in `ConfigError::source`.
fn overlay_label(path: &Path) -> String {
    format!("overlay {}", path.display())
}

/// Every problem as a rustc-style report, then a closing line with the count.
pub(crate) fn render_human(rejected: &Rejected) -> String {
    let renderer = Renderer::styled();
    let mut out = String::new();
    for error in &rejected.errors {
        out.push_str(&renderer.render(&[report(rejected, error)]));
        out.push_str("\n\n");
    }
    let count = rejected.errors.errors.len();
    let overlays = if rejected.errors.iter().any(|error| error.source.is_some()) {
        " and its overlays"
    } else {
        ""
    };
    let summary = format!(
        "`{}`{overlays} {} {count} problem{}",
        rejected.file,
        if overlays.is_empty() { "has" } else { "have" },
        if count == 1 { "" } else { "s" }
    );
    out.push_str(&renderer.render(&[Group::with_title(Level::ERROR.primary_title(summary))]));
    out.push('\n');
    out
}

/// Each value of a valid config that is left for run time (a `${VAR}`
/// without a default, read with the compiled values alone), as a rustc-style
/// `note:` with its snippet; empty when there is none.
pub(crate) fn render_pending(path: &Path, config: &ServicesConfig) -> String {
    let pending: Vec<&ConfigError> = config
        .services()
        .iter()
        .filter_map(|service| service.unresolved.as_ref())
        .flat_map(ConfigErrors::iter)
        .collect();
    if pending.is_empty() {
        return String::new();
    }
    let file = path.display().to_string();
    let shown = Rejected {
        sources: vec![SourceText {
            label: None,
            name: file.clone(),
            text: std::fs::read_to_string(path).ok(),
        }],
        file,
        errors: ConfigErrors {
            file: None,
            errors: pending.into_iter().cloned().collect(),
        },
    };
    let renderer = Renderer::styled();
    let notes: Vec<String> = shown
        .errors
        .iter()
        .map(|error| renderer.render(&[report_as(Level::NOTE, &shown, error)]))
        .collect();
    format!("{}\n", notes.join("\n\n"))
}

fn report<'a>(rejected: &'a Rejected, error: &'a ConfigError) -> Group<'a> {
    report_as(Level::ERROR, rejected, error)
}

fn report_as<'a>(level: Level<'a>, rejected: &'a Rejected, error: &'a ConfigError) -> Group<'a> {
    let mut group = Group::with_title(level.primary_title(title(error)));
    let text = rejected
        .source_of(error)
        .and_then(|source| source.text.as_deref());
    match (text, error.location) {
        (Some(text), Some(location)) => {
            group = group.element(
                Snippet::source(text)
                    .path(rejected.file_of(error))
                    .annotation(AnnotationKind::Primary.span(span_at(text, location))),
            );
        }
        (None, Some(location)) => {
            group = group.element(
                Origin::path(rejected.file_of(error))
                    .line(location.line)
                    .char_column(location.column),
            );
        }
        (_, None) => group = group.element(Origin::path(rejected.file_of(error))),
    }
    if let Some(help) = &error.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    group
}

/// `service `a`, key `b`: message`, as the config module's Display words
/// it, without the location (the snippet shows it) and the help (below it).
pub(crate) fn title(error: &ConfigError) -> String {
    let subject = match (&error.service, &error.key) {
        (Some(service), Some(key)) => format!("service `{service}`, key `{key}`: "),
        (Some(service), None) => format!("service `{service}`: "),
        (None, Some(key)) => format!("key `{key}`: "),
        (None, None) => String::new(),
    };
    format!("{subject}{}", error.message)
}

/// The bytes to underline for a problem at `location`: the token that
/// starts there (a quoted string, a `[table]` header or array, a bare key
/// or value), or an empty span at the end of a line.
fn span_at(source: &str, location: Location) -> Range<usize> {
    let line_start: usize = source
        .split_inclusive('\n')
        .take(location.line.saturating_sub(1))
        .map(str::len)
        .sum();
    let line = source[line_start.min(source.len())..]
        .split('\n')
        .next()
        .unwrap_or("");
    let column = line
        .char_indices()
        .nth(location.column.saturating_sub(1))
        .map_or(line.len(), |(index, _)| index);
    let rest = &line[column..];
    let length = match rest.chars().next() {
        Some('"') => closing(rest, '"').unwrap_or(rest.trim_end().len()),
        Some('\'') => closing(rest, '\'').unwrap_or(rest.trim_end().len()),
        Some('[') => closing(rest, ']').unwrap_or(rest.trim_end().len()),
        _ => rest
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '+')))
            .unwrap_or(rest.len()),
    };
    let start = line_start + column;
    start..start + length
}

/// The length up to and including the first unescaped `close` after the
/// opening character.
fn closing(text: &str, close: char) -> Option<usize> {
    let mut escaped = false;
    for (index, c) in text.char_indices().skip(1) {
        match c {
            '\\' if !escaped => escaped = true,
            c if c == close && !escaped => return Some(index + c.len_utf8()),
            _ => escaped = false,
        }
    }
    None
}

/// One problem in `--format json`.
#[derive(Debug, Serialize)]
struct JsonProblem<'a> {
    file: &'a str,
    line: Option<usize>,
    column: Option<usize>,
    service: Option<&'a str>,
    key: Option<&'a str>,
    message: &'a str,
    help: Option<&'a str>,
}

/// The problems as a JSON array (`[]` for a valid file).
pub(crate) fn render_json(rejected: Option<&Rejected>) -> String {
    let problems: Vec<JsonProblem<'_>> = rejected
        .into_iter()
        .flat_map(|rejected| {
            rejected.errors.iter().map(|error| JsonProblem {
                file: rejected.file_of(error),
                line: error.location.map(|location| location.line),
                column: error.location.map(|location| location.column),
                service: error.service.as_deref(),
                key: error.key.as_deref(),
                message: &error.message,
                help: error.help.as_deref(),
            })
        })
        .collect();
    // Serialising plain strings and numbers cannot fail.
    serde_json::to_string_pretty(&problems).unwrap_or_else(|_| "[]".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn underlined(source: &str, line: usize, column: usize) -> &str {
        &source[span_at(source, Location { line, column })]
    }

    #[test]
    fn underlines_the_token_at_the_location() {
        let source =
            "[services.a]\ntype = \"re\\\"lay\"\nendpont = 1\ntargets = [\"a\", \"b\"]\nx = \"open";
        assert_eq!(underlined(source, 1, 1), "[services.a]");
        assert_eq!(underlined(source, 2, 8), "\"re\\\"lay\"");
        assert_eq!(underlined(source, 3, 1), "endpont");
        assert_eq!(underlined(source, 4, 11), "[\"a\", \"b\"]");
        assert_eq!(underlined(source, 4, 17), "\"b\"");
        assert_eq!(underlined(source, 5, 5), "\"open");
        assert_eq!(underlined(source, 5, 10), "");
    }
}
