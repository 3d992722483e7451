//! Which hosts an endpoint may name: RFC 1123 host names, IPv4 addresses
//! and (bracketed in the endpoint) IPv6 addresses.

use std::net::{Ipv4Addr, Ipv6Addr};

/// The longest host name DNS carries, without a trailing dot.
const MAX_HOST_NAME: usize = 253;
/// The longest label of a host name.
const MAX_LABEL: usize = 63;

/// Why `host` cannot be connected to, or `None` if it can. `bracketed` says
/// whether the endpoint wrote it in `[...]`, which only IPv6 takes.
pub(crate) fn host_problem(host: &str, bracketed: bool) -> Option<String> {
    if bracketed {
        return match host.parse::<Ipv6Addr>() {
            Ok(_) => None,
            Err(_) => Some(format!("`[{host}]` is not an IPv6 address")),
        };
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() {
        return Some("the host is empty".into());
    }
    if name.len() > MAX_HOST_NAME {
        return Some(format!(
            "the host name is {} characters long, more than the {MAX_HOST_NAME} DNS allows",
            name.len()
        ));
    }
    let labels: Vec<&str> = name.split('.').collect();
    // An all-numeric name can only be an IPv4 address: `999.1.1.1` is not a
    // host any resolver will look up.
    if labels
        .iter()
        .all(|label| !label.is_empty() && label.bytes().all(|b| b.is_ascii_digit()))
    {
        return match name.parse::<Ipv4Addr>() {
            Ok(_) => None,
            Err(_) => Some(format!("`{host}` is not an IPv4 address")),
        };
    }
    for label in labels {
        if label.is_empty() {
            return Some(format!(
                "the host `{host}` has an empty label (two dots in a row, or a leading dot)"
            ));
        }
        if label.len() > MAX_LABEL {
            return Some(format!(
                "the label `{label}` of the host is longer than {MAX_LABEL} characters"
            ));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Some(format!(
                "the host `{host}` contains {bad:?}; a host name has letters, digits, `-` and `.` only"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!(
                "the label `{label}` of the host starts or ends with `-`"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_names_and_addresses_only() {
        for good in [
            "localhost",
            "example.com",
            "a-b.c0",
            "127.0.0.1",
            "example.com.",
        ] {
            assert_eq!(host_problem(good, false), None, "{good}");
        }
        assert_eq!(host_problem("::1", true), None);
        for bad in [
            "exa!mple.com",
            "-bad-.com",
            "a..b",
            "${GATEWAY_HOST}",
            "999.1.1.1",
            ".a",
        ] {
            assert!(host_problem(bad, false).is_some(), "{bad}");
        }
        assert!(host_problem("not-v6", true).is_some());
        assert!(host_problem(&"a".repeat(64), false).is_some());
    }
}
