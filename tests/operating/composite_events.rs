//! The events of a composite: `sink` is the composite's name and
//! `target_sink` the target's (or `from`/`to` for a switch).

use std::sync::Arc;
use std::time::{Duration, Instant};

use sinks::config::CompositePattern;
use sinks::{CompositeSink, MessageSink};
use tracing::Level;

use crate::support::{Peer, SocketDir, bind_unix, bounded, give_up_fast, numbered};
use crate::{capture, unix_sink};

/// How often the composite reconnects a skipped target in the background.
const PROBE: Duration = Duration::from_millis(50);

// A current-thread runtime: the probe task finishes (and stops marking the
// primary as probed) in the same poll that logs `target back`, before this
// test's next send.
#[tokio::test]
async fn failover_logs_each_switch_the_skipped_primary_and_its_return_once() {
    capture::install();
    let started = Instant::now();
    let dir = SocketDir::new();
    let (primary_listener, primary_path) = dir.bind("primary");
    let (backup_listener, backup_path) = dir.bind("backup");
    let primary_peer = Peer::length_prefixed(primary_listener);
    let backup_peer = Peer::length_prefixed(backup_listener);
    let primary = Arc::new(unix_sink("ev_fo_primary", &primary_path, give_up_fast()));
    let backup = Arc::new(unix_sink("ev_fo_backup", &backup_path, give_up_fast()));
    let targets: Vec<Arc<dyn MessageSink>> = vec![primary.clone(), backup.clone()];
    let failover = CompositeSink::new("ev_failover", CompositePattern::Failover, targets)
        .with_probe_interval(PROBE);

    // The primary takes traffic, then goes away.
    bounded("send", failover.send(numbered(0, 16)))
        .await
        .expect("to the primary");
    primary_peer.recording().wait_for_frames(1).await;
    bounded("disconnect", primary.disconnect())
        .await
        .expect("disconnect");
    primary_peer.shutdown().await;

    // Its connect gives up: the message goes to the backup.
    bounded("send", failover.send(numbered(1, 16)))
        .await
        .expect("to the backup");
    backup_peer.recording().wait_for_frames(1).await;

    // The primary is back; sends route past it until a probe reconnects it.
    let primary_peer = Peer::length_prefixed(bind_unix(&primary_path));
    let mut next_id = 2;
    bounded("the primary coming back", async {
        while capture::saying("ev_failover", "target back").is_empty() {
            failover
                .send(numbered(next_id, 16))
                .await
                .expect("to the backup");
            next_id += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    bounded("send", failover.send(numbered(next_id, 16)))
        .await
        .expect("to the primary again");
    primary_peer.recording().wait_for_frames(1).await;

    let switches = capture::saying("ev_failover", "failover switched target");
    assert_eq!(switches.len(), 2, "two switches: {switches:#?}");
    for switch in &switches {
        assert_eq!(
            (switch.target.as_str(), switch.level),
            ("sinks", Level::WARN)
        );
    }
    assert_eq!(
        (switches[0].field("from"), switches[0].field("to")),
        ("ev_fo_primary", "ev_fo_backup")
    );
    assert_eq!(
        (switches[1].field("from"), switches[1].field("to")),
        ("ev_fo_backup", "ev_fo_primary")
    );

    // Skipping repeats with every message; it is logged once per 5 s.
    let skipped = capture::saying("ev_failover", "target skipped");
    let allowed = 1 + started.elapsed().as_secs() / 5;
    assert!(
        !skipped.is_empty() && skipped.len() as u64 <= allowed,
        "one `target skipped` per 5 s: {skipped:#?}"
    );
    for event in &skipped {
        assert_eq!((event.target.as_str(), event.level), ("sinks", Level::WARN));
        assert_eq!(event.field("target_sink"), "ev_fo_primary");
        assert!(event.number("skipped") >= 1);
    }

    let back = capture::the_one("ev_failover", "target back", Level::INFO);
    assert_eq!(back.field("target_sink"), "ev_fo_primary");
    assert_eq!(
        capture::of("ev_failover").len(),
        switches.len() + skipped.len() + 1,
        "nothing else: {:#?}",
        capture::of("ev_failover")
    );
}
