//! Rows of the observability section (issue 12): what logging and metrics
//! cost the send path.
//!
//! - A `tracing` subscriber that filters the `sinks` target out, installed
//!   while the sends run, against none: side by side in this run.
//! - The `metrics` cargo feature: a build decides it, so one binary cannot
//!   hold both. The row says which this binary is; `benches/observe.sh`
//!   builds both and runs them alternately, so the two `send` figures come
//!   from one run of the script.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;

use crate::calls::{self, Budget, Call};
use crate::current_thread;
use crate::harness::{Goal, Row, Settings, measure_side_by_side};
use crate::payloads::PayloadKind;

/// `send` with room (current_thread, writer waits) with and without a
/// subscriber that filters `sinks` out, and which `metrics` build this is.
pub(crate) fn observe_rows(settings: &Settings, push: &mut impl FnMut(Row)) {
    eprintln!("observability:");
    let runtime = current_thread();
    let send_ns = || {
        calls::measure_call(
            settings,
            &runtime,
            PayloadKind::Static,
            Call::Send,
            Budget::Unconstrained,
        )
        .0
        .median
    };
    let mut plain = send_ns;
    let mut filtered = || {
        // Everything at TRACE except the library's own target: the events
        // the send path could emit are all disabled by the filter.
        let subscriber = tracing_subscriber::registry().with(
            Targets::new()
                .with_default(LevelFilter::TRACE)
                .with_target("sinks", LevelFilter::OFF),
        );
        let _installed = tracing::subscriber::set_default(subscriber);
        send_ns()
    };
    let measured = measure_side_by_side(settings, &mut [&mut filtered, &mut plain]);
    let metrics = if cfg!(feature = "metrics") {
        "on"
    } else {
        "off"
    };
    push(Row::ratio(
        format!(
            "`send` with a subscriber filtering `sinks` out vs none (metrics feature {metrics}): ns per call"
        ),
        (measured[0].median, format!("{:.1} ns", measured[0].median)),
        (
            measured[1].median,
            format!("no subscriber: {:.1} ns", measured[1].median),
        ),
        Goal::AtMost(1.1),
    ));
    push(Row::absolute(
        format!("`send` with room, current_thread, metrics feature {metrics}: ns per call"),
        format!("{:.1} ns", measured[1].median),
        "-",
        "compare the two builds (benches/observe.sh)",
        None,
    ));
}
