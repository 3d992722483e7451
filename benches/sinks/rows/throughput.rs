//! Rows of the throughput section: one producer, the sink against its raw
//! baseline for every transport and payload kind, and the allocations of
//! the send loop. Also the large-payload section (64 KiB, 1 MiB).

use tokio::runtime::Runtime;

use crate::harness::{Goal, Row, Settings, measure_side_by_side, rate};
use crate::payloads::{
    PAYLOAD_1_MIB, PAYLOAD_64, PAYLOAD_64_KIB, PAYLOAD_512, Payload, PayloadKind,
};
use crate::peers::Transport;
use crate::throughput;
use crate::throughput::{Baseline, SendCost, Sends};

/// The target of a throughput figure against its raw baseline: issue 11's
/// where it sets one, issue 5's otherwise.
fn raw_target(transport: Transport, size: usize) -> f64 {
    match (transport, size) {
        (Transport::Unix, 64) => 0.8,
        (Transport::Unix, _) => 0.9,
        (Transport::Tcp, 64) => 0.8,
        (Transport::Tcp, _) => 0.6,
        (Transport::WebSocket, 64) => 0.8,
        (Transport::WebSocket, _) => 0.5,
    }
}

/// Every transport at 64 B and 512 B, for each payload kind in the settings.
pub(crate) fn throughput_rows(settings: &Settings, runtime: &Runtime, push: &mut impl FnMut(Row)) {
    for &kind in &settings.payloads {
        eprintln!("throughput, one producer, {}:", kind.label());
        for transport in [Transport::Unix, Transport::Tcp, Transport::WebSocket] {
            for (payload, messages) in [(PAYLOAD_64, 2_000_000), (PAYLOAD_512, 600_000)] {
                throughput_pair(settings, runtime, kind, transport, payload, messages, push);
            }
        }
    }
}

/// One producer, the sink against its raw baseline (and, for static
/// payloads on Unix and TCP, the seed's per-message design), interleaved.
fn throughput_pair(
    settings: &Settings,
    runtime: &Runtime,
    kind: PayloadKind,
    transport: Transport,
    payload: Payload,
    messages: u64,
    push: &mut impl FnMut(Row),
) {
    let messages = settings.count(match transport {
        Transport::WebSocket => messages / 4,
        _ => messages,
    });
    let size = payload.len();
    let mut costs = Vec::new();
    let per_message_count = settings.count(50_000);
    let mut ours_run = || {
        let (rate, cost) = throughput::sink_run(
            runtime,
            transport,
            kind,
            payload,
            messages,
            None,
            Sends::OneByOne,
        );
        costs.push(cost);
        rate
    };
    let mut raw_run =
        || throughput::baseline_run(runtime, transport, Baseline::Raw, kind, payload, messages);
    let mut seed_run = || {
        throughput::baseline_run(
            runtime,
            transport,
            Baseline::PerMessage,
            kind,
            payload,
            per_message_count,
        )
    };
    // WebSocket has no per-message baseline: the raw one already flushes
    // once. The seed design is issue 5's figure: static payloads only.
    let measured = if transport == Transport::WebSocket || kind != PayloadKind::Static {
        measure_side_by_side(settings, &mut [&mut ours_run, &mut raw_run])
    } else {
        measure_side_by_side(settings, &mut [&mut ours_run, &mut raw_run, &mut seed_run])
    };
    let (ours, raw) = (&measured[0], &measured[1]);
    let raw_name = match transport {
        Transport::WebSocket => "tokio-tungstenite feed + flush",
        _ => "raw: 64 KiB BufWriter",
    };
    let case = format!("{}, {size} B, {}", transport.label(), kind.label());
    push(Row::paired(
        format!("{case}: throughput vs the raw limit"),
        (ours, rate(ours, size)),
        (raw, format!("{}: {}", raw_name, rate(raw, size))),
        Goal::AtLeast(raw_target(transport, size)),
    ));
    if let Some(seed) = measured.get(2) {
        push(Row::paired(
            format!("{case}: throughput vs per-message write+flush"),
            (ours, rate(ours, size)),
            (seed, format!("seed design: {}", rate(seed, size))),
            if size == 64 {
                Goal::AtLeast(30.0)
            } else {
                Goal::None
            },
        ));
    }
    push(allocation_row(&case, &costs, messages));
}

/// Messages per `send_batch` in the batch section.
const BATCH: usize = 64;

/// `send_batch` against a `send` loop and the raw limit at 64 B, on Unix and
/// TCP, for each payload kind: what a producer that has its messages in
/// hand at once gets (section `batch`).
pub(crate) fn batch_rows(settings: &Settings, runtime: &Runtime, push: &mut impl FnMut(Row)) {
    for &kind in &settings.payloads {
        eprintln!("send_batch, one producer, {}:", kind.label());
        for transport in [Transport::Unix, Transport::Tcp] {
            batch_triple(settings, runtime, kind, transport, push);
        }
    }
}

/// The sink's `send_batch` loop, its `send` loop and the raw baseline, interleaved.
fn batch_triple(
    settings: &Settings,
    runtime: &Runtime,
    kind: PayloadKind,
    transport: Transport,
    push: &mut impl FnMut(Row),
) {
    let payload = PAYLOAD_64;
    let size = payload.len();
    let messages = settings.count(2_000_000);
    let mut costs = Vec::new();
    let mut batch_run = || {
        let (rate, cost) = throughput::sink_run(
            runtime,
            transport,
            kind,
            payload,
            messages,
            None,
            Sends::Batches(BATCH),
        );
        costs.push(cost);
        rate
    };
    let mut send_run = || {
        let sends = Sends::OneByOne;
        throughput::sink_run(runtime, transport, kind, payload, messages, None, sends).0
    };
    let mut raw_run =
        || throughput::baseline_run(runtime, transport, Baseline::Raw, kind, payload, messages);
    let measured =
        measure_side_by_side(settings, &mut [&mut batch_run, &mut send_run, &mut raw_run]);
    let (batched, one_by_one, raw) = (&measured[0], &measured[1], &measured[2]);
    let case = format!(
        "{}, {size} B, {}, send_batch of {BATCH}",
        transport.label(),
        kind.label()
    );
    push(Row::paired(
        format!("{case}: throughput vs the raw limit (the bar of a send, for comparison)"),
        (batched, rate(batched, size)),
        (raw, format!("raw: 64 KiB BufWriter: {}", rate(raw, size))),
        Goal::AtLeast(raw_target(transport, size)),
    ));
    push(Row::paired(
        format!("{case}: throughput vs a send loop"),
        (batched, rate(batched, size)),
        (one_by_one, format!("send loop: {}", rate(one_by_one, size))),
        Goal::None,
    ));
    push(allocation_row(&case, &costs, messages));
}

/// Heap allocations per message of the send loop and flush (worst run),
/// the user's own (a `Vec` per message) counted apart and not held against
/// the sink. Sends that waited for room are in the loop and counted too.
fn allocation_row(case: &str, costs: &[SendCost], messages: u64) -> Row {
    let worst = costs
        .iter()
        .max_by_key(|cost| cost.allocated.sink_allocations())
        .expect("at least one run");
    let allocated = worst.allocated;
    let per_message = allocated.sink_allocations() as f64 / messages as f64;
    Row::absolute(
        format!(
            "{case}: sink heap allocations per message, send loop + flush (worst run; the user's own apart)"
        ),
        format!(
            "{per_message:.5} ({} allocations, {} B, in {messages} messages, of which {} sends waited for room; the user's own: {} allocations, {} B)",
            allocated.sink_allocations(),
            allocated.sink_bytes(),
            worst.waits,
            allocated.user_allocations,
            allocated.user_bytes,
        ),
        "-",
        "0",
        Some(allocated.sink_allocations() == 0),
    )
}

/// Large payloads on a relay: throughput against the raw limit, and the
/// bytes the sink allocates per message against the payload size (a copy
/// would allocate the payload's size, or show in the throughput).
pub(crate) fn large_rows(settings: &Settings, runtime: &Runtime, push: &mut impl FnMut(Row)) {
    for &kind in &settings.payloads {
        eprintln!("large payloads, one producer, {}:", kind.label());
        for (payload, full, floor) in [(PAYLOAD_64_KIB, 16_000, 1_000), (PAYLOAD_1_MIB, 1_000, 100)]
        {
            let messages = settings.count_at_least(full, floor);
            let size = payload.len();
            // A queue of 64 MiB at most: `buffer_size` counts messages, and
            // 10,000 queued 1 MiB `Vec`s would take 10 GiB of the machine.
            let buffer_size = (64 * 1024 * 1024 / size).max(64);
            let mut costs = Vec::new();
            let mut ours_run = || {
                let (rate, cost) = throughput::sink_run(
                    runtime,
                    Transport::Unix,
                    kind,
                    payload,
                    messages,
                    Some(buffer_size),
                    Sends::OneByOne,
                );
                costs.push(cost);
                rate
            };
            let mut raw_run = || {
                throughput::baseline_run(
                    runtime,
                    Transport::Unix,
                    Baseline::Raw,
                    kind,
                    payload,
                    messages,
                )
            };
            let measured = measure_side_by_side(settings, &mut [&mut ours_run, &mut raw_run]);
            let (ours, raw) = (&measured[0], &measured[1]);
            let case = format!(
                "relay (Unix), {}, {} (buffer_size {buffer_size})",
                payload.size_label(),
                kind.label()
            );
            push(Row::paired(
                format!("{case}: throughput vs the raw limit"),
                (ours, rate(ours, size)),
                (
                    raw,
                    format!(
                        "raw: BufWriter, payload written past it: {}",
                        rate(raw, size)
                    ),
                ),
                Goal::AtLeast(0.95),
            ));
            let worst = costs
                .iter()
                .max_by_key(|cost| cost.allocated.sink_bytes())
                .expect("at least one run");
            let allocated = worst.allocated;
            let bytes_per_message = allocated.sink_bytes() as f64 / messages as f64;
            push(Row::absolute(
                format!(
                    "{case}: bytes the sink allocates per message (worst run; the user's own apart)"
                ),
                format!(
                    "{bytes_per_message:.1} B, {:.4}% of the payload ({} allocations in {messages} messages, of which {} sends waited for room; the user's own: {:.0} B per message)",
                    bytes_per_message / size as f64 * 100.0,
                    allocated.sink_allocations(),
                    worst.waits,
                    allocated.user_bytes as f64 / messages as f64,
                ),
                format!("payload: {size} B per message"),
                "~0 (< 1% of the payload: not copied)",
                Some(bytes_per_message < size as f64 / 100.0),
            ));
        }
    }
}
