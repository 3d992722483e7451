//! Which service names can become Rust accessors.

/// Names that `include_sinks!` generates on `Sinks` itself (or that `Sinks`
/// gets from `Clone` and `Default`), so no service may take them.
pub const RESERVED_NAMES: &[&str] = &[
    "new",
    "default",
    "clone",
    "get",
    "flush_all",
    "disconnect_all",
    "from_env",
    "with_overrides",
    "snapshot",
    "connect_all",
    "preflight",
    "shutdown",
];

/// Rust's keywords, strict, reserved and edition-dependent: none of them can
/// be a method name without `r#`.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "try", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield",
];

/// Whether `name` can be a generated accessor: the rules `include_sinks!`
/// checks service names by (lowercase identifier, no keyword of any edition,
/// none of [`RESERVED_NAMES`]).
pub fn is_accessor_name(name: &str) -> bool {
    name_problem(name).is_none()
}

/// Why `name` cannot name a service, with the fix, or `None` if it can.
pub(crate) fn name_problem(name: &str) -> Option<(String, String)> {
    let suggestion = suggested_name(name);
    if name.is_empty() {
        return Some((
            "the service name is empty".into(),
            "name it like `market_data_relay`".into(),
        ));
    }
    let starts_well = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_');
    let is_identifier = starts_well
        && name != "_"
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !is_identifier {
        return Some((
            format!("the service name `{name}` is not a lowercase Rust identifier"),
            format!(
                "use lowercase letters, digits and `_`, starting with a letter or `_`{}",
                suggestion.map_or(String::new(), |s| format!(", e.g. `{s}`"))
            ),
        ));
    }
    if KEYWORDS.contains(&name) {
        return Some((
            format!("the service name `{name}` is a Rust keyword"),
            format!("rename it, e.g. `{name}_sink`"),
        ));
    }
    if RESERVED_NAMES.contains(&name) {
        return Some((
            format!("the service name `{name}` would clash with the generated `Sinks::{name}`"),
            format!("rename it, e.g. `{name}_sink`"),
        ));
    }
    None
}

/// A lowercase identifier close to `name` (`Market-Data` → `market_data`).
fn suggested_name(name: &str) -> Option<String> {
    let mut snake = String::new();
    for (index, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if index > 0 && !snake.ends_with('_') {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            snake.push(c);
        } else if !snake.ends_with('_') {
            snake.push('_');
        }
    }
    let snake = snake.trim_matches('_').to_owned();
    let usable = snake.starts_with(|c: char| c.is_ascii_lowercase());
    (usable && snake != name).then_some(snake)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_lowercase_identifiers_only() {
        assert!(name_problem("market_data_relay").is_none());
        assert!(name_problem("_private2").is_none());
        assert!(
            name_problem("Market-Data")
                .unwrap()
                .1
                .contains("`market_data`")
        );
        assert!(name_problem("9lives").is_some());
        assert!(name_problem("match").unwrap().0.contains("keyword"));
        assert!(name_problem("flush_all").unwrap().0.contains("clash"));
    }
}
