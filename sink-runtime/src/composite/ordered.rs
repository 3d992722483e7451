//! Round robin and failover: one target per message, the first in an order
//! that accepts it.

use std::sync::atomic::Ordering;

use super::CompositeSink;
use crate::config::CompositePattern;
use crate::observe::TARGET;
use crate::{Message, SinkError, SinkFuture};

impl CompositeSink {
    /// Where this message's round starts: round robin one further each
    /// time, failover always at the first target.
    fn start(&self) -> usize {
        match self.pattern {
            CompositePattern::RoundRobin => {
                self.cursor.fetch_add(1, Ordering::Relaxed) % self.targets.len().max(1)
            }
            _ => 0,
        }
    }

    /// The targets from `start` on, the usable ones first: failing targets
    /// are tried only when all others failed.
    fn order(&self, start: usize) -> Order<'_> {
        Order {
            composite: self,
            start,
            offset: 0,
            second_pass: false,
            skipped: 0,
        }
    }

    pub(super) fn ordered_send(&self, message: Message) -> SinkFuture<'_, Result<(), SinkError>> {
        let bytes = message.payload.len();
        let mut order = self.order(self.start());
        // Only a failed attempt allocates: the list of failures.
        let mut failed: Vec<(String, SinkError)> = Vec::new();
        while let Some(index) = order.next() {
            let target = &self.targets[index];
            let future = target.sink.send(message.clone());
            // The target's request to yield (see `MessageSink::send`) is kept.
            let yields = future.yields_first();
            match future.into_ready() {
                Ok(Ok(())) => {
                    self.routed_to(index);
                    return SinkFuture::ready_yielding(self.record(bytes, Ok(())), yields);
                }
                Ok(Err(error)) => failed.push((target.name.clone(), error)),
                Err(future) => {
                    // This target must wait (connecting, or full): finish the
                    // round asynchronously from here.
                    return SinkFuture::waiting(async move {
                        let mut result = future.await;
                        let mut current = index;
                        loop {
                            match result {
                                Ok(()) => {
                                    self.routed_to(current);
                                    return self.record(bytes, Ok(()));
                                }
                                Err(error) => {
                                    failed.push((self.targets[current].name.clone(), error))
                                }
                            }
                            let Some(next) = order.next() else { break };
                            current = next;
                            result = self.targets[next].sink.send(message.clone()).await;
                        }
                        self.record(bytes, self.all_failed(failed))
                    });
                }
            }
        }
        SinkFuture::ready(self.record(bytes, self.all_failed(failed)))
    }

    /// Failover: notes the target a message went to, and tells when that
    /// is another one than the last message's.
    fn routed_to(&self, index: usize) {
        if self.pattern != CompositePattern::Failover {
            return;
        }
        let previous = self.last_routed.swap(index, Ordering::Relaxed);
        if previous != index && previous != usize::MAX {
            tracing::warn!(
                target: TARGET,
                sink = %self.name,
                from = %self.targets[previous].name,
                to = %self.targets[index].name,
                "failover switched target"
            );
        }
    }

    pub(super) fn ordered_try_send(&self, message: Message) -> Result<(), SinkError> {
        let mut failed = Vec::new();
        for index in self.order(self.start()) {
            let target = &self.targets[index];
            match target.sink.try_send(message.clone()) {
                Ok(()) => {
                    self.routed_to(index);
                    return Ok(());
                }
                Err(error) => failed.push((target.name.clone(), error)),
            }
        }
        self.all_failed(failed)
    }

    fn all_failed(&self, failed: Vec<(String, SinkError)>) -> Result<(), SinkError> {
        Err(SinkError::TargetsFailed {
            sink: self.name.clone(),
            total: self.targets.len(),
            failed,
        })
    }
}

/// The order in which one message tries the targets, without allocating:
/// the first pass asks each target's health (which may start a probe) and
/// marks the ones it skips in a bit set; the second pass yields those.
struct Order<'a> {
    composite: &'a CompositeSink,
    start: usize,
    /// The next offset from `start` to look at, in the current pass.
    offset: usize,
    second_pass: bool,
    /// Bit `offset` set: skipped in the first pass (offsets below 128).
    skipped: u128,
}

impl Order<'_> {
    const MARKED: usize = u128::BITS as usize;

    fn index(&self, offset: usize) -> usize {
        (self.start + offset) % self.composite.targets.len()
    }

    fn was_skipped(&self, offset: usize) -> bool {
        if offset < Self::MARKED {
            self.skipped & (1 << offset) != 0
        } else {
            // Past the bit set (a composite of more than 128 targets): ask
            // the health again, which may retry a target that failed in the
            // first pass; harmless, as the message still goes out once.
            let target = &self.composite.targets[self.index(offset)];
            target.health.is_skipped(&target.sink)
        }
    }
}

impl Iterator for Order<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let count = self.composite.targets.len();
        while !self.second_pass {
            if self.offset == count {
                self.second_pass = true;
                self.offset = 0;
                break;
            }
            let offset = self.offset;
            self.offset += 1;
            let index = self.index(offset);
            let target = &self.composite.targets[index];
            let names = (self.composite.name.as_str(), target.name.as_str());
            if target
                .health
                .usable(names, &target.sink, self.composite.probe_interval)
            {
                return Some(index);
            }
            if offset < Self::MARKED {
                self.skipped |= 1 << offset;
            }
        }
        while self.offset < count {
            let offset = self.offset;
            self.offset += 1;
            if self.was_skipped(offset) {
                return Some(self.index(offset));
            }
        }
        None
    }
}
