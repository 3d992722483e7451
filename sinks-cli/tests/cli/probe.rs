//! `sinks probe`: one attempt per endpoint against live, refused, silent,
//! TLS-less and unresolvable peers, shown as a table.

use sinks::Inbox;
use tokio::net::TcpListener;

use crate::support::{TempConfig, code, run, stderr, stdout};

fn direct(name: &str, endpoint: &str) -> String {
    format!("[services.{name}]\ntype = \"direct\"\nendpoint = \"{endpoint}\"\n\n")
}

async fn probe(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args, b"")
    })
    .await
    .expect("sinks probe ran")
}

/// The result column of `service`'s row.
fn result_of<'a>(table: &'a str, service: &str) -> &'a str {
    let row = table
        .lines()
        .find(|line| line.split_whitespace().next() == Some(service))
        .unwrap_or_else(|| panic!("no row for {service} in\n{table}"));
    let endpoint_end = row.find("  ").expect("columns");
    row[endpoint_end..]
        .trim_start()
        .split_once("  ")
        .map_or("", |(_, result)| result.trim_start())
}

#[tokio::test]
async fn live_endpoints_are_reachable_and_exit_0() {
    let tcp = Inbox::bind("tcp://127.0.0.1:0").await.expect("bind");
    let ws = Inbox::bind("ws://127.0.0.1:0/feed").await.expect("bind");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let unix = Inbox::bind(&format!("unix://{}", dir.path().join("r.sock").display()))
        .await
        .expect("bind");
    let config = TempConfig::new(&format!(
        "{}{}[services.relay]\ntype = \"relay\"\nendpoint = \"{}\"\n\n[services.all]\ntype = \"composite\"\npattern = \"fanout\"\ntargets = [\"tcp\", \"ws\"]\n",
        direct("tcp", &tcp.local_endpoint()),
        direct("ws", &ws.local_endpoint()),
        unix.local_endpoint(),
    ));
    let output = probe(vec!["probe".into(), config.path()]).await;
    let table = stdout(&output);
    assert_eq!(code(&output), 0, "{table}{}", stderr(&output));
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("service  endpoint"), "{table}");
    assert!(lines[0].ends_with("  result"), "{table}");
    assert_eq!(
        lines.len(),
        5,
        "a header, three services (not the composite), a total:\n{table}"
    );
    for service in ["tcp", "ws", "relay"] {
        assert!(
            result_of(&table, service).starts_with("reachable in "),
            "{service}: {table}"
        );
    }
    assert!(
        table.contains(&format!("  {}  ", ws.local_endpoint())),
        "{table}"
    );
    assert_eq!(lines[4], "3 of 3 endpoints reachable");
}

#[tokio::test]
async fn live_refused_silent_tls_less_and_unresolvable_peers_are_told_apart() {
    // Bound and dropped: connecting is refused.
    let refused = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
        .local_addr()
        .expect("address");
    // Bound, never accepted from: TCP connects, the WebSocket handshake never answers.
    let silent = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    // Accepts and hangs up at once: no TLS handshake.
    let rude = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let rude_address = rude.local_addr().expect("address");
    let hang_up = tokio::spawn(async move {
        while let Ok((stream, _)) = rude.accept().await {
            drop(stream);
        }
    });
    let live = Inbox::bind("tcp://127.0.0.1:0").await.expect("bind");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = TempConfig::new(&format!(
        "{}{}{}{}{}{}",
        direct("live", &live.local_endpoint()),
        direct("refused", &format!("tcp://{refused}")),
        direct(
            "gone",
            &format!("unix://{}", dir.path().join("none.sock").display())
        ),
        direct(
            "silent",
            &format!("ws://{}/", silent.local_addr().expect("address"))
        ),
        direct(
            "secure",
            &format!("wss://localhost:{}/", rude_address.port())
        ),
        // `.invalid` is reserved never to resolve (RFC 6761); the system's
        // own resolver says so.
        direct("lost", "tcp://nowhere.invalid:9"),
    ));
    let output = probe(vec![
        "probe".into(),
        config.path(),
        "--timeout".into(),
        "0.5".into(),
    ])
    .await;
    hang_up.abort();
    let table = stdout(&output);
    assert_eq!(code(&output), 1, "{table}{}", stderr(&output));
    assert_eq!(
        result_of(&table, "refused"),
        "refused: Connection refused (os error 111)"
    );
    assert_eq!(
        result_of(&table, "gone"),
        "refused: No such file or directory (os error 2)"
    );
    assert_eq!(result_of(&table, "silent"), "timed out after 500.0 ms");
    assert!(
        result_of(&table, "secure").starts_with("TLS failed: TLS handshake failed: "),
        "{table}"
    );
    assert!(
        result_of(&table, "lost")
            .starts_with("name not resolved: cannot resolve `nowhere.invalid`: "),
        "{table}"
    );
    assert!(
        result_of(&table, "live").starts_with("reachable in "),
        "{table}"
    );
    assert!(table.ends_with("1 of 6 endpoints reachable\n"), "{table}");
}

#[test]
fn an_invalid_config_gets_the_diagnostics() {
    let output = run(&["probe", "tests/ui/endpoint-without-port.toml"], b"");
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains(" --> tests/ui/endpoint-without-port.toml:"),
        "{}",
        stderr(&output)
    );
}
