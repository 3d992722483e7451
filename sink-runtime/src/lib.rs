//! The runtime behind the `sinks` crate: config validation and, with the
//! `runtime` feature, the sinks themselves.
//!
//! # Layout
//! - [`config`]: the `services.toml` schema, parser and validator. Builds
//!   without tokio, so the `include_sinks!` macro runs the same code.
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

pub mod config;
