//! JetStream: acknowledged publishes, exactly once across a restart, a
//! subject no stream captures, metadata as headers.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures_util::StreamExt;
use std::time::Duration;

use sinks::{Message, MessagePriority, MessageSink, SinkError};

use crate::proxy::AckDropper;
use crate::server::NatsServer;
use crate::{PATIENCE, client, create_stream, index_of, payload, read_stream, receive, sink};

/// Settings for riding out a restart: many quick retries, short ack timeouts.
pub const PATIENT: &str = "jetstream = true\nmax_retries = 50\nretry_delay_ms = 20\nlazy.max_retry_delay_secs = 0.2\nlazy.connect_timeout_secs = 2";

/// Sends `count` messages from a task; returns it, to await the sends.
pub fn send_in_background(sink: &Arc<dyn MessageSink>, count: u64) -> tokio::task::JoinHandle<()> {
    let sink = Arc::clone(sink);
    tokio::spawn(async move {
        for index in 0..count {
            sink.send(Message::from(payload(index)))
                .await
                .unwrap_or_else(|error| panic!("send {index} was not accepted: {error}"));
        }
    })
}

/// Waits until the sink counts at least `count` messages sent.
pub async fn until_sent(sink: &Arc<dyn MessageSink>, count: u64) {
    tokio::time::timeout(PATIENCE, async {
        while sink.metadata().messages_sent < count {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the sink makes progress");
}

/// Every accepted message is in the stream once; what is not is exactly
/// what the sink counted as failed.
pub async fn assert_exactly_once(
    sink: &Arc<dyn MessageSink>,
    stream: &async_nats::jetstream::stream::Stream,
    accepted: u64,
) {
    let stored = read_stream(stream).await;
    let unique: BTreeSet<u64> = stored.iter().copied().collect();
    assert_eq!(
        unique.len(),
        stored.len(),
        "a message is in the stream twice"
    );
    assert!(
        unique.iter().all(|&index| index < accepted),
        "a message nobody sent"
    );
    let metadata = sink.metadata();
    let missing = accepted - stored.len() as u64;
    assert_eq!(
        metadata.messages_failed, missing,
        "messages_failed must be exactly what is missing from the stream"
    );
    assert_eq!(metadata.messages_sent + metadata.messages_failed, accepted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_accepted_message_is_stored_once_across_a_server_restart() {
    let mut server = NatsServer::start();
    let setup = client(&server.address()).await;
    let stream = create_stream(&setup, "ORDERS", "js.orders", 1).await;
    let sink = sink(&format!("nats://{}/js.orders", server.address()), PATIENT).await;
    let sending = send_in_background(&sink, 5_000);
    until_sent(&sink, 1_000).await;
    let _server = tokio::task::spawn_blocking(move || {
        server.restart();
        server
    })
    .await
    .unwrap();
    sending.await.unwrap();
    let flushed = tokio::time::timeout(PATIENCE, sink.flush())
        .await
        .expect("flush resolves once every message is acknowledged or failed");
    let metadata = sink.metadata();
    assert_eq!(metadata.messages_sent + metadata.messages_failed, 5_000);
    if metadata.messages_failed > 0 {
        assert!(
            matches!(flushed, Err(SinkError::SendFailed { .. })),
            "{flushed:?}"
        );
    }
    assert_exactly_once(&sink, &stream, 5_000).await;
    assert_eq!(
        metadata.messages_failed, 0,
        "a restart within the retry budget loses nothing"
    );
    drop(setup);
}

/// A publish stored by the stream whose acknowledgement was lost is
/// published again with the same `Nats-Msg-Id`, and the stream keeps one copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_republished_message_whose_ack_was_lost_is_stored_once() {
    let server = NatsServer::start();
    let setup = client(&server.address()).await;
    let stream = create_stream(&setup, "DEDUP", "js.dedup", 1).await;
    let mut subscriber = setup.subscribe("js.dedup").await.unwrap();
    setup.flush().await.unwrap();
    let proxy = AckDropper::start(server.port).await;
    let sink = sink(
        &format!("nats://127.0.0.1:{}/js.dedup", proxy.port),
        "jetstream = true\nmax_retries = 1000\nretry_delay_ms = 10\nlazy.max_retry_delay_secs = 0.05\nlazy.connect_timeout_secs = 0.5",
    )
    .await;
    sink.send(Message::from(payload(0))).await.unwrap();
    sink.flush().await.unwrap();
    receive(&mut subscriber, 1).await;

    proxy.drop_replies(true);
    for index in 1..=100 {
        sink.send(Message::from(payload(index))).await.unwrap();
    }
    // A message seen twice on the subject was published again after its
    // ack was lost; its first copy is in the stream (it reached the subject).
    let mut seen = BTreeSet::new();
    tokio::time::timeout(PATIENCE, async {
        loop {
            let message = subscriber.next().await.expect("the subscription goes on");
            if !seen.insert(index_of(&message.payload)) {
                break;
            }
        }
    })
    .await
    .expect("the sink publishes an unacknowledged message again");
    proxy.drop_replies(false);
    tokio::time::timeout(PATIENCE, sink.flush())
        .await
        .expect("flush resolves once the acks come through")
        .expect("nothing failed");
    assert_exactly_once(&sink, &stream, 101).await;
    assert_eq!(read_stream(&stream).await, (0..=100).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_subject_no_stream_captures_fails_the_first_send() {
    let server = NatsServer::start();
    let sink = sink(
        &format!("nats://{}/nobody.listens", server.address()),
        "jetstream = true\nmax_retries = 0",
    )
    .await;
    let error = tokio::time::timeout(PATIENCE, sink.send(Message::from("x")))
        .await
        .expect("the send does not hang")
        .expect_err("no stream takes the message");
    let text = error.to_string();
    assert!(
        text.contains("no JetStream stream captures subject `nobody.listens`"),
        "{text}"
    );
}

#[tokio::test]
async fn a_stream_deleted_after_connecting_fails_its_messages_and_says_why() {
    let server = NatsServer::start();
    let setup = client(&server.address()).await;
    create_stream(&setup, "GONE", "js.gone", 1).await;
    let sink = sink(
        &format!("nats://{}/js.gone", server.address()),
        "jetstream = true\nmax_retries = 0\nlazy.auto_reconnect = false",
    )
    .await;
    sink.send(Message::from("kept")).await.unwrap();
    sink.flush().await.unwrap();
    async_nats::jetstream::new(setup.clone())
        .delete_stream("GONE")
        .await
        .unwrap();
    sink.send(Message::from("lost")).await.unwrap();
    let flushed = tokio::time::timeout(PATIENCE, sink.flush())
        .await
        .expect("flush resolves");
    assert!(
        matches!(flushed, Err(SinkError::SendFailed { failed: 1, .. })),
        "{flushed:?}"
    );
    let text = flushed.unwrap_err().to_string();
    assert!(
        text.contains("no JetStream stream answered for subject `js.gone`"),
        "{text}"
    );
    let metadata = sink.metadata();
    assert_eq!((metadata.messages_sent, metadata.messages_failed), (1, 1));
}

#[tokio::test]
async fn metadata_travels_as_headers_and_each_message_has_its_own_msg_id() {
    let server = NatsServer::start();
    let setup = client(&server.address()).await;
    let stream = create_stream(&setup, "HEADERS", "js.headers", 1).await;
    let mut subscriber = setup.subscribe("js.headers").await.unwrap();
    setup.flush().await.unwrap();
    let sink = sink(
        &format!("nats://{}/js.headers", server.address()),
        "jetstream = true",
    )
    .await;
    let stamped = Message::from(payload(0))
        .with_correlation_id(42)
        .with_priority(MessagePriority::Critical)
        .with_timestamp_now();
    let timestamp = stamped.metadata.timestamp_ns;
    sink.send(stamped).await.unwrap();
    sink.send(Message::from(payload(1))).await.unwrap();
    sink.flush().await.unwrap();
    let received = receive(&mut subscriber, 2).await;
    let header = |message: &async_nats::Message, name: &str| {
        message
            .headers
            .as_ref()
            .and_then(|headers| headers.get(name))
            .map(|value| value.as_str().to_owned())
    };
    assert_eq!(index_of(&received[0].payload), 0);
    assert_eq!(
        header(&received[0], "Sinks-Correlation-Id").as_deref(),
        Some("42")
    );
    assert_eq!(
        header(&received[0], "Sinks-Priority").as_deref(),
        Some("critical")
    );
    assert_eq!(
        header(&received[0], "Sinks-Timestamp-Ns"),
        Some(timestamp.to_string())
    );
    for name in [
        "Sinks-Correlation-Id",
        "Sinks-Priority",
        "Sinks-Timestamp-Ns",
    ] {
        assert_eq!(
            header(&received[1], name),
            None,
            "{name} set on a plain message"
        );
    }
    // A standard header is looked up by its constant, not its text.
    let ids: Vec<Option<String>> = received
        .iter()
        .map(|message| {
            message
                .headers
                .as_ref()
                .and_then(|headers| headers.get(async_nats::header::NATS_MESSAGE_ID))
                .map(|value| value.as_str().to_owned())
        })
        .collect();
    assert!(ids.iter().all(Option::is_some), "{ids:?}");
    assert_ne!(ids[0], ids[1]);
    assert_eq!(read_stream(&stream).await, vec![0, 1]);
}

#[tokio::test]
async fn a_batch_keeps_each_messages_headers_and_gives_each_its_own_msg_id() {
    const COUNT: u64 = 300;
    let server = NatsServer::start();
    let setup = client(&server.address()).await;
    let stream = create_stream(&setup, "BATCH", "js.batch", 1).await;
    let mut subscriber = setup.subscribe("js.batch").await.unwrap();
    setup.flush().await.unwrap();
    let sink = sink(
        &format!("nats://{}/js.batch", server.address()),
        "jetstream = true",
    )
    .await;
    // Every third message carries a correlation id equal to its index.
    let batch = (0..COUNT)
        .map(|index| {
            let message = Message::from(payload(index));
            if index % 3 == 0 {
                message.with_correlation_id(index)
            } else {
                message
            }
        })
        .collect();
    sink.send_batch(batch).await.unwrap();
    sink.flush().await.unwrap();

    let received = receive(&mut subscriber, COUNT as usize).await;
    let mut ids = BTreeSet::new();
    for message in &received {
        let index = index_of(&message.payload);
        let headers = message.headers.as_ref();
        let correlation = headers
            .and_then(|headers| headers.get("Sinks-Correlation-Id"))
            .map(|value| value.as_str().to_owned());
        let expected = (index % 3 == 0).then(|| index.to_string());
        assert_eq!(correlation, expected, "message {index}'s correlation id");
        let id = headers
            .and_then(|headers| headers.get(async_nats::header::NATS_MESSAGE_ID))
            .map(|value| value.as_str().to_owned())
            .unwrap_or_else(|| panic!("message {index} has no Nats-Msg-Id"));
        assert!(ids.insert(id), "message {index} shares a Nats-Msg-Id");
    }
    assert_eq!(read_stream(&stream).await, (0..COUNT).collect::<Vec<_>>());
}
