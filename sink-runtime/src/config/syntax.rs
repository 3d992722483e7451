//! TOML-level problems (syntax errors, tables and keys defined twice) as
//! config errors, each naming its service and key where the text shows them.
//!
//! The TOML parser (`toml_parser`, under `toml`) recovers after an error and
//! keeps parsing, so these are reported together with every problem the
//! validator finds in what it recovered.

use std::collections::HashSet;

use super::ConfigError;
use super::diagnostics::LineIndex;

/// The problems of one TOML text, and the services they are inside (whose
/// missing keys the validator then does not report: the key may be the one
/// the parser could not read).
#[derive(Debug, Default)]
pub(crate) struct SyntaxProblems {
    pub(crate) errors: Vec<ConfigError>,
    pub(crate) services: HashSet<String>,
    /// The first line of a table header the parser could not read: the keys
    /// after it land in the wrong table, so they are not reported as unknown.
    pub(crate) first_broken_header: Option<usize>,
}

/// Converts the parser's errors for `source`; `label` names an overlay
/// (`None` for the config file itself).
pub(crate) fn syntax_problems(
    source: &str,
    lines: &LineIndex<'_>,
    parse_errors: &[toml::de::Error],
    label: Option<&str>,
) -> SyntaxProblems {
    let mut problems = SyntaxProblems::default();
    if parse_errors.is_empty() {
        return problems;
    }
    let duplicates = duplicate_tables(source);
    for (line, name, first) in &duplicates {
        let mut error = ConfigError::new(format!(
            "the table is defined twice (first at line {first})"
        ))
        .at(super::Location {
            line: *line,
            column: 1,
        })
        .service(name)
        .help("remove one of the two tables, or rename one");
        error.source = label.map(str::to_owned);
        problems.errors.push(error);
        problems.services.insert(name.clone());
    }
    for parse_error in parse_errors {
        let span = parse_error.span();
        let location = span.as_ref().map(|span| lines.location(span.start));
        let service = location.and_then(|at| service_at(source, at.line));
        if let Some(at) = location {
            let on_header = source
                .lines()
                .nth(at.line - 1)
                .is_some_and(|line| line.trim_start().starts_with('['));
            if on_header
                && problems
                    .first_broken_header
                    .is_none_or(|first| at.line < first)
            {
                problems.first_broken_header = Some(at.line);
            }
        }
        let message = parse_error.message().trim_end();
        let mut error = if message.contains("duplicate key") {
            let line = location.map_or(0, |at| at.line);
            // A table defined twice makes the parser flag each of its keys;
            // the table is reported once above instead.
            if duplicates
                .iter()
                .any(|(header, _, _)| line >= *header && same_table(source, *header, line))
            {
                continue;
            }
            let key = span
                .as_ref()
                .and_then(|span| source.get(span.clone()))
                .map(|key| key.trim().trim_matches(['"', '\'']).to_owned())
                .unwrap_or_default();
            let mut error =
                ConfigError::new(format!("`{key}` is set twice")).help(format!("keep one `{key}`"));
            if !key.is_empty() {
                error = error.key(key);
            }
            error
        } else {
            ConfigError::new(format!("invalid TOML: {message}"))
        };
        error.location = location;
        error.source = label.map(str::to_owned);
        if let Some(service) = service {
            problems.services.insert(service.clone());
            error.service = Some(service);
        }
        problems.errors.push(error);
    }
    problems
}

/// The service whose table holds `line` (1-based): the last `[services.NAME]`
/// or `[services.NAME.lazy]` header above it, or for a `[services]` header
/// the key at the start of the line (`name = { ... }`).
fn service_at(source: &str, line: usize) -> Option<String> {
    let text: Vec<&str> = source.lines().take(line).collect();
    let current = text.last().copied().unwrap_or("");
    for header_line in text.iter().rev() {
        let Some(path) = header_path(header_line) else {
            continue;
        };
        let mut parts = path.split('.').map(str::trim);
        if parts.next() != Some("services") {
            return None;
        }
        return match parts.next() {
            Some(name) => Some(unquote(name)),
            None => {
                let key = current.split(['=', '.']).next()?.trim();
                (!key.is_empty() && !key.starts_with('[')).then(|| unquote(key))
            }
        };
    }
    None
}

fn unquote(name: &str) -> String {
    name.trim_matches(['"', '\'']).to_owned()
}

/// `services.a` for a `[services.a]  # comment` line.
fn header_path(line: &str) -> Option<&str> {
    let header = line
        .split_once('#')
        .map_or(line, |(before, _)| before)
        .trim();
    header
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .filter(|path| !path.starts_with('['))
}

/// `[services.NAME]` headers that appear twice: (line, name, first line),
/// one per repetition.
fn duplicate_tables(source: &str) -> Vec<(usize, String, usize)> {
    let mut first_seen: Vec<(&str, usize)> = Vec::new();
    let mut repeated = Vec::new();
    for (index, line) in source.lines().enumerate() {
        // `[ services . NAME ]` too: TOML allows spaces around the dots.
        let Some(name) = header_path(line)
            .and_then(|path| path.split_once('.'))
            .filter(|(table, _)| table.trim() == "services")
            .map(|(_, name)| name.trim())
            .filter(|name| !name.contains(['.', '[', ']', '"', '\'']))
        else {
            continue;
        };
        match first_seen.iter().find(|(seen, _)| *seen == name) {
            Some((_, first_line)) => repeated.push((index + 1, name.to_owned(), *first_line)),
            None => first_seen.push((name, index + 1)),
        }
    }
    repeated
}

/// Whether `line` is still inside the table whose header is on `header`.
fn same_table(source: &str, header: usize, line: usize) -> bool {
    !source
        .lines()
        .skip(header)
        .take(line.saturating_sub(header))
        .any(|text| text.trim_start().starts_with('['))
}
