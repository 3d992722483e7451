//! The NATS section (issue 14, `--features nats`, `SINKS_BENCH_ONLY=nats`):
//! a real `nats-server` on loopback, the sink against a raw `async-nats`
//! loop on the same server, interleaved. Core NATS at 64 B and 512 B
//! (`publish` N times, one `flush`); JetStream at 64 B with as many
//! acknowledgements in flight on both sides (the sink's default 256).
//!
//! Static payloads only. The JetStream sink also sets a `Nats-Msg-Id`
//! header on every publish (its exactly-once de-duplication), which the raw
//! loop of the target does not: that cost is part of what its ratio
//! measures. A second raw loop, with a unique `Nats-Msg-Id` per publish, runs
//! in the same rounds, so the table shows the header's cost apart.

mod runs;
mod server;

use sinks::config::LeafConfig;
use tokio::runtime::Runtime;

use crate::harness::{Goal, Row, Settings, measure_side_by_side, rate};
use crate::payloads::{PAYLOAD_64, PAYLOAD_512};

use self::runs::MessageIds;
use self::server::BenchServer;

/// Both NATS figures' target against the raw `async-nats` loop.
const TARGET: f64 = 0.9;

/// Messages per run. Core NATS on loopback runs at 1.2 to 1.9 M msg/s here,
/// so a million is about 0.5 to 0.8 s a run; 200,000 (0.1 to 0.15 s) let
/// one scheduling hiccup decide a round (BENCHMARKS.md, "Sixth stop").
const CORE_MESSAGES: u64 = 1_000_000;
const JETSTREAM_MESSAGES: u64 = 50_000;

pub(crate) fn nats_rows(settings: &Settings, runtime: &Runtime, push: &mut impl FnMut(Row)) {
    eprintln!("nats, one producer, static payloads:");
    let server = BenchServer::start();
    let address = server.address();
    for payload in [PAYLOAD_64, PAYLOAD_512] {
        let (body, size) = (payload.body, payload.len());
        let messages = settings.count(CORE_MESSAGES);
        let mut ours_run = || runs::sink_run(runtime, &address, None, body, messages);
        let mut raw_run = || runs::raw_core_run(runtime, &address, body, messages);
        let measured = measure_side_by_side(settings, &mut [&mut ours_run, &mut raw_run]);
        let (ours, raw) = (&measured[0], &measured[1]);
        push(Row::paired(
            format!("core NATS, {size} B, static: throughput vs raw async-nats"),
            (ours, rate(ours, size)),
            (
                raw,
                format!("async-nats publish + one flush: {}", rate(raw, size)),
            ),
            Goal::AtLeast(TARGET),
        ));
    }
    let in_flight = LeafConfig::DEFAULT_JETSTREAM_MAX_IN_FLIGHT;
    let (body, size) = (PAYLOAD_64.body, PAYLOAD_64.len());
    let messages = settings.count(JETSTREAM_MESSAGES);
    let mut ours_run = || runs::sink_run(runtime, &address, Some(in_flight), body, messages);
    let raw_run = |ids| runs::raw_jetstream_run(runtime, &address, in_flight, ids, body, messages);
    let mut plain_run = || raw_run(MessageIds::None);
    let mut with_ids_run = || raw_run(MessageIds::Unique);
    let measured = measure_side_by_side(
        settings,
        &mut [&mut ours_run, &mut plain_run, &mut with_ids_run],
    );
    let (ours, plain, with_ids) = (&measured[0], &measured[1], &measured[2]);
    push(Row::paired(
        format!(
            "JetStream, {size} B, static, {in_flight} acks in flight: throughput vs raw async-nats"
        ),
        (ours, rate(ours, size)),
        (
            plain,
            format!(
                "async-nats JetStream publish, {in_flight} acks in flight: {}",
                rate(plain, size)
            ),
        ),
        Goal::AtLeast(TARGET),
    ));
    // The sink's de-duplication id is part of its promise; what it costs
    // the server shows in this row, measured in the same rounds.
    push(Row::paired(
        format!(
            "JetStream, {size} B, static, {in_flight} acks in flight: throughput vs raw async-nats \
             with a Nats-Msg-Id per publish"
        ),
        (ours, rate(ours, size)),
        (
            with_ids,
            format!(
                "async-nats JetStream publish with a Nats-Msg-Id, {in_flight} acks in flight: {}",
                rate(with_ids, size)
            ),
        ),
        Goal::AtLeast(TARGET),
    ));
}
