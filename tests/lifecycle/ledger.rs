//! The invariants of issue 9, checked from the peer's side.
//!
//! Producers tag each payload with `(producer, seq)` ([`tagged`]) and note
//! here which sends returned `Ok` and which `Err`. After the run, [`Ledger::check`]
//! takes what every connection carried, in accept order, and the sink's
//! final counters, and reports every violation at once:
//!
//! - **one writer at a time**: in each producer's sequence, the frames of
//!   connection k all precede those of connection k+1 (two live writers
//!   split a producer's frames across two connections out of order);
//! - **order**: within a connection each producer's frames are increasing,
//!   and nothing arrives twice;
//! - **nothing arrives whose send returned `Err`**, and nothing arrives
//!   that was never sent;
//! - **accounting**: `sent + failed` equals the `Ok` sends exactly, every
//!   `Ok` send arrived or is counted failed, except the documented socket
//!   window: bytes in kernel buffers when a peer dies are lost uncounted.
//!   That window is bounded twice: in bytes per peer death, and in place
//!   (a message missing from the middle of a connection is a loss, not the window);
//! - **errors name the real cause**: the tokio runtime runs throughout, so
//!   no error text may say it shut down; a sink nothing closed may not say
//!   it is closed; and no call may time out (a stuck state).

use std::collections::{BTreeMap, BTreeSet};

use crate::support::{ConnectionLog, tag_of};

/// What one producer's sends returned.
#[derive(Debug, Default)]
pub struct ProducerLog {
    /// Sequence numbers whose send returned `Ok` (accepted).
    pub ok: Vec<u64>,
    /// Sequence numbers whose send returned `Err` (not accepted).
    pub err: Vec<u64>,
    /// Each distinct error text and how often it was returned.
    pub errors: BTreeMap<String, u64>,
}

impl ProducerLog {
    /// Notes the outcome of the send of `seq`.
    pub fn note(&mut self, seq: u64, result: &Result<(), sinks::SinkError>) {
        match result {
            Ok(()) => self.ok.push(seq),
            Err(error) => {
                self.err.push(seq);
                *self.errors.entry(error.to_string()).or_default() += 1;
            }
        }
    }
}

/// How many accepted messages may be lost uncounted.
#[derive(Debug, Clone, Copy)]
pub enum Window {
    /// None: every connection was closed by the sink, or its peer read to
    /// the end, so `sent` messages all arrived.
    Closed,
    /// The peer died this many times with `frame_bytes`-sized frames in flight.
    PeerDeaths { deaths: u32, frame_bytes: usize },
}

impl Window {
    /// The most messages this window can hold: per death, the sender's socket
    /// buffer (Unix sockets account the receiver's queue to it too) counted
    /// twice for slack, plus the 64 KiB a peer's reader holds undecoded.
    fn messages(self) -> u64 {
        match self {
            Window::Closed => 0,
            Window::PeerDeaths {
                deaths,
                frame_bytes,
            } => {
                let per_death = 2 * socket_send_buffer() + 64 * 1024;
                u64::from(deaths) * (per_death / frame_bytes.max(1) + 1) as u64
            }
        }
    }
}

/// `net.core.wmem_default`, a Unix socket's send buffer.
fn socket_send_buffer() -> usize {
    std::fs::read_to_string("/proc/sys/net/core/wmem_default")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(212_992)
}

/// Everything a run produced, to check once it is over.
#[derive(Debug)]
pub struct Ledger<'a> {
    /// Each producer's log; the index is the producer id in the tags.
    pub producers: &'a [ProducerLog],
    /// Every connection the sink made, in the order they were accepted
    /// (peer incarnations one after the other).
    pub connections: &'a [ConnectionLog],
    /// `metadata().messages_sent` once everything settled.
    pub sent: u64,
    /// `metadata().messages_failed` once everything settled.
    pub failed: u64,
    /// What may be lost uncounted.
    pub window: Window,
    /// Other error texts the run saw (flush, disconnect, `last_error`).
    pub other_errors: Vec<String>,
    /// Whether anything disconnected or dropped the sink while producers
    /// sent; if not, no error may say the sink is closed.
    pub closed_while_sending: bool,
}

impl Ledger<'_> {
    /// Panics with every violated invariant.
    pub fn check(&self) {
        let mut problems = Vec::new();
        let arrived = self.arrivals(&mut problems);
        self.check_outcomes(&arrived, &mut problems);
        self.check_accounting(&arrived, &mut problems);
        self.check_error_texts(&mut problems);
        if !problems.is_empty() {
            problems.truncate(40);
            panic!(
                "{} invariant violation(s) (first 40):\n  {}",
                problems.len(),
                problems.join("\n  ")
            );
        }
    }

    /// Per producer, `(seq, connection)` in arrival order, checking order,
    /// duplicates and one connection at a time on the way.
    fn arrivals(&self, problems: &mut Vec<String>) -> Vec<Vec<(u64, usize)>> {
        let mut arrived: Vec<Vec<(u64, usize)>> = vec![Vec::new(); self.producers.len()];
        for (connection, log) in self.connections.iter().enumerate() {
            for frame in &log.frames {
                let (producer, seq) = tag_of(frame);
                let Some(sequence) = arrived.get_mut(producer as usize) else {
                    problems.push(format!("a frame from unknown producer {producer}"));
                    continue;
                };
                let previous = sequence.last().copied();
                if let Some((last, last_connection)) = previous.filter(|&(last, _)| seq <= last) {
                    problems.push(if last_connection == connection {
                        format!(
                            "producer {producer}: seq {seq} arrived after seq {last} on connection {connection} (out of order or twice)"
                        )
                    } else {
                        format!(
                            "producer {producer}: seq {seq} on connection {connection} comes after seq {last} on connection {last_connection}: two connections carried data at once"
                        )
                    });
                }
                sequence.push((seq, connection));
            }
        }
        arrived
    }

    /// Nothing arrives whose send failed or that was never sent.
    fn check_outcomes(&self, arrived: &[Vec<(u64, usize)>], problems: &mut Vec<String>) {
        for (producer, (log, arrivals)) in self.producers.iter().zip(arrived).enumerate() {
            let ok: BTreeSet<u64> = log.ok.iter().copied().collect();
            let err: BTreeSet<u64> = log.err.iter().copied().collect();
            for &(seq, connection) in arrivals {
                if err.contains(&seq) {
                    problems.push(format!(
                        "producer {producer}: seq {seq} arrived on connection {connection}, but its send returned Err"
                    ));
                } else if !ok.contains(&seq) {
                    problems.push(format!(
                        "producer {producer}: seq {seq} arrived on connection {connection}, but was never sent"
                    ));
                }
            }
        }
    }

    fn check_accounting(&self, arrived: &[Vec<(u64, usize)>], problems: &mut Vec<String>) {
        let accepted: u64 = self.producers.iter().map(|log| log.ok.len() as u64).sum();
        let received: u64 = arrived.iter().map(|arrivals| arrivals.len() as u64).sum();
        if self.sent + self.failed != accepted {
            problems.push(format!(
                "{accepted} sends returned Ok, but the sink counts {} sent + {} failed = {}",
                self.sent,
                self.failed,
                self.sent + self.failed
            ));
        }
        if received > self.sent {
            problems.push(format!(
                "{received} messages arrived, more than the {} counted as sent (some counted failed arrived)",
                self.sent
            ));
        }
        let uncounted = self.sent.saturating_sub(received);
        if uncounted > self.window.messages() {
            problems.push(format!(
                "{uncounted} messages counted as sent never arrived, more than the socket window allows ({} for {:?})",
                self.window.messages(),
                self.window
            ));
        }
        // A message lost between two that arrived on the same connection is
        // not the window (the tail of a dead connection) nor a failure
        // (what a writer had not written when it ended): it was dropped.
        for (producer, (log, arrivals)) in self.producers.iter().zip(arrived).enumerate() {
            let mut ranges: BTreeMap<usize, (u64, u64)> = BTreeMap::new();
            for &(seq, connection) in arrivals {
                let range = ranges.entry(connection).or_insert((seq, seq));
                range.0 = range.0.min(seq);
                range.1 = range.1.max(seq);
            }
            let received: BTreeSet<u64> = arrivals.iter().map(|&(seq, _)| seq).collect();
            for &seq in log.ok.iter().filter(|seq| !received.contains(seq)) {
                if let Some((connection, _)) = ranges
                    .iter()
                    .find(|(_, (first, last))| *first < seq && seq < *last)
                {
                    problems.push(format!(
                        "producer {producer}: seq {seq} (send Ok) is missing from the middle of connection {connection}"
                    ));
                }
            }
        }
    }

    fn check_error_texts(&self, problems: &mut Vec<String>) {
        let texts: BTreeSet<&String> = self
            .producers
            .iter()
            .flat_map(|log| log.errors.keys())
            .chain(&self.other_errors)
            .collect();
        for text in texts {
            if text.to_lowercase().contains("runtime") {
                problems.push(format!(
                    "an error blames the runtime, which ran throughout: {text}"
                ));
            }
            if !self.closed_while_sending && text.ends_with("is closed") {
                problems.push(format!(
                    "an error says the sink is closed, but nothing closed it: {text}"
                ));
            }
            if text.contains("timed out after") && !text.contains("connect attempt") {
                problems.push(format!("a call timed out (a stuck state?): {text}"));
            }
        }
    }
}

/// Every connection of every peer incarnation, in order.
pub fn in_order(incarnations: Vec<Vec<ConnectionLog>>) -> Vec<ConnectionLog> {
    incarnations.into_iter().flatten().collect()
}
