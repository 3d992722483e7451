//! Property tests of the config validator: on generated topologies its
//! verdicts on undefined targets and cycles agree with a reference check
//! written here, and on arbitrary text or bytes it never panics and every
//! rejection says something.

use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;
use sinks::{SinkError, SinkFactory};

/// One generated service: a relay, or a composite over target names.
#[derive(Debug, Clone)]
enum Node {
    Leaf,
    Composite(Vec<String>),
}

/// `n` services `s0..`, each a leaf or a composite whose targets are drawn
/// from the defined names and a few undefined ones (`u0..u2`); a composite
/// may name itself. Targets are distinct, so only the two checks under test
/// can fire.
fn topology() -> impl Strategy<Value = Vec<(String, Node)>> {
    (1usize..=8).prop_flat_map(|n| {
        let names: Vec<String> = (0..n)
            .map(|i| format!("s{i}"))
            .chain((0..3).map(|i| format!("u{i}")))
            .collect();
        let node = prop_oneof![
            1 => Just(Node::Leaf),
            2 => proptest::sample::subsequence(names, 1..=4)
                .prop_shuffle()
                .prop_map(Node::Composite),
        ];
        proptest::collection::vec(node, n).prop_map(|nodes| {
            nodes
                .into_iter()
                .enumerate()
                .map(|(i, node)| (format!("s{i}"), node))
                .collect()
        })
    })
}

fn to_toml(services: &[(String, Node)]) -> String {
    let mut toml = String::new();
    for (name, node) in services {
        match node {
            Node::Leaf => toml.push_str(&format!(
                "[services.{name}]\ntype = \"relay\"\nendpoint = \"/tmp/{name}.sock\"\n\n"
            )),
            Node::Composite(targets) => {
                let quoted: Vec<String> = targets.iter().map(|t| format!("{t:?}")).collect();
                toml.push_str(&format!(
                    "[services.{name}]\ntype = \"composite\"\npattern = \"fanout\"\ntargets = [{}]\n\n",
                    quoted.join(", ")
                ));
            }
        }
    }
    toml
}

/// The reference: every (composite, target) whose target is not defined.
fn undefined_targets(services: &[(String, Node)]) -> BTreeSet<(String, String)> {
    let defined: BTreeSet<&str> = services.iter().map(|(name, _)| name.as_str()).collect();
    services
        .iter()
        .filter_map(|(name, node)| match node {
            Node::Composite(targets) => Some((name, targets)),
            Node::Leaf => None,
        })
        .flat_map(|(name, targets)| {
            targets
                .iter()
                .filter(|target| !defined.contains(target.as_str()))
                .map(move |target| (name.clone(), target.clone()))
        })
        .collect()
}

/// The reference: whether some composite reaches itself, by a plain
/// recursive depth-first search with white/grey/black colours.
fn has_cycle(services: &[(String, Node)]) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Colour {
        White,
        Grey,
        Black,
    }
    fn visit<'a>(
        node: &'a str,
        edges: &HashMap<&'a str, Vec<&'a str>>,
        colour: &mut HashMap<&'a str, Colour>,
    ) -> bool {
        match colour.get(node).copied().unwrap_or(Colour::White) {
            Colour::Grey => return true,
            Colour::Black => return false,
            Colour::White => {}
        }
        colour.insert(node, Colour::Grey);
        for &next in edges.get(node).into_iter().flatten() {
            if visit(next, edges, colour) {
                return true;
            }
        }
        colour.insert(node, Colour::Black);
        false
    }
    let edges = edges(services);
    let mut colour = HashMap::new();
    services
        .iter()
        .any(|(name, _)| visit(name, &edges, &mut colour))
}

/// Composite -> its targets, as borrowed names.
fn edges(services: &[(String, Node)]) -> HashMap<&str, Vec<&str>> {
    services
        .iter()
        .filter_map(|(name, node)| match node {
            Node::Composite(targets) => {
                Some((name.as_str(), targets.iter().map(String::as_str).collect()))
            }
            Node::Leaf => None,
        })
        .collect()
}

/// The validator's problems as (service, message) pairs; empty if accepted.
fn problems(toml: &str) -> Vec<(String, String)> {
    match SinkFactory::from_config_str(toml) {
        Ok(_) => Vec::new(),
        Err(SinkError::InvalidConfig(errors)) => {
            assert!(!errors.errors.is_empty(), "a rejection with no problems");
            errors
                .iter()
                .map(|error| {
                    (
                        error.service.clone().unwrap_or_default(),
                        error.message.clone(),
                    )
                })
                .collect()
        }
        Err(other) => panic!("expected InvalidConfig, got {other:?}"),
    }
}

/// Parses anything, must not panic, and a rejection must say something.
fn check_never_panics_and_explains(text: &str) {
    match SinkFactory::from_config_str(text) {
        Ok(_) => {}
        Err(SinkError::InvalidConfig(errors)) => {
            assert!(!errors.errors.is_empty(), "a rejection with no problems");
            for error in &errors {
                assert!(!error.message.trim().is_empty(), "an empty message");
                assert!(!errors.render(error).trim().is_empty());
            }
            assert!(!errors.to_string().is_empty());
        }
        Err(other) => panic!("expected InvalidConfig, got {other:?}"),
    }
}

/// Pieces of config text, so that generated text reaches past the TOML
/// parser into the validator more often than random characters do.
fn toml_like() -> impl Strategy<Value = String> {
    const PIECES: &[&str] = &[
        "[services.a]\n",
        "[services.b]\n",
        "[services.a.lazy]\n",
        "[services]\n",
        "[services.Type]\n",
        "[services.match]\n",
        "type = ",
        "endpoint = ",
        "pattern = ",
        "targets = ",
        "buffer_size = ",
        "max_message_bytes = ",
        "max_retries = ",
        "framing = ",
        "tls_ca_file = ",
        "lazy.",
        "backoff_multiplier = ",
        "connect_timeout_secs = ",
        "wait_timeout_secs = ",
        "auto_reconnect = ",
        "\"relay\"",
        "\"direct\"",
        "\"composite\"",
        "\"fanout\"",
        "\"raw\"",
        "\"/tmp/a.sock\"",
        "\"unix://\"",
        "\"tcp://[::1]:9000\"",
        "\"tcp://h:+1\"",
        "\"ws://u:p@h?q@r\"",
        "\"wss://[::1\"",
        "\"\"",
        "[\"a\", \"b\"]",
        "[]",
        "[1, \"a\"]",
        "{ type = \"relay\" }",
        "0",
        "-1",
        "4294967296",
        "18446744073709551616",
        "1e300",
        "-0.0",
        "nan",
        "inf",
        "0x10",
        "1_000",
        "true",
        "1979-05-27",
        "\n",
        " ",
        "=",
        ".",
        "\"",
        "#",
        "é",
        "\u{0}",
    ];
    proptest::collection::vec(proptest::sample::select(PIECES), 0..40)
        .prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn undefined_targets_and_cycles_agree_with_the_reference(services in topology()) {
        let toml = to_toml(&services);
        let found = problems(&toml);

        let undefined: BTreeSet<(String, String)> = found
            .iter()
            .filter_map(|(service, message)| {
                let target = message.strip_prefix("target `")?.strip_suffix("` is not defined")?;
                Some((service.clone(), target.to_owned()))
            })
            .collect();
        prop_assert_eq!(&undefined, &undefined_targets(&services), "config:\n{}", toml);

        let cycles: Vec<&str> = found
            .iter()
            .filter_map(|(_, message)| message.strip_prefix("the targets form a cycle: "))
            .collect();
        prop_assert_eq!(!cycles.is_empty(), has_cycle(&services), "config:\n{}", toml);

        // Each cycle shown is a real one: every step is an edge, and it
        // ends where it starts.
        let edges = edges(&services);
        for cycle in &cycles {
            let path: Vec<&str> = cycle.split(" -> ").collect();
            prop_assert!(path.len() >= 2 && path.first() == path.last(), "{}", cycle);
            for step in path.windows(2) {
                let targets = edges.get(step[0]).cloned().unwrap_or_default();
                prop_assert!(targets.contains(&step[1]), "{} in {}", cycle, toml);
            }
        }

        // Nothing else is wrong with these files.
        prop_assert_eq!(found.len(), undefined.len() + cycles.len(), "{:?}", found);
    }

    #[test]
    fn never_panics_on_arbitrary_text(text in any::<String>()) {
        check_never_panics_and_explains(&text);
    }

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_never_panics_and_explains(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn never_panics_on_config_like_text(text in toml_like()) {
        check_never_panics_and_explains(&text);
    }
}
