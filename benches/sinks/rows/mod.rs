//! The table's rows, one module per section of the bench: each measures its
//! figures with the harness and pushes the rows.

mod calls;
mod fanout;
mod latency;
mod observe;
mod producers;
mod throughput;

pub(crate) use calls::call_rows;
pub(crate) use fanout::fanout_rows;
pub(crate) use latency::latency_rows;
pub(crate) use observe::observe_rows;
pub(crate) use producers::producer_rows;
pub(crate) use throughput::{batch_rows, large_rows, throughput_rows};
