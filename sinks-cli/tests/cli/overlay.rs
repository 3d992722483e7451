//! `--overlay` and the environment under `check`, `send` and `probe`: the
//! values a deployment changes, read as `Sinks::from_env()` reads them.

use std::process::Output;

use sinks::Inbox;

use crate::support::{TempConfig, code, run, sinks, stderr, stdout, wait};

/// A direct service whose compiled endpoint nothing listens on (port 9 is
/// never bound in these tests) and that does not retry.
const FEED: &str =
    "[services.feed]\ntype = \"direct\"\nendpoint = \"tcp://127.0.0.1:9\"\nmax_retries = 0\n";

/// `config` with an overlay file `name` beside it holding `toml`; its path.
fn overlay(config: &TempConfig, name: &str, toml: &str) -> String {
    let path = config.sibling(name);
    std::fs::write(&path, toml).expect("write the overlay");
    path.display().to_string()
}

/// `sinks ARGS` with `vars` set (a `None` value removes the variable).
fn run_with(args: &[&str], vars: &[(&str, Option<&str>)]) -> Output {
    let mut command = sinks(args);
    for (name, value) in vars {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    wait(command.spawn().expect("start sinks"))
}

async fn blocking(args: Vec<String>, stdin: &'static [u8]) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args, stdin)
    })
    .await
    .expect("sinks ran")
}

#[tokio::test]
async fn send_and_probe_use_the_endpoint_an_overlay_gives() {
    let mut inbox = Inbox::bind("tcp://127.0.0.1:0").await.expect("bind");
    let config = TempConfig::new(FEED);
    let moved = overlay(
        &config,
        "staging.toml",
        &format!(
            "[services.feed]\nendpoint = \"{}\"\n",
            inbox.local_endpoint()
        ),
    );
    let output = blocking(
        vec![
            "send".into(),
            config.path(),
            "feed".into(),
            "--overlay".into(),
            moved.clone(),
        ],
        b"over there\n",
    )
    .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output), "sent 1 message (10 B) through `feed`\n");
    let item = tokio::time::timeout(crate::support::BOUND, inbox.recv())
        .await
        .expect("a message within the bound");
    assert_eq!(item.expect("open").expect("a message"), &b"over there"[..]);

    let probed = blocking(
        vec!["probe".into(), config.path(), "--overlay".into(), moved],
        b"",
    )
    .await;
    assert_eq!(code(&probed), 0, "{}", stdout(&probed));
    assert!(
        stdout(&probed).contains(&inbox.local_endpoint()),
        "{}",
        stdout(&probed)
    );
}

#[test]
fn later_overlays_win_and_a_bad_value_points_into_its_overlay() {
    let config = TempConfig::new(FEED);
    let bad = overlay(&config, "bad.toml", "[services.feed]\nbuffer_size = 0\n");
    let fixed = overlay(&config, "fixed.toml", "[services.feed]\nbuffer_size = 64\n");
    let output = run(&["check", &config.path(), "--overlay", &bad], b"");
    assert_eq!(code(&output), 1);
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        format!(
            "\
error: service `feed`, key `buffer_size`: `buffer_size` is 0
 --> {bad}:2:15
  |
2 | buffer_size = 0
  |               ^
  |
  = help: use a whole number from 1 to 16777216

error: `{}` and its overlays have 1 problem
",
            config.path()
        )
    );
    let json = run(
        &[
            "check",
            "--format",
            "json",
            &config.path(),
            "--overlay",
            &bad,
        ],
        b"",
    );
    let problems: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(problems[0]["file"], bad.as_str());
    assert_eq!(problems[0]["line"], 2);

    let overruled = run(
        &[
            "check",
            &config.path(),
            "--overlay",
            &bad,
            "--overlay",
            &fixed,
        ],
        b"",
    );
    assert_eq!(code(&overruled), 0, "{}", stderr(&overruled));
}

#[test]
fn an_overlay_cannot_change_the_topology() {
    let config = TempConfig::new(FEED);
    let path = overlay(
        &config,
        "topology.toml",
        "[services.feed]\ntype = \"composite\"\n",
    );
    let output = run(&["check", &config.path(), "--overlay", &path], b"");
    assert_eq!(code(&output), 1);
    assert_eq!(
        stderr(&output),
        format!(
            "\
error: service `feed`, key `type`: an overlay cannot set `type`: the topology is fixed at compile time
 --> {path}:2:1
  |
2 | type = \"composite\"
  | ^^^^
  |
  = help: an overlay may set endpoint, buffer and retry settings, lazy.*, tls_ca_file, max_message_bytes, framing, jetstream, jetstream_max_in_flight and metadata; change the rest in the config file and rebuild

error: `{}` and its overlays have 1 problem
",
            config.path()
        )
    );
    // `send` reads the config the same way, and sends nothing.
    let sent = run(
        &["send", &config.path(), "feed", "--overlay", &path],
        b"x\n",
    );
    assert_eq!(code(&sent), 1);
    assert_eq!(stderr(&sent), stderr(&output));
}

#[test]
fn an_unreadable_overlay_is_a_problem() {
    let config = TempConfig::new(FEED);
    let missing = config.sibling("missing.toml").display().to_string();
    let output = run(&["check", &config.path(), "--overlay", &missing], b"");
    assert_eq!(code(&output), 1);
    assert_eq!(
        stderr(&output),
        format!(
            "\
error: cannot read the overlay file: No such file or directory (os error 2)
 --> {missing}
  = help: check the path (from `SINKS_OVERLAY` or `Overrides::overlay_file`)

error: `{}` and its overlays have 1 problem
",
            config.path()
        )
    );
}

/// A variable no other test or environment sets.
const HOST_VAR: &str = "SINKS_CLI_TEST_FEED_HOST";

fn needs_a_variable() -> TempConfig {
    TempConfig::new(&format!(
        "[services.feed]\ntype = \"direct\"\nendpoint = \"tcp://${{{HOST_VAR}}}:9000\"\n"
    ))
}

#[test]
fn check_resolves_variables_from_the_environment() {
    let config = needs_a_variable();
    let unset = run_with(&["check", &config.path()], &[(HOST_VAR, None)]);
    assert_eq!(code(&unset), 1);
    assert_eq!(
        stderr(&unset),
        format!(
            "\
error: service `feed`, key `endpoint`: the variable `{HOST_VAR}` is not set; set it, or give a default: `${{{HOST_VAR}:-...}}`
 --> {path}:3:12
  |
3 | endpoint = \"tcp://${{{HOST_VAR}}}:9000\"
  |            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^

error: `{path}` has 1 problem
",
            path = config.path()
        )
    );

    let set = run_with(&["check", &config.path()], &[(HOST_VAR, Some("127.0.0.1"))]);
    assert_eq!(code(&set), 0, "{}", stderr(&set));

    // The resolved value is checked by the same rules.
    let bad = run_with(&["check", &config.path()], &[(HOST_VAR, Some("exa!mple"))]);
    assert_eq!(code(&bad), 1);
    assert!(
        stderr(&bad)
            .starts_with("error: service `feed`, key `endpoint`: the host `exa!mple` contains '!'"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn compiled_leaves_a_variable_for_run_time_as_the_macro_does() {
    let config = needs_a_variable();
    let output = run_with(
        &["check", "--compiled", &config.path()],
        &[(HOST_VAR, None)],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        format!(
            "{} is valid: 1 service (0 relay, 1 direct, 0 composite)\n",
            config.path()
        )
    );
    // What is left for run time is said, in the validator's words.
    assert_eq!(
        stderr(&output),
        format!(
            "\
note: service `feed`, key `endpoint`: needs the variable `{HOST_VAR}` (no default), but the sinks were built from the compiled values alone
 --> {path}:3:12
  |
3 | endpoint = \"tcp://${{{HOST_VAR}}}:9000\"
  |            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  |
  = help: build them with `from_env()` or `with_overrides(..)`, or give a default: `${{VAR:-value}}`
",
            path = config.path()
        )
    );
}

#[test]
fn check_reads_the_overlay_sinks_overlay_names_first() {
    let config = TempConfig::new(FEED);
    let named = overlay(&config, "env.toml", "[services.feed]\nmax_retries = -1\n");
    let output = run_with(
        &["check", &config.path()],
        &[("SINKS_OVERLAY", Some(&named))],
    );
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains(&format!(" --> {named}:2:15\n")),
        "{}",
        stderr(&output)
    );
    // A later `--overlay` overrules it.
    let fixed = overlay(&config, "fixed.toml", "[services.feed]\nmax_retries = 3\n");
    let overruled = run_with(
        &["check", &config.path(), "--overlay", &fixed],
        &[("SINKS_OVERLAY", Some(&named))],
    );
    assert_eq!(code(&overruled), 0, "{}", stderr(&overruled));
}
