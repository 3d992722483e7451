//! The endpoint lifecycle under concurrency, outages and shutdown (issue 9),
//! against real Unix and TCP listeners: one writer per sink, every accepted
//! message written or counted failed exactly once, and every call answered
//! within its documented bound, whatever the peer, the other callers or the
//! tokio runtime do meanwhile.
//!
//! One binary (`cargo test --test lifecycle`), one module per behaviour; the
//! invariants checked from the peer's side live in `ledger`. The long
//! version of the outage test runs for minutes:
//! `cargo test --test lifecycle -- --ignored` (`LIFECYCLE_SOAK_SECS` sets how long).

#[path = "../support/mod.rs"]
mod support;

// Helpers: the invariants checked from the peer's side, and stalling a writer.
mod ledger;
mod stall;

mod cancel_connect;
mod composite_flush;
mod connect_disconnect;
mod dropped_sink;
mod outage;
mod plain_thread;
mod runtime_drop;
mod stalled_close;
