//! The `services.toml` validator as `SinkFactory` runs it: one test per rule,
//! each asserting the exact rendered problems (`line:column: service `x`,
//! key `y`: message; help`), then a file with many problems, the seed's
//! example, and the model values every accepted form parses to.

use std::time::Duration;

use sinks::config::{
    CompositePattern, Endpoint, Framing, LeafConfig, RetryPolicy, ServiceConfig, ServiceKind,
    ServicesConfig,
};
use sinks::{SinkError, SinkFactory};

/// The rendered problems of a config that must be rejected, in order.
fn problems(toml: &str) -> Vec<String> {
    match SinkFactory::from_config_str(toml) {
        Err(SinkError::InvalidConfig(errors)) => {
            errors.iter().map(|error| errors.render(error)).collect()
        }
        Err(other) => panic!("expected InvalidConfig, got {other:?}\nconfig:\n{toml}"),
        Ok(_) => panic!("the config was accepted:\n{toml}"),
    }
}

/// The validated model of a config that must be accepted.
fn accepted(toml: &str) -> ServicesConfig {
    match SinkFactory::from_config_str(toml) {
        Ok(factory) => factory.config().clone(),
        Err(error) => panic!("the config was rejected: {error}\nconfig:\n{toml}"),
    }
}

fn leaf<'a>(config: &'a ServicesConfig, name: &str) -> &'a LeafConfig {
    match &service(config, name).kind {
        ServiceKind::Relay(leaf) | ServiceKind::Direct(leaf) => leaf,
        other => panic!("`{name}` is a {}, not a leaf", other.type_name()),
    }
}

fn service<'a>(config: &'a ServicesConfig, name: &str) -> &'a ServiceConfig {
    config
        .get(name)
        .unwrap_or_else(|| panic!("no service `{name}`"))
}

/// One `#[test]` per rule, named for it: the config is rejected with exactly
/// these rendered problems, in this order.
macro_rules! rejects {
    ($($(#[$meta:meta])* $rule:ident: $toml:expr => [$($problem:expr),+ $(,)?];)+) => {
        $(
            $(#[$meta])*
            #[test]
            fn $rule() {
                let toml: &str = &$toml;
                let expected: &[&str] = &[$($problem),+];
                assert_eq!(problems(toml), expected, "config:\n{toml}");
            }
        )+
    };
}

// A valid relay `a` to point targets at.
const RELAY_A: &str = "[services.a]\ntype = \"relay\"\nendpoint = \"/tmp/a.sock\"\n";

/// `[services.a]` of `type` with `endpoint`, then `extra` lines.
fn leaf_with(service_type: &str, endpoint: &str, extra: &str) -> String {
    format!("[services.a]\ntype = \"{service_type}\"\nendpoint = \"{endpoint}\"\n{extra}")
}

/// `RELAY_A`, then a composite `c` (line 4) with `body` from line 6.
fn composite_with(body: &str) -> String {
    format!("{RELAY_A}[services.c]\ntype = \"composite\"\n{body}")
}

rejects! {
    // Host names, framing on WebSocket, ranges (issue 10).
    rejects_bad_host_names: leaf_with("direct", "tcp://exa!mple.com:1", "") => [
        "3:12: service `a`, key `endpoint`: the host `exa!mple.com` contains '!'; a host name has letters, digits, `-` and `.` only; write a host name (RFC 1123), an IPv4 address or a bracketed IPv6 address",
    ];
    rejects_a_label_ending_with_a_hyphen: leaf_with("direct", "ws://-bad-.com/x", "") => [
        "3:12: service `a`, key `endpoint`: the label `-bad-` of the host starts or ends with `-`; write a host name (RFC 1123), an IPv4 address or a bracketed IPv6 address",
    ];
    rejects_framing_on_a_websocket: leaf_with("direct", "ws://127.0.0.1:1/x", "framing = \"raw\"\n") => [
        "4:11: service `a`, key `framing`: `framing` does not apply to a WebSocket endpoint: each message is one binary frame; remove `framing`",
    ];
    rejects_max_retries_above_the_cap: leaf_with("relay", "/tmp/a", "max_retries = 4294967295\n") => [
        "4:15: service `a`, key `max_retries`: `max_retries` is 4294967295; use a whole number from 0 to 1000000",
    ];
    rejects_credentials_without_a_scheme_without_echoing_them: leaf_with("direct", "u:secret@h:1", "") => [
        "3:12: service `a`, key `endpoint`: the endpoint \"***@h:1\" has no scheme; write it as one of unix://, tcp://, ws://, wss://, nats://, e.g. `tcp://***@h:1`",
    ];
    rejects_an_unset_variable_naming_it: leaf_with("direct", "tcp://${SINKS_TEST_UNSET_HOST}:1", "") => [
        "3:12: service `a`, key `endpoint`: the variable `SINKS_TEST_UNSET_HOST` is not set; set it, or give a default: `${SINKS_TEST_UNSET_HOST:-...}`",
    ];
    rejects_a_required_variable_with_its_message: leaf_with("direct", "tcp://${SINKS_TEST_UNSET_HOST:?the gateway host}:1", "") => [
        "3:12: service `a`, key `endpoint`: the variable `SINKS_TEST_UNSET_HOST` is not set: the gateway host",
    ];
    rejects_a_composite_over_another_domain: format!("{RELAY_A}domain = \"signals\"\n[services.c]\ntype = \"composite\"\npattern = \"fanout\"\ntargets = [\"a\"]\ndomain = \"execution\"\n") => [
        "8:12: service `c`, key `targets`: target `a` is in the `signals` domain, but the composite is in `execution`; a composite only targets services of its own domain (or of none); remove the target or change a `domain`",
    ];
    rejects_a_key_set_twice_naming_key_and_service: leaf_with("relay", "/tmp/a", "buffer_size = 1\nbuffer_size = 2\nlazy.max_retries = -1\n") => [
        "5:1: service `a`, key `buffer_size`: `buffer_size` is set twice; keep one `buffer_size`",
        "6:20: service `a`, key `lazy.max_retries`: `lazy.max_retries` is -1; use a whole number from 0 to 1000000",
    ];

    // TOML syntax.
    rejects_toml_syntax_error: "[services.a\ntype = \"relay\"\n" => [
        "1:12: invalid TOML: unclosed table, expected `]`",
    ];
    rejects_unquoted_string_value: "[services.a]\ntype = relay\n" => [
        "2:8: service `a`: invalid TOML: string values must be quoted, expected literal string",
    ];
    rejects_service_table_defined_twice: format!("{RELAY_A}{RELAY_A}") => [
        "4:1: service `a`: the table is defined twice (first at line 1); remove one of the two tables, or rename one",
    ];
    rejects_service_table_defined_twice_with_comments:
        "[services.a] # one\ntype = \"relay\"\nendpoint = \"/tmp/a\"\n[ services . a ] # two\ntype = \"relay\"\n" => [
        "4:1: service `a`: the table is defined twice (first at line 1); remove one of the two tables, or rename one",
    ];

    // Unknown keys.
    rejects_unknown_key_with_did_you_mean: leaf_with("relay", "/tmp/a", "endpont = \"/tmp/b\"\n") => [
        "4:1: service `a`, key `endpont`: unknown key `endpont`; did you mean `endpoint`?",
    ];
    rejects_unknown_key_listing_the_keys: leaf_with("relay", "/tmp/a", "colour = 1\n") => [
        "4:1: service `a`, key `colour`: unknown key `colour`; the keys a service takes are type, endpoint, buffer_size, max_message_bytes, framing, max_retries, retry_delay_ms, tls_ca_file, jetstream, jetstream_max_in_flight, pattern, targets, domain, precision_context, metadata, lazy",
    ];
    misspelt_endpoint_is_not_also_reported_missing: "[services.a]\ntype = \"relay\"\nendpont = \"/tmp/a\"\n" => [
        "3:1: service `a`, key `endpont`: unknown key `endpont`; did you mean `endpoint`?",
    ];
    rejects_unknown_lazy_key_with_did_you_mean: leaf_with("relay", "/tmp/a", "lazy.max_retrys = 1\n") => [
        "4:6: service `a`, key `lazy.max_retrys`: unknown key `lazy.max_retrys`; did you mean `lazy.max_retries`?",
    ];
    rejects_unknown_lazy_key_listing_the_keys: leaf_with("relay", "/tmp/a", "[services.a.lazy]\nfoo = 1\n") => [
        "5:1: service `a`, key `lazy.foo`: unknown key `lazy.foo`; the `lazy` keys are max_retries, retry_delay_ms, backoff_multiplier, max_retry_delay_secs, connect_timeout_secs, auto_reconnect, wait_timeout_secs",
    ];
    rejects_unknown_top_level_key: format!("title = \"x\"\n{RELAY_A}") => [
        "1:1: unknown top-level key `title`; every service is a `[services.NAME]` table",
    ];
    rejects_misspelt_services_table: "[service.a]\ntype = \"relay\"\nendpoint = \"/tmp/a\"\n" => [
        "1:2: unknown top-level key `service`; every service is a `[services.NAME]` table",
    ];

    // `type`.
    rejects_missing_type: "[services.a]\nendpoint = \"/tmp/a\"\n" => [
        "1:11: service `a`, key `type`: missing `type`; add `type = \"relay\"`, `\"direct\"` or `\"composite\"`",
    ];
    rejects_unknown_type_with_did_you_mean: leaf_with("relai", "/tmp/a", "") => [
        "2:8: service `a`, key `type`: unknown type `relai`; did you mean `relay`?",
    ];
    unknown_type_with_swapped_letters_suggests_the_type: leaf_with("realy", "/tmp/a", "") => [
        "2:8: service `a`, key `type`: unknown type `realy`; did you mean `relay`?",
    ];
    rejects_unknown_type_listing_the_types: leaf_with("queue", "/tmp/a", "") => [
        "2:8: service `a`, key `type`: unknown type `queue`; the types are `relay`, `direct` and `composite`",
    ];

    // Endpoint presence.
    rejects_relay_without_endpoint: "[services.a]\ntype = \"relay\"\n" => [
        "1:11: service `a`, key `endpoint`: a relay service needs an `endpoint`; add e.g. `endpoint = \"unix:///tmp/relay.sock\"`",
    ];
    rejects_direct_without_endpoint: "[services.a]\ntype = \"direct\"\n" => [
        "1:11: service `a`, key `endpoint`: a direct service needs an `endpoint`; add e.g. `endpoint = \"tcp://127.0.0.1:9000\"`",
    ];
    rejects_endpoint_on_composite: composite_with("pattern = \"fanout\"\ntargets = [\"a\"]\nendpoint = \"/tmp/c\"\n") => [
        "8:1: service `c`, key `endpoint`: `endpoint` does not apply to a composite; a composite sends through its `targets`; remove `endpoint`, or make the service `relay` or `direct`",
    ];

    // Endpoint schemes.
    rejects_unsupported_scheme_listing_the_supported_ones: leaf_with("direct", "udp://127.0.0.1:9000", "") => [
        "3:12: service `a`, key `endpoint`: unsupported scheme `udp://`; supported schemes are unix://, tcp://, ws://, wss://, nats://",
    ];
    rejects_unsupported_scheme_on_relay_listing_the_relay_forms: leaf_with("relay", "http://h:1", "") => [
        "3:12: service `a`, key `endpoint`: unsupported scheme `http://` for a relay; a relay takes `unix:///abs/path` or a bare absolute path",
    ];
    rejects_relay_over_tcp_saying_to_use_direct: leaf_with("relay", "tcp://127.0.0.1:9000", "") => [
        "3:12: service `a`, key `endpoint`: a relay connects over a Unix socket, but the endpoint is tcp://127.0.0.1:9000; use `type = \"direct\"` for a TCP, WebSocket or NATS peer, or a `unix:///abs/path` endpoint",
    ];
    rejects_relay_over_websocket_saying_to_use_direct: leaf_with("relay", "ws://h:1/x", "") => [
        "3:12: service `a`, key `endpoint`: a relay connects over a Unix socket, but the endpoint is ws://h:1/x; use `type = \"direct\"` for a TCP, WebSocket or NATS peer, or a `unix:///abs/path` endpoint",
    ];
    rejects_direct_endpoint_without_scheme: leaf_with("direct", "localhost:9000", "") => [
        "3:12: service `a`, key `endpoint`: the endpoint \"localhost:9000\" has no scheme; write it as one of unix://, tcp://, ws://, wss://, nats://, e.g. `tcp://localhost:9000`",
    ];
    rejects_bare_path_on_direct: leaf_with("direct", "/tmp/a.sock", "") => [
        "3:12: service `a`, key `endpoint`: a bare path is only accepted for a relay, got \"/tmp/a.sock\"; write `unix:///tmp/a.sock`",
    ];

    // Malformed endpoints.
    rejects_endpoint_without_host: leaf_with("direct", "tcp://:9000", "") => [
        "3:12: service `a`, key `endpoint`: the endpoint has no host; write it as `scheme://host:port`, e.g. `tcp://127.0.0.1:9000`",
    ];
    rejects_websocket_endpoint_without_host: leaf_with("direct", "ws:///feed", "") => [
        "3:12: service `a`, key `endpoint`: the endpoint has no host; write it as `scheme://host:port`, e.g. `tcp://127.0.0.1:9000`",
    ];
    rejects_tcp_endpoint_without_port: leaf_with("direct", "tcp://127.0.0.1", "") => [
        "3:12: service `a`, key `endpoint`: the endpoint has no port after the host \"127.0.0.1\"; write it as `127.0.0.1:PORT`",
    ];
    rejects_port_above_65535: leaf_with("direct", "tcp://127.0.0.1:99999", "") => [
        "3:12: service `a`, key `endpoint`: the port \"99999\" is not a number from 1 to 65535; write it as `127.0.0.1:PORT`",
    ];
    rejects_port_zero: leaf_with("direct", "tcp://127.0.0.1:0", "") => [
        "3:12: service `a`, key `endpoint`: the port \"0\" is not a number from 1 to 65535; write it as `127.0.0.1:PORT`",
    ];
    rejects_empty_port: leaf_with("direct", "ws://example.com:/x", "") => [
        "3:12: service `a`, key `endpoint`: the port \"\" is not a number from 1 to 65535; write it as `example.com:PORT`",
    ];
    rejects_unbracketed_ipv6_host: leaf_with("direct", "tcp://::1:9000", "") => [
        "3:12: service `a`, key `endpoint`: the host in \"::1:9000\" has more than one `:`; write an IPv6 address in brackets, e.g. `[::1]:9000`",
    ];
    rejects_tcp_endpoint_with_path: leaf_with("direct", "tcp://h:9000/x", "") => [
        "3:12: service `a`, key `endpoint`: a tcp:// endpoint has no path, but \"tcp://h:9000/x\" has \"/x\"",
    ];
    rejects_tcp_credentials_without_echoing_them: leaf_with("direct", "tcp://user:secret@h:9000", "") => [
        "3:12: service `a`, key `endpoint`: only ws://, wss:// and nats:// endpoints take a `user:password@`; remove the part up to `@`",
    ];
    rejects_relative_unix_path: leaf_with("relay", "unix://tmp/a.sock", "") => [
        "3:12: service `a`, key `endpoint`: the Unix socket path \"tmp/a.sock\" is relative; write an absolute path, e.g. `unix:///tmp/a.sock`",
    ];
    rejects_relative_bare_relay_path: leaf_with("relay", "relay.sock", "") => [
        "3:12: service `a`, key `endpoint`: the relay endpoint \"relay.sock\" is neither a `unix://` URL nor an absolute path; a relay takes `unix:///abs/path` or a bare absolute path, e.g. `unix:///tmp/relay.sock`",
    ];
    rejects_empty_unix_path: leaf_with("direct", "unix://", "") => [
        "3:12: service `a`, key `endpoint`: the Unix socket path is empty; write an absolute path, e.g. `unix:///tmp/relay.sock`",
    ];
    rejects_empty_relay_endpoint: leaf_with("relay", "", "") => [
        "3:12: service `a`, key `endpoint`: the endpoint is empty; a relay takes `unix:///abs/path` or a bare absolute path, e.g. `unix:///tmp/relay.sock`",
    ];
    rejects_empty_direct_endpoint: leaf_with("direct", "", "") => [
        "3:12: service `a`, key `endpoint`: the endpoint is empty; use one of unix://, tcp://, ws://, wss://, nats://",
    ];
    rejects_unix_path_of_108_bytes: leaf_with("relay", &format!("/tmp/{}", "x".repeat(103)), "") => [
        "3:12: service `a`, key `endpoint`: the Unix socket path is 108 bytes long, but a socket address holds at most 107; use a shorter path",
    ];

    // Composites.
    rejects_composite_without_pattern: composite_with("targets = [\"a\"]\n") => [
        "4:11: service `c`, key `pattern`: a composite needs a `pattern`; add `pattern = \"fanout\"`, `\"round_robin\"` or `\"failover\"`",
    ];
    rejects_unknown_pattern_with_did_you_mean: composite_with("pattern = \"fan_out\"\ntargets = [\"a\"]\n") => [
        "6:11: service `c`, key `pattern`: unknown pattern `fan_out`; did you mean `fanout`?",
    ];
    rejects_unknown_pattern_listing_the_patterns: composite_with("pattern = \"broadcast\"\ntargets = [\"a\"]\n") => [
        "6:11: service `c`, key `pattern`: unknown pattern `broadcast`; use `\"fanout\"`, `\"round_robin\"` or `\"failover\"`",
    ];
    rejects_composite_without_targets: composite_with("pattern = \"fanout\"\n") => [
        "4:11: service `c`, key `targets`: a composite needs `targets`; add e.g. `targets = [\"primary\", \"backup\"]`",
    ];
    rejects_composite_with_empty_targets: composite_with("pattern = \"fanout\"\ntargets = []\n") => [
        "7:11: service `c`, key `targets`: `targets` is empty; list at least one service, e.g. `targets = [\"primary\", \"backup\"]`",
    ];
    rejects_target_listed_twice: composite_with("pattern = \"fanout\"\ntargets = [\"a\", \"a\"]\n") => [
        "7:17: service `c`, key `targets`: target `a` is listed twice; remove the second `a`",
    ];
    rejects_undefined_target_suggesting_the_closest_name:
        "[services.alpha]\ntype = \"relay\"\nendpoint = \"/tmp/a\"\n[services.c]\ntype = \"composite\"\npattern = \"fanout\"\ntargets = [\"alpah\"]\n" => [
        "7:12: service `c`, key `targets`: target `alpah` is not defined; did you mean `alpha`?",
    ];
    rejects_undefined_target_without_a_close_name: composite_with("pattern = \"fanout\"\ntargets = [\"a\", \"zzz\"]\n") => [
        "7:17: service `c`, key `targets`: target `zzz` is not defined; define `[services.zzz]`, or remove it from `targets`",
    ];
    rejects_self_reference_as_a_cycle: composite_with("pattern = \"fanout\"\ntargets = [\"a\", \"c\"]\n") => [
        "7:1: service `c`, key `targets`: the targets form a cycle: c -> c; a composite cannot target itself; remove `c` from its `targets`",
    ];
    rejects_two_service_cycle_showing_its_path:
        "[services.a]\ntype = \"composite\"\npattern = \"fanout\"\ntargets = [\"b\"]\n[services.b]\ntype = \"composite\"\npattern = \"failover\"\ntargets = [\"a\"]\n" => [
        "4:1: service `a`, key `targets`: the targets form a cycle: a -> b -> a; a composite cannot reach itself through its targets; remove one link of the cycle",
    ];
    rejects_three_service_cycle_from_its_earliest_service:
        "[services.x]\ntype = \"composite\"\npattern = \"fanout\"\ntargets = [\"z\"]\n[services.y]\ntype = \"composite\"\npattern = \"fanout\"\ntargets = [\"x\"]\n[services.z]\ntype = \"composite\"\npattern = \"round_robin\"\ntargets = [\"y\"]\n" => [
        "4:1: service `x`, key `targets`: the targets form a cycle: x -> z -> y -> x; a composite cannot reach itself through its targets; remove one link of the cycle",
    ];
    rejects_pattern_and_targets_on_a_leaf: leaf_with("relay", "/tmp/a", "pattern = \"fanout\"\ntargets = [\"a\"]\n") => [
        "4:1: service `a`, key `pattern`: `pattern` only applies to a composite, not a relay; remove `pattern`, or make the service `type = \"composite\"`",
        "5:1: service `a`, key `targets`: `targets` only applies to a composite, not a relay; remove `targets`, or make the service `type = \"composite\"`",
    ];
    rejects_leaf_keys_on_a_composite: composite_with("pattern = \"fanout\"\ntargets = [\"a\"]\nbuffer_size = 5\nlazy.max_retries = 1\n") => [
        "8:1: service `c`, key `buffer_size`: `buffer_size` does not apply to a composite; set `buffer_size` on the target services instead",
        "9:1: service `c`, key `lazy`: `lazy` does not apply to a composite; set `lazy` on the target services instead",
    ];

    // Numbers and durations.
    rejects_zero_buffer_size: leaf_with("relay", "/tmp/a", "buffer_size = 0\n") => [
        "4:15: service `a`, key `buffer_size`: `buffer_size` is 0; use a whole number from 1 to 16777216",
    ];
    rejects_backoff_multiplier_below_one: leaf_with("relay", "/tmp/a", "lazy.backoff_multiplier = 0.5\n") => [
        "4:27: service `a`, key `lazy.backoff_multiplier`: `lazy.backoff_multiplier` is 0.5; use a number from 1 to 1000",
    ];
    rejects_nan_backoff_multiplier: leaf_with("relay", "/tmp/a", "lazy.backoff_multiplier = nan\n") => [
        "4:27: service `a`, key `lazy.backoff_multiplier`: `lazy.backoff_multiplier` is nan; use a number from 1 to 1000",
    ];
    rejects_zero_connect_timeout: leaf_with("relay", "/tmp/a", "lazy.connect_timeout_secs = 0\n") => [
        "4:29: service `a`, key `lazy.connect_timeout_secs`: `lazy.connect_timeout_secs` is 0; use a number of seconds from 0.001 to 86400 (a day)",
    ];
    rejects_zero_wait_timeout: leaf_with("relay", "/tmp/a", "lazy.wait_timeout_secs = 0.0\n") => [
        "4:26: service `a`, key `lazy.wait_timeout_secs`: `lazy.wait_timeout_secs` is 0.0; use a number of seconds from 0.001 to 86400 (a day)",
    ];
    rejects_zero_max_retry_delay: leaf_with("relay", "/tmp/a", "[services.a.lazy]\nmax_retry_delay_secs = 0\n") => [
        "5:24: service `a`, key `lazy.max_retry_delay_secs`: `lazy.max_retry_delay_secs` is 0; use a number of seconds from 0.001 to 86400 (a day)",
    ];
    rejects_negative_timeout: leaf_with("relay", "/tmp/a", "lazy.connect_timeout_secs = -1\n") => [
        "4:29: service `a`, key `lazy.connect_timeout_secs`: `lazy.connect_timeout_secs` is -1; use a number of seconds from 0.001 to 86400 (a day)",
    ];
    rejects_timeout_too_long_for_a_duration: leaf_with("relay", "/tmp/a", "lazy.connect_timeout_secs = 1e300\n") => [
        "4:29: service `a`, key `lazy.connect_timeout_secs`: `lazy.connect_timeout_secs` is 1e300; use a number of seconds from 0.001 to 86400 (a day)",
    ];
    rejects_negative_retry_count: leaf_with("relay", "/tmp/a", "max_retries = -1\n") => [
        "4:15: service `a`, key `max_retries`: `max_retries` is -1; use a whole number from 0 to 1000000",
    ];
    rejects_max_message_bytes_over_u32_max: leaf_with("direct", "tcp://h:1", "max_message_bytes = 4294967296\n") => [
        "4:21: service `a`, key `max_message_bytes`: `max_message_bytes` is 4294967296; use a whole number from 1 to 4294967295",
    ];
    rejects_max_retries_both_top_level_and_lazy: leaf_with("relay", "/tmp/a", "max_retries = 1\nlazy.max_retries = 2\n") => [
        "5:6: service `a`, key `lazy.max_retries`: `max_retries` is set both at the top level and as `lazy.max_retries`; keep one of them",
    ];
    rejects_retry_delay_both_top_level_and_lazy: leaf_with("relay", "/tmp/a", "retry_delay_ms = 1\n[services.a.lazy]\nretry_delay_ms = 2\n") => [
        "6:1: service `a`, key `lazy.retry_delay_ms`: `retry_delay_ms` is set both at the top level and as `lazy.retry_delay_ms`; keep one of them",
    ];

    // Wrong value types.
    rejects_non_string_type: "[services.a]\ntype = 1\n" => [
        "2:8: service `a`, key `type`: expected `\"relay\"`, `\"direct\"` or `\"composite\"`, found an integer",
    ];
    rejects_non_string_endpoint_and_still_checks_the_rest:
        "[services.a]\ntype = \"relay\"\nendpoint = 5\nbuffer_size = 0\n" => [
        "3:12: service `a`, key `endpoint`: expected a string, found an integer",
        "4:15: service `a`, key `buffer_size`: `buffer_size` is 0; use a whole number from 1 to 16777216",
    ];
    rejects_string_buffer_size: leaf_with("relay", "/tmp/a", "buffer_size = \"10\"\n") => [
        "4:15: service `a`, key `buffer_size`: expected a whole number from 1 to 16777216, found a string",
    ];
    rejects_float_retry_count: leaf_with("relay", "/tmp/a", "max_retries = 1.5\n") => [
        "4:15: service `a`, key `max_retries`: expected a whole number from 0 to 1000000, found a float",
    ];
    rejects_array_retry_delay: leaf_with("relay", "/tmp/a", "retry_delay_ms = [1]\n") => [
        "4:18: service `a`, key `retry_delay_ms`: expected a whole number from 0 to 86400000, found an array",
    ];
    rejects_string_auto_reconnect: leaf_with("relay", "/tmp/a", "lazy.auto_reconnect = \"yes\"\n") => [
        "4:23: service `a`, key `lazy.auto_reconnect`: expected a boolean, found a string",
    ];
    rejects_string_timeout: leaf_with("relay", "/tmp/a", "lazy.wait_timeout_secs = \"5s\"\n") => [
        "4:26: service `a`, key `lazy.wait_timeout_secs`: expected a number of seconds from 0.001 to 86400 (a day), found a string",
    ];
    rejects_boolean_framing: leaf_with("relay", "/tmp/a", "framing = true\n") => [
        "4:11: service `a`, key `framing`: expected `\"length_prefixed\"` or `\"raw\"`, found a boolean",
    ];
    rejects_unknown_framing_with_did_you_mean: leaf_with("relay", "/tmp/a", "framing = \"length-prefixed\"\n") => [
        "4:11: service `a`, key `framing`: unknown framing `length-prefixed`; did you mean `length_prefixed`?",
    ];
    rejects_string_targets: composite_with("pattern = \"fanout\"\ntargets = \"a\"\n") => [
        "7:11: service `c`, key `targets`: expected an array of service names, found a string",
    ];
    rejects_non_string_target: composite_with("pattern = \"fanout\"\ntargets = [1, \"a\"]\n") => [
        "7:12: service `c`, key `targets`: expected a service name, found an integer",
    ];
    rejects_lazy_that_is_not_a_table: leaf_with("relay", "/tmp/a", "lazy = 5\n") => [
        "4:1: service `a`, key `lazy`: `lazy` must be a table, found an integer; write `lazy.max_retries = 5` or a `[services.NAME.lazy]` table",
    ];
    rejects_service_that_is_not_a_table: "[services]\na = 5\n" => [
        "2:1: service `a`: must be a table, found an integer; write it as `[services.a]` followed by its keys",
    ];
    rejects_services_that_is_not_a_table: "services = 5\n" => [
        "1:12: `services` must be a table of services; write each service as a `[services.NAME]` table",
    ];

    // `tls_ca_file`.
    rejects_tls_ca_file_on_plain_websocket: leaf_with("direct", "ws://h:1", "tls_ca_file = \"ca.pem\"\n") => [
        "4:1: service `a`, key `tls_ca_file`: `tls_ca_file` only applies to a `wss://` endpoint; remove it, or use a `wss://` endpoint",
    ];
    rejects_tls_ca_file_on_a_relay: leaf_with("relay", "/tmp/a", "tls_ca_file = \"ca.pem\"\n") => [
        "4:1: service `a`, key `tls_ca_file`: `tls_ca_file` only applies to a `wss://` endpoint; remove it, or use a `wss://` endpoint",
    ];
    rejects_empty_tls_ca_file: leaf_with("direct", "wss://h", "tls_ca_file = \"\"\n") => [
        "4:15: service `a`, key `tls_ca_file`: `tls_ca_file` is empty; name a PEM file of CA certificates, or remove the key",
    ];

    // Service names.
    rejects_name_that_is_not_a_lowercase_identifier: "[services.MarketData]\ntype = \"relay\"\nendpoint = \"/tmp/a\"\n" => [
        "1:11: service `MarketData`: the service name `MarketData` is not a lowercase Rust identifier; use lowercase letters, digits and `_`, starting with a letter or `_`, e.g. `market_data`",
    ];
    rejects_name_starting_with_a_digit: "[services.9lives]\ntype = \"relay\"\nendpoint = \"/tmp/a\"\n" => [
        "1:11: service `9lives`: the service name `9lives` is not a lowercase Rust identifier; use lowercase letters, digits and `_`, starting with a letter or `_`",
    ];
    rejects_lone_underscore_name: "[services._]\ntype = \"relay\"\nendpoint = \"/tmp/a\"\n" => [
        "1:11: service `_`: the service name `_` is not a lowercase Rust identifier; use lowercase letters, digits and `_`, starting with a letter or `_`",
    ];
    rejects_empty_name: "[services.\"\"]\ntype = \"relay\"\nendpoint = \"/tmp/a\"\n" => [
        "1:11: service ``: the service name is empty; name it like `market_data_relay`",
    ];
    rejects_keyword_name: "[services.match]\ntype = \"relay\"\nendpoint = \"/tmp/a\"\n" => [
        "1:11: service `match`: the service name `match` is a Rust keyword; rename it, e.g. `match_sink`",
    ];
    rejects_edition_2024_keyword_name: "[services.gen]\ntype = \"relay\"\nendpoint = \"/tmp/a\"\n" => [
        "1:11: service `gen`: the service name `gen` is a Rust keyword; rename it, e.g. `gen_sink`",
    ];
    rejects_names_of_generated_accessors:
        "[services.new]\ntype = \"relay\"\nendpoint = \"/tmp/a\"\n[services.get]\ntype = \"relay\"\nendpoint = \"/tmp/b\"\n[services.flush_all]\ntype = \"relay\"\nendpoint = \"/tmp/c\"\n[services.disconnect_all]\ntype = \"relay\"\nendpoint = \"/tmp/d\"\n[services.default]\ntype = \"relay\"\nendpoint = \"/tmp/e\"\n[services.clone]\ntype = \"relay\"\nendpoint = \"/tmp/f\"\n" => [
        "1:11: service `new`: the service name `new` would clash with the generated `Sinks::new`; rename it, e.g. `new_sink`",
        "4:11: service `get`: the service name `get` would clash with the generated `Sinks::get`; rename it, e.g. `get_sink`",
        "7:11: service `flush_all`: the service name `flush_all` would clash with the generated `Sinks::flush_all`; rename it, e.g. `flush_all_sink`",
        "10:11: service `disconnect_all`: the service name `disconnect_all` would clash with the generated `Sinks::disconnect_all`; rename it, e.g. `disconnect_all_sink`",
        "13:11: service `default`: the service name `default` would clash with the generated `Sinks::default`; rename it, e.g. `default_sink`",
        "16:11: service `clone`: the service name `clone` would clash with the generated `Sinks::clone`; rename it, e.g. `clone_sink`",
    ];

    // Empty configs.
    rejects_empty_file: "" => [
        "1:1: the config defines no services; add a `[services.NAME]` table with a `type`",
    ];
    rejects_file_of_only_comments: "# services go here\n\n" => [
        "1:1: the config defines no services; add a `[services.NAME]` table with a `type`",
    ];
    rejects_empty_services_table: "[services]\n" => [
        "1:1: the config defines no services; add a `[services.NAME]` table with a `type`",
    ];
}

#[test]
fn reports_every_problem_of_a_file_in_one_error_in_file_order() {
    let toml = r#"[services.Feed]
type = "relay"
endpont = "/tmp/feed.sock"
buffer_size = 0

[services.ticks]
type = "relay"
endpoint = "tcp://127.0.0.1:9000"
lazy.backoff_multiplier = 0.5

[services.group]
type = "composite"
pattern = "fanot"
targets = ["group", "tiks", "group"]

[services.web]
type = "direct"
endpoint = "ws://example.com"
tls_ca_file = "ca.pem"
lazy.connect_timeout_secs = 0
"#;
    let Err(SinkError::InvalidConfig(errors)) = SinkFactory::from_config_str(toml) else {
        panic!("expected InvalidConfig");
    };
    let expected = "\
11 problems in the sinks config
  1:11: service `Feed`: the service name `Feed` is not a lowercase Rust identifier; use lowercase letters, digits and `_`, starting with a letter or `_`, e.g. `feed`
  3:1: service `Feed`, key `endpont`: unknown key `endpont`; did you mean `endpoint`?
  4:15: service `Feed`, key `buffer_size`: `buffer_size` is 0; use a whole number from 1 to 16777216
  8:12: service `ticks`, key `endpoint`: a relay connects over a Unix socket, but the endpoint is tcp://127.0.0.1:9000; use `type = \"direct\"` for a TCP, WebSocket or NATS peer, or a `unix:///abs/path` endpoint
  9:27: service `ticks`, key `lazy.backoff_multiplier`: `lazy.backoff_multiplier` is 0.5; use a number from 1 to 1000
  13:11: service `group`, key `pattern`: unknown pattern `fanot`; did you mean `fanout`?
  14:1: service `group`, key `targets`: the targets form a cycle: group -> group; a composite cannot target itself; remove `group` from its `targets`
  14:21: service `group`, key `targets`: target `tiks` is not defined; did you mean `ticks`?
  14:29: service `group`, key `targets`: target `group` is listed twice; remove the second `group`
  19:1: service `web`, key `tls_ca_file`: `tls_ca_file` only applies to a `wss://` endpoint; remove it, or use a `wss://` endpoint
  20:29: service `web`, key `lazy.connect_timeout_secs`: `lazy.connect_timeout_secs` is 0; use a number of seconds from 0.001 to 86400 (a day)";
    assert_eq!(errors.to_string(), expected);
    let locations: Vec<_> = errors.iter().map(|error| error.location).collect();
    assert!(locations.is_sorted(), "not in file order: {locations:?}");
}

/// The "Example services.toml" section of the SINK-003 seed, verbatim.
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
fn seed_example_fails_only_on_the_undefined_backup_strategy() {
    // No defined name is a plausible typo of `backup_strategy`
    // (`polygon_strategy` is 6 edits away), so the help says to define it.
    assert_eq!(
        problems(SEED_EXAMPLE),
        [
            "26:32: service `failover_group`, key `targets`: target `backup_strategy` is not defined; define `[services.backup_strategy]`, or remove it from `targets`"
        ]
    );
}

#[test]
fn seed_example_with_backup_strategy_defined_is_accepted() {
    let fixed = format!(
        "{SEED_EXAMPLE}\n[services.backup_strategy]\ntype = \"direct\"\nendpoint = \"tcp://127.0.0.1:9002\"\n"
    );
    let config = accepted(&fixed);
    assert_eq!(
        config.names().collect::<Vec<_>>(),
        [
            "market_data_relay",
            "polygon_strategy",
            "dashboard",
            "broadcast_all",
            "failover_group",
            "slow_service",
            "backup_strategy"
        ]
    );
    let slow = leaf(&config, "slow_service");
    assert_eq!(
        slow.retry(),
        RetryPolicy::default()
            .with_max_retries(5)
            .with_retry_delay(Duration::from_millis(500))
            .with_auto_reconnect(true)
            .with_connect_timeout(Duration::from_secs(10))
    );
}

#[test]
fn examples_services_toml_parses() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/services.toml");
    let factory = SinkFactory::from_config(path).expect("examples/services.toml is valid");
    assert!(factory.config().get("backup_strategy").is_some());
    assert_eq!(factory.config().services().len(), 7);
}

#[test]
fn leaf_without_optional_keys_gets_the_defaults() {
    let config = accepted(RELAY_A);
    let relay = service(&config, "a");
    assert_eq!(relay.kind.type_name(), "relay");
    assert_eq!(relay.location.to_string(), "1:11");
    let a = leaf(&config, "a");
    assert_eq!(
        a,
        &LeafConfig::new(Endpoint::unix("/tmp/a.sock").expect("an absolute socket path"))
    );
    assert_eq!(a.buffer_size(), 10_000);
    assert_eq!(a.max_message_bytes(), 16 * 1024 * 1024);
    assert_eq!(a.framing(), Framing::LengthPrefixed);
    assert_eq!(a.tls_ca_file(), None);
    assert_eq!(
        a.retry(),
        RetryPolicy::default()
            .with_max_retries(3)
            .with_retry_delay(Duration::from_millis(100))
            .with_backoff_multiplier(2.0)
            .with_max_retry_delay(Duration::from_secs(5))
            .with_auto_reconnect(true)
            .with_connect_timeout(Duration::from_secs(5))
            .with_wait_timeout(Duration::from_secs(30))
    );
}

#[test]
fn every_leaf_key_sets_its_model_value() {
    let config = accepted(
        r#"[services.a]
type = "direct"
endpoint = "tcp://example.com:9000"
buffer_size = 1_000
max_retries = 0x10
retry_delay_ms = 250
framing = "raw"
max_message_bytes = 4294967295
"#,
    );
    let expected = LeafConfig::new(
        "tcp://example.com:9000"
            .parse()
            .expect("a valid tcp:// endpoint"),
    )
    .with_buffer_size(1000)
    .with_max_message_bytes(u32::MAX as usize)
    .with_framing(Framing::Raw)
    .expect("framing applies to this endpoint")
    .with_retry(
        RetryPolicy::default()
            .with_max_retries(16)
            .with_retry_delay(Duration::from_millis(250)),
    );
    assert_eq!(leaf(&config, "a"), &expected);
    assert_eq!(service(&config, "a").kind.type_name(), "direct");
}

#[test]
fn lazy_dotted_keys_and_lazy_table_parse_to_the_same_policy() {
    let dotted = accepted(
        r#"[services.a]
type = "relay"
endpoint = "/tmp/a"
lazy.max_retries = 7
lazy.retry_delay_ms = 50
lazy.backoff_multiplier = 1.5
lazy.max_retry_delay_secs = 2.5
lazy.auto_reconnect = false
lazy.connect_timeout_secs = 0.25
lazy.wait_timeout_secs = 60
"#,
    );
    let table = accepted(
        r#"[services.a]
type = "relay"
endpoint = "/tmp/a"

[services.a.lazy]
max_retries = 7
retry_delay_ms = 50
backoff_multiplier = 1.5
max_retry_delay_secs = 2.5
auto_reconnect = false
connect_timeout_secs = 0.25
wait_timeout_secs = 60
"#,
    );
    let expected = RetryPolicy::default()
        .with_max_retries(7)
        .with_retry_delay(Duration::from_millis(50))
        .with_backoff_multiplier(1.5)
        .with_max_retry_delay(Duration::from_millis(2500))
        .with_auto_reconnect(false)
        .with_connect_timeout(Duration::from_millis(250))
        .with_wait_timeout(Duration::from_secs(60));
    assert_eq!(leaf(&dotted, "a").retry(), expected);
    assert_eq!(leaf(&table, "a").retry(), expected);
}

#[test]
fn backoff_multiplier_of_exactly_one_is_accepted() {
    let config = accepted(&leaf_with(
        "relay",
        "/tmp/a",
        "lazy.backoff_multiplier = 1\n",
    ));
    assert_eq!(leaf(&config, "a").retry().backoff_multiplier(), 1.0);
}

#[test]
fn relay_takes_a_bare_absolute_path_or_a_unix_url() {
    let config = accepted(
        "[services.bare]\ntype = \"relay\"\nendpoint = \"/run/relay.sock\"\n\
         [services.url]\ntype = \"relay\"\nendpoint = \"unix:///run/relay.sock\"\n",
    );
    let expected = Endpoint::unix("/run/relay.sock").expect("an absolute socket path");
    assert_eq!(leaf(&config, "bare").endpoint(), &expected);
    assert_eq!(leaf(&config, "url").endpoint(), &expected);
}

#[test]
fn unix_path_of_107_bytes_is_accepted() {
    let path = format!("/tmp/{}", "x".repeat(102));
    assert_eq!(path.len(), 107);
    let config = accepted(&leaf_with("direct", &format!("unix://{path}"), ""));
    assert_eq!(
        leaf(&config, "a").endpoint(),
        &Endpoint::unix(path).expect("an absolute socket path")
    );
}

#[test]
fn websocket_endpoints_get_default_ports_and_paths() {
    let config = accepted(
        r#"[services.plain]
type = "direct"
endpoint = "ws://127.0.0.1"

[services.secure]
type = "direct"
endpoint = "wss://example.com/feed?x=1"

[services.explicit]
type = "direct"
endpoint = "ws://127.0.0.1:8080/ws"

[services.query]
type = "direct"
endpoint = "ws://h:81?token=a@b"
"#,
    );
    // `WebSocketEndpoint` is read field by field: outside the runtime it
    // can only be made by parsing.
    let ws = |name: &str| match leaf(&config, name).endpoint() {
        Endpoint::WebSocket(ws) => (
            ws.secure,
            ws.host.clone(),
            ws.port,
            ws.path.clone(),
            ws.credentials.clone(),
        ),
        other => panic!("not a WebSocket endpoint: {other:?}"),
    };
    let expected = |secure, host: &str, port, path: &str| {
        (secure, host.to_owned(), port, path.to_owned(), None)
    };
    assert_eq!(ws("plain"), expected(false, "127.0.0.1", 80, "/"));
    assert_eq!(
        ws("secure"),
        expected(true, "example.com", 443, "/feed?x=1")
    );
    assert_eq!(ws("explicit"), expected(false, "127.0.0.1", 8080, "/ws"));
    // An `@` in the query is not the end of credentials.
    assert_eq!(ws("query"), expected(false, "h", 81, "/?token=a@b"));
}

#[test]
fn websocket_credentials_are_parsed_and_never_shown() {
    let config = accepted(&leaf_with("direct", "wss://user:s3cret@example.com/x", ""));
    let Endpoint::WebSocket(ws) = &leaf(&config, "a").endpoint() else {
        panic!("not a WebSocket endpoint");
    };
    assert_eq!(ws.credentials.as_deref(), Some("user:s3cret"));
    assert_eq!(ws.url(), "wss://example.com:443/x");
    assert!(!format!("{:?}", config).contains("s3cret"));
}

#[test]
fn tcp_endpoint_takes_a_bracketed_ipv6_host() {
    let config = accepted(&leaf_with("direct", "tcp://[::1]:9001", ""));
    assert!(
        matches!(leaf(&config, "a").endpoint(), Endpoint::Tcp { host, port: 9001, .. } if host == "::1"),
        "{:?}",
        leaf(&config, "a").endpoint()
    );
    assert_eq!(
        leaf(&config, "a").endpoint().to_string(),
        "tcp://[::1]:9001"
    );
}

#[test]
fn direct_takes_a_unix_url() {
    let config = accepted(&leaf_with("direct", "unix:///tmp/d.sock", ""));
    assert_eq!(
        leaf(&config, "a").endpoint(),
        &Endpoint::unix("/tmp/d.sock").expect("an absolute socket path")
    );
}

/// A self-signed certificate in PEM, as a `tls_ca_file` holds one.
fn ca_pem() -> String {
    let key = rcgen::KeyPair::generate().expect("a key");
    let params = rcgen::CertificateParams::new(vec!["localhost".into()]).expect("parameters");
    params.self_signed(&key).expect("a certificate").pem()
}

#[test]
fn relative_tls_ca_file_is_read_against_the_config_file_when_the_config_is() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("certs")).expect("certs dir");
    std::fs::write(dir.path().join("certs/ca.pem"), ca_pem()).expect("write CA");
    let path = dir.path().join("services.toml");
    let toml = leaf_with(
        "direct",
        "wss://example.com",
        "tls_ca_file = \"certs/ca.pem\"\n",
    );
    std::fs::write(&path, &toml).expect("write config");
    let factory = SinkFactory::from_config(&path).expect("valid config");
    let ca = leaf(factory.config(), "a")
        .tls_ca_file()
        .cloned()
        .expect("a CA");
    assert_eq!(ca.path(), dir.path().join("certs/ca.pem"));
    assert_eq!(ca.written(), "certs/ca.pem");
    // Read and checked now: removing the file changes nothing at connect.
    std::fs::remove_file(dir.path().join("certs/ca.pem")).expect("remove");
    assert_eq!(ca.certificates().map(|found| found.len()), Ok(1));
    // From a string, a relative path has no file to be relative to.
    let errors = problems(&toml);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("4:15: service `a`, key `tls_ca_file`: cannot read `certs/ca.pem`: "),
        "{errors:?}"
    );
}

#[test]
fn tls_ca_file_that_is_not_pem_is_rejected_with_the_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "not a certificate\n").expect("write");
    let toml = leaf_with(
        "direct",
        "wss://example.com",
        &format!("tls_ca_file = \"{}\"\n", ca.display()),
    );
    assert_eq!(
        problems(&toml),
        [format!(
            "4:15: service `a`, key `tls_ca_file`: `{}` holds no PEM certificate (`-----BEGIN CERTIFICATE-----`); name a PEM file of CA certificates; a relative path is relative to the file that names it",
            ca.display()
        )]
    );
}

#[test]
fn composites_keep_pattern_and_target_order() {
    let config = accepted(
        r#"[services.b]
type = "relay"
endpoint = "/tmp/b"

[services.a]
type = "relay"
endpoint = "/tmp/a"

[services.fan]
type = "composite"
pattern = "fanout"
targets = ["b", "a"]

[services.turns]
type = "composite"
pattern = "round_robin"
targets = ["fan", "a"]

[services.backup]
type = "composite"
pattern = "failover"
targets = ["turns", "fan", "b"]
"#,
    );
    let composite = |name| match &service(&config, name).kind {
        ServiceKind::Composite(composite) => (composite.pattern, composite.targets.clone()),
        other => panic!("`{name}` is a {}", other.type_name()),
    };
    assert_eq!(
        composite("fan"),
        (CompositePattern::Fanout, vec!["b".into(), "a".into()])
    );
    assert_eq!(
        composite("turns"),
        (CompositePattern::RoundRobin, vec!["fan".into(), "a".into()])
    );
    assert_eq!(
        composite("backup"),
        (
            CompositePattern::Failover,
            vec!["turns".into(), "fan".into(), "b".into()]
        )
    );
    // A diamond (`backup` reaches `b` three ways) is not a cycle.
    assert_eq!(
        config.names().collect::<Vec<_>>(),
        ["b", "a", "fan", "turns", "backup"]
    );
}

#[test]
fn from_config_names_the_missing_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("no-such-services.toml");
    let Err(SinkError::InvalidConfig(errors)) = SinkFactory::from_config(&path) else {
        panic!("a missing file must be InvalidConfig");
    };
    let shown = errors.to_string();
    let prefix = format!(
        "1 problem in the sinks config\n  {}: cannot read the config file: ",
        path.display()
    );
    assert!(shown.starts_with(&prefix), "{shown}");
    assert_eq!(errors.file.as_deref(), Some(&*path.display().to_string()));
}

#[test]
fn from_config_puts_the_file_name_before_each_location() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("services.toml");
    std::fs::write(&path, leaf_with("relay", "/tmp/a", "buffer_size = 0\n")).expect("write");
    let Err(SinkError::InvalidConfig(errors)) = SinkFactory::from_config(&path) else {
        panic!("expected InvalidConfig");
    };
    let rendered: Vec<String> = errors.iter().map(|error| errors.render(error)).collect();
    assert_eq!(
        rendered,
        [format!(
            "{}:4:15: service `a`, key `buffer_size`: `buffer_size` is 0; use a whole number from 1 to 16777216",
            path.display()
        )]
    );
}

#[tokio::test]
async fn create_sink_of_an_unknown_service_suggests_the_closest_name() {
    let factory = SinkFactory::from_config_str(
        "[services.dashboard]\ntype = \"direct\"\nendpoint = \"ws://127.0.0.1:8080/ws\"\n",
    )
    .expect("valid config");
    let error = match factory.create_sink("dashbaord").await {
        Err(SinkError::InvalidConfig(errors)) => errors.to_string(),
        Err(other) => panic!("expected InvalidConfig, got {other:?}"),
        Ok(_) => panic!("an undefined service was created"),
    };
    assert_eq!(
        error,
        "1 problem in the sinks config\n  service `dashbaord` is not defined; did you mean `dashboard`?"
    );
}

#[tokio::test]
async fn create_sink_of_an_unrelated_name_has_no_suggestion() {
    let factory = SinkFactory::from_config_str(RELAY_A).expect("valid config");
    let Err(SinkError::InvalidConfig(errors)) = factory.create_sink("zzzz").await else {
        panic!("expected InvalidConfig");
    };
    assert_eq!(
        errors.to_string(),
        "1 problem in the sinks config\n  service `zzzz` is not defined"
    );
}

/// The README's key table is the schema's: one row per key, same ranges,
/// defaults and meaning.
#[test]
fn readme_key_table_matches_the_schema() {
    let readme = include_str!("../README.md");
    let table = sinks::config::markdown_table();
    assert!(
        readme.contains(&table),
        "README.md's key table differs from the schema; paste this into \"Config reference\":\n{table}"
    );
}
