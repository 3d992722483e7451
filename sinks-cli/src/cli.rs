//! The command line, described once: clap derives parsing, `--help` and
//! usage errors from these types.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Check, draw, listen to, send through and probe a sinks `services.toml`.
#[derive(Debug, Parser)]
#[command(name = "sinks", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Validate a services.toml with the same checks as `include_sinks!` and
    /// `SinkFactory`, resolved as `Sinks::from_env()` resolves it (`${VAR}`
    /// from the environment, `SINKS_OVERLAY`, then each `--overlay`); every
    /// problem is shown. Exit 1 if it has any.
    Check(CheckArgs),
    /// Print the topology: services, composites with their pattern and
    /// targets in order, endpoints (the compiled values) without credentials.
    Graph(GraphArgs),
    /// Receive what sinks send to ENDPOINT (an `Inbox`) and print or count it.
    Listen(ListenArgs),
    /// Send stdin lines (or a file's bytes) through SERVICE of FILE, flush,
    /// and say how it went. Exit 1 if anything failed.
    Send(SendArgs),
    /// Open one connection to every endpoint of FILE (with its own TLS
    /// settings), close it, and show which are reachable. Exit 1 if any is not.
    Probe(ProbeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The services.toml to check.
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) deploy: DeployArgs,
    /// Check the compiled values alone, exactly as `include_sinks!` does:
    /// no environment, no overlays; a `${VAR}` without a default is then
    /// left for run time (shown as a `note:`) instead of being an error.
    #[arg(long, conflicts_with = "overlays")]
    pub(crate) compiled: bool,
    /// `human`: rustc-style snippets on stderr; `json`: an array of problems on stdout.
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub(crate) format: CheckFormat,
}

/// The deploy-time values a command reads the config with, the way a
/// service built with `Sinks::from_env()` reads it: check, send and probe
/// see what that service would see.
#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// An overlay: `[services.NAME]` tables that set values (endpoint,
    /// buffer and retry settings, `lazy.*`, `tls_ca_file`, ...), never the
    /// topology. Repeatable; later overlays win, and all come after the one
    /// `SINKS_OVERLAY` names. `${VAR}` is resolved from the environment: a
    /// variable without a default must be set (`VAR=x sinks ...`).
    #[arg(long = "overlay", value_name = "FILE")]
    pub(crate) overlays: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CheckFormat {
    /// The source line, a caret under the problem, `help:` with the fix.
    Human,
    /// `[{"file", "line", "column", "service", "key", "message", "help"}]`.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
    /// The services.toml to draw.
    pub(crate) file: PathBuf,
    /// The graph language.
    #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
    pub(crate) format: GraphFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GraphFormat {
    /// A Mermaid flowchart (GitHub renders it in Markdown).
    Mermaid,
    /// Graphviz DOT (`| dot -Tsvg`).
    Dot,
}

#[derive(Debug, Args)]
pub(crate) struct ListenArgs {
    /// Where to listen: `unix:///abs/path`, `tcp://host:port`,
    /// `ws://host:port/path`; port 0 picks a free port (printed on stderr).
    pub(crate) endpoint: String,
    /// How messages are delimited on Unix and TCP, as the sinks' `framing`.
    #[arg(long, value_enum, default_value_t = FramingArg::LengthPrefixed)]
    pub(crate) framing: FramingArg,
    /// Print each message on a line, as text when it is UTF-8, else as hex (the default).
    #[arg(long, conflicts_with = "count")]
    pub(crate) print: bool,
    /// Print every message as hex, even text.
    #[arg(long, conflicts_with = "count")]
    pub(crate) hex: bool,
    /// Only count: a live rate line on stderr (on a terminal), the total at the end.
    #[arg(long)]
    pub(crate) count: bool,
    /// Exit 0 once N messages arrived (1 if `--timeout` passes first).
    #[arg(long, value_name = "N")]
    pub(crate) expect: Option<u64>,
    /// Stop after SECS seconds (fractions allowed): a failure with
    /// `--expect`, the normal end without.
    #[arg(long, value_name = "SECS", value_parser = seconds)]
    pub(crate) timeout: Option<Duration>,
    /// The longest message accepted; a longer one closes its connection.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024 * 1024)]
    pub(crate) max_frame_bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FramingArg {
    /// A u32 little-endian length, then the payload.
    #[value(name = "length_prefixed")]
    LengthPrefixed,
    /// Bytes as they come: each read is one item.
    Raw,
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// The services.toml that defines SERVICE.
    pub(crate) file: PathBuf,
    /// The service to send through (relay, direct or composite).
    pub(crate) service: String,
    /// Send this file's bytes as one message instead of reading stdin lines.
    #[arg(long = "file", value_name = "PATH")]
    pub(crate) payload_file: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) deploy: DeployArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ProbeArgs {
    /// The services.toml whose endpoints to probe.
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) deploy: DeployArgs,
    /// The bound on each connection attempt, in seconds (fractions allowed).
    #[arg(long, value_name = "SECS", value_parser = seconds, default_value = "5")]
    pub(crate) timeout: Duration,
}

/// A non-negative number of seconds, `2` or `0.25`.
fn seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("`{text}` is not a number of seconds from 0 up"))
}
