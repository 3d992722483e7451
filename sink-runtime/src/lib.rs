//! The runtime behind the `sinks` crate: the config validator and, with the
//! `runtime` feature (on by default), the sinks themselves.
//!
//! Users depend on the `sinks` facade, which re-exports this crate and adds
//! the `include_sinks!` macro.
//!
//! # Layout
//! - [`config`]: the `services.toml` schema, parser and validator. Builds
//!   without tokio, so that `include_sinks!` runs the very same code.
//! - `message`: [`Message`], its metadata and priority.
//! - `error`: [`SinkError`].
//! - `sink`: the [`MessageSink`] trait, [`SinkMetadata`], [`SinkFuture`].
//! - `endpoint/`: [`EndpointSink`], a relay or direct service: a bounded
//!   queue in front of one lazily opened connection. Its state machine
//!   (`endpoint/state.rs`) owns the queue, the phase and the writer lease;
//!   the writer task owns the connection.
//! - `transport/`: Unix, TCP, WebSocket (plain or TLS) and, with the `nats`
//!   feature, NATS / JetStream connections; framing; the queue's form of a
//!   message (`pending`).
//! - `observe/`: `tracing` events (target `sinks`), their rate limits, and
//!   the metrics of the `metrics` feature.
//! - `composite/`: [`CompositeSink`]: fanout, round robin, failover.
//! - `factory`: [`SinkFactory`], which builds sinks from a config at run time.
//! - [`provider`]: where a factory resolves services at run time (a config
//!   file, a NATS key-value bucket).
//! - [`group`]: flush, connect, shut down or inspect every sink of a topology at once.
//! - `inbox/`: [`Inbox`], the receiving end of the wire format.
//! - `preflight`: [`Preflight`], one connection attempt per endpoint.
//! - [`codec`]: [`codec::LengthPrefixed`], the frame format as a tokio-util codec.
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    unused_must_use
)]

pub mod config;
#[cfg(feature = "runtime")]
mod error;

#[cfg(feature = "runtime")]
pub mod codec;
#[cfg(feature = "runtime")]
mod composite;
#[cfg(feature = "runtime")]
mod endpoint;
#[cfg(feature = "runtime")]
mod factory;
#[cfg(feature = "runtime")]
pub mod group;
#[cfg(feature = "runtime")]
mod inbox;
#[cfg(feature = "runtime")]
mod message;
#[cfg(feature = "runtime")]
mod observe;
#[cfg(feature = "runtime")]
mod preflight;
#[cfg(feature = "runtime")]
pub mod provider;
#[cfg(feature = "runtime")]
mod sink;
#[cfg(feature = "runtime")]
mod transport;

#[doc(hidden)]
#[cfg(feature = "runtime")]
#[allow(missing_docs)]
pub mod __private;

#[cfg(feature = "runtime")]
pub use composite::CompositeSink;
#[cfg(feature = "runtime")]
pub use endpoint::EndpointSink;
#[cfg(feature = "runtime")]
pub use error::SinkError;
#[cfg(feature = "runtime")]
pub use factory::SinkFactory;
#[cfg(feature = "runtime")]
pub use inbox::{Inbox, InboxOptions};
#[cfg(feature = "runtime")]
pub use message::{Message, MessageMetadata, MessagePriority};
#[cfg(feature = "runtime")]
pub use preflight::{Preflight, PreflightEntry, PreflightOutcome, preflight, preflight_leaves};
#[cfg(feature = "runtime")]
pub use sink::{ConnectionState, MessageSink, SinkFuture, SinkMetadata};
