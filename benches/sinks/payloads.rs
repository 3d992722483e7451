//! The payloads messages carry, made the three ways issue 11 measures:
//! `Bytes::from_static` (nothing to make), a `Vec` built per message
//! (`Message::from(vec)`), and slices of a shared buffer (`Bytes::slice`,
//! 64 payloads per reference count). A sink and its raw baseline take their
//! payloads from the same [`Source`], so both sides do the user's work alike.

use bytes::Bytes;

use crate::alloc::by_user;
use crate::peers::Expect;

/// A payload size: the body every message but the last carries, and a
/// different last one the receiver checks. Both are `'static`.
#[derive(Debug, Clone, Copy)]
pub struct Payload {
    pub body: &'static [u8],
    pub last: &'static [u8],
}

/// The largest payload the bench sends.
const LARGEST: usize = 1 << 20;
static BODY: [u8; LARGEST] = [0xAB; LARGEST];
static LAST: [u8; LARGEST] = [0xEE; LARGEST];

pub const PAYLOAD_64: Payload = Payload::of_size(64);
pub const PAYLOAD_512: Payload = Payload::of_size(512);
pub const PAYLOAD_64_KIB: Payload = Payload::of_size(64 * 1024);
pub const PAYLOAD_1_MIB: Payload = Payload::of_size(LARGEST);

/// Messages sent and flushed before the clock starts, in every run of the
/// sink and of its baselines: twice the default buffer, so the queue's
/// deques, the write buffer and the socket are at their steady state; fewer
/// for large payloads (see [`Payload::warm_up`]).
pub const WARM_UP: u64 = 20_000;

/// Payload bytes the warm-up of a large payload sends at most.
const WARM_UP_BYTES: u64 = 64 * 1024 * 1024;

impl Payload {
    pub const fn of_size(size: usize) -> Payload {
        assert!(size <= LARGEST);
        Payload {
            body: BODY.split_at(size).0,
            last: LAST.split_at(size).0,
        }
    }

    pub fn len(&self) -> usize {
        self.body.len()
    }

    /// Warm-up messages: [`WARM_UP`], or 64 MiB worth of a large payload.
    pub fn warm_up(&self) -> u64 {
        WARM_UP.min((WARM_UP_BYTES / self.len() as u64).max(64))
    }

    /// What the receiver of `warm_up() + messages` frames expects.
    pub fn expect(&self, messages: u64) -> Expect {
        Expect {
            frames: self.warm_up() + messages,
            payload_len: self.len(),
            last: Some(self.last),
        }
    }

    /// A human size: `64 B`, `64 KiB`, `1 MiB`.
    pub fn size_label(&self) -> String {
        match self.len() {
            size if size >= 1 << 20 && size % (1 << 20) == 0 => format!("{} MiB", size >> 20),
            size if size >= 1 << 10 && size % (1 << 10) == 0 => format!("{} KiB", size >> 10),
            size => format!("{size} B"),
        }
    }
}

/// How a message's payload is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    /// `Bytes::from_static`: making a message allocates nothing.
    Static,
    /// A `Vec<u8>` built per message (`Message::from(vec)`); the raw side
    /// copies it into its buffer and frees it.
    Vec,
    /// A cycle of distinct payloads sliced from shared buffers, 64 per
    /// buffer (one reference count for 64 payloads); the raw side copies the
    /// slices.
    Slices,
}

impl PayloadKind {
    pub const ALL: [PayloadKind; 3] = [PayloadKind::Static, PayloadKind::Vec, PayloadKind::Slices];

    /// The name in `SINKS_BENCH_PAYLOADS`.
    pub fn name(self) -> &'static str {
        match self {
            PayloadKind::Static => "static",
            PayloadKind::Vec => "vec",
            PayloadKind::Slices => "slices",
        }
    }

    /// The name in the table.
    pub fn label(self) -> &'static str {
        match self {
            PayloadKind::Static => "static payloads",
            PayloadKind::Vec => "a Vec per message",
            PayloadKind::Slices => "shared-buffer slices",
        }
    }
}

/// Payloads per shared buffer (per reference count).
pub const SLICES_PER_BUFFER: usize = 64;
/// Distinct payloads in a cycle of slices: more than the default buffer
/// holds, so a payload is not sliced again while its last use is queued.
const SLICES_IN_CYCLE: usize = 16_384;
/// The most bytes a cycle of slices takes (fewer payloads when large).
const CYCLE_BYTES: usize = 64 * 1024 * 1024;

/// Where a sender's payloads come from. One per sender: producers do not
/// share buffers (and reference counts) with each other.
pub struct Source {
    kind: PayloadKind,
    payload: Payload,
    /// The cycle's buffers, for `Slices`.
    buffers: Vec<Bytes>,
    /// A buffer holding only the last payload, for `Slices`.
    last_buffer: Bytes,
}

impl Source {
    /// Makes the shared buffers now (for `Slices`), before any clock starts.
    pub fn new(kind: PayloadKind, payload: Payload) -> Source {
        let size = payload.len();
        let (buffers, last_buffer) = if kind == PayloadKind::Slices {
            let payloads = SLICES_IN_CYCLE
                .min(CYCLE_BYTES / size)
                .max(SLICES_PER_BUFFER);
            let buffers = (0..payloads / SLICES_PER_BUFFER)
                .map(|buffer| {
                    let mut bytes = Vec::with_capacity(SLICES_PER_BUFFER * size);
                    for slot in 0..SLICES_PER_BUFFER {
                        // Distinct payloads; never 0xEE, the last one's byte.
                        let fill = ((buffer * SLICES_PER_BUFFER + slot) % 0xEE) as u8;
                        bytes.resize(bytes.len() + size, fill);
                    }
                    shared(Bytes::from(bytes))
                })
                .collect();
            (buffers, shared(Bytes::from(payload.last.to_vec())))
        } else {
            (Vec::new(), Bytes::new())
        };
        Source {
            kind,
            payload,
            buffers,
            last_buffer,
        }
    }

    /// The payload size.
    pub fn len(&self) -> usize {
        self.payload.len()
    }

    /// The warm-up messages of this payload size.
    pub fn warm_up(&self) -> u64 {
        self.payload.warm_up()
    }

    /// The payload of message number `index` (any but the last).
    #[inline]
    pub fn body(&self, index: u64) -> Bytes {
        match self.kind {
            PayloadKind::Static => Bytes::from_static(self.payload.body),
            // `to_vec` makes len == capacity, so `Bytes::from` (what
            // `Message::from(vec)` does) takes the Vec without allocating.
            PayloadKind::Vec => Bytes::from(by_user(|| self.payload.body.to_vec())),
            PayloadKind::Slices => {
                let index = index as usize;
                let buffer = &self.buffers[(index / SLICES_PER_BUFFER) % self.buffers.len()];
                let start = (index % SLICES_PER_BUFFER) * self.payload.len();
                buffer.slice(start..start + self.payload.len())
            }
        }
    }

    /// The distinct last payload, made the same way.
    pub fn last(&self) -> Bytes {
        match self.kind {
            PayloadKind::Static => Bytes::from_static(self.payload.last),
            PayloadKind::Vec => Bytes::from(by_user(|| self.payload.last.to_vec())),
            PayloadKind::Slices => self.last_buffer.slice(..),
        }
    }

    /// Message number `index` of `messages`: the body, or the last payload.
    #[inline]
    pub fn nth(&self, index: u64, messages: u64) -> Bytes {
        if index + 1 == messages {
            self.last()
        } else {
            self.body(index)
        }
    }
}

/// `bytes` with its shared reference count made now: the first clone of a
/// `Bytes` made from a `Vec` allocates it, which would otherwise land in the
/// first timed slice.
fn shared(bytes: Bytes) -> Bytes {
    drop(bytes.clone());
    bytes
}
