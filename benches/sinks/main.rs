//! The benchmark of issues 5 and 11: throughput, large payloads, fanout,
//! many producers, latency, per-call cost and allocations of the `sinks`
//! runtime, each against its baseline, measured side by side in one run.
//!
//! `cargo bench --bench sinks` prints the table of BENCHMARKS.md on stdout
//! (progress on stderr); `SINKS_BENCH_QUICK=1` runs a short smoke version,
//! `SINKS_BENCH_ONLY=latency,calls` (any of throughput, large, fanout,
//! producers, calls, latency, macro) only some sections, for profiling one of
//! them, and `SINKS_BENCH_PAYLOADS=vec,slices` (any of static, vec, slices)
//! only some payload kinds (`payloads.rs`). Every figure but latency and the
//! macro is the median of 7 runs after one warm-up run, and a ratio of two
//! figures measured side by side is the median of the 7 per-round ratios.
//!
//! How issue 11's payload kinds are measured (`payloads.rs`):
//! - Both sides of a figure take their payloads from the same `Source`:
//!   the sink gets `Message::new(bytes)`, the raw baseline copies the bytes
//!   into its `BufWriter` (a payload of 64 KiB or more goes past the buffer)
//!   and drops them, so both pay for making and freeing the payload.
//! - A `Vec` per message: `to_vec` of the payload (length = capacity, so
//!   `Bytes::from` takes it without allocating). Its allocation is made
//!   inside `alloc::by_user`, which counts it apart; the allocation rows
//!   show the sink's (total minus the user's) and the user's beside it. The
//!   per-call rows instead make the batch's messages before the timed batch,
//!   untimed and uncounted.
//! - Shared-buffer slices: 16,384 distinct payloads (at most 64 MiB of
//!   them) in buffers of 64, sliced in turn; the buffers are made, and their
//!   shared reference counts allocated, before the clock starts.
//! - Large payloads (64 KiB, 1 MiB) run with `buffer_size` set to 64 MiB
//!   worth of messages (1,024 and 64), so that queued `Vec`s cannot take
//!   10 GiB; the table's row names say so. Their warm-up is 64 MiB worth.
//! - The seed design's per-message figure stays issue 5's: static only.
//! - Latency percentiles pool the samples of 5 alternating rounds (a
//!   round's p99 is its 10th worst sample, too few for a median of rounds).

mod alloc;
mod calls;
mod fanout;
mod harness;
mod latency;
mod macros;
mod payloads;
mod peers;
mod producers;
mod throughput;

use tokio::runtime::{Builder, Runtime};

use crate::calls::{Budget, Call};
use crate::harness::{
    Goal, Row, Settings, announce, count, measure, measure_each, measure_side_by_side, rate,
};
use crate::latency::{Percentiles, Sender};
use crate::payloads::{
    PAYLOAD_1_MIB, PAYLOAD_64, PAYLOAD_64_KIB, PAYLOAD_512, Payload, PayloadKind,
};
use crate::peers::Transport;
use crate::throughput::{Baseline, SendCost};

#[global_allocator]
static ALLOCATOR: alloc::CountingAlloc = alloc::CountingAlloc;

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let settings = Settings::from_env();
    eprintln!(
        "sinks bench: {} runs per figure after a warm-up{}; payloads: {}",
        settings.runs,
        if settings.quick { " (quick)" } else { "" },
        settings
            .payloads
            .iter()
            .map(|kind| kind.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let runtime = multi_thread();
    let mut rows = Vec::new();
    {
        let mut push = |row: Row| {
            announce(&row);
            rows.push(row);
        };
        if settings.runs_section("throughput") {
            throughput_rows(&settings, &runtime, &mut push);
        }
        if settings.runs_section("large") {
            large_rows(&settings, &runtime, &mut push);
        }
        if settings.runs_section("fanout") {
            fanout_rows(&settings, &runtime, &mut push);
        }
        if settings.runs_section("producers") {
            producer_rows(&settings, &runtime, &mut push);
        }
        if settings.runs_section("calls") {
            call_rows(&settings, &runtime, &mut push);
        }
        if settings.runs_section("latency") {
            latency_rows(&settings, &runtime, &mut push);
        }
        if settings.runs_section("macro") {
            macros::rows(&mut push);
        }
    }
    drop(runtime);
    peers::clean_up();
    print!("{}", harness::table(&rows));
}

/// The runtime every figure runs on unless it says otherwise: two workers.
fn multi_thread() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build the tokio runtime")
}

fn current_thread() -> Runtime {
    Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build the tokio runtime")
}

/// Runs `future` as a task on `runtime` and waits for it: the sender is a
/// task on a worker, as in a service, not the thread blocked in `block_on`
/// (whose wakeups of the writer would always cross threads).
pub(crate) fn run_task<F>(runtime: &Runtime, future: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    runtime
        .block_on(runtime.spawn(future))
        .expect("the benchmark task panicked")
}

/// Pins the calling thread to one CPU.
pub(crate) fn pin_current_thread(cpu: usize) {
    // SAFETY: `set` is a plain bit set, initialised by CPU_ZERO before use,
    // and sched_setaffinity only reads it.
    let result = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    assert_eq!(result, 0, "pin the thread to CPU {cpu}");
}

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

fn throughput_rows(settings: &Settings, runtime: &Runtime, push: &mut impl FnMut(Row)) {
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
        let (rate, cost) = throughput::sink_run(runtime, transport, kind, payload, messages, None);
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
fn large_rows(settings: &Settings, runtime: &Runtime, push: &mut impl FnMut(Row)) {
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

fn fanout_rows(settings: &Settings, runtime: &Runtime, push: &mut impl FnMut(Row)) {
    let messages = settings.count(600_000);
    const TARGETS: [usize; 4] = [1, 2, 4, 8];
    for &kind in &settings.payloads {
        eprintln!("fanout, {}:", kind.label());
        let mut allocated = Vec::new();
        let measured = measure_each(settings, &TARGETS, |targets| {
            let (rate, allocations) = fanout::run(runtime, targets, kind, PAYLOAD_64, messages);
            allocated.push((targets, allocations));
            rate
        });
        let single = &measured[0];
        for (targets, per_target) in TARGETS.into_iter().zip(&measured) {
            let total = per_target.scaled(targets as f64);
            push(Row::paired(
                format!(
                    "fanout to {targets} relay(s), 64 B, {}: delivered, all targets together",
                    kind.label()
                ),
                (
                    &total,
                    format!(
                        "{} msg/s per target, {} msg/s total (spread {:.0}%)",
                        count(per_target.median),
                        count(total.median),
                        per_target.spread_percent()
                    ),
                ),
                (single, format!("1 target: {} msg/s", count(single.median))),
                if targets == 4 {
                    Goal::AtLeast(0.9)
                } else {
                    Goal::None
                },
            ));
        }
        let worst = allocated
            .iter()
            .filter(|(targets, _)| *targets == 4)
            .map(|(_, allocations)| *allocations)
            .max_by_key(|allocations| allocations.sink_allocations())
            .expect("fanout to 4 ran");
        push(Row::absolute(
            format!(
                "fanout to 4 relays, 64 B, {}: sink heap allocations per message (worst run; the user's own apart)",
                kind.label()
            ),
            format!(
                "{:.5} ({} allocations, {} B, in {messages} messages; the user's own: {} allocations, {} B)",
                worst.sink_allocations() as f64 / messages as f64,
                worst.sink_allocations(),
                worst.sink_bytes(),
                worst.user_allocations,
                worst.user_bytes,
            ),
            "-",
            "0",
            Some(worst.sink_allocations() == 0),
        ));
    }
    copy_rows(settings, runtime, push);
}

/// Payload copies per target: 512 B slices of a shared heap buffer through
/// a fanout to 8 relays; a heap copy per target would allocate 8 × 512 B
/// per message. (Each relay copies a payload this small into its frame
/// buffer when it accepts it, which allocates nothing once the buffer has
/// grown.)
fn copy_rows(settings: &Settings, runtime: &Runtime, push: &mut impl FnMut(Row)) {
    let messages = settings.count(100_000);
    let mut bytes_per_message: f64 = 0.0;
    let mut allocations_per_message: f64 = 0.0;
    measure(settings, || {
        let (rate, allocated) = fanout::run(runtime, 8, PayloadKind::Slices, PAYLOAD_512, messages);
        bytes_per_message = bytes_per_message.max(allocated.sink_bytes() as f64 / messages as f64);
        allocations_per_message =
            allocations_per_message.max(allocated.sink_allocations() as f64 / messages as f64);
        rate
    });
    let copy = 8.0 * 512.0;
    push(Row::absolute(
        "fanout to 8 relays, 512 B shared-buffer slices: bytes allocated per message (worst run)",
        format!("{bytes_per_message:.1} B in {allocations_per_message:.4} allocations"),
        format!("a copy per target: {copy:.0} B"),
        "< 512 B (less than one copy)",
        Some(bytes_per_message < 512.0),
    ));
    let shared = fanout::payload_shared(8);
    push(Row::absolute(
        "fanout to 8 targets: every target gets the sender's buffer (same address)",
        if shared { "8 of 8" } else { "not all" }.to_owned(),
        "-",
        "8 of 8",
        Some(shared),
    ));
}

fn producer_rows(settings: &Settings, runtime: &Runtime, push: &mut impl FnMut(Row)) {
    let messages = settings.count(2_000_000);
    const PRODUCERS: [u64; 3] = [1, 4, 16];
    for &kind in &settings.payloads {
        eprintln!("many producers, {}:", kind.label());
        let measured = measure_each(settings, &PRODUCERS, |producers| {
            producers::run(runtime, producers, kind, PAYLOAD_64, messages)
        });
        let single = &measured[0];
        for (producers, total) in PRODUCERS.into_iter().zip(&measured) {
            push(Row::paired(
                format!(
                    "{producers} producer task(s), one relay sink, 64 B, {}: total rate",
                    kind.label()
                ),
                (total, rate(total, PAYLOAD_64.len())),
                (
                    single,
                    format!("1 producer: {} msg/s", count(single.median)),
                ),
                if producers > 1 {
                    Goal::AtLeast(0.9)
                } else {
                    Goal::None
                },
            ));
        }
    }
}

fn call_rows(settings: &Settings, runtime: &Runtime, push: &mut impl FnMut(Row)) {
    let single_cpu = current_thread();
    // On current_thread the writer can only run when the sender yields: once
    // outside tokio's budget (the call alone, the writer waits: issue 11's
    // targets), once inside it (every 128th send yields and the writer's
    // syscalls count too). On 2 workers, issue 5's target.
    for &kind in &settings.payloads {
        eprintln!("per call, {}:", kind.label());
        for (runtime, runtime_name, budget, limits) in [
            (
                runtime,
                "2 workers, writer draining alongside",
                Budget::Tokio,
                Some((50.0, 50.0)),
            ),
            (
                &single_cpu,
                "current_thread, writer waits",
                Budget::Unconstrained,
                Some((15.0, 30.0)),
            ),
            (
                &single_cpu,
                "current_thread, writer runs at each yield",
                Budget::Tokio,
                None,
            ),
        ] {
            for (call, call_name) in [(Call::TrySend, "try_send"), (Call::Send, "send")] {
                if call == Call::TrySend && limits.is_none() {
                    // try_send is not a future: the budget changes nothing.
                    continue;
                }
                let limit = limits.map(|(try_send, send)| match call {
                    Call::TrySend => try_send,
                    Call::Send => send,
                });
                let (nanos, allocations, calls) =
                    calls::measure_call(settings, runtime, kind, call, budget);
                push(Row::absolute(
                    format!(
                        "`{call_name}` on a connected relay with room ({runtime_name}), {}: ns per call",
                        kind.label()
                    ),
                    format!(
                        "{:.1} ns (spread {:.0}%)",
                        nanos.median,
                        nanos.spread_percent()
                    ),
                    "-",
                    limit.map_or("-".to_owned(), |limit| format!("< {limit} ns")),
                    limit.map(|limit| nanos.median < limit),
                ));
                push(Row::absolute(
                    format!(
                        "`{call_name}` ({runtime_name}), {}: sink heap allocations per call",
                        kind.label()
                    ),
                    format!(
                        "{:.6} ({allocations} allocations in {calls} calls)",
                        allocations as f64 / calls as f64
                    ),
                    "-",
                    if limits.is_some() { "0" } else { "-" },
                    limits.map(|_| allocations == 0),
                ));
            }
        }
    }
}

fn latency_rows(settings: &Settings, runtime: &Runtime, push: &mut impl FnMut(Row)) {
    let samples = if settings.quick { 500 } else { 5_000 };
    // Alternating rounds, samples pooled per sender: the machine's load
    // drifts over seconds, and one long run each would compare two moments.
    // Percentiles come from the pooled samples (a p99 of one round's 1,000
    // is its 10th worst, too few to take a median of).
    const ROUNDS: usize = 5;
    let pair = |runtime: &Runtime, kind: PayloadKind, pin: Option<usize>| {
        let (mut ours, mut raw) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            ours.extend(latency::run(
                runtime,
                Sender::Sink,
                kind,
                samples / ROUNDS,
                pin,
            ));
            raw.extend(latency::run(
                runtime,
                Sender::RawWriteAll,
                kind,
                samples / ROUNDS,
                pin,
            ));
        }
        (Percentiles::of(ours), Percentiles::of(raw))
    };
    for &kind in &settings.payloads {
        eprintln!("latency, {}:", kind.label());
        let unpinned = pair(runtime, kind, None);
        // Sender, writer and receiver all on CPU 0: no cross-CPU wakeup, so
        // the difference is the sink's own cost.
        let pinned = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    pin_current_thread(0);
                    pair(&current_thread(), kind, Some(0))
                })
                .join()
                .expect("the pinned latency run panicked")
        });
        for (variant, (ours, raw)) in [
            ("multi_thread, 2 workers", unpinned),
            ("current_thread, both ends pinned to CPU 0", pinned),
        ] {
            let case = format!("latency, 64 B, {}, 1 msg/ms, {variant}", kind.label());
            push(Row::absolute(
                format!("{case}: p50 send → received"),
                format!(
                    "p50 {:.1} us ({:+.1} us against raw)",
                    ours.p50,
                    ours.p50 - raw.p50
                ),
                format!("raw write_all: p50 {:.1} us", raw.p50),
                "<= raw + 1 us",
                Some(ours.p50 <= raw.p50 + 1.0),
            ));
            push(Row::ratio(
                format!("{case}: p99 send → received"),
                (ours.p99, ours.show()),
                (raw.p99, format!("raw write_all: {}", raw.show())),
                Goal::AtMost(1.1),
            ));
        }
    }
}
