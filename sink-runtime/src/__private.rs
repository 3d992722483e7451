//! Used by code that `include_sinks!` generates; not public API.
//!
//! The generated struct holds the config text (`include_str!`, which also
//! makes cargo watch the file) and each `tls_ca_file`'s PEM
//! (`include_bytes!`), and builds through [`Built`]: the very parser,
//! validator and topology builder `SinkFactory` uses. Generated code names
//! everything through `::sinks::__private`, so the user's crate depends on
//! `sinks` alone.

pub use std::sync::{Arc, OnceLock};

pub use crate::config::{Overrides, ServicesConfig};
pub use crate::factory::{Built, Plan, SinkRef};
