//! The benchmark of issues 5 and 11: throughput, large payloads, fanout,
//! many producers, latency, per-call cost and allocations of the `sinks`
//! runtime, each against its baseline, measured side by side in one run.
//!
//! `cargo bench --bench sinks` prints the table of BENCHMARKS.md on stdout
//! (progress on stderr); `SINKS_BENCH_QUICK=1` runs a short smoke version,
//! `SINKS_BENCH_ONLY=latency,calls` (any of throughput, batch, large,
//! fanout, producers, calls, latency, observe, macro, and with
//! `--features nats` nats) only some sections, for profiling one of
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
#[cfg(feature = "nats")]
mod nats;
mod payloads;
mod peers;
mod producers;
mod rows;
mod throughput;

use tokio::runtime::{Builder, Runtime};

use crate::harness::{Row, Settings, announce};
use crate::rows::{
    batch_rows, call_rows, fanout_rows, large_rows, latency_rows, observe_rows, producer_rows,
    throughput_rows,
};

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
        if settings.runs_section("batch") {
            batch_rows(&settings, &runtime, &mut push);
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
        if settings.runs_section("observe") {
            observe_rows(&settings, &mut push);
        }
        #[cfg(feature = "nats")]
        if settings.runs_section("nats") {
            nats::nats_rows(&settings, &runtime, &mut push);
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

pub(crate) fn current_thread() -> Runtime {
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
