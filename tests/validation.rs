//! Every validation rule of `services.toml`, as `SinkFactory` reports it:
//! one test per rule, each asserting the exact rendered text of every
//! problem (`line:col: service `x`, key `y`: message; help`). Then the
//! forms the validator accepts and the model values they parse to.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sinks::config::{
    CompositePattern, Endpoint, Framing, LeafConfig, RetryPolicy, ServiceKind, WebSocketEndpoint,
};
use sinks::{SinkError, SinkFactory};

/// The rendered problems of a config `SinkFactory` must reject.
fn problems(toml: &str) -> Vec<String> {
    match SinkFactory::from_config_str(toml) {
        Err(SinkError::InvalidConfig(errors)) => {
            errors.iter().map(|error| errors.render(error)).collect()
        }
        Err(other) => panic!("expected InvalidConfig, got {other:?}\nconfig:\n{toml}"),
        Ok(_) => panic!("the config was accepted:\n{toml}"),
    }
}

/// Asserts that `toml` is rejected with exactly `expected`, in this order.
fn assert_rejected(toml: &str, expected: &[&str]) {
    assert_eq!(problems(toml), expected, "config:\n{toml}");
}

/// Table-driven: each config is rejected with exactly its one problem.
fn assert_each_rejected(cases: &[(&str, &str)]) {
    for (toml, expected) in cases {
        assert_rejected(toml, &[expected]);
    }
}

/// A service `a` of `kind` with `endpoint` on line 3 (the value at 3:12).
fn leaf(kind: &str, endpoint: &str) -> String {
    format!("[services.a]\ntype = \"{kind}\"\nendpoint = \"{endpoint}\"\n")
}

/// A relay `leaf` on lines 1-4, so a composite written after it starts on line 5.
const LEAF: &str = "[services.leaf]\ntype = \"relay\"\nendpoint = \"/tmp/leaf.sock\"\n\n";

/// `LEAF`, then composite `group` (line 5) with `body` from line 6 on.
fn with_group(body: &str) -> String {
    format!("{LEAF}[services.group]\ntype = \"composite\"\n{body}")
}

fn accepted(toml: &str) -> SinkFactory {
    match SinkFactory::from_config_str(toml) {
        Ok(factory) => factory,
        Err(error) => panic!("rejected: {error}\nconfig:\n{toml}"),
    }
}

fn leaf_config(factory: &SinkFactory, name: &str) -> LeafConfig {
    match &factory.config().get(name).expect("service is defined").kind {
        ServiceKind::Relay(config) | ServiceKind::Direct(config) => config.clone(),
        other => panic!("`{name}` is not a leaf: {other:?}"),
    }
}

fn endpoint_of(kind: &str, endpoint: &str) -> Endpoint {
    leaf_config(&accepted(&leaf(kind, endpoint)), "a").endpoint
}

// ---------------------------------------------------------------- syntax ---

#[test]
fn toml_syntax_error_is_reported_with_its_place() {
    assert_rejected(
        "[services.a]\ntype = \"relay\nendpoint = \"/tmp/a.sock\"\n",
        &["2:14: invalid TOML: invalid basic string, expected `\"`"],
    );
    assert_rejected(
        "[services.a\ntype = \"relay\"\n",
        &["1:12: invalid TOML: unclosed table, expected `]`"],
    );
}

#[test]
fn empty_file_is_rejected() {
    let help = "add a `[services.NAME]` table with a `type`";
    assert_each_rejected(&[
        ("", &format!("1:1: the config defines no services; {help}")),
        (
            "# nothing yet\n\n",
            &format!("1:1: the config defines no services; {help}"),
        ),
        (
            "[services]\n",
            &format!("1:1: the config defines no services; {help}"),
        ),
    ]);
}

#[test]
fn unknown_top_level_key_is_rejected() {
    assert_rejected(
        &format!("title = \"sinks\"\n{}", leaf("relay", "/tmp/a.sock")),
        &["1:1: unknown top-level key `title`; every service is a `[services.NAME]` table"],
    );
}

#[test]
fn services_that_is_not_a_table_is_rejected() {
    assert_rejected(
        "services = 3\n",
        &[
            "1:12: `services` must be a table of services; write each service as a `[services.NAME]` table",
        ],
    );
    assert_rejected(
        "[services]\na = \"relay\"\n",
        &[
            "2:1: service `a`: must be a table, found a string; write it as `[services.a]` followed by its keys",
        ],
    );
}

// ------------------------------------------------------------------ keys ---

#[test]
fn unknown_service_key_suggests_the_closest_or_lists_the_keys() {
    assert_rejected(
        &format!(
            "{}bufer_size = 10\ncolour = \"red\"\n",
            leaf("relay", "/tmp/a.sock")
        ),
        &[
            "4:1: service `a`, key `bufer_size`: unknown key `bufer_size`; did you mean `buffer_size`?",
            "5:1: service `a`, key `colour`: unknown key `colour`; the keys a service takes are type, endpoint, pattern, targets, buffer_size, max_retries, retry_delay_ms, framing, max_message_bytes, tls_ca_file, lazy",
        ],
    );
}

#[test]
fn misspelt_endpoint_is_reported_once_not_also_as_missing() {
    assert_rejected(
        "[services.a]\ntype = \"relay\"\nendpont = \"/tmp/a.sock\"\n",
        &["3:1: service `a`, key `endpont`: unknown key `endpont`; did you mean `endpoint`?"],
    );
}

#[test]
fn unknown_lazy_key_suggests_the_closest() {
    assert_rejected(
        &format!(
            "{}lazy.max_retry = 5\nlazy.colour = 1\n",
            leaf("relay", "/tmp/a.sock")
        ),
        &[
            "4:6: service `a`, key `lazy.max_retry`: unknown key `lazy.max_retry`; did you mean `lazy.max_retries`?",
            "5:6: service `a`, key `lazy.colour`: unknown key `lazy.colour`; the `lazy` keys are max_retries, retry_delay_ms, backoff_multiplier, max_retry_delay_secs, auto_reconnect, connect_timeout_secs, wait_timeout_secs",
        ],
    );
}

#[test]
fn lazy_that_is_not_a_table_is_rejected() {
    assert_rejected(
        &format!("{}lazy = true\n", leaf("relay", "/tmp/a.sock")),
        &[
            "4:1: service `a`, key `lazy`: `lazy` must be a table, found a boolean; write `lazy.max_retries = 5` or a `[services.NAME.lazy]` table",
        ],
    );
}

#[test]
fn max_retries_both_at_top_level_and_in_lazy_is_rejected() {
    assert_rejected(
        &format!(
            "{}max_retries = 3\nlazy.max_retries = 5\n",
            leaf("relay", "/tmp/a.sock")
        ),
        &[
            "5:6: service `a`, key `lazy.max_retries`: `max_retries` is set both at the top level and as `lazy.max_retries`; keep one of them",
        ],
    );
    assert_rejected(
        &format!(
            "{}retry_delay_ms = 10\n\n[services.a.lazy]\nretry_delay_ms = 20\n",
            leaf("relay", "/tmp/a.sock")
        ),
        &[
            "7:1: service `a`, key `lazy.retry_delay_ms`: `retry_delay_ms` is set both at the top level and as `lazy.retry_delay_ms`; keep one of them",
        ],
    );
}

#[test]
fn wrong_value_types_are_rejected() {
    let a = leaf("relay", "/tmp/a.sock");
    assert_each_rejected(&[
        (
            "[services.a]\ntype = 1\n",
            "2:8: service `a`, key `type`: expected a string, found an integer",
        ),
        (
            "[services.a]\ntype = \"relay\"\nendpoint = [\"/tmp/a.sock\"]\n",
            "3:12: service `a`, key `endpoint`: expected a string, found an array",
        ),
        (
            &format!("{a}buffer_size = \"big\"\n"),
            "4:15: service `a`, key `buffer_size`: expected a whole number, found a string",
        ),
        (
            &format!("{a}buffer_size = 1.5\n"),
            "4:15: service `a`, key `buffer_size`: expected a whole number, found a float",
        ),
        (
            &format!("{a}max_retries = -1\n"),
            "4:15: service `a`, key `max_retries`: -1 is not a whole number from 0 to 18446744073709551615",
        ),
        (
            &format!("{a}lazy.retry_delay_ms = \"1s\"\n"),
            "4:23: service `a`, key `lazy.retry_delay_ms`: expected a whole number, found a string",
        ),
        (
            &format!("{a}framing = 4\n"),
            "4:11: service `a`, key `framing`: expected a string, found an integer",
        ),
        (
            &format!("{a}lazy.auto_reconnect = \"yes\"\n"),
            "4:23: service `a`, key `lazy.auto_reconnect`: expected a boolean, found a string",
        ),
        (
            &format!("{a}lazy.connect_timeout_secs = \"5s\"\n"),
            "4:29: service `a`, key `lazy.connect_timeout_secs`: expected a number, found a string",
        ),
        (
            &format!("{a}lazy.backoff_multiplier = nan\n"),
            "4:27: service `a`, key `lazy.backoff_multiplier`: expected a finite number",
        ),
        (
            &with_group("pattern = \"fanout\"\ntargets = \"leaf\"\n"),
            "8:11: service `group`, key `targets`: expected an array of service names, found a string",
        ),
        (
            &with_group("pattern = \"fanout\"\ntargets = [\"leaf\", 2]\n"),
            "8:20: service `group`, key `targets`: expected a service name, found an integer",
        ),
    ]);
}

#[test]
fn unknown_framing_is_rejected() {
    let a = leaf("relay", "/tmp/a.sock");
    assert_each_rejected(&[
        (
            &format!("{a}framing = \"length-prefixed\"\n"),
            "4:11: service `a`, key `framing`: unknown framing `length-prefixed`; did you mean `length_prefixed`?",
        ),
        (
            &format!("{a}framing = \"json\"\n"),
            "4:11: service `a`, key `framing`: unknown framing `json`; use `\"length_prefixed\"` or `\"raw\"`",
        ),
    ]);
}

// ------------------------------------------------------------------ type ---

#[test]
fn missing_type_is_rejected() {
    assert_rejected(
        "[services.a]\nendpoint = \"/tmp/a.sock\"\n",
        &[
            "1:11: service `a`, key `type`: missing `type`; add `type = \"relay\"`, `\"direct\"` or `\"composite\"`",
        ],
    );
}

#[test]
fn unknown_type_is_rejected() {
    assert_each_rejected(&[
        (
            &leaf("relai", "/tmp/a.sock"),
            "2:8: service `a`, key `type`: unknown type `relai`; did you mean `relay`?",
        ),
        (
            &leaf("queue", "/tmp/a.sock"),
            "2:8: service `a`, key `type`: unknown type `queue`; the types are `relay`, `direct` and `composite`",
        ),
    ]);
}

// -------------------------------------------------------------- endpoint ---

#[test]
fn relay_or_direct_without_endpoint_is_rejected() {
    assert_each_rejected(&[
        (
            "[services.a]\ntype = \"relay\"\n",
            "1:11: service `a`, key `endpoint`: a relay service needs an `endpoint`; add e.g. `endpoint = \"unix:///tmp/relay.sock\"`",
        ),
        (
            "[services.a]\ntype = \"direct\"\n",
            "1:11: service `a`, key `endpoint`: a direct service needs an `endpoint`; add e.g. `endpoint = \"tcp://127.0.0.1:9000\"`",
        ),
    ]);
}

#[test]
fn endpoint_on_a_composite_is_rejected() {
    assert_rejected(
        &with_group("pattern = \"fanout\"\ntargets = [\"leaf\"]\nendpoint = \"/tmp/group.sock\"\n"),
        &[
            "9:1: service `group`, key `endpoint`: `endpoint` does not apply to a composite; a composite sends through its `targets`; remove `endpoint`, or make the service `relay` or `direct`",
        ],
    );
}

#[test]
fn unsupported_scheme_lists_the_supported_ones() {
    assert_each_rejected(&[
        (
            &leaf("direct", "http://example.com:80"),
            "3:12: service `a`, key `endpoint`: unsupported scheme `http://`; supported schemes are unix://, tcp://, ws://, wss://",
        ),
        (
            &leaf("direct", "localhost:9000"),
            "3:12: service `a`, key `endpoint`: the endpoint \"localhost:9000\" has no scheme; write it as one of unix://, tcp://, ws://, wss://, e.g. `tcp://localhost:9000`",
        ),
        (
            &leaf("relay", "udp://127.0.0.1:9000"),
            "3:12: service `a`, key `endpoint`: unsupported scheme `udp://` for a relay; a relay takes `unix:///abs/path` or a bare absolute path",
        ),
    ]);
}

#[test]
fn relay_over_tcp_or_websocket_says_to_use_direct() {
    let help =
        "use `type = \"direct\"` for a TCP or WebSocket peer, or a `unix:///abs/path` endpoint";
    assert_each_rejected(&[
        (
            &leaf("relay", "tcp://127.0.0.1:9000"),
            &format!(
                "3:12: service `a`, key `endpoint`: a relay connects over a Unix socket, but the endpoint is tcp://127.0.0.1:9000; {help}"
            ),
        ),
        (
            &leaf("relay", "wss://user:secret@example.com/feed"),
            &format!(
                "3:12: service `a`, key `endpoint`: a relay connects over a Unix socket, but the endpoint is wss://***@example.com/feed; {help}"
            ),
        ),
    ]);
}

#[test]
fn bare_path_on_a_direct_is_rejected() {
    assert_rejected(
        &leaf("direct", "/tmp/a.sock"),
        &[
            "3:12: service `a`, key `endpoint`: a bare path is only accepted for a relay, got \"/tmp/a.sock\"; write `unix:///tmp/a.sock`",
        ],
    );
}

#[test]
fn empty_endpoint_is_rejected() {
    assert_each_rejected(&[
        (
            &leaf("direct", ""),
            "3:12: service `a`, key `endpoint`: the endpoint is empty; use one of unix://, tcp://, ws://, wss://",
        ),
        (
            &leaf("relay", ""),
            "3:12: service `a`, key `endpoint`: the endpoint is empty; a relay takes `unix:///abs/path` or a bare absolute path, e.g. `unix:///tmp/relay.sock`",
        ),
    ]);
}

#[test]
fn endpoint_without_host_is_rejected() {
    let message =
        "the endpoint has no host; write it as `scheme://host:port`, e.g. `tcp://127.0.0.1:9000`";
    for endpoint in [
        "tcp://:9000",
        "ws:///feed",
        "wss://:443/feed",
        "tcp://[]:9000",
    ] {
        assert_rejected(
            &leaf("direct", endpoint),
            &[&format!("3:12: service `a`, key `endpoint`: {message}")],
        );
    }
}

#[test]
fn endpoint_without_port_is_rejected() {
    assert_each_rejected(&[
        (
            &leaf("direct", "tcp://localhost"),
            "3:12: service `a`, key `endpoint`: the endpoint has no port after the host \"localhost\"; write it as `localhost:PORT`",
        ),
        (
            &leaf("direct", "tcp://[::1]"),
            "3:12: service `a`, key `endpoint`: the endpoint has no port after the host \"::1\"; write it as `[::1]:PORT`",
        ),
    ]);
}

#[test]
fn endpoint_with_bad_port_is_rejected() {
    for (endpoint, port, host) in [
        ("tcp://localhost:99999", "99999", "localhost"),
        ("tcp://localhost:0", "0", "localhost"),
        ("tcp://localhost:http", "http", "localhost"),
        ("tcp://localhost:", "", "localhost"),
        ("tcp://localhost:+80", "+80", "localhost"),
        ("ws://example.com:-1/feed", "-1", "example.com"),
        ("tcp://[::1]:70000", "70000", "[::1]"),
    ] {
        assert_rejected(
            &leaf("direct", endpoint),
            &[&format!(
                "3:12: service `a`, key `endpoint`: the port {port:?} is not a number from 1 to 65535; write it as `{host}:PORT`"
            )],
        );
    }
}

#[test]
fn relative_unix_path_is_rejected() {
    assert_each_rejected(&[
        (
            &leaf("direct", "unix://tmp/a.sock"),
            "3:12: service `a`, key `endpoint`: the Unix socket path \"tmp/a.sock\" is relative; write an absolute path, e.g. `unix:///tmp/a.sock`",
        ),
        (
            &leaf("relay", "unix://relay.sock"),
            "3:12: service `a`, key `endpoint`: the Unix socket path \"relay.sock\" is relative; write an absolute path, e.g. `unix:///relay.sock`",
        ),
        (
            &leaf("relay", "relay.sock"),
            "3:12: service `a`, key `endpoint`: the relay endpoint \"relay.sock\" is neither a `unix://` URL nor an absolute path; a relay takes `unix:///abs/path` or a bare absolute path, e.g. `unix:///tmp/relay.sock`",
        ),
    ]);
}

#[test]
fn empty_unix_path_is_rejected() {
    for kind in ["relay", "direct"] {
        assert_rejected(
            &leaf(kind, "unix://"),
            &[
                "3:12: service `a`, key `endpoint`: the Unix socket path is empty; write an absolute path, e.g. `unix:///tmp/relay.sock`",
            ],
        );
    }
}

#[test]
fn unix_path_longer_than_107_bytes_is_rejected() {
    let longest = format!("/{}", "s".repeat(106));
    let too_long = format!("/{}", "s".repeat(107));
    let message = "3:12: service `a`, key `endpoint`: the Unix socket path is 108 bytes long, but a socket address holds at most 107; use a shorter path";
    assert_each_rejected(&[
        (&leaf("relay", &too_long), message),
        (&leaf("relay", &format!("unix://{too_long}")), message),
        (&leaf("direct", &format!("unix://{too_long}")), message),
    ]);
    assert_eq!(
        endpoint_of("relay", &longest),
        Endpoint::Unix(PathBuf::from(&longest))
    );
}

#[test]
fn tcp_endpoint_with_a_path_is_rejected() {
    assert_rejected(
        &leaf("direct", "tcp://localhost:9000/feed"),
        &[
            "3:12: service `a`, key `endpoint`: a tcp:// endpoint has no path, but \"tcp://localhost:9000/feed\" has \"/feed\"",
        ],
    );
}

#[test]
fn endpoint_errors_never_show_credentials() {
    for endpoint in [
        "http://user:secret@example.com",
        "tcp://user:secret@example.com:9000",
        "ws://user:secret@:80/feed",
    ] {
        let shown = problems(&leaf("direct", endpoint)).join("\n");
        assert!(!shown.contains("secret"), "{shown}");
    }
    assert_rejected(
        &leaf("direct", "tcp://user:secret@example.com:9000"),
        &[
            "3:12: service `a`, key `endpoint`: only ws:// and wss:// endpoints take a `user:password@`; remove the part up to `@`",
        ],
    );
}

#[test]
fn tls_ca_file_on_a_non_wss_endpoint_is_rejected() {
    let message = "4:1: service `a`, key `tls_ca_file`: `tls_ca_file` only applies to a `wss://` endpoint; remove it, or use a `wss://` endpoint";
    assert_each_rejected(&[
        (
            &format!(
                "{}tls_ca_file = \"ca.pem\"\n",
                leaf("direct", "ws://example.com/feed")
            ),
            message,
        ),
        (
            &format!(
                "{}tls_ca_file = \"ca.pem\"\n",
                leaf("direct", "tcp://example.com:1")
            ),
            message,
        ),
        (
            &format!("{}tls_ca_file = \"ca.pem\"\n", leaf("relay", "/tmp/a.sock")),
            message,
        ),
        (
            &format!(
                "{}tls_ca_file = \"\"\n",
                leaf("direct", "wss://example.com/feed")
            ),
            "4:15: service `a`, key `tls_ca_file`: `tls_ca_file` is empty; name a PEM file of CA certificates, or remove the key",
        ),
    ]);
}

// ------------------------------------------------------------- composite ---

#[test]
fn composite_without_pattern_is_rejected() {
    assert_rejected(
        &with_group("targets = [\"leaf\"]\n"),
        &[
            "5:11: service `group`, key `pattern`: a composite needs a `pattern`; add `pattern = \"fanout\"`, `\"round_robin\"` or `\"failover\"`",
        ],
    );
}

#[test]
fn unknown_pattern_is_rejected() {
    assert_each_rejected(&[
        (
            &with_group("pattern = \"round-robin\"\ntargets = [\"leaf\"]\n"),
            "7:11: service `group`, key `pattern`: unknown pattern `round-robin`; did you mean `round_robin`?",
        ),
        (
            &with_group("pattern = \"random\"\ntargets = [\"leaf\"]\n"),
            "7:11: service `group`, key `pattern`: unknown pattern `random`; the patterns are `fanout`, `round_robin` and `failover`",
        ),
    ]);
}

#[test]
fn composite_without_targets_is_rejected() {
    assert_rejected(
        &with_group("pattern = \"fanout\"\n"),
        &[
            "5:11: service `group`, key `targets`: a composite needs `targets`; add e.g. `targets = [\"primary\", \"backup\"]`",
        ],
    );
}

#[test]
fn composite_with_empty_targets_is_rejected() {
    assert_rejected(
        &with_group("pattern = \"fanout\"\ntargets = []\n"),
        &[
            "8:11: service `group`, key `targets`: `targets` is empty; list at least one service, e.g. `targets = [\"primary\", \"backup\"]`",
        ],
    );
}

#[test]
fn target_listed_twice_is_rejected() {
    assert_rejected(
        &with_group("pattern = \"fanout\"\ntargets = [\"leaf\", \"leaf\"]\n"),
        &[
            "8:20: service `group`, key `targets`: target `leaf` is listed twice; remove the second `leaf`",
        ],
    );
}

#[test]
fn undefined_target_suggests_the_closest_name() {
    assert_rejected(
        &with_group("pattern = \"fanout\"\ntargets = [\"leef\", \"archive\"]\n"),
        &[
            "8:12: service `group`, key `targets`: target `leef` is not defined; did you mean `leaf`?",
            "8:20: service `group`, key `targets`: target `archive` is not defined; define `[services.archive]`, or remove it from `targets`",
        ],
    );
}

#[test]
fn self_reference_is_a_cycle() {
    assert_rejected(
        &with_group("pattern = \"fanout\"\ntargets = [\"leaf\", \"group\"]\n"),
        &[
            "8:1: service `group`, key `targets`: the targets form a cycle: group -> group; a composite cannot target itself; remove `group` from its `targets`",
        ],
    );
}

#[test]
fn cycle_is_shown_as_its_path() {
    let help = "a composite cannot reach itself through its targets; remove one link of the cycle";
    assert_rejected(
        &format!(
            "{LEAF}[services.a]\ntype = \"composite\"\npattern = \"fanout\"\ntargets = [\"leaf\", \"b\"]\n\n\
             [services.b]\ntype = \"composite\"\npattern = \"failover\"\ntargets = [\"a\"]\n"
        ),
        &[&format!(
            "8:1: service `a`, key `targets`: the targets form a cycle: a -> b -> a; {help}"
        )],
    );
    // Written from the service the file defines first, whichever the search met first.
    assert_rejected(
        &format!(
            "{LEAF}[services.z]\ntype = \"composite\"\npattern = \"fanout\"\ntargets = [\"x\"]\n\n\
             [services.y]\ntype = \"composite\"\npattern = \"fanout\"\ntargets = [\"z\"]\n\n\
             [services.x]\ntype = \"composite\"\npattern = \"fanout\"\ntargets = [\"y\", \"leaf\"]\n"
        ),
        &[&format!(
            "8:1: service `z`, key `targets`: the targets form a cycle: z -> x -> y -> z; {help}"
        )],
    );
}

#[test]
fn pattern_or_targets_on_a_leaf_is_rejected() {
    assert_rejected(
        &format!(
            "{}pattern = \"fanout\"\ntargets = [\"a\"]\n",
            leaf("relay", "/tmp/a.sock")
        ),
        &[
            "4:1: service `a`, key `pattern`: `pattern` only applies to a composite, not a relay; remove `pattern`, or make the service `type = \"composite\"`",
            "5:1: service `a`, key `targets`: `targets` only applies to a composite, not a relay; remove `targets`, or make the service `type = \"composite\"`",
        ],
    );
}

#[test]
fn leaf_keys_on_a_composite_are_rejected() {
    assert_rejected(
        &with_group(
            "pattern = \"fanout\"\ntargets = [\"leaf\"]\nbuffer_size = 10\nlazy.max_retries = 2\n",
        ),
        &[
            "9:1: service `group`, key `buffer_size`: `buffer_size` does not apply to a composite; set `buffer_size` on the target services instead",
            "10:1: service `group`, key `lazy`: `lazy` does not apply to a composite; set `lazy` on the target services instead",
        ],
    );
}

// ----------------------------------------------------------------- values ---

#[test]
fn buffer_size_zero_is_rejected() {
    assert_rejected(
        &format!("{}buffer_size = 0\n", leaf("relay", "/tmp/a.sock")),
        &["4:15: service `a`, key `buffer_size`: `buffer_size` is 0; use at least 1"],
    );
}

#[test]
fn backoff_multiplier_below_one_is_rejected() {
    let a = leaf("relay", "/tmp/a.sock");
    let help = "use 1 for a constant delay or more for a growing one";
    assert_each_rejected(&[
        (
            &format!("{a}lazy.backoff_multiplier = 0.5\n"),
            &format!(
                "4:27: service `a`, key `lazy.backoff_multiplier`: `backoff_multiplier` is 0.5, below 1; {help}"
            ),
        ),
        (
            &format!("{a}lazy.backoff_multiplier = -2\n"),
            &format!(
                "4:27: service `a`, key `lazy.backoff_multiplier`: `backoff_multiplier` is -2, below 1; {help}"
            ),
        ),
    ]);
}

#[test]
fn zero_timeouts_are_rejected() {
    let a = leaf("relay", "/tmp/a.sock");
    let help = "use a positive number of seconds, e.g. 0.5 or 10";
    assert_each_rejected(&[
        (
            &format!("{a}lazy.connect_timeout_secs = 0\n"),
            &format!(
                "4:29: service `a`, key `lazy.connect_timeout_secs`: `lazy.connect_timeout_secs` is 0; {help}"
            ),
        ),
        (
            &format!("{a}lazy.wait_timeout_secs = 0.0\n"),
            &format!(
                "4:26: service `a`, key `lazy.wait_timeout_secs`: `lazy.wait_timeout_secs` is 0; {help}"
            ),
        ),
        (
            &format!("{a}lazy.max_retry_delay_secs = 0\n"),
            &format!(
                "4:29: service `a`, key `lazy.max_retry_delay_secs`: `lazy.max_retry_delay_secs` is 0; {help}"
            ),
        ),
        (
            &format!("{a}[services.a.lazy]\nconnect_timeout_secs = -1.5\n"),
            &format!(
                "5:24: service `a`, key `lazy.connect_timeout_secs`: `lazy.connect_timeout_secs` is not a positive number of seconds; {help}"
            ),
        ),
        (
            &format!("{a}lazy.wait_timeout_secs = 1e-10\n"),
            &format!(
                "4:26: service `a`, key `lazy.wait_timeout_secs`: `lazy.wait_timeout_secs` is less than a nanosecond; {help}"
            ),
        ),
        (
            &format!("{a}lazy.wait_timeout_secs = 1e300\n"),
            &format!(
                "4:26: service `a`, key `lazy.wait_timeout_secs`: `lazy.wait_timeout_secs` is more seconds than a duration holds; {help}"
            ),
        ),
    ]);
}

#[test]
fn max_message_bytes_over_u32_max_is_rejected() {
    let a = leaf("relay", "/tmp/a.sock");
    assert_each_rejected(&[
        (
            &format!("{a}max_message_bytes = 4294967296\n"),
            "4:21: service `a`, key `max_message_bytes`: 4294967296 does not fit the u32 length prefix of a frame; use at most 4294967295",
        ),
        (
            &format!("{a}max_message_bytes = 0\n"),
            "4:21: service `a`, key `max_message_bytes`: `max_message_bytes` is 0; use at least 1",
        ),
    ]);
    let factory = accepted(&format!("{a}max_message_bytes = 4294967295\n"));
    assert_eq!(leaf_config(&factory, "a").max_message_bytes, 4_294_967_295);
}

#[test]
fn max_retries_over_u32_max_is_rejected() {
    let a = leaf("relay", "/tmp/a.sock");
    assert_each_rejected(&[
        (
            &format!("{a}max_retries = 4294967296\n"),
            "4:15: service `a`, key `max_retries`: `max_retries` is 4294967296, above the limit of 4294967295",
        ),
        (
            &format!("{a}lazy.max_retries = 4294967296\n"),
            "4:20: service `a`, key `lazy.max_retries`: `lazy.max_retries` is 4294967296, above the limit of 4294967295",
        ),
    ]);
}

// ----------------------------------------------------------------- names ---

#[test]
fn service_name_that_is_not_a_lowercase_identifier_is_rejected() {
    let rule = "use lowercase letters, digits and `_`, starting with a letter or `_`";
    for (name, header, suggestion) in [
        ("MarketData", "MarketData", ", e.g. `market_data`"),
        ("market-data", "market-data", ", e.g. `market_data`"),
        ("9lives", "9lives", ""),
        ("_", "_", ""),
        ("café", "\"café\"", ", e.g. `caf`"),
    ] {
        assert_rejected(
            &format!("[services.{header}]\ntype = \"relay\"\nendpoint = \"/tmp/a.sock\"\n"),
            &[&format!(
                "1:11: service `{name}`: the service name `{name}` is not a lowercase Rust identifier; {rule}{suggestion}"
            )],
        );
    }
    assert_rejected(
        "[services.\"\"]\ntype = \"relay\"\nendpoint = \"/tmp/a.sock\"\n",
        &["1:11: service ``: the service name is empty; name it like `market_data_relay`"],
    );
}

#[test]
fn service_name_that_is_a_rust_keyword_is_rejected() {
    for name in ["match", "type", "self", "async", "gen", "yield"] {
        assert_rejected(
            &format!("[services.{name}]\ntype = \"relay\"\nendpoint = \"/tmp/a.sock\"\n"),
            &[&format!(
                "1:11: service `{name}`: the service name `{name}` is a Rust keyword; rename it, e.g. `{name}_sink`"
            )],
        );
    }
}

#[test]
fn reserved_service_names_are_rejected() {
    for name in [
        "new",
        "default",
        "clone",
        "get",
        "flush_all",
        "disconnect_all",
    ] {
        assert_rejected(
            &format!("[services.{name}]\ntype = \"relay\"\nendpoint = \"/tmp/a.sock\"\n"),
            &[&format!(
                "1:11: service `{name}`: the service name `{name}` would clash with the generated `Sinks::{name}`; rename it, e.g. `{name}_sink`"
            )],
        );
    }
}

#[test]
fn service_defined_twice_is_named() {
    assert_rejected(
        "[services.a]\ntype = \"relay\"\nendpoint = \"/tmp/a.sock\"\n\n[services.a]\ntype = \"relay\"\nendpoint = \"/tmp/b.sock\"\n",
        &[
            "5:1: service `a`: the table is defined twice (first at line 1); remove one of the two tables, or rename one",
        ],
    );
}

// ------------------------------------------------------ all at once -------

#[test]
fn every_problem_is_reported_in_file_order_in_one_error() {
    let toml = "\
[services.Relay]
type = \"relay\"
endpoint = \"tcp://127.0.0.1:9000\"
buffer_size = 0

[services.feed]
type = \"direct\"
endpont = \"ws://example.com/feed\"
lazy.backoff_multiplier = 0.5

[services.group]
type = \"composite\"
pattern = \"fanot\"
targets = [\"Relay\", \"feeds\", \"group\"]
";
    assert_rejected(
        toml,
        &[
            "1:11: service `Relay`: the service name `Relay` is not a lowercase Rust identifier; use lowercase letters, digits and `_`, starting with a letter or `_`, e.g. `relay`",
            "3:12: service `Relay`, key `endpoint`: a relay connects over a Unix socket, but the endpoint is tcp://127.0.0.1:9000; use `type = \"direct\"` for a TCP or WebSocket peer, or a `unix:///abs/path` endpoint",
            "4:15: service `Relay`, key `buffer_size`: `buffer_size` is 0; use at least 1",
            "8:1: service `feed`, key `endpont`: unknown key `endpont`; did you mean `endpoint`?",
            "9:27: service `feed`, key `lazy.backoff_multiplier`: `backoff_multiplier` is 0.5, below 1; use 1 for a constant delay or more for a growing one",
            "13:11: service `group`, key `pattern`: unknown pattern `fanot`; did you mean `fanout`?",
            "14:1: service `group`, key `targets`: the targets form a cycle: group -> group; a composite cannot target itself; remove `group` from its `targets`",
            "14:21: service `group`, key `targets`: target `feeds` is not defined; did you mean `feed`?",
        ],
    );
}

#[test]
fn the_message_lists_every_problem() {
    let Err(SinkError::InvalidConfig(errors)) =
        SinkFactory::from_config_str("[services.a]\ntype = \"relay\"\n\n[services.b]\n")
    else {
        panic!("expected InvalidConfig");
    };
    assert_eq!(
        SinkError::InvalidConfig(errors).to_string(),
        "2 problems in the sinks config\n  \
         1:11: service `a`, key `endpoint`: a relay service needs an `endpoint`; add e.g. `endpoint = \"unix:///tmp/relay.sock\"`\n  \
         4:11: service `b`, key `type`: missing `type`; add `type = \"relay\"`, `\"direct\"` or `\"composite\"`"
    );
}

/// The "Example services.toml" of the SINK-003 design, verbatim.
const SEED_EXAMPLE: &str = r#"# Stage 1 configuration file
[services.market_data_relay]
type = "relay"
endpoint = "unix:///tmp/market_data_relay.sock"
buffer_size = 10000
max_retries = 3
retry_delay_ms = 100

[services.polygon_strategy]
type = "direct"
endpoint = "tcp://127.0.0.1:9001"
buffer_size = 5000

[services.dashboard]
type = "direct"
endpoint = "ws://127.0.0.1:8080/ws"

[services.broadcast_all]
type = "composite"
pattern = "fanout"
targets = ["market_data_relay", "dashboard"]

[services.failover_group]
type = "composite"
pattern = "failover"
targets = ["polygon_strategy", "backup_strategy"]

# Lazy connection config (optional)
[services.slow_service]
type = "direct"
endpoint = "tcp://remote:9999"
lazy.max_retries = 5
lazy.retry_delay_ms = 500
lazy.auto_reconnect = true
lazy.connect_timeout_secs = 10
"#;

#[test]
fn seed_example_fails_only_on_its_undefined_backup_strategy() {
    assert_rejected(
        SEED_EXAMPLE,
        &[
            "26:32: service `failover_group`, key `targets`: target `backup_strategy` is not defined; define `[services.backup_strategy]`, or remove it from `targets`",
        ],
    );
}

// ---------------------------------------------------------------- accepted ---

fn manifest_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

#[test]
fn examples_services_toml_is_accepted() {
    let factory = SinkFactory::from_config(manifest_path("examples/services.toml"))
        .unwrap_or_else(|error| panic!("{error}"));
    let names: Vec<&str> = factory.config().names().collect();
    assert_eq!(
        names,
        [
            "market_data_relay",
            "polygon_strategy",
            "dashboard",
            "broadcast_all",
            "failover_group",
            "backup_strategy",
            "slow_service"
        ]
    );
    let ServiceKind::Composite(group) = &factory.config().get("failover_group").unwrap().kind
    else {
        panic!("failover_group is a composite");
    };
    assert_eq!(group.pattern, CompositePattern::Failover);
    assert_eq!(group.targets, ["polygon_strategy", "backup_strategy"]);
}

#[test]
fn unset_keys_take_their_defaults() {
    let config = leaf_config(&accepted(&leaf("relay", "/tmp/a.sock")), "a");
    assert_eq!(
        config,
        LeafConfig::new(Endpoint::Unix("/tmp/a.sock".into()))
    );
    assert_eq!(config.buffer_size, 10_000);
    assert_eq!(config.max_message_bytes, 16 * 1024 * 1024);
    assert_eq!(config.framing, Framing::LengthPrefixed);
    assert_eq!(config.tls_ca_file, None);
    let retry = config.retry;
    assert_eq!(retry.max_retries, 3);
    assert_eq!(retry.retry_delay, Duration::from_millis(100));
    assert_eq!(retry.backoff_multiplier, 2.0);
    assert_eq!(retry.max_retry_delay, Duration::from_secs(5));
    assert!(retry.auto_reconnect);
    assert_eq!(retry.connect_timeout, Duration::from_secs(5));
    assert_eq!(retry.wait_timeout, Duration::from_secs(30));
}

#[test]
fn every_key_sets_its_model_value() {
    let factory = accepted(&format!(
        "{}buffer_size = 10_000_0\nmax_message_bytes = 0x400\nframing = \"raw\"\n\
         max_retries = 7\nretry_delay_ms = 250\n\
         lazy.backoff_multiplier = 1\nlazy.max_retry_delay_secs = 1.5\nlazy.auto_reconnect = false\n\
         lazy.connect_timeout_secs = 0.25\nlazy.wait_timeout_secs = 2\n",
        leaf("direct", "tcp://example.com:9000")
    ));
    let expected = LeafConfig::new(Endpoint::Tcp {
        host: "example.com".into(),
        port: 9000,
    })
    .buffer_size(100_000)
    .max_message_bytes(1024)
    .framing(Framing::Raw)
    .retry(
        RetryPolicy::default()
            .max_retries(7)
            .retry_delay(Duration::from_millis(250))
            .backoff_multiplier(1.0)
            .max_retry_delay(Duration::from_millis(1500))
            .auto_reconnect(false)
            .connect_timeout(Duration::from_millis(250))
            .wait_timeout(Duration::from_secs(2)),
    );
    assert_eq!(leaf_config(&factory, "a"), expected);
}

#[test]
fn lazy_dotted_keys_and_lazy_table_parse_alike() {
    let dotted = accepted(&format!(
        "{}lazy.max_retries = 5\nlazy.retry_delay_ms = 500\nlazy.backoff_multiplier = 1.5\nlazy.connect_timeout_secs = 10\n",
        leaf("relay", "/tmp/a.sock")
    ));
    let table = accepted(&format!(
        "{}\n[services.a.lazy]\nmax_retries = 5\nretry_delay_ms = 500\nbackoff_multiplier = 1.5\nconnect_timeout_secs = 10\n",
        leaf("relay", "/tmp/a.sock")
    ));
    let expected = RetryPolicy::default()
        .max_retries(5)
        .retry_delay(Duration::from_millis(500))
        .backoff_multiplier(1.5)
        .connect_timeout(Duration::from_secs(10));
    assert_eq!(leaf_config(&dotted, "a").retry, expected);
    assert_eq!(leaf_config(&table, "a").retry, expected);
}

#[test]
fn fractional_seconds_are_accepted() {
    let factory = accepted(&format!(
        "{}lazy.connect_timeout_secs = 0.25\nlazy.wait_timeout_secs = 0.001\nlazy.max_retry_delay_secs = 2.5\n",
        leaf("relay", "/tmp/a.sock")
    ));
    let retry = leaf_config(&factory, "a").retry;
    assert_eq!(retry.connect_timeout, Duration::from_millis(250));
    assert_eq!(retry.wait_timeout, Duration::from_millis(1));
    assert_eq!(retry.max_retry_delay, Duration::from_millis(2500));
}

#[test]
fn relay_bare_path_is_a_unix_endpoint() {
    assert_eq!(
        endpoint_of("relay", "/tmp/a.sock"),
        Endpoint::Unix("/tmp/a.sock".into())
    );
    assert_eq!(
        endpoint_of("relay", "unix:///tmp/a.sock"),
        endpoint_of("relay", "/tmp/a.sock")
    );
    assert_eq!(
        endpoint_of("direct", "unix:///tmp/a.sock"),
        Endpoint::Unix("/tmp/a.sock".into())
    );
}

#[test]
fn websocket_ports_default_to_80_and_443() {
    assert_eq!(
        endpoint_of("direct", "ws://example.com/feed"),
        Endpoint::WebSocket(WebSocketEndpoint {
            secure: false,
            host: "example.com".into(),
            port: 80,
            path: "/feed".into(),
            credentials: None,
        })
    );
    assert_eq!(
        endpoint_of("direct", "wss://example.com"),
        Endpoint::WebSocket(WebSocketEndpoint {
            secure: true,
            host: "example.com".into(),
            port: 443,
            path: "/".into(),
            credentials: None,
        })
    );
    assert_eq!(
        endpoint_of("direct", "wss://user:pw@[::1]:8443/a?b=c"),
        Endpoint::WebSocket(WebSocketEndpoint {
            secure: true,
            host: "::1".into(),
            port: 8443,
            path: "/a?b=c".into(),
            credentials: Some("user:pw".into()),
        })
    );
}

#[test]
fn tcp_endpoint_takes_an_ipv6_host() {
    assert_eq!(
        endpoint_of("direct", "tcp://[::1]:9000"),
        Endpoint::Tcp {
            host: "::1".into(),
            port: 9000
        }
    );
    assert_eq!(
        endpoint_of("direct", "tcp://[fe80::1%25eth0]:65535"),
        Endpoint::Tcp {
            host: "fe80::1%25eth0".into(),
            port: 65535
        }
    );
}

#[test]
fn framing_raw_is_accepted() {
    let a = leaf("direct", "tcp://127.0.0.1:9000");
    let raw = accepted(&format!("{a}framing = \"raw\"\n"));
    assert_eq!(leaf_config(&raw, "a").framing, Framing::Raw);
    let prefixed = accepted(&format!("{a}framing = \"length_prefixed\"\n"));
    assert_eq!(leaf_config(&prefixed, "a").framing, Framing::LengthPrefixed);
}

#[test]
fn composite_parses_to_its_pattern_and_targets() {
    let factory = accepted(&format!(
        "{LEAF}[services.b]\ntype = \"direct\"\nendpoint = \"tcp://127.0.0.1:1\"\n\n\
         [services.group]\ntype = \"composite\"\npattern = \"round_robin\"\ntargets = [\"b\", \"leaf\"]\n\n\
         [services.top]\ntype = \"composite\"\npattern = \"failover\"\ntargets = [\"group\", \"leaf\"]\n"
    ));
    for (name, pattern, targets) in [
        ("group", CompositePattern::RoundRobin, ["b", "leaf"]),
        ("top", CompositePattern::Failover, ["group", "leaf"]),
    ] {
        let ServiceKind::Composite(composite) = &factory.config().get(name).unwrap().kind else {
            panic!("`{name}` is a composite");
        };
        assert_eq!(composite.pattern, pattern);
        assert_eq!(composite.targets, targets);
    }
}

#[test]
fn relative_tls_ca_file_is_resolved_against_the_config_directory() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("services.toml");
    std::fs::write(
        &path,
        "[services.feed]\ntype = \"direct\"\nendpoint = \"wss://example.com/feed\"\ntls_ca_file = \"certs/ca.pem\"\n\n\
         [services.pinned]\ntype = \"direct\"\nendpoint = \"wss://example.com/feed\"\ntls_ca_file = \"/etc/ssl/ca.pem\"\n",
    )
    .expect("write the config");
    let factory = SinkFactory::from_config(&path).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        leaf_config(&factory, "feed").tls_ca_file,
        Some(dir.path().join("certs/ca.pem"))
    );
    assert_eq!(
        leaf_config(&factory, "pinned").tls_ca_file,
        Some(PathBuf::from("/etc/ssl/ca.pem"))
    );
    // Without a file there is nothing to resolve against: kept as written.
    let from_text = accepted(
        "[services.feed]\ntype = \"direct\"\nendpoint = \"wss://example.com/feed\"\ntls_ca_file = \"certs/ca.pem\"\n",
    );
    assert_eq!(
        leaf_config(&from_text, "feed").tls_ca_file,
        Some(PathBuf::from("certs/ca.pem"))
    );
}

#[test]
fn errors_from_a_file_name_the_file() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("services.toml");
    std::fs::write(&path, "[services.a]\ntype = \"relay\"\n").expect("write the config");
    let Err(SinkError::InvalidConfig(errors)) = SinkFactory::from_config(&path) else {
        panic!("expected InvalidConfig");
    };
    let rendered: Vec<String> = errors.iter().map(|e| errors.render(e)).collect();
    assert_eq!(
        rendered,
        [format!(
            "{}:1:11: service `a`, key `endpoint`: a relay service needs an `endpoint`; add e.g. `endpoint = \"unix:///tmp/relay.sock\"`",
            path.display()
        )]
    );
}

#[test]
fn missing_config_file_is_named() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("absent.toml");
    let Err(SinkError::InvalidConfig(errors)) = SinkFactory::from_config(&path) else {
        panic!("expected InvalidConfig");
    };
    let rendered: Vec<String> = errors.iter().map(|e| errors.render(e)).collect();
    assert_eq!(
        rendered,
        [format!(
            "{}: cannot read the config file: No such file or directory (os error 2)",
            path.display()
        )]
    );
}

#[tokio::test]
async fn create_sink_for_an_undefined_name_suggests_the_closest() {
    let factory = accepted(&format!(
        "{}\n[services.unknown]\ntype = \"direct\"\nendpoint = \"tcp://127.0.0.1:1\"\n",
        leaf("relay", "/tmp/a.sock")
    ));
    let Err(SinkError::InvalidConfig(errors)) = factory.create_sink("unknwn").await else {
        panic!("expected InvalidConfig");
    };
    let rendered: Vec<String> = errors.iter().map(|e| errors.render(e)).collect();
    assert_eq!(
        rendered,
        ["service `unknwn` is not defined; did you mean `unknown`?"]
    );
    let Err(SinkError::InvalidConfig(errors)) = factory.create_sink("zzz").await else {
        panic!("expected InvalidConfig");
    };
    assert_eq!(
        errors.to_string(),
        "1 problem in the sinks config\n  service `zzz` is not defined"
    );
}
