//! Running the built `sinks` binary with a bound, and temporary configs.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The longest one run of the binary may take before the test fails.
pub(crate) const BOUND: Duration = Duration::from_secs(20);

/// The workspace root, where `examples/` and `tests/ui/` are.
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("sinks-cli sits in the workspace")
        .to_path_buf()
}

/// `sinks ARGS` in the workspace root, stdout and stderr captured.
pub(crate) fn sinks(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sinks"));
    command
        .args(args)
        .current_dir(workspace())
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        // An overlay from the environment would change every verdict.
        .env_remove("SINKS_OVERLAY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs `sinks ARGS` with `stdin`, failing the test after [`BOUND`].
pub(crate) fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut command = sinks(args);
    command.stdin(Stdio::piped());
    let mut child = command.spawn().expect("start sinks");
    let mut input = child.stdin.take().expect("piped stdin");
    // A command that exits early closes the pipe; what it read is what counts.
    let _ = input.write_all(stdin);
    drop(input);
    wait(child)
}

/// Waits for `child`, killing it and failing the test after [`BOUND`].
pub(crate) fn wait(child: Child) -> Output {
    let id = child.id();
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match finished.recv_timeout(BOUND) {
        Ok(output) => output.expect("wait for sinks"),
        Err(_) => {
            // Only the child this test started.
            let _ = Command::new("kill").arg(id.to_string()).status();
            panic!("sinks did not finish within {BOUND:?}");
        }
    }
}

/// The exit status as a number.
pub(crate) fn code(output: &Output) -> i32 {
    output.status.code().expect("sinks exited, not killed")
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A config file in a fresh temporary directory.
pub(crate) struct TempConfig {
    dir: tempfile::TempDir,
}

impl TempConfig {
    pub(crate) fn new(toml: &str) -> TempConfig {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("services.toml"), toml).expect("write the config");
        TempConfig { dir }
    }

    pub(crate) fn path(&self) -> String {
        self.dir.path().join("services.toml").display().to_string()
    }

    /// Another file in the same directory.
    pub(crate) fn sibling(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// `sinks listen ARGS` started in the background, once it said where it listens.
pub(crate) struct Listening {
    pub(crate) child: Child,
    pub(crate) endpoint: String,
    stderr: BufReader<ChildStderr>,
}

impl Listening {
    pub(crate) fn start(args: &[&str]) -> Listening {
        let mut full = vec!["listen"];
        full.extend_from_slice(args);
        let mut child = sinks(&full).spawn().expect("start sinks listen");
        let mut stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
        let mut first = String::new();
        stderr.read_line(&mut first).expect("read stderr");
        let endpoint = first
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("expected `listening on`, got {first:?}"))
            .to_owned();
        Listening {
            child,
            endpoint,
            stderr,
        }
    }

    /// Waits for the listener to exit: its output, with the rest of stderr.
    pub(crate) fn finish(mut self) -> (Output, String) {
        let mut rest = String::new();
        let reader = std::thread::spawn(move || {
            let _ = self.stderr.read_to_string(&mut rest);
            rest
        });
        let output = wait(self.child);
        let rest = reader.join().expect("stderr reader");
        (output, rest)
    }
}
