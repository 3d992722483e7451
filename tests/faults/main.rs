//! Fault tests: real peers on loopback and Unix sockets that are absent,
//! restart, stall, break the connection, present the wrong TLS, or die under
//! a composite. Each test names what it proves and asserts it; every wait is
//! bounded, and every socket lives in a temporary directory or on port 0.
//!
//! `cargo test --test faults` runs them all (one binary, well under 30 s).

mod peers;
#[path = "../support/mod.rs"]
mod support;

mod broken_peers;
mod composites;
mod concurrency;
mod peer_down;
mod peer_restart;
mod stall;
mod tls_errors;
