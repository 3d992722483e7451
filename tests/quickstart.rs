//! The README's main command works: `cargo run --example quickstart` starts
//! its listeners, sends through a relay, a direct sink, a fanout and a
//! failover, and every listener receives what was sent to it.

use std::process::Command;

#[test]
fn quickstart_example_delivers_to_every_listener() {
    let output = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--example", "quickstart"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "quickstart failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for line in [
        r#"market_data_relay received ["AAPL 189.52", "market open"]"#,
        r#"dashboard received ["market open"]"#,
        r#"polygon_strategy received ["signal: buy 100 AAPL", "order 42"]"#,
        "slow_service connected: false",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
    assert!(
        !stdout.contains("backup_strategy received"),
        "the failover skipped its healthy primary:\n{stdout}"
    );
}
