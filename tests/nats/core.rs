//! Core NATS: order, lazy connect, connect errors, a server restart.

use std::time::Duration;

use futures_util::StreamExt;
use sinks::{Message, SinkError};

use crate::server::{NatsServer, Options, free_port};
use crate::{PATIENCE, client, index_of, payload, receive, sink, subscribed, until_subscribed};

#[tokio::test]
async fn messages_arrive_on_the_subject_in_order() {
    let server = NatsServer::start();
    let observer = client(&server.address()).await;
    let mut subscriber = subscribed(&observer, "orders.core").await;
    let sink = sink(&format!("nats://{}/orders.core", server.address()), "").await;
    for index in 0..2_000 {
        sink.send(Message::from(payload(index))).await.unwrap();
    }
    sink.flush().await.unwrap();
    let received: Vec<u64> = receive(&mut subscriber, 2_000)
        .await
        .iter()
        .map(|message| index_of(&message.payload))
        .collect();
    assert_eq!(received, (0..2_000).collect::<Vec<_>>());
    let metadata = sink.metadata();
    assert_eq!(
        (metadata.messages_sent, metadata.messages_failed),
        (2_000, 0)
    );
    assert_eq!(
        metadata.bytes_sent,
        received
            .iter()
            .map(|&i| payload(i).len() as u64)
            .sum::<u64>()
    );
}

/// One batch of 5,000 messages, queued before the writer runs (a
/// current-thread runtime, `try_send` without an await): the writer publishes
/// it with a yield every 1,024 publishes, and nothing is lost, repeated or
/// reordered at those yields.
#[tokio::test]
async fn a_batch_longer_than_the_writers_pacing_arrives_whole_and_in_order() {
    const MESSAGES: u64 = 5_000;
    let server = NatsServer::start();
    let observer = client(&server.address()).await;
    let mut subscriber = subscribed(&observer, "orders.batch").await;
    let sink = sink(&format!("nats://{}/orders.batch", server.address()), "").await;
    sink.connect().await.unwrap();
    for index in 0..MESSAGES {
        sink.try_send(Message::from(payload(index))).unwrap();
    }
    assert_eq!(sink.metadata().queue_depth, MESSAGES as usize);
    sink.flush().await.unwrap();
    let received: Vec<u64> = receive(&mut subscriber, MESSAGES as usize)
        .await
        .iter()
        .map(|message| index_of(&message.payload))
        .collect();
    assert_eq!(received, (0..MESSAGES).collect::<Vec<_>>());
    let metadata = sink.metadata();
    assert_eq!(
        (metadata.messages_sent, metadata.messages_failed),
        (MESSAGES, 0)
    );
}

#[tokio::test]
async fn connects_only_on_the_first_send() {
    let server = NatsServer::start();
    let sink = sink(&format!("nats://{}/lazy", server.address()), "").await;
    // Time for a connect started by creating the sink to show.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.connections(), 0, "creating the sink connected");
    sink.send(Message::from("first")).await.unwrap();
    sink.flush().await.unwrap();
    assert_eq!(server.connections(), 1, "the first send did not connect");
    assert!(sink.is_connected());
}

/// A sink that gives up quickly: 2 attempts, each bounded at 1 s.
const QUICK: &str = "max_retries = 1\nretry_delay_ms = 10\nlazy.connect_timeout_secs = 1";

async fn first_send_error(endpoint: &str) -> SinkError {
    let sink = sink(endpoint, QUICK).await;
    tokio::time::timeout(PATIENCE, sink.send(Message::from("x")))
        .await
        .expect("the send gives up within its connect budget")
        .expect_err("nothing can accept the message")
}

#[tokio::test]
async fn a_port_without_a_server_fails_the_first_send() {
    let error = first_send_error(&format!("nats://127.0.0.1:{}/x", free_port())).await;
    let text = error.to_string();
    assert!(
        matches!(error, SinkError::ConnectionFailed { attempts: 2, .. }),
        "{text}"
    );
    assert!(text.contains("cannot connect to the NATS server"), "{text}");
}

#[tokio::test]
async fn wrong_credentials_fail_the_first_send_without_showing_them() {
    let server = NatsServer::start_with(Options {
        user: Some(("alice".into(), "right-password".into())),
        ..Options::default()
    });
    let error = first_send_error(&format!(
        "nats://alice:wrong-password@{}/x",
        server.address()
    ))
    .await;
    let text = format!("{error} {error:?}");
    assert!(text.contains("rejected the credentials"), "{text}");
    assert!(!text.contains("wrong-password"), "{text}");
    assert!(text.contains("nats://***@"), "{text}");
    // The right ones work, which shows the server checks them.
    let sink = sink(
        &format!("nats://alice:right-password@{}/x", server.address()),
        QUICK,
    )
    .await;
    sink.send(Message::from("x")).await.unwrap();
    sink.flush().await.unwrap();
}

#[tokio::test]
async fn an_unresolvable_host_fails_the_first_send() {
    let error = first_send_error("nats://no-such-host.invalid:4222/x").await;
    let text = error.to_string();
    assert!(
        matches!(error, SinkError::ConnectionFailed { .. }),
        "{text}"
    );
    assert!(
        text.contains("cannot resolve the NATS server's host"),
        "{text}"
    );
}

/// Core NATS keeps order and never duplicates across a restart; what it may
/// lose is what a subscriber was not there for (see the README). Messages
/// sent before the restart and after both clients are back all arrive.
#[tokio::test]
async fn core_nats_keeps_order_without_duplicates_across_a_server_restart() {
    let mut server = NatsServer::start();
    let observer = client(&server.address()).await;
    let mut subscriber = subscribed(&observer, "orders.restart").await;
    let sink = sink(
        &format!("nats://{}/orders.restart", server.address()),
        "max_retries = 50\nretry_delay_ms = 20\nlazy.max_retry_delay_secs = 0.2",
    )
    .await;
    for index in 0..1_000 {
        sink.send(Message::from(payload(index))).await.unwrap();
    }
    sink.flush().await.unwrap();
    let before: Vec<u64> = receive(&mut subscriber, 1_000)
        .await
        .iter()
        .map(|m| index_of(&m.payload))
        .collect();
    assert_eq!(before, (0..1_000).collect::<Vec<_>>());

    server.kill();
    // Accepted while the server is down: they wait in the client.
    for index in 1_000..2_000 {
        sink.send(Message::from(payload(index))).await.unwrap();
    }
    server.start_again();
    // The observer is back and subscribed again before the last batch.
    tokio::time::timeout(PATIENCE, async {
        while observer.connection_state() != async_nats::connection::State::Connected {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the observer reconnects");
    let mut after = until_subscribed(&observer, &mut subscriber, "orders.restart").await;
    tokio::time::timeout(PATIENCE, sink.flush())
        .await
        .expect("flush resolves once the sink is back")
        .unwrap();
    for index in 2_000..3_000 {
        sink.send(Message::from(payload(index))).await.unwrap();
    }
    sink.flush().await.unwrap();
    while after.last() != Some(&2_999) {
        let message = tokio::time::timeout(PATIENCE, subscriber.next())
            .await
            .expect("the last message arrives")
            .expect("the subscription goes on");
        after.push(index_of(&message.payload));
    }
    assert!(
        after.windows(2).all(|pair| pair[0] < pair[1]),
        "out of order or duplicated: {after:?}"
    );
    assert!(
        (2_000..3_000).all(|index| after.contains(&index)),
        "a message sent with both clients connected was lost"
    );
    let metadata = sink.metadata();
    assert_eq!(metadata.messages_failed, 0);
    assert_eq!(metadata.messages_sent, 3_000);
}

/// Four tasks keep sending through one core NATS sink while its server is
/// killed and started again: the client holds what it was handed, the
/// sink's queue fills behind it and drains once the client is back. Each
/// task's messages arrive in its order, never twice; every accepted message
/// is counted once, as sent or failed; and once both clients are back,
/// nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_producers_sending_across_a_server_restart_keep_order_and_count_each_message_once() {
    const PRODUCERS: u64 = 4;
    const DURING: u64 = 20_000;
    const AFTER: u64 = 500;
    // Message `index` of `producer`, in one number the payload carries.
    let number = |producer: u64, index: u64| producer * 1_000_000 + index;
    let mut server = NatsServer::start();
    let observer = client(&server.address()).await;
    let mut subscriber = subscribed(&observer, "orders.through").await;
    let sink = sink(
        &format!("nats://{}/orders.through", server.address()),
        // A small queue, so that the producers are blocked in `send` when
        // the server comes back, and a wait bound longer than the outage.
        "buffer_size = 1000\nmax_retries = 50\nretry_delay_ms = 20\n\
         lazy.max_retry_delay_secs = 0.2\nlazy.wait_timeout_secs = 30",
    )
    .await;
    sink.connect().await.unwrap();
    let send_all = |indices: std::ops::Range<u64>| {
        (0..PRODUCERS)
            .map(|producer| {
                let sink = std::sync::Arc::clone(&sink);
                let indices = indices.clone();
                tokio::spawn(async move {
                    for index in indices {
                        let message = Message::from(payload(number(producer, index)));
                        sink.send(message).await.expect("accepted");
                        if index % 64 == 0 {
                            tokio::task::yield_now().await;
                        }
                    }
                })
            })
            .collect::<Vec<_>>()
    };
    let join_all = |tasks: Vec<tokio::task::JoinHandle<()>>| async move {
        for task in tasks {
            task.await.expect("a producer panicked");
        }
    };
    let during = send_all(0..DURING);
    // The outage starts once messages flow, and ends while tasks still send.
    let first = receive(&mut subscriber, 200).await;
    server.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        during.iter().any(|task| !task.is_finished()),
        "the producers must still be sending when the server comes back"
    );
    server.start_again();
    tokio::time::timeout(PATIENCE, join_all(during))
        .await
        .expect("the producers finish");
    tokio::time::timeout(PATIENCE, async {
        while observer.connection_state() != async_nats::connection::State::Connected {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the observer reconnects");
    let mut received: Vec<u64> = first.iter().map(|m| index_of(&m.payload)).collect();
    received.extend(until_subscribed(&observer, &mut subscriber, "orders.through").await);
    tokio::time::timeout(PATIENCE, sink.flush())
        .await
        .expect("flush resolves once the sink is back")
        .unwrap();
    tokio::time::timeout(PATIENCE, join_all(send_all(DURING..DURING + AFTER)))
        .await
        .expect("the producers finish again");
    sink.flush().await.unwrap();

    let last = |producer| number(producer, DURING + AFTER - 1);
    let mut seen_last = 0;
    while seen_last < PRODUCERS {
        let message = tokio::time::timeout(PATIENCE, subscriber.next())
            .await
            .expect("every producer's last message arrives")
            .expect("the subscription goes on");
        let value = index_of(&message.payload);
        if (0..PRODUCERS).any(|producer| value == last(producer)) {
            seen_last += 1;
        }
        received.push(value);
    }
    for producer in 0..PRODUCERS {
        let own: Vec<u64> = received
            .iter()
            .filter(|&&value| value / 1_000_000 == producer)
            .map(|&value| value % 1_000_000)
            .collect();
        assert!(
            own.windows(2).all(|pair| pair[0] < pair[1]),
            "producer {producer}: out of order or duplicated: {own:?}"
        );
        assert!(
            (DURING..DURING + AFTER).all(|index| own.contains(&index)),
            "producer {producer}: a message sent with both clients connected was lost: {:?}",
            (DURING..DURING + AFTER)
                .filter(|index| !own.contains(index))
                .collect::<Vec<_>>()
        );
    }
    let metadata = sink.metadata();
    let accepted = PRODUCERS * (DURING + AFTER);
    assert_eq!(
        metadata.messages_sent + metadata.messages_failed,
        accepted,
        "every accepted message is counted once: {metadata:?}"
    );
    assert_eq!(metadata.queue_depth, 0, "{metadata:?}");
    // The client kept what it was handed through the outage and wrote it
    // after reconnecting: nothing failed. (What the server had not routed
    // when it died is lost uncounted: at most once, as the README says.)
    assert_eq!(metadata.messages_failed, 0, "{metadata:?}");
}

/// The server closes a connection that publishes more than its
/// `max_payload` (1 MiB by default); the sink fails that message alone.
#[tokio::test]
async fn a_message_above_the_servers_max_payload_fails_alone() {
    let server = NatsServer::start();
    let observer = client(&server.address()).await;
    let mut subscriber = subscribed(&observer, "orders.big").await;
    let sink = sink(&format!("nats://{}/orders.big", server.address()), "").await;
    sink.send(Message::from(payload(0))).await.unwrap();
    sink.send(Message::from(vec![b'x'; 2 * 1024 * 1024]))
        .await
        .unwrap();
    sink.send(Message::from(payload(2))).await.unwrap();
    let flushed = tokio::time::timeout(PATIENCE, sink.flush())
        .await
        .expect("flush resolves");
    let text = match flushed {
        Err(SinkError::SendFailed {
            failed: 1, reason, ..
        }) => reason,
        other => panic!("expected one failed message, got {other:?}"),
    };
    assert!(
        text.contains("larger than the NATS server's max_payload"),
        "{text}"
    );
    let received: Vec<u64> = receive(&mut subscriber, 2)
        .await
        .iter()
        .map(|m| index_of(&m.payload))
        .collect();
    assert_eq!(received, vec![0, 2]);
    assert_eq!(sink.metadata().messages_sent, 2);
}
