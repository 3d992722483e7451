//! Issue 9's reproduction: N producers through one relay whose peer is
//! absent, comes up, goes away for longer than the retry budget and comes
//! back. Before the fix, two producers ended with 9 to 22 live connections
//! from one sink, frames out of order across them, and errors blaming a
//! runtime that was running.
//!
//! Each producer loops `send`, retrying at once on `Err` and pausing 1 ms
//! on `Ok`; the relay gives up after two attempts 10 ms apart. The batching
//! variants loop `send_batch` instead, into a small queue, through a relay
//! that rides the outages out (see `Plan::batched`). The peer's
//! side is checked by [`Ledger`]; on top of it, each incarnation of the peer
//! must have accepted exactly one connection: with one writer at a time and
//! a peer that reads, the sink has no reason to open a second one.
//!
//! It also guards a race this suite found: a send that waited on a failed
//! connect must report that connect's error (`Connection refused`), not
//! `Closed`, when a successor writer connected before the waiter woke. The
//! state keeps the last failed exit for it (`EndpointState::connected`
//! leaves `last_exit` alone).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sinks::config::{Endpoint, LeafConfig, RetryPolicy};
use sinks::{EndpointSink, MessageSink, SinkError};

use crate::ledger::{Ledger, ProducerLog, Window, in_order};
use crate::support::{SocketDir, WatchedPeer, bind_unix, bounded, eventually, quick_retry, tagged};

/// Payload size: large enough that the socket window is a few hundred
/// messages, so the ledger's bound on it means something.
const FRAME: usize = 512;

/// How long the peer is absent before it first comes up (the 300 ms).
const ABSENT_AT_START: Duration = Duration::from_millis(300);

/// The relay: `max_retries = 1`, `retry_delay_ms = 10`.
pub fn gives_up_after_two_attempts() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_retries(1)
        .with_retry_delay(Duration::from_millis(10))
        .with_backoff_multiplier(1.0)
        .with_connect_timeout(Duration::from_millis(300))
        .with_wait_timeout(Duration::from_secs(2))
}

/// One run: how many producers, how many outages, how long each phase lasts.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub producers: u32,
    pub outages: u32,
    /// How long the peer stays up once data flows.
    pub up_for: Duration,
    /// How long it stays away: far longer than the ~10 ms retry budget.
    pub down_for: Duration,
    /// `Some(n)`: each producer sends `send_batch`es of `n` messages
    /// instead of one `send` per message.
    pub batch: Option<u64>,
    /// The relay's retries.
    pub retry: RetryPolicy,
    /// The relay's `buffer_size`.
    pub buffer: usize,
}

impl Plan {
    fn bounded(producers: u32) -> Plan {
        // Four comebacks of the peer: each is a chance for a send that
        // waited on a failed connect to meet the successor's connection.
        Plan {
            producers,
            outages: 3,
            up_for: Duration::from_millis(150),
            down_for: Duration::from_millis(150),
            batch: None,
            retry: gives_up_after_two_attempts(),
            buffer: LeafConfig::DEFAULT_BUFFER_SIZE,
        }
    }

    /// `bounded`, with producers that send batches of `batch` into a queue
    /// that fills during each outage (so batches stop mid-way to wait for
    /// room while the writer reconnects), and a relay that retries for about
    /// a second and a half, so that every batch waits the outage out: a
    /// batch that fails says that it stopped, not how many of its messages
    /// went in before, so the ledger could not judge it message by message.
    fn batched(producers: u32, batch: u64) -> Plan {
        Plan {
            batch: Some(batch),
            retry: quick_retry(),
            buffer: 256,
            ..Plan::bounded(producers)
        }
    }
}

/// Sends `tagged(producer, seq)` until stopped, one message per `send` or
/// `batch` per `send_batch`: at once again after an `Err`, 1 ms later after
/// an `Ok`.
async fn produce(
    sink: Arc<EndpointSink>,
    producer: u32,
    batch: Option<u64>,
    stop: Arc<AtomicBool>,
) -> ProducerLog {
    let mut log = ProducerLog::default();
    let mut seq = 0;
    while !stop.load(Ordering::Relaxed) {
        let count = batch.unwrap_or(1);
        let result = match batch {
            None => sink.send(tagged(producer, seq, FRAME)).await,
            Some(_) => {
                let messages = (seq..seq + count)
                    .map(|seq| tagged(producer, seq, FRAME))
                    .collect();
                sink.send_batch(messages).await
            }
        };
        for seq in seq..seq + count {
            log.note(seq, &result);
        }
        seq += count;
        if result.is_ok() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    log
}

/// Every distinct `metadata().last_error` seen until stopped, sampled
/// every millisecond: the reasons of writers that gave up, which no send
/// returns (sends are accepted while a writer reconnects), and which
/// a later failure overwrites.
async fn watch_last_error(sink: Arc<EndpointSink>, stop: Arc<AtomicBool>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    while !stop.load(Ordering::Relaxed) {
        if let Some(error) = sink.metadata().last_error {
            seen.insert(error);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    seen
}

/// Runs `plan` and checks every invariant from the peer's side.
pub async fn run(plan: Plan) {
    let dir = SocketDir::new();
    let path = dir.path("relay");
    let sink = Arc::new(EndpointSink::relay(
        "relay",
        LeafConfig::new(Endpoint::unix(&path).expect("an absolute socket path"))
            .with_retry(plan.retry)
            .with_buffer_size(plan.buffer),
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let producers: Vec<_> = (0..plan.producers)
        .map(|producer| {
            let produce = produce(Arc::clone(&sink), producer, plan.batch, Arc::clone(&stop));
            tokio::spawn(produce)
        })
        .collect();
    let watcher = tokio::spawn(watch_last_error(Arc::clone(&sink), Arc::clone(&stop)));

    tokio::time::sleep(ABSENT_AT_START).await;
    let mut incarnations = Vec::new();
    let mut peer = WatchedPeer::start(bind_unix(&path));
    for outage in 0..=plan.outages {
        let carried = plan.producers as usize * 5;
        eventually("frames arriving at the peer", || {
            peer.frame_count() >= carried
        })
        .await;
        tokio::time::sleep(plan.up_for).await;
        if outage == plan.outages {
            break;
        }
        incarnations.push(peer.shutdown().await);
        tokio::time::sleep(plan.down_for).await;
        peer = WatchedPeer::start(bind_unix(&path));
    }

    stop.store(true, Ordering::Relaxed);
    let mut logs = Vec::new();
    for producer in producers {
        logs.push(
            bounded("a producer stopping", producer)
                .await
                .expect("producer task"),
        );
    }
    let seen_errors = bounded("the watcher stopping", watcher)
        .await
        .expect("watcher task");
    // Producers stopped: the first flush settles and reports every failure,
    // so a second flush and the disconnect have none left to report.
    let flush = bounded("flush", sink.flush()).await;
    let second_flush = bounded("a second flush", sink.flush()).await;
    let disconnect = bounded("disconnect", sink.disconnect()).await;
    let reported = match &flush {
        Ok(()) => 0,
        Err(SinkError::SendFailed { failed, .. }) => *failed,
        Err(other) => panic!("flush after the run: {other}"),
    };
    let mut other_errors: Vec<String> = [&flush, &second_flush, &disconnect]
        .into_iter()
        .filter_map(|result| result.as_ref().err().map(ToString::to_string))
        .collect();
    assert!(
        second_flush.is_ok() && disconnect.is_ok(),
        "the first flush took every report, yet: second flush {second_flush:?}, disconnect {disconnect:?}"
    );
    incarnations.push(peer.wait_until_ended(1).await);
    drop(peer);

    let metadata = sink.metadata();
    other_errors.extend(metadata.last_error.clone());
    other_errors.extend(seen_errors);
    assert_eq!(
        reported, metadata.messages_failed,
        "flush and disconnect must report every failed message, once"
    );
    for (incarnation, connections) in incarnations.iter().enumerate() {
        assert_eq!(
            connections.len(),
            1,
            "incarnation {incarnation} of the peer accepted {} connections from one sink (frames per connection: {:?})",
            connections.len(),
            connections
                .iter()
                .map(|c| c.frames.len())
                .collect::<Vec<_>>()
        );
    }
    Ledger {
        producers: &logs,
        connections: &in_order(incarnations),
        sent: metadata.messages_sent,
        failed: metadata.messages_failed,
        window: Window::PeerDeaths {
            deaths: plan.outages,
            frame_bytes: FRAME + 4,
        },
        other_errors,
        closed_while_sending: false,
    }
    .check();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_producers_through_an_outage_keep_one_connection_their_order_and_their_count() {
    run(Plan::bounded(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_producers_through_an_outage_keep_one_connection_their_order_and_their_count() {
    run(Plan::bounded(4)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_producers_through_an_outage_keep_one_connection_their_order_and_their_count() {
    run(Plan::bounded(16)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_producers_batching_through_an_outage_keep_one_connection_their_order_and_their_count()
{
    run(Plan::batched(4, 25)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_producers_batching_through_an_outage_keep_one_connection_their_order_and_their_count()
 {
    run(Plan::batched(16, 25)).await;
}

/// How long the long version runs, in seconds (`LIFECYCLE_SOAK_SECS`, default 180).
fn soak_duration() -> Duration {
    let secs = std::env::var("LIFECYCLE_SOAK_SECS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(180);
    Duration::from_secs(secs)
}

/// The long version, for minutes (`cargo test --test lifecycle -- --ignored`):
/// rounds of 2, 4 and 16 producers, and 4 sending batches, through four
/// sinks at once (the load on the workers widens the races), five outages
/// each, with phase lengths varied per round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs for minutes; `cargo test --test lifecycle -- --ignored`"]
async fn producers_through_repeated_outages_for_minutes_keep_every_invariant() {
    let started = Instant::now();
    let mut round: u64 = 0;
    while started.elapsed() < soak_duration() {
        // A small LCG, so every round differs but a failing round can be replayed.
        // One sink of each kind of producer: 2, 4 and 16 sending one by
        // one, and 4 sending batches.
        let plans = [(2, false), (4, false), (16, false), (4, true)].map(|(producers, batched)| {
            let mix = (round * 3 + u64::from(producers) + u64::from(batched))
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let kind = if batched {
                Plan::batched(producers, 25)
            } else {
                Plan::bounded(producers)
            };
            Plan {
                producers,
                outages: 5,
                up_for: Duration::from_millis(50 + (mix >> 33) % 350),
                down_for: Duration::from_millis(30 + (mix >> 45) % 370),
                ..kind
            }
        });
        eprintln!("round {round}: {plans:?}");
        futures_util::future::join_all(plans.map(run)).await;
        round += 1;
    }
    assert!(round > 0, "no round ran");
}
