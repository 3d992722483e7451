//! The cost of one `try_send` or `send` on a connected relay sink with room
//! in its buffer, and the allocations it makes.
//!
//! Static payloads are made inside the timed loop, as in issue 5 (making one
//! is a pointer and a length). A `Vec` or a slice of a shared buffer is made
//! before each timed batch, untimed and uncounted: the figure is the call,
//! which takes the user's payload and drops it (frees the `Vec`, or
//! decrements the buffer's count) once it is copied, not the user's making
//! of it.

use std::time::{Duration, Instant};

use bytes::Bytes;
use sinks::config::LeafConfig;
use sinks::{EndpointSink, Message, MessageSink};
use tokio::runtime::Runtime;

use crate::alloc::AllocCount;
use crate::harness::{Measured, Settings, measure};
use crate::payloads::{PAYLOAD_64, PayloadKind, Source};
use crate::peers::{Expect, Peer, Transport};

/// Calls per timed batch; the buffer holds more, so every call has room.
const BATCH: u64 = 2_000;
/// Timed batches per run; the queue is flushed, untimed, between batches.
const BATCHES: u64 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    TrySend,
    Send,
}

/// Nanoseconds per call (median of runs), and the allocations made during
/// every timed batch of every run with the number of calls they made.
/// Whether the timed sends spend tokio's cooperative budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// As in any task: every 128th send yields once.
    Tokio,
    /// Inside `tokio::task::unconstrained`: no send yields.
    Unconstrained,
}

pub fn measure_call(
    settings: &Settings,
    runtime: &Runtime,
    kind: PayloadKind,
    call: Call,
    budget: Budget,
) -> (Measured, u64, u64) {
    let source = Source::new(kind, PAYLOAD_64);
    let runs = settings.runs as u64 + 1;
    // Two untimed batches first grow the queue's deques to their steady size.
    let frames = (runs * BATCHES + 2) * BATCH;
    let peer = Peer::start(
        Transport::Unix,
        Expect {
            frames,
            payload_len: PAYLOAD_64.len(),
            last: None,
        },
    );
    let sink = EndpointSink::relay(
        "bench",
        LeafConfig::new(peer.endpoint.clone()).with_buffer_size(4 * BATCH as usize),
    );
    runtime.block_on(async {
        sink.connect().await.expect("connect");
        for _ in 0..2 {
            // try_send never yields, so the writer takes each batch whole and
            // both of the deques it swaps grow to a batch.
            for index in 0..BATCH {
                let message = Message::new(source.body(index));
                sink.try_send(message).expect("try_send");
            }
            sink.flush().await.expect("flush");
        }
    });
    let mut allocations = 0;
    let mut calls = 0;
    let measured = measure(settings, || {
        let mut timed = Duration::ZERO;
        runtime.block_on(async {
            for batch in 0..BATCHES {
                let mut prepared: Vec<Message> = if kind == PayloadKind::Static {
                    Vec::new()
                } else {
                    (0..BATCH)
                        .map(|index| Message::new(source.body(batch * BATCH + index)))
                        .collect()
                };
                let mut made = prepared.drain(..);
                let before = AllocCount::now();
                let start = Instant::now();
                for _ in 0..BATCH {
                    let message = match made.next() {
                        Some(message) => message,
                        None => Message::new(Bytes::from_static(PAYLOAD_64.body)),
                    };
                    match call {
                        Call::TrySend => sink.try_send(message).expect("try_send"),
                        Call::Send if budget == Budget::Unconstrained => {
                            tokio::task::unconstrained(sink.send(message))
                                .await
                                .expect("send")
                        }
                        Call::Send => sink.send(message).await.expect("send"),
                    }
                }
                timed += start.elapsed();
                allocations += before.since().sink_allocations();
                drop(made);
                calls += BATCH;
                sink.flush().await.expect("flush");
            }
        });
        timed.as_nanos() as f64 / (BATCHES * BATCH) as f64
    });
    runtime.block_on(sink.disconnect()).expect("disconnect");
    drop(sink);
    peer.finish().check(frames);
    (measured, allocations, calls)
}
