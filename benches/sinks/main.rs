//! The benchmark of issue 5: throughput, fanout, many producers, latency,
//! per-call cost and allocations of the `sinks` runtime, each against its
//! baseline, measured side by side in one run.
//!
//! `cargo bench --bench sinks` prints the table of BENCHMARKS.md on stdout
//! (progress on stderr); `SINKS_BENCH_QUICK=1` runs a short smoke version,
//! `SINKS_BENCH_ONLY=latency,calls` (any of throughput, fanout, producers,
//! calls, latency, macro) only some sections, for profiling one of them.
//! Every figure but latency and the macro is the median of 7 runs after one
//! warm-up run; payloads are `Bytes::from_static`, so making a message
//! allocates nothing and the allocation counts are the sink's own.

mod alloc;
mod calls;
mod fanout;
mod harness;
mod latency;
mod macros;
mod peers;
mod producers;
mod throughput;

use tokio::runtime::{Builder, Runtime};

use crate::calls::{Budget, Call};
use crate::harness::{
    Goal, Row, Settings, announce, count, measure, measure_each, measure_side_by_side, rate,
};
use crate::latency::{Percentiles, Sender};
use crate::peers::Transport;
use crate::throughput::{Baseline, PAYLOAD_64, PAYLOAD_512};

#[global_allocator]
static ALLOCATOR: alloc::CountingAlloc = alloc::CountingAlloc;

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let settings = Settings::from_env();
    eprintln!(
        "sinks bench: {} runs per figure after a warm-up{}",
        settings.runs,
        if settings.quick { " (quick)" } else { "" }
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

fn throughput_rows(settings: &Settings, runtime: &Runtime, push: &mut impl FnMut(Row)) {
    eprintln!("throughput, one producer:");
    for transport in [Transport::Unix, Transport::Tcp, Transport::WebSocket] {
        for (payload, messages, raw_target) in [
            (
                PAYLOAD_64,
                2_000_000,
                if transport == Transport::WebSocket {
                    0.5
                } else {
                    0.3
                },
            ),
            (
                PAYLOAD_512,
                600_000,
                if transport == Transport::WebSocket {
                    0.5
                } else {
                    0.6
                },
            ),
        ] {
            let messages = settings.count(match transport {
                Transport::WebSocket => messages / 4,
                _ => messages,
            });
            let size = payload.len();
            let mut costs = Vec::new();
            let per_message_count = settings.count(50_000);
            let mut ours_run = || {
                let (rate, cost) = throughput::sink_run(runtime, transport, payload, messages);
                costs.push(cost);
                rate
            };
            let mut raw_run =
                || throughput::baseline_run(runtime, transport, Baseline::Raw, payload, messages);
            let mut seed_run = || {
                throughput::baseline_run(
                    runtime,
                    transport,
                    Baseline::PerMessage,
                    payload,
                    per_message_count,
                )
            };
            // WebSocket has no per-message baseline: the raw one already flushes once.
            let measured = if transport == Transport::WebSocket {
                measure_side_by_side(settings, &mut [&mut ours_run, &mut raw_run])
            } else {
                measure_side_by_side(settings, &mut [&mut ours_run, &mut raw_run, &mut seed_run])
            };
            let (ours, raw) = (measured[0], measured[1]);
            let raw_name = match transport {
                Transport::WebSocket => "tokio-tungstenite feed + flush",
                _ => "raw: 64 KiB BufWriter",
            };
            push(Row::ratio(
                format!(
                    "{}, {size} B: throughput vs the raw limit",
                    transport.label()
                ),
                (ours.median, rate(&ours, size)),
                (raw.median, format!("{}: {}", raw_name, rate(&raw, size))),
                Goal::AtLeast(raw_target),
            ));
            if let Some(&seed) = measured.get(2) {
                push(Row::ratio(
                    format!(
                        "{}, {size} B: throughput vs per-message write+flush",
                        transport.label()
                    ),
                    (ours.median, rate(&ours, size)),
                    (seed.median, format!("seed design: {}", rate(&seed, size))),
                    if size == 64 {
                        Goal::AtLeast(30.0)
                    } else {
                        Goal::None
                    },
                ));
            }
            if transport == Transport::Unix && size == 64 {
                let worst = costs
                    .iter()
                    .max_by_key(|cost| cost.allocated.allocations)
                    .expect("at least one run");
                let per_message = worst.allocated.allocations as f64 / messages as f64;
                push(Row::absolute(
                    "relay, 64 B: heap allocations per message, send loop + flush (worst run)",
                    format!(
                        "{per_message:.5} ({} allocations, {} B, in {} messages, of which {} sends waited for room)",
                        worst.allocated.allocations, worst.allocated.bytes, messages, worst.waits
                    ),
                    "-",
                    "0",
                    Some(worst.allocated.allocations == 0),
                ));
            }
        }
    }
}

fn fanout_rows(settings: &Settings, runtime: &Runtime, push: &mut impl FnMut(Row)) {
    eprintln!("fanout:");
    let messages = settings.count(600_000);
    let payload = fanout::heap_payload(PAYLOAD_64);
    const TARGETS: [usize; 4] = [1, 2, 4, 8];
    let measured = measure_each(settings, &TARGETS, |targets| {
        fanout::run(runtime, targets, &payload, PAYLOAD_64.last, messages).0
    });
    let single_rate = measured[0].median;
    for (targets, per_target) in TARGETS.into_iter().zip(measured) {
        let total = per_target.median * targets as f64;
        push(Row::ratio(
            format!("fanout to {targets} relay(s), 64 B: delivered, all targets together"),
            (
                total,
                format!(
                    "{} msg/s per target, {} msg/s total (spread {:.0}%)",
                    count(per_target.median),
                    count(total),
                    per_target.spread_percent()
                ),
            ),
            (
                single_rate,
                format!("1 target: {} msg/s", count(single_rate)),
            ),
            if targets == 4 {
                Goal::AtLeast(0.8)
            } else {
                Goal::None
            },
        ));
    }
    copy_rows(settings, runtime, push);
}

/// Payload copies per target: a heap payload of 512 B through a fanout to 8
/// relays; one copy per target would allocate 8 × 512 B per message.
fn copy_rows(settings: &Settings, runtime: &Runtime, push: &mut impl FnMut(Row)) {
    let messages = settings.count(100_000);
    let payload = fanout::heap_payload(PAYLOAD_512);
    let mut bytes_per_message: f64 = 0.0;
    let mut allocations_per_message: f64 = 0.0;
    measure(settings, || {
        let (rate, allocated) = fanout::run(runtime, 8, &payload, PAYLOAD_512.last, messages);
        bytes_per_message = bytes_per_message.max(allocated.bytes as f64 / messages as f64);
        allocations_per_message =
            allocations_per_message.max(allocated.allocations as f64 / messages as f64);
        rate
    });
    let copy = 8.0 * 512.0;
    push(Row::absolute(
        "fanout to 8 relays, 512 B heap payload: bytes allocated per message (worst run)",
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
    eprintln!("many producers:");
    let messages = settings.count(2_000_000);
    const PRODUCERS: [u64; 3] = [1, 4, 16];
    let measured = measure_each(settings, &PRODUCERS, |producers| {
        producers::run(runtime, producers, PAYLOAD_64, messages)
    });
    let single_rate = measured[0].median;
    for (producers, total) in PRODUCERS.into_iter().zip(measured) {
        push(Row::ratio(
            format!("{producers} producer task(s), one relay sink, 64 B: total rate"),
            (total.median, rate(&total, PAYLOAD_64.len())),
            (
                single_rate,
                format!("1 producer: {} msg/s", count(single_rate)),
            ),
            if producers > 1 {
                Goal::AtLeast(0.7)
            } else {
                Goal::None
            },
        ));
    }
}

fn call_rows(settings: &Settings, runtime: &Runtime, push: &mut impl FnMut(Row)) {
    eprintln!("per call:");
    let single_cpu = current_thread();
    // On current_thread the writer can only run when the sender yields: once
    // outside tokio's budget (the call alone, the writer waits), once inside
    // it (every 128th send yields and the writer's syscalls count too).
    for (runtime, runtime_name, budget, goal) in [
        (
            runtime,
            "2 workers, writer draining alongside",
            Budget::Tokio,
            true,
        ),
        (
            &single_cpu,
            "current_thread, writer waits",
            Budget::Unconstrained,
            true,
        ),
        (
            &single_cpu,
            "current_thread, writer runs at each yield",
            Budget::Tokio,
            false,
        ),
    ] {
        for (call, call_name) in [(Call::TrySend, "try_send"), (Call::Send, "send")] {
            if call == Call::TrySend && !goal {
                // try_send is not a future: the budget changes nothing.
                continue;
            }
            let (nanos, allocations, calls) = calls::measure_call(settings, runtime, call, budget);
            push(Row::absolute(
                format!(
                    "`{call_name}` on a connected relay with room ({runtime_name}): ns per call"
                ),
                format!(
                    "{:.1} ns (spread {:.0}%)",
                    nanos.median,
                    nanos.spread_percent()
                ),
                "-",
                if goal { "< 50 ns" } else { "-" },
                goal.then_some(nanos.median < 50.0),
            ));
            push(Row::absolute(
                format!("`{call_name}` ({runtime_name}): heap allocations per call"),
                format!(
                    "{:.6} ({allocations} allocations in {calls} calls)",
                    allocations as f64 / calls as f64
                ),
                "-",
                if goal { "0" } else { "-" },
                goal.then_some(allocations == 0),
            ));
        }
    }
}

fn latency_rows(settings: &Settings, runtime: &Runtime, push: &mut impl FnMut(Row)) {
    eprintln!("latency:");
    let samples = if settings.quick { 500 } else { 5_000 };
    // Alternating rounds, samples pooled per sender: the machine's load
    // drifts over seconds, and one long run each would compare two moments.
    const ROUNDS: usize = 5;
    let pair = |runtime: &Runtime, pin: Option<usize>| {
        let (mut ours, mut raw) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            ours.extend(latency::run(runtime, Sender::Sink, samples / ROUNDS, pin));
            raw.extend(latency::run(
                runtime,
                Sender::RawWriteAll,
                samples / ROUNDS,
                pin,
            ));
        }
        (Percentiles::of(ours), Percentiles::of(raw))
    };
    let unpinned = pair(runtime, None);
    // Sender, writer and receiver all on CPU 0: no cross-CPU wakeup, so the
    // difference is the sink's own cost.
    let pinned = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                pin_current_thread(0);
                pair(&current_thread(), Some(0))
            })
            .join()
            .expect("the pinned latency run panicked")
    });
    for (variant, (ours, raw)) in [
        ("2 workers", unpinned),
        ("current_thread, both ends pinned to CPU 0", pinned),
    ] {
        push(Row::ratio(
            format!("latency, 64 B, 1 msg/ms, {variant}: p99 send → received"),
            (ours.p99, ours.show()),
            (raw.p99, format!("raw write_all: {}", raw.show())),
            Goal::AtMost(1.1),
        ));
    }
}
