//! Many senders on one fresh sink share one connection; `disconnect()` and
//! an `include_sinks!` struct's `flush_all()` drain what is queued.

use std::path::Path;
use std::sync::Arc;

use sinks::config::{Endpoint, LeafConfig};
use sinks::{ConnectionState, EndpointSink, MessageSink};
use tokio::net::UnixListener;
use tokio::sync::Barrier;

use crate::peers::{Log, bounded, eventually, message, quick_retry, serve_concurrently};

sinks::include_sinks!("tests/faults/flush_all.toml" as FlushSinks);

/// Fixed by tests/faults/flush_all.toml, so the directory is too.
const FLUSH_SOCKETS: &str = "/tmp/sinks-faults-flush";

fn unix_sink(name: &str, path: &Path) -> EndpointSink {
    EndpointSink::direct(
        name,
        LeafConfig::new(Endpoint::unix(path).expect("an absolute socket path"))
            .with_buffer_size(4096)
            .with_retry(quick_retry()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_tasks_sending_at_once_through_a_fresh_sink_open_one_connection() {
    const TASKS: u64 = 64;
    const EACH: u64 = 50;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("shared.sock");
    let log = Log::default();
    let peer = serve_concurrently(UnixListener::bind(&path).expect("bind"), log.clone());
    let sink = Arc::new(unix_sink("shared", &path));

    // Every task's first send lands on the fresh sink at the same moment.
    let start = Arc::new(Barrier::new(TASKS as usize));
    let mut senders = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let sink = Arc::clone(&sink);
        let start = Arc::clone(&start);
        senders.spawn(async move {
            start.wait().await;
            for seq in 0..EACH {
                sink.send(message(task * 1_000 + seq)).await?;
            }
            Ok::<(), sinks::SinkError>(())
        });
    }
    bounded("64 senders", async {
        while let Some(result) = senders.join_next().await {
            result.expect("sender task").expect("every send succeeds");
        }
    })
    .await;
    bounded("disconnect", sink.disconnect())
        .await
        .expect("disconnect");
    eventually("the peer reads every message", || {
        log.count() as u64 == TASKS * EACH
    })
    .await;

    assert_eq!(
        log.connection_count(),
        1,
        "64 concurrent first sends opened more than one connection"
    );
    let received = log.ids();
    for task in 0..TASKS {
        let mine: Vec<u64> = received
            .iter()
            .copied()
            .filter(|id| id / 1_000 == task)
            .collect();
        assert_eq!(
            mine,
            (0..EACH).map(|seq| task * 1_000 + seq).collect::<Vec<_>>(),
            "task {task}'s messages arrived in the order it sent them"
        );
    }
    peer.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_writes_everything_queued_then_closes() {
    const MESSAGES: u64 = 2_000;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("drain.sock");
    let log = Log::default();
    let peer = serve_concurrently(UnixListener::bind(&path).expect("bind"), log.clone());
    let sink = unix_sink("drain", &path);

    // Queued while the sink is still connecting.
    for id in 0..MESSAGES {
        sink.try_send(message(id)).expect("room in the queue");
    }
    bounded("disconnect", sink.disconnect())
        .await
        .expect("disconnect");
    assert_eq!(sink.state(), ConnectionState::Disconnected);
    assert_eq!(
        sink.metadata().messages_sent,
        MESSAGES,
        "disconnect returned before everything queued was written"
    );
    eventually("the peer reads to the end", || {
        log.count() as u64 == MESSAGES
    })
    .await;
    assert_eq!(log.ids(), (0..MESSAGES).collect::<Vec<_>>());

    // A later send connects again.
    bounded("a send after disconnect", sink.send(message(MESSAGES)))
        .await
        .expect("send connects again");
    bounded("disconnect", sink.disconnect())
        .await
        .expect("disconnect");
    eventually("the second connection's message arrives", || {
        log.connections().get(1).map(Vec::as_slice) == Some(&[MESSAGES][..])
    })
    .await;
    peer.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_all_of_include_sinks_struct_drains_every_queue() {
    const MESSAGES: u64 = 2_000;
    let dir = Path::new(FLUSH_SOCKETS);
    std::fs::create_dir_all(dir).expect("socket dir");
    let mut logs = Vec::new();
    let mut peers = Vec::new();
    for name in ["quotes", "trades"] {
        let path = dir.join(format!("{name}.sock"));
        // Left over by an earlier run that was killed.
        let _ = std::fs::remove_file(&path);
        let log = Log::default();
        peers.push(serve_concurrently(
            UnixListener::bind(&path).expect("bind"),
            log.clone(),
        ));
        logs.push(log);
    }

    let sinks = FlushSinks::new();
    // Queued while both sinks are still connecting.
    for id in 0..MESSAGES {
        sinks.quotes().try_send(message(id)).expect("room");
        sinks.trades().try_send(message(id)).expect("room");
    }
    bounded("flush_all", sinks.flush_all())
        .await
        .expect("flush_all");
    for sink in [sinks.quotes(), sinks.trades()] {
        assert_eq!(
            sink.metadata().messages_sent,
            MESSAGES,
            "flush_all returned before `{}` had written its queue",
            sink.name()
        );
    }
    bounded("disconnect_all", sinks.disconnect_all())
        .await
        .expect("disconnect_all");
    for log in &logs {
        eventually("the peer reads every message", || {
            log.count() as u64 == MESSAGES
        })
        .await;
        assert_eq!(log.ids(), (0..MESSAGES).collect::<Vec<_>>());
    }
    for peer in peers {
        peer.abort();
    }
    for name in ["quotes", "trades"] {
        let _ = std::fs::remove_file(dir.join(format!("{name}.sock")));
    }
    let _ = std::fs::remove_dir(dir);
}
