//! `${VAR}` in string values, as Vector writes it: `${VAR}`, `${VAR:-default}`
//! (the default when `VAR` is unset or empty), `${VAR:?message}` (an error
//! with `message` when unset or empty), and `$$` for a literal `$`.
//!
//! Messages name the variable, never the value around it: an endpoint may
//! hold credentials.

/// One piece of a string value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'t> {
    Text(&'t str),
    Var {
        name: &'t str,
        fallback: Fallback<'t>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fallback<'t> {
    /// `${VAR}`.
    None,
    /// `${VAR:-default}`.
    Default(&'t str),
    /// `${VAR:?message}`.
    Required(&'t str),
}

/// The variables a value is resolved with.
#[derive(Clone, Copy)]
pub(crate) enum Vars<'a> {
    /// None given: the compiled values (the macro's check, `Sinks::new()`).
    /// A variable without a default leaves the value pending.
    Compiled,
    /// These, from `Overrides` (the environment and `Overrides::var`).
    Given(&'a dyn Fn(&str) -> Option<String>),
}

impl std::fmt::Debug for Vars<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Vars::Compiled => "Vars::Compiled",
            Vars::Given(_) => "Vars::Given",
        })
    }
}

/// A string value after interpolation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// The value, with every variable replaced.
    Value(String),
    /// Variables without a default that were not given (only with
    /// [`Vars::Compiled`]); the value is known at run time only.
    Pending(Vec<String>),
}

/// Whether `text` uses interpolation at all (a `$` anywhere).
pub(crate) fn uses_interpolation(text: &str) -> bool {
    text.contains('$')
}

/// Splits `text` into literal text and variables; the error says what is
/// malformed without echoing the value.
fn pieces(text: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        if dollar > 0 {
            pieces.push(Piece::Text(&rest[..dollar]));
        }
        let after = &rest[dollar + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            pieces.push(Piece::Text("$"));
            rest = tail;
            continue;
        }
        let Some(body_and_tail) = after.strip_prefix('{') else {
            return Err(
                "a `$` must start `${VAR}`, `${VAR:-default}` or `${VAR:?message}`; write `$$` for a literal `$`"
                    .into(),
            );
        };
        let Some(close) = body_and_tail.find('}') else {
            return Err("a `${` is not closed by `}`".into());
        };
        let body = &body_and_tail[..close];
        let (name, fallback) = if let Some((name, default)) = body.split_once(":-") {
            (name, Fallback::Default(default))
        } else if let Some((name, message)) = body.split_once(":?") {
            (name, Fallback::Required(message))
        } else {
            (body, Fallback::None)
        };
        check_name(name)?;
        pieces.push(Piece::Var { name, fallback });
        rest = &body_and_tail[close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

fn check_name(name: &str) -> Result<(), String> {
    let well_formed = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if well_formed {
        return Ok(());
    }
    if name.is_empty() {
        return Err("`${}` names no variable; write `${VAR}`".into());
    }
    let shown: String = name.chars().take(40).collect();
    Err(format!(
        "`${{{shown}}}`: a variable name has letters, digits and `_`, not starting with a digit; a default is written `${{VAR:-default}}`"
    ))
}

/// The variables `text` names, in order; none if its syntax is broken.
pub(crate) fn variables(text: &str) -> Vec<&str> {
    pieces(text).map_or_else(
        |_| Vec::new(),
        |pieces| {
            pieces
                .into_iter()
                .filter_map(|piece| match piece {
                    Piece::Var { name, .. } => Some(name),
                    Piece::Text(_) => None,
                })
                .collect()
        },
    )
}

/// `text` with its variables replaced from `vars`. An error names the
/// variable and says how to give it.
pub(crate) fn resolve(text: &str, vars: Vars<'_>) -> Result<Resolved, String> {
    let mut value = String::with_capacity(text.len());
    let mut pending = Vec::new();
    for piece in pieces(text)? {
        let (name, fallback) = match piece {
            Piece::Text(text) => {
                value.push_str(text);
                continue;
            }
            Piece::Var { name, fallback } => (name, fallback),
        };
        let given = match vars {
            Vars::Compiled => None,
            Vars::Given(lookup) => lookup(name).filter(|value| !value.is_empty()),
        };
        match (given, fallback) {
            (Some(given), _) => value.push_str(&given),
            (None, Fallback::Default(default)) => value.push_str(default),
            (None, _) if matches!(vars, Vars::Compiled) => pending.push(name.to_owned()),
            (None, Fallback::Required(message)) => {
                return Err(format!("the variable `{name}` is not set: {message}"));
            }
            (None, Fallback::None) => {
                return Err(format!(
                    "the variable `{name}` is not set; set it, or give a default: `${{{name}:-...}}`"
                ));
            }
        }
    }
    Ok(if pending.is_empty() {
        Resolved::Value(value)
    } else {
        Resolved::Pending(pending)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(text: &str) -> Result<Resolved, String> {
        let lookup = |name: &str| (name == "HOST").then(|| "db.internal".to_owned());
        resolve(text, Vars::Given(&lookup))
    }

    #[test]
    fn replaces_variables_defaults_and_dollars() {
        let value = |text| Ok(Resolved::Value(String::from(text)));
        assert_eq!(given("tcp://${HOST}:1"), value("tcp://db.internal:1"));
        assert_eq!(given("${PORT:-9000}"), value("9000"));
        assert_eq!(given("a$$b"), value("a$b"));
        assert_eq!(given("${HOST:-x}"), value("db.internal"));
        assert_eq!(
            resolve("${HOST}:${PORT:-1}", Vars::Compiled),
            Ok(Resolved::Pending(vec!["HOST".into()]))
        );
        assert!(given("${PORT}").unwrap_err().contains("`PORT` is not set"));
        assert!(
            given("${PORT:?say which port}")
                .unwrap_err()
                .ends_with("say which port")
        );
    }

    #[test]
    fn rejects_malformed_syntax_without_echoing_the_value() {
        for bad in ["pa$s", "${HOST", "${}", "${9X}", "${A B}"] {
            let error = resolve(&format!("ws://user:{bad}@h"), Vars::Compiled).unwrap_err();
            assert!(!error.contains("user"), "{error}");
        }
    }
}
