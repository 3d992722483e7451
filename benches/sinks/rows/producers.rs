//! Rows of the many-producers section: 1, 4 and 16 tasks into one relay.

use tokio::runtime::Runtime;

use crate::harness::{Goal, Row, Settings, count, measure_each, rate};
use crate::payloads::PAYLOAD_64;
use crate::producers;

/// 1, 4 and 16 producers interleaved, for each payload kind.
pub(crate) fn producer_rows(settings: &Settings, runtime: &Runtime, push: &mut impl FnMut(Row)) {
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
