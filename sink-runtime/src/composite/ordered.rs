//! Round robin and failover: one target per message, the first in an order
//! that accepts it.

use std::sync::atomic::Ordering;

use super::CompositeSink;
use crate::config::CompositePattern;
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
    fn order(&self, start: usize) -> std::vec::IntoIter<usize> {
        let count = self.targets.len();
        let (mut usable, failing): (Vec<usize>, Vec<usize>) = (0..count)
            .map(|offset| (start + offset) % count)
            .partition(|&index| {
                self.targets[index]
                    .health
                    .usable(&self.targets[index].sink, self.probe_interval)
            });
        usable.extend(failing);
        usable.into_iter()
    }

    pub(super) fn ordered_send(&self, message: Message) -> SinkFuture<'_, Result<(), SinkError>> {
        let bytes = message.payload.len();
        let mut order = self.order(self.start());
        let mut failed: Vec<(String, SinkError)> = Vec::new();
        while let Some(index) = order.next() {
            let target = &self.targets[index];
            match target.sink.send(message.clone()).into_ready() {
                Ok(Ok(())) => return SinkFuture::ready(self.record(bytes, Ok(()))),
                Ok(Err(error)) => failed.push((target.name.clone(), error)),
                Err(future) => {
                    // This target must wait (connecting, or full): finish the
                    // round asynchronously from here.
                    return SinkFuture::waiting(async move {
                        let mut result = future.await;
                        let mut current = index;
                        loop {
                            match result {
                                Ok(()) => return self.record(bytes, Ok(())),
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

    pub(super) fn ordered_try_send(&self, message: Message) -> Result<(), SinkError> {
        let mut failed = Vec::new();
        for index in self.order(self.start()) {
            let target = &self.targets[index];
            match target.sink.try_send(message.clone()) {
                Ok(()) => return Ok(()),
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
