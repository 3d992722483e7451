//! Editing the TOML makes the next `cargo build` expand `include_sinks!`
//! again: proven on a scratch crate that depends on this one, by editing
//! only its services.toml between builds.

use std::path::Path;
use std::process::{Command, Output};

const MAIN_PRINTS_SERVICES: &str = r#"
sinks::include_sinks!("services.toml");

fn main() {
    println!("services: {:?}", Sinks::SERVICES);
}
"#;

const MAIN_CALLS_SECOND: &str = r#"
use sinks::MessageSink;

sinks::include_sinks!("services.toml");

fn main() {
    let sinks = Sinks::new();
    println!("second is a {}", sinks.second().metadata().sink_type);
}
"#;

const ONE_SERVICE: &str =
    "[services.first]\ntype = \"relay\"\nendpoint = \"/tmp/regen-first.sock\"\n";
const SECOND_SERVICE: &str =
    "\n[services.second]\ntype = \"direct\"\nendpoint = \"tcp://127.0.0.1:9\"\n";
const CYCLE: &str = "\n[services.a]\ntype = \"composite\"\npattern = \"fanout\"\ntargets = [\"b\"]\n\n[services.b]\ntype = \"composite\"\npattern = \"fanout\"\ntargets = [\"a\"]\n";

#[test]
fn editing_the_config_reruns_the_macro() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scratch = tempfile::tempdir().expect("temp dir");
    let dir = scratch.path();
    std::fs::create_dir_all(dir.join("src")).expect("src dir");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"regen\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n\
             [dependencies]\nsinks = {{ path = {:?} }}\n\n[workspace]\n",
            repo.display().to_string()
        ),
    )
    .expect("manifest");
    // The same versions as this workspace, so the build needs no network.
    std::fs::copy(repo.join("Cargo.lock"), dir.join("Cargo.lock")).expect("lock file");
    std::fs::write(dir.join("src/main.rs"), MAIN_PRINTS_SERVICES).expect("main.rs");
    std::fs::write(dir.join("services.toml"), ONE_SERVICE).expect("services.toml");

    let first = cargo_run(dir);
    assert_eq!(
        stdout(&first),
        "services: [\"first\"]\n",
        "{}",
        stderr(&first)
    );

    // Only the TOML changes: the macro must run again.
    std::fs::write(
        dir.join("services.toml"),
        format!("{ONE_SERVICE}{SECOND_SERVICE}"),
    )
    .expect("edit");
    let second = cargo_run(dir);
    assert_eq!(
        stdout(&second),
        "services: [\"first\", \"second\"]\n",
        "{}",
        stderr(&second)
    );

    // The new accessor exists.
    std::fs::write(dir.join("src/main.rs"), MAIN_CALLS_SECOND).expect("main.rs");
    let accessor = cargo_run(dir);
    assert_eq!(
        stdout(&accessor),
        "second is a direct\n",
        "{}",
        stderr(&accessor)
    );

    // A cycle, again only in the TOML, fails the build and says where.
    std::fs::write(
        dir.join("services.toml"),
        format!("{ONE_SERVICE}{SECOND_SERVICE}{CYCLE}"),
    )
    .expect("edit");
    let broken = cargo_run(dir);
    assert!(!broken.status.success(), "a cyclic config built");
    assert!(
        stderr(&broken).contains(
            "services.toml:12:1: service `a`, key `targets`: the targets form a cycle: a -> b -> a"
        ),
        "{}",
        stderr(&broken)
    );
}

fn cargo_run(dir: &Path) -> Output {
    Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--offline"])
        .current_dir(dir)
        // Under this test binary's own target directory (whatever
        // `CARGO_TARGET_DIR` says), shared between runs, so only the scratch
        // crate is rebuilt.
        .env(
            "CARGO_TARGET_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("macro-regenerates"),
        )
        .output()
        .expect("cargo runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
