//! What a sink carries: a byte payload and metadata that stays local.

use std::sync::Arc;

use bytes::Bytes;

/// One message: the payload goes on the wire, the metadata does not.
///
/// Cloning is cheap: the payload is reference counted, so a fanout hands the
/// same bytes to every target without copying them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// The bytes sent to the peer.
    pub payload: Bytes,
    /// Local information about the message; never sent.
    pub metadata: MessageMetadata,
}

impl Message {
    /// A message with `payload` and default metadata.
    pub fn new(payload: impl Into<Bytes>) -> Message {
        Message {
            payload: payload.into(),
            metadata: MessageMetadata::default(),
        }
    }

    /// Sets the priority.
    pub fn with_priority(mut self, priority: MessagePriority) -> Message {
        self.metadata.priority = priority;
        self
    }

    /// Sets the correlation id.
    pub fn with_correlation_id(mut self, correlation_id: u64) -> Message {
        self.metadata.correlation_id = Some(correlation_id);
        self
    }

    /// Sets the TLV type, checked against the sink's `domain`.
    pub fn with_tlv_type(mut self, tlv_type: u8) -> Message {
        self.metadata.tlv_type = Some(tlv_type);
        self
    }

    /// Stamps the message with the current time, in nanoseconds since the Unix epoch.
    pub fn with_timestamp_now(mut self) -> Message {
        self.metadata.timestamp_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| {
                u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
            });
        self
    }

    /// The payload length in bytes.
    pub fn len(&self) -> usize {
        self.payload.len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.payload.is_empty()
    }
}

impl From<Vec<u8>> for Message {
    fn from(payload: Vec<u8>) -> Message {
        Message::new(payload)
    }
}

impl From<Bytes> for Message {
    fn from(payload: Bytes) -> Message {
        Message::new(payload)
    }
}

impl From<&'static [u8]> for Message {
    fn from(payload: &'static [u8]) -> Message {
        Message::new(Bytes::from_static(payload))
    }
}

impl From<&'static str> for Message {
    fn from(payload: &'static str) -> Message {
        Message::new(Bytes::from_static(payload.as_bytes()))
    }
}

impl From<String> for Message {
    fn from(payload: String) -> Message {
        Message::new(payload)
    }
}

/// Information about a message that stays in the process (for routing,
/// logging or tracing); only the payload is sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageMetadata {
    /// The service the message is meant for, if the sender records it.
    pub target: Option<Arc<str>>,
    /// How urgent the message is.
    pub priority: MessagePriority,
    /// When the message was made, in nanoseconds since the Unix epoch; 0 when
    /// not stamped (stamping costs a clock read, so it is opt-in).
    pub timestamp_ns: u64,
    /// An id that ties the message to a request or a trace.
    pub correlation_id: Option<u64>,
    /// The Protocol V2 TLV type of the payload, if the sender says; a sink
    /// with a `domain` refuses a type outside it before writing anything.
    pub tlv_type: Option<u8>,
}

/// How urgent a message is. Sinks keep one sender's messages in order
/// whatever their priority; the field is for the application's own use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessagePriority {
    /// Can wait.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Should go soon.
    High,
    /// Must go now.
    Critical,
}
