//! The operating methods `include_sinks!` generates (issue 12), against a
//! real Unix listener and a socket nobody listens on: `snapshot`,
//! `connect_all`, `preflight` and `shutdown`.

use std::path::Path;
use std::time::Duration;

use sinks::{ConnectionState, MessageSink, PreflightOutcome, SinkError};
use tokio::io::AsyncReadExt;
use tokio::net::UnixListener;

sinks::include_sinks!("tests/macro_operating.toml" as OperatingSinks);

// The socket paths are fixed by tests/macro_operating.toml.
const SOCKETS: &str = "/tmp/sinks-macro-operating";

/// Listens on `up`'s socket and returns every byte its connections sent,
/// once `expected` bytes arrived (the preflight's connection sends none).
fn listen_on_up(expected: usize) -> tokio::task::JoinHandle<Vec<u8>> {
    let dir = Path::new(SOCKETS);
    std::fs::create_dir_all(dir).expect("socket dir");
    let path = dir.join("up.sock");
    // Left over by an earlier run that was killed.
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(dir.join("down.sock"));
    let listener = UnixListener::bind(&path).expect("bind");
    tokio::spawn(async move {
        let mut received = Vec::new();
        while received.len() < expected {
            let (mut stream, _) = listener.accept().await.expect("accept");
            stream.read_to_end(&mut received).await.expect("read");
        }
        received
    })
}

fn names_of(error: &SinkError) -> Vec<&str> {
    error.failed_targets()
}

// One test, as the services share fixed socket paths.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_connect_all_preflight_and_shutdown_cover_every_service() {
    let peer = listen_on_up(1000 * 8);
    let sinks = OperatingSinks::new();

    let names: Vec<String> = sinks.snapshot().into_iter().map(|meta| meta.name).collect();
    assert_eq!(names, OperatingSinks::SERVICES);

    // The probe connects and closes again: the peer's one connection is
    // the sink's own, below.
    let report = sinks.preflight(Duration::from_secs(2)).await;
    let outcomes: Vec<(&str, bool)> = report
        .entries()
        .iter()
        .map(|entry| (entry.service.as_str(), entry.outcome.is_reachable()))
        .collect();
    assert_eq!(outcomes, [("up", true), ("down", false)], "{report}");
    assert!(matches!(
        report.entries()[1].outcome,
        PreflightOutcome::Refused { .. }
    ));
    assert!(report.to_string().contains("down"), "{report}");

    let error = sinks
        .connect_all(Duration::from_secs(2))
        .await
        .expect_err("`down` has no listener");
    assert_eq!(names_of(&error), ["down"], "{error}");
    assert_eq!(sinks.up().state(), ConnectionState::Connected);

    for id in 0..1000u32 {
        sinks
            .up()
            .send(id.to_le_bytes().to_vec().into())
            .await
            .expect("send");
    }
    // Accepted by `down` (queued behind its connect), then failed.
    let _ = sinks.down().try_send(b"lost".to_vec().into());
    let error = sinks
        .shutdown(Duration::from_secs(5))
        .await
        .expect_err("`down` could not write its message");
    assert_eq!(names_of(&error), ["down"], "{error}");
    assert!(error.to_string().contains("1 message(s)"), "{error}");

    let received = tokio::time::timeout(Duration::from_secs(10), peer)
        .await
        .expect("the peer reads everything")
        .expect("peer");
    assert_eq!(
        received.len(),
        1000 * 8,
        "every frame of `up` arrived before the close"
    );
    let snapshot = sinks.snapshot();
    assert_eq!(snapshot[0].messages_sent, 1000);
    assert_eq!(snapshot[1].messages_failed, 1);
    assert_eq!(sinks.up().state(), ConnectionState::Disconnected);
}
