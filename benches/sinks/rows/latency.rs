//! Rows of the latency section: 64 B at one message per millisecond.

use tokio::runtime::Runtime;

use crate::harness::{Goal, Row, Settings};
use crate::latency;
use crate::latency::{Percentiles, Sender};
use crate::payloads::PayloadKind;
use crate::{current_thread, pin_current_thread};

/// p50 and p99 on both runtime settings, for each payload kind.
pub(crate) fn latency_rows(settings: &Settings, runtime: &Runtime, push: &mut impl FnMut(Row)) {
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
