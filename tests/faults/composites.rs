//! Composites with a target that dies or was never there: failover moves to
//! the backup within the retry budget and back once the primary returns,
//! round robin keeps delivering through the live targets, fanout delivers to
//! the rest and names the dead one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sinks::config::{CompositePattern, RetryPolicy};
use sinks::{CompositeSink, ConnectionState, EndpointSink, MessageSink, SinkError};

use crate::peers::{Log, Transport, bounded, eventually, give_up_fast, message, serve_forever};
use crate::support::composite_of;

/// How often a composite reconnects a failed target in the background.
const PROBE: Duration = Duration::from_millis(100);
/// Slack for scheduling on a loaded machine.
const SLACK: Duration = Duration::from_millis(500);

fn composite(
    name: &str,
    pattern: CompositePattern,
    targets: &[&Arc<EndpointSink>],
) -> CompositeSink {
    composite_of(name, pattern, targets, PROBE)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_moves_to_backup_within_retry_budget_and_back_when_primary_returns() {
    let dir = tempfile::tempdir().expect("temp dir");
    let primary_at = Transport::unix(dir.path(), "primary");
    let backup_at = Transport::unix(dir.path(), "backup");
    let retry = RetryPolicy::default()
        .with_max_retries(3)
        .with_retry_delay(Duration::from_millis(20))
        .with_backoff_multiplier(1.0)
        .with_connect_timeout(Duration::from_millis(200))
        .with_wait_timeout(Duration::from_secs(2));
    let primary = Arc::new(primary_at.sink("primary", |config| config.with_retry(retry)));
    let backup = Arc::new(backup_at.sink("backup", |config| config.with_retry(retry)));
    let failover = Arc::new(composite(
        "failover",
        CompositePattern::Failover,
        &[&primary, &backup],
    ));
    let primary_log = Log::default();
    let backup_log = Log::default();
    let primary_peer = serve_forever(primary_at.bind().await, primary_log.clone());
    let backup_peer = serve_forever(backup_at.bind().await, backup_log.clone());

    // A message every 2 ms until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let producer = tokio::spawn({
        let failover = Arc::clone(&failover);
        let stop = Arc::clone(&stop);
        async move {
            let mut next_id = 0u64;
            let mut rejected = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                if let Err(error) = failover.send(message(next_id)).await {
                    rejected.push(error.to_string());
                }
                next_id += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            (next_id, rejected)
        }
    });

    eventually("traffic flows to the primary", || primary_log.count() >= 30).await;
    assert_eq!(
        backup_log.count(),
        0,
        "failover uses the primary while it is up"
    );

    // Kill the primary mid-stream: its listener and connection go at once.
    primary_peer.abort();
    let killed = Instant::now();
    eventually("traffic moves to the backup", || backup_log.count() > 0).await;
    let moved_after = killed.elapsed();
    assert!(
        moved_after <= retry.connect_budget() + SLACK,
        "traffic reached the backup {moved_after:?} after the primary died; the retry budget is {:?}",
        retry.connect_budget()
    );
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The primary comes back on the same path.
    let primary_peer = serve_forever(primary_at.bind().await, primary_log.clone());
    let returned = Instant::now();
    eventually("traffic returns to the primary", || {
        primary_log
            .connections()
            .get(1)
            .is_some_and(|ids| !ids.is_empty())
    })
    .await;
    let back_after = returned.elapsed();
    assert!(
        back_after <= PROBE + retry.connect_budget() + SLACK,
        "traffic returned to the primary {back_after:?} after it came back"
    );
    // And stays there.
    let backup_count = backup_log.count();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        backup_log.count(),
        backup_count,
        "traffic kept going to the backup after the primary returned"
    );

    stop.store(true, Ordering::SeqCst);
    let (sent, rejected) = bounded("the producer", producer).await.expect("producer");
    assert!(rejected.is_empty(), "failover sends failed: {rejected:?}");
    // The last message went to the primary; once it is read, so is
    // everything before it on that connection.
    eventually("the primary reads the last message", || {
        primary_log.ids().last() == Some(&(sent - 1))
    })
    .await;
    eventually("the backup reads what was written to it", || {
        backup_log.count() as u64 == backup.metadata().messages_sent
    })
    .await;

    // Each message went to one target, in order on each.
    let on_primary = primary_log.ids();
    let on_backup = backup_log.ids();
    for ids in [&on_primary, &on_backup] {
        assert!(
            ids.windows(2).all(|pair| pair[0] < pair[1]),
            "out of order or twice"
        );
    }
    assert!(
        on_backup
            .iter()
            .all(|id| on_primary.binary_search(id).is_err()),
        "a message reached both targets"
    );
    // The books: what reached neither target was sent at the failover, and
    // is counted failed by the primary or was in its socket when it died.
    let primary_meta = primary.metadata();
    let window = primary_meta.messages_sent - on_primary.len() as u64;
    let last_before_kill = primary_log.connections()[0].last().copied().unwrap_or(0);
    let first_on_backup = on_backup[0];
    let missing: Vec<u64> = (0..sent)
        .filter(|id| on_primary.binary_search(id).is_err() && on_backup.binary_search(id).is_err())
        .collect();
    assert!(
        missing.len() as u64 <= primary_meta.messages_failed + window,
        "{} messages reached no target; the primary failed {} and had {window} in its socket",
        missing.len(),
        primary_meta.messages_failed
    );
    assert!(
        missing
            .iter()
            .all(|id| (last_before_kill..first_on_backup).contains(id)),
        "messages went missing outside the failover: {missing:?}"
    );
    // The primary's failed messages are reported, by name, not dropped silently.
    match bounded("disconnect", failover.disconnect()).await {
        Ok(()) => assert_eq!(primary_meta.messages_failed, 0),
        Err(error) => assert_eq!(error.failed_targets(), ["primary"], "{error}"),
    }
    primary_peer.abort();
    backup_peer.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_with_one_dead_target_keeps_delivering_through_the_others() {
    let dir = tempfile::tempdir().expect("temp dir");
    let at = ["dead", "left", "right"].map(|name| Transport::unix(dir.path(), name));
    let sinks = [&at[0], &at[1], &at[2]].map(|transport| {
        Arc::new(transport.sink("target", |config| config.with_retry(give_up_fast())))
    });
    let logs = [Log::default(), Log::default()];
    let peers = [
        serve_forever(at[1].bind().await, logs[0].clone()),
        serve_forever(at[2].bind().await, logs[1].clone()),
    ];
    let spread = composite(
        "spread",
        CompositePattern::RoundRobin,
        &[&sinks[0], &sinks[1], &sinks[2]],
    );

    const MESSAGES: u64 = 60;
    for id in 0..MESSAGES {
        bounded("a round robin send", spread.send(message(id)))
            .await
            .unwrap_or_else(|error| panic!("message {id} was not delivered: {error}"));
    }
    bounded("disconnect", spread.disconnect())
        .await
        .expect("the live targets disconnect cleanly");
    eventually("the live targets read every message", || {
        logs.iter().map(Log::count).sum::<usize>() as u64 == MESSAGES
    })
    .await;

    let mut received: Vec<u64> = logs.iter().flat_map(Log::ids).collect();
    assert!(
        logs.iter().all(|log| log.count() > 0),
        "both live targets get a share"
    );
    for log in &logs {
        assert!(log.ids().windows(2).all(|pair| pair[0] < pair[1]));
    }
    received.sort_unstable();
    assert_eq!(
        received,
        (0..MESSAGES).collect::<Vec<_>>(),
        "each message exactly once"
    );
    assert_eq!(sinks[0].state(), ConnectionState::Failed);
    for peer in peers {
        peer.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_with_one_dead_target_delivers_to_the_rest_and_names_the_dead_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let at = ["left", "dead", "right"].map(|name| Transport::unix(dir.path(), name));
    let left = Arc::new(at[0].sink("left", |config| config.with_retry(give_up_fast())));
    let dead = Arc::new(at[1].sink("dead", |config| config.with_retry(give_up_fast())));
    let right = Arc::new(at[2].sink("right", |config| config.with_retry(give_up_fast())));
    let logs = [Log::default(), Log::default()];
    let peers = [
        serve_forever(at[0].bind().await, logs[0].clone()),
        serve_forever(at[2].bind().await, logs[1].clone()),
    ];
    let everyone = composite(
        "everyone",
        CompositePattern::Fanout,
        &[&left, &dead, &right],
    );

    for id in 0..3 {
        match bounded("a fanout send", everyone.send(message(id))).await {
            Err(error @ SinkError::TargetsFailed { .. }) => {
                assert_eq!(error.failed_targets(), ["dead"], "{error}");
                assert!(error.to_string().contains("`dead`"), "{error}");
            }
            other => panic!("expected TargetsFailed naming `dead`, got {other:?}"),
        }
    }
    bounded("flush", left.flush()).await.expect("left flush");
    bounded("flush", right.flush()).await.expect("right flush");
    bounded("disconnect", left.disconnect())
        .await
        .expect("left");
    bounded("disconnect", right.disconnect())
        .await
        .expect("right");
    eventually("the live targets read every message", || {
        logs.iter().all(|log| log.count() == 3)
    })
    .await;
    for log in &logs {
        assert_eq!(log.ids(), [0, 1, 2], "every live target got every message");
    }
    for peer in peers {
        peer.abort();
    }
}
