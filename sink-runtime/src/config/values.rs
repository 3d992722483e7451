//! Typed readers for single values, driven by the schema's [`ValueKind`]:
//! each reports a wrong type or a value out of range itself, stating the
//! range the key accepts.

use std::time::Duration;

use toml::de::DeValue;

use super::document::{Found, Reader, a_value_of};
use super::interpolate::{self, Resolved};
use super::schema::{Key, MAX_SECONDS, MIN_SECONDS, ValueKind};
use super::{ConfigError, did_you_mean};

/// A value read for a key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Parsed {
    Text(String),
    Integer(u64),
    Seconds(Duration),
    Number(f64),
    Boolean(bool),
    Table(Vec<(String, String)>),
    /// Needs a variable that was not given (only for the compiled values).
    Pending,
}

impl<'a> Reader<'a> {
    /// An error about `found`'s value, for `service`.
    pub(crate) fn value_error(
        &self,
        service: &str,
        found: &Found<'a>,
        message: impl Into<String>,
    ) -> ConfigError {
        self.error_at(found.layer, found.value.span(), message)
            .service(service)
            .key(found.written.clone())
    }

    /// " (the value of `${HOST}`, or its default)" for a value that was
    /// interpolated, so an error on it names the variables it came from.
    pub(crate) fn interpolation_note(&self, found: &Found<'a>) -> String {
        let DeValue::String(text) = found.value.get_ref() else {
            return String::new();
        };
        let names: Vec<String> = interpolate::variables(text)
            .into_iter()
            .map(|name| format!("`${{{name}}}`"))
            .collect();
        match (names.is_empty(), self.vars) {
            (true, _) => String::new(),
            (false, interpolate::Vars::Compiled) => {
                format!(" (with the default of {})", names.join(", "))
            }
            (false, interpolate::Vars::Given(_)) => {
                format!(" (after interpolating {})", names.join(", "))
            }
        }
    }

    fn wrong_type(
        &mut self,
        service: &str,
        found: &Found<'a>,
        value: &DeValue<'_>,
        expected: &str,
    ) {
        let error = self.value_error(
            service,
            found,
            format!("expected {expected}, found {}", a_value_of(value)),
        );
        self.push(error);
    }

    /// The value of `key` for `service`, read by the key's kind; `None` if
    /// it is not set or was reported.
    pub(crate) fn read_key(&mut self, service: &str, key: &Key) -> Option<(Found<'a>, Parsed)> {
        let found = self.lookup(service, key)?;
        let parsed = self.parse_value(service, key, &found)?;
        Some((found, parsed))
    }

    fn parse_value(&mut self, service: &str, key: &Key, found: &Found<'a>) -> Option<Parsed> {
        let value = found.value.get_ref();
        match key.value {
            ValueKind::Text => self.text(service, key, found, value),
            ValueKind::Choice(choices) => {
                let text = match self.text(service, key, found, value)? {
                    Parsed::Text(text) => text,
                    other => return Some(other),
                };
                if choices.contains(&text.as_str()) {
                    return Some(Parsed::Text(text));
                }
                let what = key.name.trim_start_matches("lazy.");
                let note = self.interpolation_note(found);
                let mut error =
                    self.value_error(service, found, format!("unknown {what} `{text}`{note}"));
                error.help = did_you_mean(&text, choices.iter().copied())
                    .or_else(|| Some(format!("use {}", key.value.expected())));
                self.push(error);
                None
            }
            ValueKind::Integer { min, max } => {
                let DeValue::Integer(integer) = value else {
                    self.wrong_type(service, found, value, &key.value.expected());
                    return None;
                };
                let number = i128::from_str_radix(integer.as_str(), integer.radix()).ok();
                match number.and_then(|n| u64::try_from(n).ok()) {
                    Some(n) if (min..=max).contains(&n) => Some(Parsed::Integer(n)),
                    _ => {
                        let shown =
                            number.map_or_else(|| integer.as_str().to_owned(), |n| n.to_string());
                        let error = self
                            .value_error(service, found, format!("`{}` is {shown}", found.written))
                            .help(format!("use {}", key.value.expected()));
                        self.push(error);
                        None
                    }
                }
            }
            ValueKind::Seconds | ValueKind::Number { .. } => {
                let number = match value {
                    DeValue::Integer(integer) => {
                        i128::from_str_radix(integer.as_str(), integer.radix())
                            .ok()
                            .map(|n| n as f64)
                    }
                    DeValue::Float(float) => float.as_str().parse::<f64>().ok(),
                    other => {
                        self.wrong_type(service, found, other, &key.value.expected());
                        return None;
                    }
                };
                let (min, max) = match key.value {
                    ValueKind::Number { min, max } => (min, max),
                    _ => (MIN_SECONDS, MAX_SECONDS),
                };
                match number {
                    Some(n) if n >= min && n <= max => Some(match key.value {
                        // In range, so `from_secs_f64` cannot panic.
                        ValueKind::Seconds => Parsed::Seconds(Duration::from_secs_f64(n)),
                        _ => Parsed::Number(n),
                    }),
                    _ => {
                        let shown = match value {
                            DeValue::Integer(integer) => integer.as_str().to_owned(),
                            DeValue::Float(float) => float.as_str().to_owned(),
                            _ => String::new(),
                        };
                        let error = self
                            .value_error(service, found, format!("`{}` is {shown}", found.written))
                            .help(format!("use {}", key.value.expected()));
                        self.push(error);
                        None
                    }
                }
            }
            ValueKind::Boolean => match value {
                DeValue::Boolean(flag) => Some(Parsed::Boolean(*flag)),
                other => {
                    self.wrong_type(service, found, other, "a boolean");
                    None
                }
            },
            ValueKind::StringTable => self.string_table(service, key, found),
            // Read by the composite's own reader, with each name's location.
            ValueKind::Names => None,
        }
    }

    /// A string value, interpolated if the key may change at deploy time.
    fn text(
        &mut self,
        service: &str,
        key: &Key,
        found: &Found<'a>,
        value: &DeValue<'_>,
    ) -> Option<Parsed> {
        let DeValue::String(text) = value else {
            self.wrong_type(service, found, value, &key.value.expected());
            return None;
        };
        self.interpolate(service, key, found, text)
    }

    /// `text` with its `${VAR}`s replaced; a pending value is remembered for
    /// the service's `unresolved` problems.
    pub(crate) fn interpolate(
        &mut self,
        service: &str,
        key: &Key,
        found: &Found<'a>,
        text: &str,
    ) -> Option<Parsed> {
        if !interpolate::uses_interpolation(text) {
            return Some(Parsed::Text(text.to_owned()));
        }
        if !key.overridable {
            if text.contains("${") {
                let error = self
                    .value_error(
                        service,
                        found,
                        format!(
                            "`{}` cannot use `${{VAR}}`: the topology is fixed at compile time",
                            found.written
                        ),
                    )
                    .help("write the value itself");
                self.push(error);
                return None;
            }
            return Some(Parsed::Text(text.to_owned()));
        }
        match interpolate::resolve(text, self.vars) {
            Ok(Resolved::Value(value)) => Some(Parsed::Text(value)),
            Ok(Resolved::Pending(names)) => {
                let listed: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
                let error = self
                    .value_error(
                        service,
                        found,
                        format!(
                            "needs the variable {} (no default), but the sinks were built from the compiled values alone",
                            listed.join(", ")
                        ),
                    )
                    .help("build them with `from_env()` or `with_overrides(..)`, or give a default: `${VAR:-value}`");
                self.pending.push(error);
                Some(Parsed::Pending)
            }
            Err(message) => {
                let error = self.value_error(service, found, message);
                self.push(error);
                None
            }
        }
    }

    /// A string known at compile time (`type`, `pattern`), never interpolated.
    pub(crate) fn fixed_string(&mut self, service: &str, found: &Found<'a>) -> Option<String> {
        let key = super::schema::find_key(&found.written)?;
        match self.text(service, key, found, found.value.get_ref())? {
            Parsed::Text(text) => Some(text),
            _ => None,
        }
    }

    fn string_table(&mut self, service: &str, key: &Key, found: &Found<'a>) -> Option<Parsed> {
        let DeValue::Table(table) = found.value.get_ref() else {
            self.wrong_type(service, found, found.value.get_ref(), "a table of strings");
            return None;
        };
        let mut entries = Vec::new();
        let mut complete = true;
        for (name, value) in table.iter() {
            let entry = Found {
                layer: found.layer,
                key: name,
                value,
                written: format!("{}.{}", found.written, name.get_ref()),
            };
            match value.get_ref() {
                DeValue::String(text) => match self.interpolate(service, key, &entry, text) {
                    Some(Parsed::Text(text)) => entries.push((name.get_ref().to_string(), text)),
                    Some(_) => {}
                    None => complete = false,
                },
                other => {
                    self.wrong_type(service, &entry, other, "a string");
                    complete = false;
                }
            }
        }
        complete.then_some(Parsed::Table(entries))
    }
}
