//! The `sinks` binary, run as a user runs it: real config files, real
//! inboxes and sinks on loopback, output and exit status asserted.
//!
//! One test binary (`cargo test -p sinks-cli --test cli`), one module per
//! subcommand; `support` starts the binary with a bound on every run.

mod check;
mod graph;
mod listen;
mod overlay;
mod probe;
mod send;
mod support;
