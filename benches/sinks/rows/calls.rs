//! Rows of the per-call section: `try_send` and `send` with room.

use tokio::runtime::Runtime;

use crate::calls;
use crate::calls::{Budget, Call};
use crate::current_thread;
use crate::harness::{Row, Settings};

/// `try_send` and `send` on three runtime settings, for each payload kind.
pub(crate) fn call_rows(settings: &Settings, runtime: &Runtime, push: &mut impl FnMut(Row)) {
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
