//! The queue of accepted messages, kept as the writer will put them on the wire.
//!
//! A small payload on a length-prefixed byte stream is copied, with its
//! prefix, into one contiguous buffer when it is accepted; the writer hands
//! that buffer to the socket as it is. The sender's `Bytes` is then dropped
//! on the sender's own CPU, so no reference count (or heap block of a `Vec`
//! made per message) moves to the writer's CPU and back for each message,
//! and the writer copies nothing. A payload over [`INLINE_MAX`], or one for a
//! transport that needs each message whole (WebSocket, `raw` framing), is
//! kept as the `Bytes` it came in: never copied, and with the metadata and
//! publish id a NATS publish needs (see [`Queued`]).

use std::collections::VecDeque;
#[cfg(feature = "nats")]
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use crate::Message;
#[cfg(feature = "nats")]
use crate::MessageMetadata;
use crate::transport::length_prefix;

/// An accepted message as the queue keeps it when its payload is not copied.
///
/// With the `nats` feature it also keeps the message's metadata (sent as
/// NATS headers) and, under JetStream, an id fixed when the message is
/// accepted, so that however often it is published (after a lost ack, a
/// reconnect) the stream de-duplicates it (`Nats-Msg-Id`). Both travel with
/// the payload, so a message re-queued after a failed write keeps them.
/// Builds without the feature queue the payload alone.
#[derive(Debug, Clone)]
pub(crate) struct Queued {
    /// The bytes on the wire.
    pub(crate) payload: Bytes,
    /// Sent as headers by NATS sinks; unused by the other transports.
    #[cfg(feature = "nats")]
    pub(crate) metadata: MessageMetadata,
    /// Unique in this process among the messages of every JetStream sink
    /// (0 for other sinks); with the process's id, the `Nats-Msg-Id`.
    #[cfg(feature = "nats")]
    pub(crate) publish_id: u64,
}

/// The last publish id handed out. Process-wide rather than per sink, so two
/// sinks (two factories, say) publishing to one stream never share an id;
/// only JetStream sinks touch it.
#[cfg(feature = "nats")]
static LAST_PUBLISH_ID: AtomicU64 = AtomicU64::new(0);

impl Queued {
    /// The queue's form of `message`; `numbered` (a JetStream sink) gives it
    /// a publish id.
    #[cfg(feature = "nats")]
    #[inline]
    pub(crate) fn new(message: Message, numbered: bool) -> Queued {
        let publish_id = if numbered {
            LAST_PUBLISH_ID.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            0
        };
        Queued {
            payload: message.payload,
            metadata: message.metadata,
            publish_id,
        }
    }

    /// The queue's form of a message left with its sender: takes what the
    /// queue keeps (see `new`), leaving an empty message to be dropped once
    /// the sink's lock is released.
    #[cfg(feature = "nats")]
    #[inline]
    pub(crate) fn take_from(message: &mut Message, numbered: bool) -> Queued {
        Queued::new(std::mem::take(message), numbered)
    }

    /// The queue's form of a message left with its sender: without NATS,
    /// the payload alone, taken; the metadata is dropped with the message
    /// once the sink's lock is released.
    #[cfg(not(feature = "nats"))]
    #[inline]
    pub(crate) fn take_from(message: &mut Message, _numbered: bool) -> Queued {
        Queued {
            payload: std::mem::take(&mut message.payload),
        }
    }
}

/// A message as the queue is offered it: the sender's own, whose payload
/// the queue may take, or one the sender keeps (a fanout's, handed to every
/// target), which the queue clones only if it keeps the payload as sent. A
/// small payload copied into the frame buffer is never cloned: cloning a
/// `Bytes` made from a `Vec` allocates a shared count.
#[derive(Debug)]
pub(crate) enum Offer<'m> {
    Owned(&'m mut Message),
    Borrowed(&'m Message),
}

impl Offer<'_> {
    #[inline]
    pub(crate) fn message(&self) -> &Message {
        match self {
            Offer::Owned(message) => message,
            Offer::Borrowed(message) => message,
        }
    }

    /// What the queue keeps of the message when it does not copy it.
    #[inline]
    pub(crate) fn take_queued(&mut self, numbered: bool) -> Queued {
        match self {
            Offer::Owned(message) => Queued::take_from(message, numbered),
            Offer::Borrowed(message) => Queued::take_from(&mut Message::clone(message), numbered),
        }
    }

    /// The message itself, for a send that must wait: taken, or cloned.
    pub(crate) fn into_owned(self) -> Message {
        match self {
            Offer::Owned(message) => std::mem::take(message),
            Offer::Borrowed(message) => message.clone(),
        }
    }
}

/// A payload with default metadata and no publish id, as the model tests send.
#[cfg(test)]
impl From<Bytes> for Queued {
    fn from(payload: Bytes) -> Queued {
        Queued::take_from(&mut Message::new(payload), false)
    }
}

/// The largest payload copied into the frame buffer when accepted. Copying
/// this much costs less than moving a reference count between CPUs; above it
/// the copy dominates, and the payload is written from where it is.
pub(crate) const INLINE_MAX: usize = 1024;

/// Accepted messages, in order.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// Frames (u32 little-endian length, then payload) of copied payloads.
    inline: Vec<u8>,
    segments: VecDeque<Segment>,
    messages: usize,
}

#[derive(Debug)]
enum Segment {
    /// `count` whole length-prefixed frames in `inline[start..end]`.
    Inline {
        start: usize,
        end: usize,
        count: usize,
    },
    /// One message, its payload as it was sent.
    Shared(Queued),
}

/// A run of queued messages, as a transport writes them.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Run<'a> {
    /// `count` whole length-prefixed frames, ready for the socket.
    Frames { bytes: &'a [u8], count: usize },
    /// One message whose payload is still to be framed.
    Payload(&'a Bytes),
}

impl Pending {
    /// Messages queued.
    pub(crate) fn len(&self) -> usize {
        self.messages
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.messages == 0
    }

    /// Appends a message whose payload is copied: its length-prefixed frame
    /// goes into the buffer, and the caller keeps the payload, to drop once
    /// it has released the sink's lock.
    #[inline]
    pub(crate) fn push_copy(&mut self, payload: &[u8]) {
        self.messages += 1;
        let start = self.inline.len();
        // One capacity check, and a prefix of known length: stored in
        // place rather than through a `memcpy` call.
        self.inline.reserve(4 + payload.len());
        self.inline.extend_from_slice(&length_prefix(payload));
        self.inline.extend_from_slice(payload);
        self.inline_appended(start);
    }

    /// Appends a message kept as it was sent.
    #[inline]
    pub(crate) fn push_shared(&mut self, message: Queued) {
        self.messages += 1;
        self.segments.push_back(Segment::Shared(message));
    }

    /// `push_copy` or `push_shared`, as the tests mix them.
    #[cfg(test)]
    fn push(&mut self, message: Queued, copy: bool) {
        if copy {
            self.push_copy(&message.payload);
        } else {
            self.push_shared(message);
        }
    }

    /// Records the frame(s) just appended to `inline` from `start` on: the
    /// last run grows if it ends there, else a run starts.
    #[inline]
    fn inline_appended(&mut self, start: usize) {
        let end = self.inline.len();
        match self.segments.back_mut() {
            Some(Segment::Inline {
                end: last_end,
                count,
                ..
            }) if *last_end == start => {
                *last_end = end;
                *count += 1;
            }
            _ => self.segments.push_back(Segment::Inline {
                start,
                end,
                count: 1,
            }),
        }
    }

    /// Empties the queue, keeping its capacity.
    pub(crate) fn clear(&mut self) {
        self.inline.clear();
        self.segments.clear();
        self.messages = 0;
    }

    /// Run number `index`, in queue order.
    pub(crate) fn run(&self, index: usize) -> Option<Run<'_>> {
        Some(match self.segments.get(index)? {
            Segment::Inline { start, end, count } => Run::Frames {
                bytes: &self.inline[*start..*end],
                count: *count,
            },
            Segment::Shared(message) => Run::Payload(&message.payload),
        })
    }

    /// Message number `index` with its metadata, if it was queued whole.
    /// NATS sinks never copy payloads (see `endpoint::shared`), so each of
    /// their messages is one segment and `index` is the message's place.
    #[cfg(feature = "nats")]
    pub(crate) fn whole(&self, index: usize) -> Option<&Queued> {
        match self.segments.get(index)? {
            Segment::Shared(message) => Some(message),
            Segment::Inline { .. } => None,
        }
    }

    /// How many runs the queue holds (see [`Pending::run`]).
    pub(crate) fn run_count(&self) -> usize {
        self.segments.len()
    }

    /// Takes the payload of run `index` if it is one whole message, leaving
    /// an empty one, for a codec that must own what it sends (WebSocket):
    /// cloning a `Bytes` made from a `Vec` allocates, moving it does not. A
    /// writer takes a message only as it hands it to the connection, and a
    /// message handed over is written or failed, never queued again (see
    /// `requeue_from`, which keeps only messages after the settled ones), so
    /// no emptied payload is ever sent.
    pub(crate) fn take_payload(&mut self, index: usize) -> Option<Bytes> {
        match self.segments.get_mut(index)? {
            Segment::Shared(message) => Some(std::mem::take(&mut message.payload)),
            Segment::Inline { .. } => None,
        }
    }

    /// The queued runs, in order.
    #[cfg(test)]
    pub(crate) fn runs(&self) -> impl Iterator<Item = Run<'_>> + '_ {
        self.segments.iter().map(|segment| match segment {
            Segment::Inline { start, end, count } => Run::Frames {
                bytes: &self.inline[*start..*end],
                count: *count,
            },
            Segment::Shared(message) => Run::Payload(&message.payload),
        })
    }

    /// Moves the messages from index `first` on to the front of `queue`,
    /// ahead of what it holds, keeping their order, and empties `self`.
    /// Only after a failed write, so the copy it makes is off the hot path.
    pub(crate) fn requeue_from(&mut self, first: usize, queue: &mut Pending) {
        let mut rest = Pending::default();
        rest.append_from(self, first);
        rest.append_from(queue, 0);
        std::mem::swap(queue, &mut rest);
        self.clear();
    }

    /// Appends the messages of `other` from index `first` on.
    fn append_from(&mut self, other: &Pending, first: usize) {
        let mut index = 0;
        for segment in &other.segments {
            match segment {
                Segment::Shared(message) => {
                    if index >= first {
                        self.messages += 1;
                        self.segments.push_back(Segment::Shared(message.clone()));
                    }
                    index += 1;
                }
                Segment::Inline { start, end, .. } => {
                    for frame in frames(&other.inline[*start..*end]) {
                        if index >= first {
                            self.messages += 1;
                            let start = self.inline.len();
                            self.inline.extend_from_slice(frame);
                            self.inline_appended(start);
                        }
                        index += 1;
                    }
                }
            }
        }
    }
}

/// The whole frames of a run of length-prefixed frames.
pub(crate) fn frames(mut bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let prefix: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
        let end = 4 + u32::from_le_bytes(prefix) as usize;
        let frame = bytes.get(..end)?;
        bytes = &bytes[end..];
        Some(frame)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(pending: &Pending) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for run in pending.runs() {
            match run {
                Run::Frames { bytes, count } => {
                    let found: Vec<Vec<u8>> = frames(bytes).map(|f| f[4..].to_vec()).collect();
                    assert_eq!(found.len(), count);
                    out.extend(found);
                }
                Run::Payload(payload) => out.push(payload.to_vec()),
            }
        }
        assert_eq!(out.len(), pending.len());
        out
    }

    #[test]
    fn keeps_order_across_copied_and_shared_payloads() {
        let mut pending = Pending::default();
        for (index, copy) in [true, true, false, true, false, false, true]
            .iter()
            .enumerate()
        {
            pending.push(Bytes::from(vec![index as u8; index + 1]).into(), *copy);
        }
        let expected: Vec<Vec<u8>> = (0..7).map(|index| vec![index as u8; index + 1]).collect();
        assert_eq!(contents(&pending), expected);
        // Runs of copied payloads share one segment.
        assert_eq!(pending.runs().count(), 6);

        let mut queue = Pending::default();
        queue.push(Bytes::from_static(b"later").into(), true);
        pending.requeue_from(3, &mut queue);
        assert!(pending.is_empty());
        let mut expected_after: Vec<Vec<u8>> = expected[3..].to_vec();
        expected_after.push(b"later".to_vec());
        assert_eq!(contents(&queue), expected_after);
    }

    #[test]
    fn payloads_taken_by_a_writer_are_never_queued_again() {
        let mut pending = Pending::default();
        for index in 0..4u8 {
            pending.push(Bytes::from(vec![index; 8]).into(), false);
        }
        // A WebSocket writer fed the first two, and the connection failed.
        assert_eq!(pending.take_payload(0), Some(Bytes::from(vec![0; 8])));
        assert_eq!(pending.take_payload(1), Some(Bytes::from(vec![1; 8])));
        let mut queue = Pending::default();
        pending.requeue_from(2, &mut queue);
        assert_eq!(contents(&queue), [vec![2; 8], vec![3; 8]]);

        // A run of copied frames has no payload to take.
        let mut copied = Pending::default();
        copied.push(Bytes::from_static(b"frame").into(), true);
        assert_eq!(copied.take_payload(0), None);
        assert_eq!(copied.take_payload(1), None);
    }
}
