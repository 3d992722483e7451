//! Config problems, each tied to a place in the file, reported all together.

use std::fmt;

/// A 1-based line and column in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` in `source`.
    pub fn of_offset(source: &str, offset: usize) -> Location {
        let offset = offset.min(source.len());
        let before = source.get(..offset).unwrap_or(source);
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        Location {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

/// Where each line of a source starts, so that many offsets can be turned
/// into locations without rescanning the text for each one.
#[derive(Debug, Clone)]
pub(crate) struct LineIndex<'s> {
    source: &'s str,
    line_starts: Vec<usize>,
}

impl<'s> LineIndex<'s> {
    pub(crate) fn new(source: &'s str) -> LineIndex<'s> {
        let line_starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(index, _)| index + 1))
            .collect();
        LineIndex {
            source,
            line_starts,
        }
    }

    pub(crate) fn location(&self, offset: usize) -> Location {
        let offset = offset.min(self.source.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = self.line_starts[line - 1];
        let column = match self.source.get(line_start..offset) {
            Some(text) => text.chars().count() + 1,
            None => offset - line_start + 1,
        };
        Location { line, column }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One problem in a config file.
///
/// The same text is shown by `SinkFactory` at run time and by `include_sinks!`
/// at compile time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// Where the problem comes from when it is not the config file itself:
    /// an overlay file, `Overrides::var`, the environment.
    pub source: Option<String>,
    /// Where in the file the problem is, when it is about a place in the file.
    pub location: Option<Location>,
    /// The service the problem is about, if any.
    pub service: Option<String>,
    /// The key the problem is about (`endpoint`, `lazy.max_retries`), if any.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when that is obvious.
    pub help: Option<String>,
}

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> ConfigError {
        ConfigError {
            source: None,
            location: None,
            service: None,
            key: None,
            message: message.into(),
            help: None,
        }
    }

    pub(crate) fn at(mut self, location: Location) -> ConfigError {
        self.location = Some(location);
        self
    }

    pub(crate) fn service(mut self, service: &str) -> ConfigError {
        self.service = Some(service.to_owned());
        self
    }

    pub(crate) fn key(mut self, key: impl Into<String>) -> ConfigError {
        self.key = Some(key.into());
        self
    }

    pub(crate) fn sourced(mut self, source: impl Into<String>) -> ConfigError {
        self.source = Some(source.into());
        self
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> ConfigError {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = self.location {
            write!(f, "{location}: ")?;
        }
        match (&self.service, &self.key) {
            (Some(service), Some(key)) => write!(f, "service `{service}`, key `{key}`: ")?,
            (Some(service), None) => write!(f, "service `{service}`: ")?,
            (None, Some(key)) => write!(f, "key `{key}`: ")?,
            (None, None) => {}
        }
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, "; {help}")?;
        }
        Ok(())
    }
}

/// Every problem found in one config file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The file the config came from, when it came from a file.
    pub file: Option<String>,
    /// The problems; never empty.
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    /// Iterates over the problems.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.errors.iter()
    }

    /// Renders one problem with the file name in front of its location,
    /// `services.toml:12:3: service ...`: the form both the runtime and the
    /// compile-time errors use.
    pub fn render(&self, error: &ConfigError) -> String {
        match error.source.as_ref().or(self.file.as_ref()) {
            Some(file) if error.location.is_some() => format!("{file}:{error}"),
            Some(file) => format!("{file}: {error}"),
            None => error.to_string(),
        }
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.errors.len();
        write!(
            f,
            "{count} problem{} in the sinks config",
            if count == 1 { "" } else { "s" }
        )?;
        for error in &self.errors {
            write!(f, "\n  {}", self.render(error))?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

/// The candidate closest to `wanted` by edit distance, if it is close enough
/// to be a plausible typo.
pub(crate) fn closest<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let length = wanted.chars().count();
    let allowed = (length / 3).max(1);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(wanted, candidate), candidate))
        .filter(|&(distance, candidate)| {
            distance <= allowed && distance < length && candidate != wanted
        })
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// "did you mean `x`?" for the closest candidate, if there is one.
pub(crate) fn did_you_mean<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(wanted, candidates).map(|candidate| format!("did you mean `{candidate}`?"))
}

/// Optimal string alignment distance: Levenshtein plus the swap of two
/// neighbouring characters as one edit, the commonest typo (`realy`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows: the one before the previous, the previous, the current.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for i in 0..a.len() {
        current[0] = i + 1;
        for j in 0..b.len() {
            let substitution = previous[j] + usize::from(a[i] != b[j]);
            let mut distance = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
            if i > 0 && j > 0 && a[i] == b[j - 1] && a[i - 1] == b[j] {
                distance = distance.min(before[j - 1] + 1);
            }
            current[j + 1] = distance;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_characters() {
        let source = "ab\ncdé\nx";
        assert_eq!(Location::of_offset(source, 0).to_string(), "1:1");
        assert_eq!(Location::of_offset(source, 4).to_string(), "2:2");
        assert_eq!(Location::of_offset(source, source.len()).to_string(), "3:2");
        let index = LineIndex::new(source);
        for offset in [0, 1, 3, 4, source.len()] {
            assert_eq!(index.location(offset), Location::of_offset(source, offset));
        }
    }

    #[test]
    fn suggests_only_close_names() {
        assert_eq!(closest("endpont", ["endpoint", "type"]), Some("endpoint"));
        assert_eq!(closest("zzzzzz", ["endpoint", "type"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("realy", "relay"), 1);
        assert_eq!(closest("alpah", ["alpha", "beta"]), Some("alpha"));
    }
}
