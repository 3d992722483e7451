//! One run of each side: the sink (`send` N times, then `flush`) and the raw
//! `async-nats` loop it is held against, on the same server. Every run
//! connects, sends a warm-up and flushes before its clock starts.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_nats::Subject;
use async_nats::jetstream;
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use sinks::config::{Endpoint, LeafConfig};
use sinks::{EndpointSink, Message, MessageSink};
use tokio::runtime::Runtime;

use crate::run_task;

/// The subject of the core NATS figures (nobody subscribes: the server
/// drops the messages, for the sink and the raw loop alike).
pub const CORE_SUBJECT: &str = "bench.core";
/// The subject the bench's stream captures.
pub const JETSTREAM_SUBJECT: &str = "bench.js";
const STREAM: &str = "BENCH";

/// Messages sent and flushed before the clock starts.
const WARM_UP: u64 = 5_000;

/// The sink's side: a `direct` service on `nats://ADDRESS/SUBJECT`, with
/// `jetstream_max_in_flight` set when `Some`. Messages per second from the
/// first send to `flush` returning (for JetStream: every message acknowledged).
pub fn sink_run(
    runtime: &Runtime,
    address: &str,
    jetstream_max_in_flight: Option<usize>,
    body: &'static [u8],
    messages: u64,
) -> f64 {
    let subject = if jetstream_max_in_flight.is_some() {
        JETSTREAM_SUBJECT
    } else {
        CORE_SUBJECT
    };
    let endpoint =
        Endpoint::parse_direct(&format!("nats://{address}/{subject}")).expect("a valid endpoint");
    let mut config = LeafConfig::new(endpoint);
    if let Some(max_in_flight) = jetstream_max_in_flight {
        config = config
            .with_jetstream(true)
            .expect("a nats:// endpoint")
            .with_jetstream_max_in_flight(max_in_flight)
            .expect("jetstream is on");
    }
    let address = address.to_owned();
    let elapsed = run_task(runtime, async move {
        if jetstream_max_in_flight.is_some() {
            // Before the sink connects: it looks the stream up.
            recreate_stream(&address).await;
        }
        let sink = EndpointSink::direct("bench", config);
        sink.connect().await.expect("connect");
        for _ in 0..WARM_UP {
            sink.send(Message::new(Bytes::from_static(body)))
                .await
                .expect("send");
        }
        sink.flush().await.expect("flush");
        let start = Instant::now();
        for _ in 0..messages {
            sink.send(Message::new(Bytes::from_static(body)))
                .await
                .expect("send");
        }
        sink.flush().await.expect("flush");
        let elapsed = start.elapsed();
        sink.disconnect().await.expect("disconnect");
        elapsed
    });
    messages as f64 / elapsed.as_secs_f64()
}

/// The raw core NATS loop: `client.publish` N times, then one `client.flush()`.
pub fn raw_core_run(runtime: &Runtime, address: &str, body: &'static [u8], messages: u64) -> f64 {
    let address = address.to_owned();
    let elapsed = run_task(runtime, async move {
        let client = async_nats::connect(address).await.expect("connect");
        let subject = Subject::from_static(CORE_SUBJECT);
        let publish_all = |count: u64| {
            let client = client.clone();
            let subject = subject.clone();
            async move {
                for _ in 0..count {
                    client
                        .publish(subject.clone(), Bytes::from_static(body))
                        .await
                        .expect("publish");
                }
                client.flush().await.expect("flush");
            }
        };
        publish_all(WARM_UP).await;
        let start = Instant::now();
        publish_all(messages).await;
        start.elapsed()
    });
    messages as f64 / elapsed.as_secs_f64()
}

/// Whether the raw JetStream loop sets a `Nats-Msg-Id` on each publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageIds {
    /// Plain `publish`: what the target is measured against.
    None,
    /// A unique id per publish, as the sink sends for its de-duplication:
    /// what that costs the server, measured apart.
    Unique,
}

/// Raw JetStream: `publish` with at most `max_in_flight` acknowledgements
/// outstanding (the oldest awaited when full), then the rest awaited.
pub fn raw_jetstream_run(
    runtime: &Runtime,
    address: &str,
    max_in_flight: usize,
    ids: MessageIds,
    body: &'static [u8],
    messages: u64,
) -> f64 {
    let address = address.to_owned();
    let elapsed = run_task(runtime, async move {
        recreate_stream(&address).await;
        let client = async_nats::connect(address).await.expect("connect");
        let context = jetstream::new(client);
        let subject = Subject::from_static(JETSTREAM_SUBJECT);
        // Unique within the run; the stream is new, so no id is a duplicate.
        let next_id = Arc::new(AtomicU64::new(0));
        let publish_all = |count: u64| {
            let context = context.clone();
            let subject = subject.clone();
            let next_id = Arc::clone(&next_id);
            async move {
                let mut in_flight = VecDeque::with_capacity(max_in_flight);
                for _ in 0..count {
                    if in_flight.len() == max_in_flight {
                        let oldest: PublishAckFuture =
                            in_flight.pop_front().expect("a full window has an oldest");
                        oldest.await.expect("ack");
                    }
                    let payload = Bytes::from_static(body);
                    let ack = match ids {
                        MessageIds::None => context.publish(subject.clone(), payload).await,
                        MessageIds::Unique => {
                            let id = format!("raw-{}", next_id.fetch_add(1, Ordering::Relaxed));
                            let publish = PublishMessage::build().payload(payload).message_id(id);
                            context.send_publish(subject.clone(), publish).await
                        }
                    }
                    .expect("publish");
                    in_flight.push_back(ack);
                }
                for ack in in_flight {
                    ack.await.expect("ack");
                }
            }
        };
        publish_all(WARM_UP).await;
        let start = Instant::now();
        publish_all(messages).await;
        start.elapsed()
    });
    messages as f64 / elapsed.as_secs_f64()
}

/// Deletes the bench's stream, if any, and creates it empty: every run
/// starts from the same store (and the sink's message ids from a fresh
/// duplicate window, so no publish is acknowledged as a duplicate).
async fn recreate_stream(address: &str) {
    let client = async_nats::connect(address).await.expect("connect");
    let context = jetstream::new(client);
    // Absent on the first run.
    drop(context.delete_stream(STREAM).await);
    context
        .create_stream(jetstream::stream::Config {
            name: STREAM.to_owned(),
            subjects: vec![JETSTREAM_SUBJECT.to_owned()],
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        })
        .await
        .expect("create the bench stream");
}
