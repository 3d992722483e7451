//! Property tests of the config validator: on random topologies its verdict
//! on undefined targets and cycles agrees with a reference written here, no
//! input, however broken, makes it panic, and every retry setting it accepts
//! gives a connect budget computed in constant time without overflow.

use std::collections::BTreeSet;

use std::time::Duration;

use proptest::prelude::*;
use sinks::config::{
    Endpoint, MAX_BACKOFF_MULTIPLIER, MAX_RETRIES, MAX_RETRY_DELAY_MS, MAX_SECONDS, MIN_SECONDS,
    RetryPolicy, ServiceKind, ServicesConfig,
};
use sinks::{SinkError, SinkFactory};

/// A generated service: a relay, or a composite whose targets are indices;
/// an index at or past the number of services names an undefined `ghostN`.
#[derive(Debug, Clone)]
enum Node {
    Leaf,
    Composite(Vec<usize>),
}

const GHOSTS: usize = 3;

fn name(index: usize, count: usize) -> String {
    if index < count {
        format!("s{index}")
    } else {
        format!("ghost{}", index - count)
    }
}

fn topology() -> impl Strategy<Value = Vec<Node>> {
    (1..8usize).prop_flat_map(|count| {
        let node = prop_oneof![
            1 => Just(Node::Leaf),
            2 => prop::collection::vec(0..count + GHOSTS, 1..4).prop_map(|mut targets| {
                // Unique targets: a duplicate is its own rule, tested elsewhere.
                let mut seen = BTreeSet::new();
                targets.retain(|target| seen.insert(*target));
                Node::Composite(targets)
            }),
        ];
        prop::collection::vec(node, count)
    })
}

fn to_toml(nodes: &[Node]) -> String {
    let count = nodes.len();
    let mut toml = String::new();
    for (index, node) in nodes.iter().enumerate() {
        toml.push_str(&format!("[services.s{index}]\n"));
        match node {
            Node::Leaf => toml.push_str(&format!(
                "type = \"relay\"\nendpoint = \"/tmp/s{index}.sock\"\n\n"
            )),
            Node::Composite(targets) => {
                let listed: Vec<String> = targets
                    .iter()
                    .map(|&target| format!("\"{}\"", name(target, count)))
                    .collect();
                toml.push_str(&format!(
                    "type = \"composite\"\npattern = \"fanout\"\ntargets = [{}]\n\n",
                    listed.join(", ")
                ));
            }
        }
    }
    toml
}

/// The reference: `(service, target)` for every undefined target.
fn undefined_targets(nodes: &[Node]) -> BTreeSet<(String, String)> {
    let count = nodes.len();
    let mut undefined = BTreeSet::new();
    for (index, node) in nodes.iter().enumerate() {
        if let Node::Composite(targets) = node {
            for &target in targets.iter().filter(|&&target| target >= count) {
                undefined.insert((name(index, count), name(target, count)));
            }
        }
    }
    undefined
}

/// The reference: Floyd–Warshall reachability; `reach[i][j]` when `sj` can
/// be reached from `si` through one or more targets.
fn reachability(nodes: &[Node]) -> Vec<Vec<bool>> {
    let count = nodes.len();
    let mut reach = vec![vec![false; count]; count];
    for (index, node) in nodes.iter().enumerate() {
        if let Node::Composite(targets) = node {
            for &target in targets.iter().filter(|&&target| target < count) {
                reach[index][target] = true;
            }
        }
    }
    for via in 0..count {
        for from in 0..count {
            for to in 0..count {
                if reach[from][via] && reach[via][to] {
                    reach[from][to] = true;
                }
            }
        }
    }
    reach
}

fn has_edge(nodes: &[Node], from: usize, to: usize) -> bool {
    matches!(&nodes[from], Node::Composite(targets) if targets.contains(&to))
}

/// `s3` → 3.
fn index_of(name: &str) -> usize {
    name.strip_prefix('s')
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("a cycle names `{name}`, not a defined service"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn verdict_on_random_topologies_agrees_with_the_reference(nodes in topology()) {
        let toml = to_toml(&nodes);
        let expected_undefined = undefined_targets(&nodes);
        let reach = reachability(&nodes);
        let on_a_cycle: BTreeSet<usize> = (0..nodes.len()).filter(|&i| reach[i][i]).collect();

        let errors = match SinkFactory::from_config_str(&toml) {
            Ok(factory) => {
                prop_assert!(expected_undefined.is_empty(), "accepted with undefined targets:\n{toml}");
                prop_assert!(on_a_cycle.is_empty(), "accepted with a cycle:\n{toml}");
                prop_assert_eq!(factory.config().services().len(), nodes.len());
                return Ok(());
            }
            Err(SinkError::InvalidConfig(errors)) => errors,
            Err(other) => panic!("expected InvalidConfig, got {other:?}"),
        };

        let mut undefined = BTreeSet::new();
        let mut cycles = Vec::new();
        for error in &errors {
            let service = error.service.clone().unwrap_or_default();
            if let Some(target) = error
                .message
                .strip_prefix("target `")
                .and_then(|rest| rest.strip_suffix("` is not defined"))
            {
                prop_assert!(undefined.insert((service, target.to_owned())), "reported twice: {error}");
            } else if let Some(path) = error.message.strip_prefix("the targets form a cycle: ") {
                let path: Vec<usize> = path.split(" -> ").map(index_of).collect();
                prop_assert_eq!(error.service.as_deref(), Some(&*name(path[0], nodes.len())));
                cycles.push(path);
            } else {
                prop_assert!(false, "unexpected problem `{error}` in\n{toml}");
            }
        }
        prop_assert_eq!(&undefined, &expected_undefined, "config:\n{}", toml);
        prop_assert_eq!(cycles.is_empty(), on_a_cycle.is_empty(), "config:\n{}", toml);

        let mut distinct = BTreeSet::new();
        for path in &cycles {
            // A real cycle: it closes, each step is a target, and it passes
            // each service once, starting from the earliest in the file.
            prop_assert!(path.len() >= 2 && path.first() == path.last(), "{:?}", path);
            for step in path.windows(2) {
                prop_assert!(has_edge(&nodes, step[0], step[1]), "no edge in {:?}:\n{}", path, toml);
            }
            let services = &path[..path.len() - 1];
            let unique: BTreeSet<usize> = services.iter().copied().collect();
            prop_assert_eq!(unique.len(), services.len(), "{:?} repeats a service", path);
            prop_assert_eq!(unique.first(), Some(&path[0]), "{:?} does not start at its earliest", path);
            prop_assert!(unique.is_subset(&on_a_cycle));
            prop_assert!(distinct.insert(path.clone()), "{:?} reported twice", path);
        }
        // One error, in file order.
        let locations: Vec<_> = errors.iter().map(|error| error.location).collect();
        prop_assert!(locations.is_sorted());
    }

    #[test]
    fn never_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = SinkFactory::from_config_str(&text);
        let _ = Endpoint::parse_direct(&text);
        let _ = Endpoint::parse_relay(&text);
    }

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = SinkFactory::from_config_str(&text);
    }

    #[test]
    fn never_panics_on_config_shaped_text(text in config_shaped()) {
        let _ = ServicesConfig::from_toml_str(&text);
    }

    #[test]
    fn accepted_direct_endpoints_survive_display_and_parse(text in endpoint_shaped()) {
        let Ok(endpoint) = Endpoint::parse_direct(&text) else {
            return Ok(());
        };
        // Display hides credentials, so such endpoints do not round-trip.
        prop_assume!(!text.contains('@'));
        let shown = endpoint.to_string();
        prop_assert_eq!(Endpoint::parse_direct(&shown).ok(), Some(endpoint), "{} shown as {}", text, shown);
    }
}

/// Lines of config-like pieces, so that random input reaches the checks
/// past the TOML parser, not only its syntax errors.
fn config_shaped() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("[services.a]".to_owned()),
        Just("[services.b]".to_owned()),
        Just("[services.a.lazy]".to_owned()),
        Just("[services]".to_owned()),
        "[a-z_]{0,12} = [0-9]{1,3}",
        "(type|pattern|framing|endpoint) = \"[a-z_:/.0-9]{0,20}\"",
        Just("type = \"composite\"".to_owned()),
        Just("type = \"relay\"".to_owned()),
        "targets = \\[(\"[ab]\", ){0,3}\\]",
        "lazy\\.[a-z_]{0,20} = (-?[0-9]{1,4}(\\.[0-9]{1,3})?|true|nan|inf)",
        "(buffer_size|max_message_bytes|max_retries) = -?[0-9]{1,22}",
        any::<String>(),
    ];
    prop::collection::vec(line, 0..12).prop_map(|lines| lines.join("\n"))
}

fn endpoint_shaped() -> impl Strategy<Value = String> {
    "(unix|tcp|ws|wss|http)://(\\[[0-9a-f:]{0,8}\\]|[a-z0-9.:]{0,10})(:[0-9+]{0,6})?(/[a-z?=&@/]{0,8})?"
}

/// The sum of every retry pause, one retry at a time: what `connect_budget`
/// computes in closed form.
fn budget_by_loop(policy: &RetryPolicy) -> f64 {
    let pauses: f64 = (1..=policy.max_retries())
        .map(|retry| policy.delay_before_retry(retry).as_secs_f64())
        .sum();
    policy.connect_timeout().as_secs_f64() * f64::from(policy.max_retries() + 1) + pauses
}

/// A value of each retry key anywhere in its accepted range, extremes
/// included (the strategies put weight on the bounds).
fn accepted_retry_settings() -> impl Strategy<Value = (u64, u64, f64, f64, f64, f64)> {
    let retries = prop_oneof![Just(0u64), Just(MAX_RETRIES), 0..=MAX_RETRIES];
    let delay_ms = prop_oneof![Just(0u64), Just(MAX_RETRY_DELAY_MS), 0..=MAX_RETRY_DELAY_MS];
    let backoff = prop_oneof![
        Just(1.0f64),
        Just(MAX_BACKOFF_MULTIPLIER),
        1.0..=MAX_BACKOFF_MULTIPLIER
    ];
    let seconds = || {
        prop_oneof![
            Just(MIN_SECONDS),
            Just(MAX_SECONDS),
            MIN_SECONDS..=MAX_SECONDS
        ]
    };
    (retries, delay_ms, backoff, seconds(), seconds(), seconds())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the validator accepts, the connect budget is computed
    /// without a panic and without a loop over the attempts, and it bounds
    /// one attempt's timeout and the last pause.
    #[test]
    fn connect_budget_of_any_accepted_config_is_finite_and_never_panics(
        (retries, delay_ms, backoff, max_delay, connect, wait) in accepted_retry_settings()
    ) {
        let toml = format!(
            "[services.a]\ntype = \"relay\"\nendpoint = \"/tmp/a.sock\"\nmax_retries = {retries}\nretry_delay_ms = {delay_ms}\n\
             [services.a.lazy]\nbackoff_multiplier = {backoff:?}\nmax_retry_delay_secs = {max_delay:?}\n\
             connect_timeout_secs = {connect:?}\nwait_timeout_secs = {wait:?}\n"
        );
        let config = ServicesConfig::from_toml_str(&toml)
            .unwrap_or_else(|errors| panic!("an accepted range was rejected: {errors}\n{toml}"));
        let Some(ServiceKind::Relay(leaf)) = config.get("a").map(|service| &service.kind) else {
            panic!("`a` is a relay");
        };
        let policy = leaf.retry();
        let budget = policy.connect_budget();
        prop_assert!(budget >= policy.connect_timeout());
        if policy.max_retries() > 0 {
            prop_assert!(budget >= policy.delay_before_retry(policy.max_retries()));
        }
        // A day per attempt and per pause, a million retries: far below
        // `Duration::MAX`, so nothing saturated.
        prop_assert!(budget < Duration::from_secs(86_400 * 2 * (MAX_RETRIES + 1)));
    }

    /// On short retry counts the closed form agrees with the sum, pause by pause.
    #[test]
    fn connect_budget_matches_the_sum_of_attempts_and_pauses(
        retries in 0u32..200,
        delay_ms in 0u64..=10_000,
        backoff in 1.0f64..=MAX_BACKOFF_MULTIPLIER,
        max_delay in MIN_SECONDS..=600.0,
        connect in MIN_SECONDS..=600.0,
    ) {
        let policy = RetryPolicy::default()
            .with_max_retries(retries)
            .with_retry_delay(Duration::from_millis(delay_ms))
            .with_backoff_multiplier(backoff)
            .with_max_retry_delay(Duration::from_secs_f64(max_delay))
            .with_connect_timeout(Duration::from_secs_f64(connect));
        let closed = policy.connect_budget().as_secs_f64();
        let summed = budget_by_loop(&policy);
        prop_assert!((closed - summed).abs() <= 1e-6 * summed.max(1.0), "{closed} vs {summed}");
    }
}

/// The builders clamp to what a config accepts, so the extremes a caller
/// can pass stay far from saturating the budget. (Values outside the
/// config's ranges can no longer be written from outside the runtime; its
/// own unit test covers the budget's saturation on them.)
#[test]
fn retry_builders_clamp_their_extremes_to_the_config_ranges() {
    let built = RetryPolicy::default()
        .with_max_retries(u32::MAX)
        .with_connect_timeout(Duration::MAX)
        .with_backoff_multiplier(f64::INFINITY);
    assert_eq!(u64::from(built.max_retries()), MAX_RETRIES);
    assert_eq!(built.connect_timeout(), Duration::from_secs(86_400));
    assert_eq!(built.backoff_multiplier(), MAX_BACKOFF_MULTIPLIER);
}
