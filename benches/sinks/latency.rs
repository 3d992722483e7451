//! Send → received for 64-byte messages at a low rate (one per millisecond,
//! tokio's timer granularity), against a raw `write_all` on the same socket.

use std::os::unix::net::UnixListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sinks::config::{Endpoint, LeafConfig};
use sinks::{EndpointSink, Message, MessageSink};
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::runtime::Runtime;

use crate::payloads::{PAYLOAD_64, PayloadKind, Source};
use crate::peers::{latency_receiver, unique_socket_path};
use crate::run_task;

/// Samples discarded at the start (connection warm-up, first wakeups).
const WARM_UP: usize = 100;

/// Send → received percentiles, in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct Percentiles {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
}

impl Percentiles {
    pub fn of(mut nanos: Vec<u64>) -> Percentiles {
        nanos.sort_unstable();
        let at = |per_mille: usize| {
            let index = (nanos.len() * per_mille / 1000).min(nanos.len() - 1);
            nanos[index] as f64 / 1e3
        };
        Percentiles {
            p50: at(500),
            p99: at(990),
            p999: at(999),
        }
    }

    pub fn show(&self) -> String {
        format!(
            "p50 {:.1} / p99 {:.1} / p999 {:.1} us",
            self.p50, self.p99, self.p999
        )
    }
}

/// Who sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// A relay `EndpointSink`: `send`, and the writer task writes.
    Sink,
    /// A plain tokio `UnixStream`: the payload copied behind its length
    /// prefix into a reused frame buffer, then `write_all` of the frame.
    RawWriteAll,
}

/// Runs `samples` messages through `sender` on `runtime`, payloads made as
/// `kind` says, and returns their send → received times in nanoseconds; the
/// receiver thread is pinned to `pin_receiver` when given.
pub fn run(
    runtime: &Runtime,
    sender: Sender,
    kind: PayloadKind,
    samples: usize,
    pin_receiver: Option<usize>,
) -> Vec<u64> {
    let total = samples + WARM_UP;
    let path = unique_socket_path();
    let listener = UnixListener::bind(&path).expect("bind a Unix socket");
    let sent_at: Arc<Vec<AtomicU64>> = Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
    let clock = Instant::now();
    let receiver = latency_receiver(
        listener,
        4 + PAYLOAD_64.len(),
        Arc::clone(&sent_at),
        clock,
        pin_receiver,
    );
    let gap = Duration::from_micros(500);
    let source = Source::new(kind, PAYLOAD_64);
    run_task(runtime, async move {
        let stamp = |index: usize| {
            sent_at[index].store(clock.elapsed().as_nanos() as u64, Ordering::Release);
        };
        match sender {
            Sender::Sink => {
                let sink = EndpointSink::relay(
                    "bench",
                    LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path")),
                );
                sink.connect().await.expect("connect");
                for index in 0..total {
                    stamp(index);
                    let message = Message::new(source.body(index as u64));
                    sink.send(message).await.expect("send");
                    tokio::time::sleep(gap).await;
                }
                sink.disconnect().await.expect("disconnect");
            }
            Sender::RawWriteAll => {
                let prefix = (PAYLOAD_64.len() as u32).to_le_bytes();
                let mut frame = Vec::with_capacity(prefix.len() + PAYLOAD_64.len());
                let mut stream = UnixStream::connect(&path).await.expect("connect");
                for index in 0..total {
                    stamp(index);
                    let payload = source.body(index as u64);
                    frame.clear();
                    frame.extend_from_slice(&prefix);
                    frame.extend_from_slice(&payload);
                    drop(payload);
                    stream.write_all(&frame).await.expect("write");
                    tokio::time::sleep(gap).await;
                }
                stream.shutdown().await.expect("shutdown");
            }
        }
    });
    let latencies = receiver.join().expect("the receiver panicked");
    assert_eq!(latencies.len(), total, "every latency sample arrived");
    latencies[WARM_UP..].to_vec()
}
