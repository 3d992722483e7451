//! How an [`Inbox`](super::Inbox) reads its connections.

use crate::config::{Framing, LeafConfig};

/// How an inbox delimits and bounds what it receives.
///
/// `Framing` converts into options, so `Inbox::bind_with(endpoint,
/// Framing::Raw)` works; the builder methods set the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboxOptions {
    /// How messages are delimited on Unix and TCP connections (WebSocket
    /// ignores it: one binary frame is one message).
    pub framing: Framing,
    /// The longest message accepted, in bytes; a longer one closes its
    /// connection with an error. Raw framing has no messages to measure and
    /// ignores it.
    pub max_frame_bytes: usize,
    /// How many received items may wait for `recv` before connections stop
    /// reading (and so their senders slow down).
    pub capacity: usize,
}

impl InboxOptions {
    /// Default [`capacity`](InboxOptions::capacity).
    pub const DEFAULT_CAPACITY: usize = 1024;

    /// `length_prefixed`, frames up to 16 MiB (the sinks' default
    /// `max_message_bytes`), 1024 waiting items.
    pub fn new() -> InboxOptions {
        InboxOptions {
            framing: Framing::LengthPrefixed,
            max_frame_bytes: LeafConfig::DEFAULT_MAX_MESSAGE_BYTES,
            capacity: Self::DEFAULT_CAPACITY,
        }
    }

    /// Sets the framing.
    pub fn framing(mut self, framing: Framing) -> InboxOptions {
        self.framing = framing;
        self
    }

    /// Sets the longest message accepted (at most `u32::MAX`, what a length
    /// prefix can announce).
    pub fn max_frame_bytes(mut self, max_frame_bytes: usize) -> InboxOptions {
        self.max_frame_bytes = max_frame_bytes.min(u32::MAX as usize);
        self
    }

    /// Sets how many items may wait for `recv` (at least 1).
    pub fn capacity(mut self, capacity: usize) -> InboxOptions {
        self.capacity = capacity.max(1);
        self
    }
}

impl Default for InboxOptions {
    fn default() -> InboxOptions {
        InboxOptions::new()
    }
}

impl From<Framing> for InboxOptions {
    fn from(framing: Framing) -> InboxOptions {
        InboxOptions::new().framing(framing)
    }
}
