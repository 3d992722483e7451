//! Everything that can go wrong when sending.

use std::time::Duration;

use crate::config::ConfigErrors;

/// An error from a sink or the factory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// Every connect attempt failed (after the configured retries).
    #[error("sink `{sink}`: cannot connect to {endpoint} after {attempts} attempt(s): {reason}")]
    ConnectionFailed {
        /// The sink's service name.
        sink: String,
        /// The endpoint, without credentials.
        endpoint: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last attempt's error.
        reason: String,
    },
    /// An established connection dropped and could not be brought back.
    #[error("sink `{sink}`: lost the connection to {endpoint}: {reason}")]
    ConnectionLost {
        /// The sink's service name.
        sink: String,
        /// The endpoint, without credentials.
        endpoint: String,
        /// Why it dropped.
        reason: String,
    },
    /// Messages that were accepted could not be written; `flush` reports them.
    #[error("sink `{sink}`: {failed} message(s) could not be sent: {reason}")]
    SendFailed {
        /// The sink's service name.
        sink: String,
        /// How many messages failed since the last report.
        failed: u64,
        /// The last error seen.
        reason: String,
    },
    /// `try_send` found the queue full.
    #[error("sink `{sink}`: the buffer of {capacity} message(s) is full")]
    BufferFull {
        /// The sink's service name.
        sink: String,
        /// The configured `buffer_size`.
        capacity: usize,
    },
    /// The sink has been dropped or shut down.
    #[error("sink `{sink}` is closed")]
    Closed {
        /// The sink's service name.
        sink: String,
    },
    /// A wait was longer than the configured bound.
    #[error("sink `{sink}`: {operation} timed out after {after:?}")]
    Timeout {
        /// The sink's service name.
        sink: String,
        /// What was waiting: `send`, `flush`, `connect`, `disconnect`.
        operation: &'static str,
        /// How long it waited.
        after: Duration,
    },
    /// The config has problems; every one of them is listed.
    #[error("{0}")]
    InvalidConfig(ConfigErrors),
    /// An I/O error outside a connection (reading the config, loading a CA file).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A payload larger than the sink accepts; nothing was sent.
    #[error("sink `{sink}`: the payload is {size} bytes, more than the limit of {limit}")]
    MessageTooLarge {
        /// The sink's service name.
        sink: String,
        /// The payload length.
        size: usize,
        /// `max_message_bytes`, or the u32 length prefix's limit.
        limit: usize,
    },
    /// Some targets of a composite failed; the others got the message.
    #[error("composite `{sink}`: {} of {total} target(s) failed: {}", failed.len(), describe(failed))]
    TargetsFailed {
        /// The composite's service name.
        sink: String,
        /// How many targets were tried.
        total: usize,
        /// Each failed target's name and error.
        failed: Vec<(String, SinkError)>,
    },
    /// A message whose TLV type is outside the sink's `domain`; nothing was sent.
    #[error("sink `{sink}`: {reason}")]
    OutsideDomain {
        /// The sink's service name.
        sink: String,
        /// The TLV type and the range the sink's domain takes.
        reason: String,
    },
    /// A sink that needs the tokio runtime was used outside of one.
    #[error("sink `{sink}`: {operation} must be called from within a tokio runtime")]
    NoRuntime {
        /// The sink's service name.
        sink: String,
        /// The call that needed it.
        operation: &'static str,
    },
}

fn describe(failed: &[(String, SinkError)]) -> String {
    failed
        .iter()
        .map(|(target, error)| format!("`{target}` ({error})"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl SinkError {
    /// The names of the targets that failed, for a composite's error.
    pub fn failed_targets(&self) -> Vec<&str> {
        match self {
            SinkError::TargetsFailed { failed, .. } => {
                failed.iter().map(|(name, _)| name.as_str()).collect()
            }
            _ => Vec::new(),
        }
    }
}

impl From<ConfigErrors> for SinkError {
    fn from(errors: ConfigErrors) -> SinkError {
        SinkError::InvalidConfig(errors)
    }
}
