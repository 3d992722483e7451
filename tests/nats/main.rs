//! NATS and JetStream sinks against a real `nats-server` (started by the
//! tests on free ports, JetStream on, temporary store; see `server.rs`).
//!
//! One binary (`cargo test --features nats --test nats`). Without
//! `nats-server` on PATH every test fails and says to run `.ci/deps`.

mod proxy;
mod server;

mod cluster;
mod composite;
mod core;
mod jetstream;
mod macro_config;
mod provider;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use sinks::{MessageSink, SinkFactory};

/// The bound on any wait in these tests: far above what a healthy run takes,
/// so that a hang fails the test instead of stalling the suite.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A factory for one `direct` service `sink` with `endpoint` and extra keys.
pub fn factory(endpoint: &str, extra: &str) -> SinkFactory {
    let source =
        format!("[services.sink]\ntype = \"direct\"\nendpoint = \"{endpoint}\"\n{extra}\n");
    SinkFactory::from_config_str(&source).expect("valid config")
}

pub async fn sink(endpoint: &str, extra: &str) -> Arc<dyn MessageSink> {
    factory(endpoint, extra)
        .create_sink("sink")
        .await
        .expect("create the sink")
}

/// A plain client of the test's own, for subscribing and setting up streams.
pub async fn client(address: &str) -> async_nats::Client {
    async_nats::ConnectOptions::new()
        .max_reconnects(None)
        .connect(address)
        .await
        .expect("the test's own client connects")
}

/// The payload of message `index`.
pub fn payload(index: u64) -> Vec<u8> {
    format!("message-{index:08}").into_bytes()
}

/// The index in a payload made by `payload`.
pub fn index_of(payload: &[u8]) -> u64 {
    std::str::from_utf8(payload)
        .ok()
        .and_then(|text| text.strip_prefix("message-"))
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("not a test payload: {payload:?}"))
}

/// The index of the first probe `until_subscribed` publishes; no test sends
/// one, and every index from it on is a probe.
const PROBE: u64 = 99_000_000;

/// How long `until_subscribed` waits for its probe before it publishes another.
const PROBE_EVERY: Duration = Duration::from_millis(250);

/// Subscribes `observer` to `subject` and returns once the server routes
/// the subject's messages to it (see `until_subscribed`).
pub async fn subscribed(observer: &async_nats::Client, subject: &str) -> async_nats::Subscriber {
    let mut subscriber = observer
        .subscribe(subject.to_owned())
        .await
        .expect("the observer subscribes");
    let before = until_subscribed(observer, &mut subscriber, subject).await;
    assert!(before.is_empty(), "messages on a fresh subject: {before:?}");
    subscriber
}

/// Waits until `subscriber` (of `observer`, on `subject`) is live on the
/// server, at the start or after a reconnect: a client's flush only says its
/// socket was written, not that the server took its subscription (and after
/// a reconnect async-nats reports `Connected` before it subscribes again).
/// Publishes a probe through the subscription's own client every
/// `PROBE_EVERY` until one comes back, since a probe the server gets before
/// the subscription is dropped; then reads up to the last probe published,
/// so that none is left for the test to receive. Returns the indices of
/// what arrived meanwhile, probes left out.
pub async fn until_subscribed(
    observer: &async_nats::Client,
    subscriber: &mut async_nats::Subscriber,
    subject: &str,
) -> Vec<u64> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut before = Vec::new();
    let mut next_probe = PROBE;
    let mut came_back = false;
    while !came_back {
        assert!(
            tokio::time::Instant::now() < deadline,
            "none of the observer's probes came back within {PATIENCE:?}"
        );
        observer
            .publish(subject.to_owned(), payload(next_probe).into())
            .await
            .expect("the observer publishes a probe");
        next_probe += 1;
        let wait = tokio::time::sleep(PROBE_EVERY);
        tokio::pin!(wait);
        loop {
            let message = tokio::select! {
                message = subscriber.next() => message.expect("the subscription goes on"),
                () = &mut wait => break,
            };
            match index_of(&message.payload) {
                index if index >= PROBE => {
                    came_back = true;
                    // Probes published after it arrive too, and in order.
                    if index == next_probe - 1 {
                        return before;
                    }
                }
                index => before.push(index),
            }
        }
    }
    // A probe came back, but later ones are still on their way: read up to the last.
    loop {
        let message = tokio::time::timeout(PATIENCE, subscriber.next())
            .await
            .expect("the observer's last probe comes back")
            .expect("the subscription goes on");
        match index_of(&message.payload) {
            index if index == next_probe - 1 => return before,
            index if index >= PROBE => {}
            index => before.push(index),
        }
    }
}

/// Receives `count` messages from `subscriber` (bounded by `PATIENCE`).
pub async fn receive(
    subscriber: &mut async_nats::Subscriber,
    count: usize,
) -> Vec<async_nats::Message> {
    let mut messages = Vec::with_capacity(count);
    while messages.len() < count {
        match tokio::time::timeout(PATIENCE, subscriber.next()).await {
            Ok(Some(message)) => messages.push(message),
            Ok(None) => panic!("the subscription ended after {} messages", messages.len()),
            Err(_) => panic!("only {} of {count} messages arrived", messages.len()),
        }
    }
    messages
}

/// Creates a file-backed stream `name` capturing `subject`, replicated `replicas` times.
pub async fn create_stream(
    client: &async_nats::Client,
    name: &str,
    subject: &str,
    replicas: usize,
) -> async_nats::jetstream::stream::Stream {
    let jetstream = async_nats::jetstream::new(client.clone());
    jetstream
        .create_stream(async_nats::jetstream::stream::Config {
            name: name.to_owned(),
            subjects: vec![subject.to_owned()],
            num_replicas: replicas,
            storage: async_nats::jetstream::stream::StorageType::File,
            ..Default::default()
        })
        .await
        .expect("create the stream")
}

/// Every message in `stream`, read back with an ordered consumer.
pub async fn read_stream(stream: &async_nats::jetstream::stream::Stream) -> Vec<u64> {
    use async_nats::jetstream::consumer;
    let mut stream = stream.clone();
    // Right after a node returns, a request may time out while the cluster settles.
    let stored = tokio::time::timeout(PATIENCE, async {
        loop {
            match stream.info().await {
                Ok(info) => break info.state.messages as usize,
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
    })
    .await
    .expect("the stream answers");
    // Creating the consumer is a request too: retried while the cluster settles.
    let consumer = tokio::time::timeout(PATIENCE, async {
        loop {
            let created = stream
                .create_consumer(consumer::pull::Config {
                    ack_policy: consumer::AckPolicy::None,
                    ..Default::default()
                })
                .await;
            match created {
                Ok(consumer) => break consumer,
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
    })
    .await
    .expect("the stream takes a consumer within the patience");
    let mut messages = consumer.messages().await.expect("consume");
    let mut indexes = Vec::with_capacity(stored);
    while indexes.len() < stored {
        let message = tokio::time::timeout(PATIENCE, messages.next())
            .await
            .expect("the consumer delivers within the patience")
            .expect("the consumer goes on")
            .expect("a message");
        indexes.push(index_of(&message.payload));
    }
    indexes
}
