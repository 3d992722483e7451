//! `sinks graph`: the topology as Mermaid and DOT, credentials hidden.

use crate::support::{TempConfig, code, run, stderr, stdout};

/// The README shows this very graph.
const EXAMPLE_MERMAID: &str = r#"flowchart LR
    market_data_relay["market_data_relay<br/>relay · unix:///tmp/sinks-quickstart/market_data_relay.sock"]
    polygon_strategy["polygon_strategy<br/>direct · tcp://127.0.0.1:19001"]
    dashboard["dashboard<br/>direct · ws://127.0.0.1:18080/ws"]
    broadcast_all{{"broadcast_all<br/>fanout"}}
    failover_group{{"failover_group<br/>failover"}}
    backup_strategy["backup_strategy<br/>direct · unix:///tmp/sinks-quickstart/backup_strategy.sock"]
    slow_service["slow_service<br/>direct · tcp://127.0.0.1:19999"]
    broadcast_all -->|1| market_data_relay
    broadcast_all -->|2| dashboard
    failover_group -->|1| polygon_strategy
    failover_group -->|2| backup_strategy
"#;

#[test]
fn mermaid_shows_services_patterns_and_target_order() {
    let output = run(&["graph", "examples/services.toml"], b"");
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output), EXAMPLE_MERMAID);
}

#[test]
fn the_readme_shows_the_examples_graph() {
    let readme =
        std::fs::read_to_string(crate::support::workspace().join("README.md")).expect("README.md");
    assert!(
        readme.contains(&format!("```mermaid\n{EXAMPLE_MERMAID}```")),
        "README.md lacks the graph of examples/services.toml"
    );
}

#[test]
fn dot_has_a_node_per_service_and_numbered_edges() {
    let config = TempConfig::new(
        r#"
[services.primary]
type = "direct"
endpoint = "tcp://127.0.0.1:9001"

[services.backup]
type = "relay"
endpoint = "/tmp/backup.sock"

[services.group]
type = "composite"
pattern = "failover"
targets = ["primary", "backup"]
"#,
    );
    let output = run(&["graph", "--format", "dot", &config.path()], b"");
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        r#"digraph sinks {
    rankdir=LR;
    "primary" [shape=box, label="primary\ndirect · tcp://127.0.0.1:9001"];
    "backup" [shape=box, label="backup\nrelay · unix:///tmp/backup.sock"];
    "group" [shape=hexagon, label="group\nfailover"];
    "group" -> "primary" [label="1"];
    "group" -> "backup" [label="2"];
}
"#
    );
}

#[test]
fn credentials_never_reach_the_graph() {
    let config = TempConfig::new(
        r#"
[services.feed]
type = "direct"
endpoint = "ws://trader:hunter2@127.0.0.1:8080/feed"
"#,
    );
    for format in ["mermaid", "dot"] {
        let output = run(&["graph", "--format", format, &config.path()], b"");
        assert_eq!(code(&output), 0);
        let graph = stdout(&output);
        assert!(graph.contains("ws://***@127.0.0.1:8080/feed"), "{graph}");
        assert!(
            !graph.contains("hunter2") && !graph.contains("trader"),
            "{graph}"
        );
    }
}

#[test]
fn an_invalid_file_gets_the_diagnostics_and_exit_1() {
    let output = run(&["graph", "tests/ui/undefined-target.toml"], b"");
    assert_eq!(code(&output), 1);
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains(" --> tests/ui/undefined-target.toml:"),
        "{}",
        stderr(&output)
    );
}
