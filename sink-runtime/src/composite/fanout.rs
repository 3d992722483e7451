//! Every message to every target.

use futures_util::future::join_all;

use super::CompositeSink;
use crate::{Message, SinkError, SinkFuture};

impl CompositeSink {
    /// Hands the message to every target. Targets with room accept it at
    /// once; only those that must wait are awaited, together. Each target
    /// borrows the message (`send_borrowed`): a relay or direct sink that
    /// copies a small payload never clones it, the others clone it, sharing
    /// the payload bytes.
    pub(super) fn fanout_send(&self, message: &Message) -> SinkFuture<'_, Result<(), SinkError>> {
        let bytes = message.payload.len();
        let mut failed: Vec<(String, SinkError)> = Vec::new();
        let mut waiting = Vec::new();
        // A target that woke its writer asks its sender to yield (see
        // `MessageSink`): the composite's send yields for it.
        let mut yields = false;
        for target in &self.targets {
            let future = target.sink.send_borrowed(message);
            yields |= future.yields_first();
            match future.into_ready() {
                Ok(Ok(())) => {}
                Ok(Err(error)) => failed.push((target.name.clone(), error)),
                Err(future) => waiting.push((target.name.as_str(), future)),
            }
        }
        if waiting.is_empty() {
            return SinkFuture::ready_yielding(
                self.record(bytes, self.fanout_result(failed)),
                yields,
            );
        }
        SinkFuture::waiting(async move {
            let (names, futures): (Vec<&str>, Vec<_>) = waiting.into_iter().unzip();
            for (name, result) in names.into_iter().zip(join_all(futures).await) {
                if let Err(error) = result {
                    failed.push((name.to_owned(), error));
                }
            }
            self.record(bytes, self.fanout_result(failed))
        })
    }

    pub(super) fn fanout_try_send(&self, message: &Message) -> Result<(), SinkError> {
        let failed = self
            .targets
            .iter()
            .filter_map(|target| {
                let result = target.sink.try_send_borrowed(message);
                result.err().map(|error| (target.name.clone(), error))
            })
            .collect();
        self.fanout_result(failed)
    }

    fn fanout_result(&self, failed: Vec<(String, SinkError)>) -> Result<(), SinkError> {
        if failed.is_empty() {
            return Ok(());
        }
        Err(SinkError::TargetsFailed {
            sink: self.name.clone(),
            total: self.targets.len(),
            failed,
        })
    }
}
