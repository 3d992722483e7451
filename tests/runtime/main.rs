//! The runtime against real listeners: tokio Unix and TCP listeners, a
//! tokio-tungstenite server, and one behind TLS with a certificate from a
//! private CA made for the test. Every test checks the bytes that arrive.
//!
//! One binary (`cargo test --test runtime`) so CI links once. Each module is
//! one behaviour; the peers and helpers live in `tests/support`.

#[path = "../support/mod.rs"]
mod support;

mod backpressure;
mod batch;
mod borrowed;
mod composite;
mod factory;
mod fairness;
mod lazy_connect;
mod reconnect;
mod retry;
mod tls;
mod wire_format;
mod write_through;
