//! `sinks`: check a `services.toml`, draw its topology, listen on an
//! endpoint, send through a service, probe every endpoint.
//!
//! Exit status: 0 when the command did what was asked, 1 when the input is
//! bad or the operation failed (an invalid config, a timeout, a failed send,
//! an unreachable endpoint), 2 on a usage error (clap's own status).
//!
//! Layout: `cli` (the arguments, described once for clap), then one file per
//! subcommand, `diagnostics` (rustc-style rendering of config problems) and
//! `report` (plain error lines, the progress line).

mod check;
mod cli;
mod diagnostics;
mod graph;
mod listen;
mod probe;
mod report;
mod send;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// What a command concluded, turned into the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Exit 0.
    Success,
    /// Exit 1: the input is bad or the operation failed; already reported.
    Failure,
}

#[tokio::main]
async fn main() -> ExitCode {
    // A usage error exits 2 here (and `--help` 0), as clap does.
    let cli = Cli::parse();
    let verdict = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Graph(args) => graph::run(&args),
        Command::Listen(args) => listen::run(&args).await,
        Command::Send(args) => send::run(&args).await,
        Command::Probe(args) => probe::run(&args).await,
    };
    match verdict {
        Verdict::Success => ExitCode::SUCCESS,
        Verdict::Failure => ExitCode::FAILURE,
    }
}
