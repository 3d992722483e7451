//! Rows of the fanout section: deliveries per second to 1, 2, 4 and 8
//! relays, allocations, and the payload-copy checks.

use tokio::runtime::Runtime;

use crate::fanout;
use crate::harness::{Goal, Row, Settings, count, measure, measure_each};
use crate::payloads::{PAYLOAD_64, PAYLOAD_512, PayloadKind};

/// Fanout to 1, 2, 4 and 8 relays interleaved, for each payload kind, then
/// the payload-copy checks.
pub(crate) fn fanout_rows(settings: &Settings, runtime: &Runtime, push: &mut impl FnMut(Row)) {
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
