//! `LeafConfig` and `RetryPolicy` built in code stay configs the validator
//! accepts: every numeric setter clamps to exactly the range the schema
//! ([`KEYS`], which drives the validator) gives its key, a config built from
//! the extremes renders to TOML the validator accepts and reads back equal,
//! and the settings that only apply to some endpoints are refused with the
//! validator's own message.

use std::time::Duration;

use sinks::config::{
    Endpoint, Framing, KEYS, LeafConfig, MAX_SECONDS, MIN_SECONDS, RetryPolicy, ServiceKind,
    ServicesConfig, ValueKind, find_key,
};

/// The `min..=max` the schema gives a whole-number key.
fn integer_range(key: &str) -> (u64, u64) {
    match find_key(key).map(|key| key.value) {
        Some(ValueKind::Integer { min, max }) => (min, max),
        other => panic!("`{key}` is not a whole-number key: {other:?}"),
    }
}

/// The `min..=max` the schema gives a (fractional) number key.
fn number_range(key: &str) -> (f64, f64) {
    match find_key(key).map(|key| key.value) {
        Some(ValueKind::Number { min, max }) => (min, max),
        other => panic!("`{key}` is not a number key: {other:?}"),
    }
}

fn as_usize(bound: u64) -> usize {
    usize::try_from(bound).expect("the schema's bounds fit a 64-bit usize")
}

fn endpoint(text: &str) -> Endpoint {
    text.parse().expect("a valid endpoint")
}

/// `leaf` written as a `[services.s]` table, every key through
/// `LeafConfig::setting`, the way a config file would hold it.
fn rendered(leaf: &LeafConfig) -> String {
    let kind = if matches!(leaf.endpoint(), Endpoint::Unix(_)) {
        "relay"
    } else {
        "direct"
    };
    let mut toml = format!("[services.s]\ntype = \"{kind}\"\n");
    for key in KEYS {
        let Some(value) = leaf.setting(key.name) else {
            continue;
        };
        let value = match key.value {
            ValueKind::Text | ValueKind::Choice(_) => format!("{value:?}"),
            _ => value,
        };
        toml.push_str(&format!("{} = {value}\n", key.name));
    }
    toml
}

/// Renders `leaf`, has the validator read it back, and checks nothing changed.
fn assert_round_trips(leaf: &LeafConfig) {
    let toml = rendered(leaf);
    let config = ServicesConfig::from_toml_str(&toml)
        .unwrap_or_else(|errors| panic!("the validator rejects a built config:\n{toml}\n{errors}"));
    let (ServiceKind::Relay(read) | ServiceKind::Direct(read)) = &config.services()[0].kind else {
        panic!("not a leaf service");
    };
    assert_eq!(read, leaf, "{toml}");
}

/// `text` with `key`'s line replaced by `key = value`.
fn with_value(text: &str, key: &str, value: &str) -> String {
    text.lines()
        .map(|line| {
            if line.starts_with(&format!("{key} = ")) {
                format!("{key} = {value}")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks `setter` clamps to exactly the schema's range of `key`: the bounds
/// are kept, anything beyond them becomes the bound, the bounds round-trip
/// through the validator, and one step beyond them the validator rejects.
fn assert_clamps_to_the_schema(
    key: &str,
    base: fn() -> LeafConfig,
    setter: fn(LeafConfig, usize) -> LeafConfig,
    getter: fn(&LeafConfig) -> usize,
) {
    let (min, max) = integer_range(key);
    let (min, max) = (as_usize(min), as_usize(max));
    for (given, kept) in [
        (0, min),
        (min, min),
        (max, max),
        (max + 1, max),
        (usize::MAX, max),
    ] {
        let leaf = setter(base(), given);
        assert_eq!(getter(&leaf), kept, "`{key}` set to {given}");
        assert_round_trips(&leaf);
    }
    let toml = rendered(&setter(base(), max));
    for beyond in [min.checked_sub(1), max.checked_add(1)]
        .into_iter()
        .flatten()
    {
        let errors = ServicesConfig::from_toml_str(&with_value(&toml, key, &beyond.to_string()))
            .expect_err("beyond the range")
            .to_string();
        assert!(errors.contains(&format!("`{key}` is {beyond}")), "{errors}");
    }
}

fn tcp_leaf() -> LeafConfig {
    LeafConfig::new(endpoint("tcp://127.0.0.1:9000"))
}

fn jetstream_leaf() -> LeafConfig {
    LeafConfig::new(endpoint("nats://127.0.0.1:4222/orders.new"))
        .with_jetstream(true)
        .expect("jetstream applies to a nats:// endpoint")
}

#[test]
fn buffer_size_clamps_to_the_schema_range() {
    assert_clamps_to_the_schema(
        "buffer_size",
        tcp_leaf,
        LeafConfig::with_buffer_size,
        LeafConfig::buffer_size,
    );
}

#[test]
fn max_message_bytes_clamps_to_the_schema_range() {
    assert_clamps_to_the_schema(
        "max_message_bytes",
        tcp_leaf,
        LeafConfig::with_max_message_bytes,
        LeafConfig::max_message_bytes,
    );
}

#[test]
fn jetstream_max_in_flight_clamps_to_the_schema_range() {
    assert_clamps_to_the_schema(
        "jetstream_max_in_flight",
        jetstream_leaf,
        |leaf, n| {
            leaf.with_jetstream_max_in_flight(n)
                .expect("jetstream is on")
        },
        LeafConfig::jetstream_max_in_flight,
    );
}

#[test]
fn retry_setters_clamp_to_the_schema_ranges() {
    let (min_retries, max_retries) = integer_range("lazy.max_retries");
    let (min_delay_ms, max_delay_ms) = integer_range("lazy.retry_delay_ms");
    let (min_backoff, max_backoff) = number_range("lazy.backoff_multiplier");
    let shortest = Duration::from_secs_f64(MIN_SECONDS);
    let longest = Duration::from_secs_f64(MAX_SECONDS);
    let low = RetryPolicy::default()
        .with_max_retries(0)
        .with_retry_delay(Duration::ZERO)
        .with_backoff_multiplier(0.5)
        .with_max_retry_delay(Duration::ZERO)
        .with_connect_timeout(Duration::ZERO)
        .with_wait_timeout(Duration::from_nanos(1));
    assert_eq!(u64::from(low.max_retries()), min_retries);
    assert_eq!(low.retry_delay(), Duration::from_millis(min_delay_ms));
    assert_eq!(low.backoff_multiplier(), min_backoff);
    assert_eq!(low.max_retry_delay(), shortest);
    assert_eq!(low.connect_timeout(), shortest);
    assert_eq!(low.wait_timeout(), shortest);
    let high = RetryPolicy::default()
        .with_max_retries(u32::MAX)
        .with_retry_delay(Duration::MAX)
        .with_backoff_multiplier(f64::INFINITY)
        .with_max_retry_delay(Duration::MAX)
        .with_connect_timeout(Duration::MAX)
        .with_wait_timeout(Duration::MAX)
        .with_auto_reconnect(false);
    assert_eq!(u64::from(high.max_retries()), max_retries);
    assert_eq!(high.retry_delay(), Duration::from_millis(max_delay_ms));
    assert_eq!(high.backoff_multiplier(), max_backoff);
    assert_eq!(high.max_retry_delay(), longest);
    assert_eq!(high.connect_timeout(), longest);
    assert_eq!(high.wait_timeout(), longest);
    assert!(!high.auto_reconnect());
    for retry in [low, high] {
        assert_round_trips(&tcp_leaf().with_retry(retry));
    }
    // NaN has no place in the range: it counts as no growth.
    let nan = RetryPolicy::default().with_backoff_multiplier(f64::NAN);
    assert_eq!(nan.backoff_multiplier(), min_backoff);
    // `retry_delay_ms` holds whole milliseconds; a fraction would not survive
    // a round trip through the config.
    let fraction = RetryPolicy::default().with_retry_delay(Duration::from_micros(2_500));
    assert_eq!(fraction.retry_delay(), Duration::from_millis(2));
    assert_round_trips(&tcp_leaf().with_retry(fraction));
}

#[test]
fn every_setter_of_a_full_config_round_trips_through_the_validator() {
    let leaf = jetstream_leaf()
        .with_jetstream_max_in_flight(8)
        .expect("jetstream is on")
        .with_buffer_size(64)
        .with_max_message_bytes(1024)
        .with_framing(Framing::Raw)
        .expect("framing applies to nats://")
        .with_retry(RetryPolicy::default().with_max_retries(9))
        .with_metadata("team", "pricing")
        .with_metadata("tier", "1")
        // A name set again keeps its place, as in a TOML table.
        .with_metadata("team", "risk");
    assert_eq!(
        leaf.metadata(),
        [
            ("team".to_owned(), "risk".to_owned()),
            ("tier".to_owned(), "1".to_owned())
        ]
    );
    assert_round_trips(&leaf);
}

/// The validator's message for `key` in `service_toml`.
fn validator_message(service_toml: &str, key: &str) -> String {
    let errors = ServicesConfig::from_toml_str(service_toml).expect_err("rejected");
    let error = errors
        .iter()
        .find(|error| error.key.as_deref() == Some(key))
        .unwrap_or_else(|| panic!("no error about `{key}`: {errors}"));
    error.message.clone()
}

fn setter_message(result: Result<LeafConfig, sinks::config::ConfigErrors>, key: &str) -> String {
    let errors = result.expect_err("refused");
    let error = errors.iter().next().expect("one problem");
    assert_eq!(error.key.as_deref(), Some(key));
    error.message.clone()
}

#[test]
fn settings_for_other_endpoints_are_refused_with_the_validators_message() {
    let ws = || LeafConfig::new(endpoint("ws://127.0.0.1:8080/feed"));
    let direct = |lines: &str| format!("[services.s]\ntype = \"direct\"\n{lines}\n");
    assert_eq!(
        setter_message(ws().with_framing(Framing::Raw), "framing"),
        validator_message(
            &direct("endpoint = \"ws://127.0.0.1:8080/feed\"\nframing = \"raw\""),
            "framing"
        )
    );
    assert_eq!(
        setter_message(tcp_leaf().with_jetstream(true), "jetstream"),
        validator_message(
            &direct("endpoint = \"tcp://127.0.0.1:9000\"\njetstream = true"),
            "jetstream"
        )
    );
    assert_eq!(
        setter_message(
            LeafConfig::new(endpoint("nats://127.0.0.1/orders.new"))
                .with_jetstream_max_in_flight(8),
            "jetstream_max_in_flight"
        ),
        validator_message(
            &direct("endpoint = \"nats://127.0.0.1/orders.new\"\njetstream_max_in_flight = 8"),
            "jetstream_max_in_flight"
        )
    );
    assert_eq!(
        setter_message(tcp_leaf().with_tls_ca_file("ca.pem"), "tls_ca_file"),
        validator_message(
            &direct("endpoint = \"tcp://127.0.0.1:9000\"\ntls_ca_file = \"ca.pem\""),
            "tls_ca_file"
        )
    );
    let wss = LeafConfig::new(endpoint("wss://localhost/feed"));
    assert_eq!(
        setter_message(wss.clone().with_tls_ca_file(""), "tls_ca_file"),
        validator_message(
            &direct("endpoint = \"wss://localhost/feed\"\ntls_ca_file = \"\""),
            "tls_ca_file"
        )
    );
    // What applies is accepted: `false` anywhere, a CA on `wss://`.
    assert!(!ws().with_jetstream(false).expect("false").jetstream());
    let with_ca = wss.with_tls_ca_file("ca.pem").expect("a wss:// endpoint");
    assert_eq!(
        with_ca.tls_ca_file().map(|ca| ca.path().to_owned()),
        Some("ca.pem".into())
    );
}

#[test]
fn endpoints_built_in_code_pass_the_parsers_checks() {
    for (built, parsed) in [
        (Endpoint::unix("relative.sock"), "unix://relative.sock"),
        (Endpoint::unix(format!("/{}", "x".repeat(200))), ""),
        (Endpoint::unix("/tmp/a\0b"), "unix:///tmp/a\0b"),
    ] {
        let error = built.expect_err("rejected");
        if !parsed.is_empty() {
            let from_text = Endpoint::parse_direct(parsed).expect_err("rejected");
            assert_eq!(error, from_text);
        }
    }
    assert_eq!(
        Endpoint::unix("/tmp/a.sock").expect("an absolute path"),
        Endpoint::parse_relay("/tmp/a.sock").expect("an absolute path")
    );
    for text in [
        "tcp://127.0.0.1:0",
        "tcp://bad_host:1",
        "nats://127.0.0.1/orders.>",
        "/tmp/bare.sock",
    ] {
        assert!(text.parse::<Endpoint>().is_err(), "{text}");
    }
}
