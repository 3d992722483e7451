//! Behaviour tests: every promise of the README's "Wire format" and "What a
//! send promises", checked against real Unix, TCP, WebSocket and TLS
//! listeners by the bytes that arrive. One binary, so CI links once.
//!
//! `cargo test --test behaviour` runs them all; every wait is bounded and no
//! test uses a fixed port.

#[path = "../common/mod.rs"]
mod common;

mod backpressure;
mod composite;
mod credentials;
mod factory;
mod lazy_connect;
mod reconnect;
mod retry;
mod tls;
mod wire_format;
