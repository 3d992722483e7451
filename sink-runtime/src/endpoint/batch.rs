//! `send_batch` on an endpoint sink: the batch goes into the queue under one
//! hold of the lock per [`PER_LOCK`] messages rather than one per message,
//! and the call spends one unit of tokio's budget, not one per message.
//!
//! What a batch promises is what sending its messages one by one promises:
//! in order, and stopping at the first message a `send` would refuse (the
//! ones before it stay accepted). A message the ready path cannot take (no
//! connection yet, a full queue, a close in progress) is sent by `send`
//! itself, waiting as it waits; the rest then go back to the ready path.

use super::EndpointSink;
use crate::transport::Offer;
use crate::{Message, MessageSink, SinkError};

/// Messages queued per hold of the lock: long enough that the lock costs a
/// fraction of a nanosecond per message, short enough that another sender
/// or the writer waits at most about a microsecond for it.
const PER_LOCK: usize = 64;

/// What [`EndpointSink::queue_ready`] did.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Ready {
    /// Messages from the front of the batch now queued (or written through).
    pub(super) queued: usize,
    /// They woke the parked writer.
    pub(super) woke: bool,
}

impl EndpointSink {
    /// Queues the longest prefix of `messages` that `send` would take
    /// without waiting. A queued message's slot keeps its payload if the
    /// queue copied it (see `EndpointState::accept`), so that dropping the
    /// batch frees it after unlocking, on the sender's CPU.
    pub(super) fn queue_ready(&self, messages: &mut [Message]) -> Ready {
        let mut ready = Ready::default();
        for chunk in messages.chunks_mut(PER_LOCK) {
            let (queued, woke) = {
                let mut state = self.shared.lock();
                let mut queued = 0;
                let mut woke = false;
                for message in chunk.iter_mut() {
                    if self.admit(message).is_err() || state.admits_send(self.capacity()).is_err() {
                        break;
                    }
                    woke |= state.accept(&mut Offer::Owned(message)).wake;
                    queued += 1;
                }
                (queued, woke)
            };
            // Woken after each chunk, so the writer writes while the rest queue.
            self.wake_writer(woke);
            ready.queued += queued;
            ready.woke |= woke;
            if queued < chunk.len() {
                break;
            }
        }
        ready
    }

    /// The rest of a batch from `next`, the first message the ready path
    /// did not take: each such message is sent (and waited on, or refused)
    /// as `send` would, and what follows it goes back to the ready path.
    pub(super) async fn send_rest(
        &self,
        mut messages: Vec<Message>,
        mut next: usize,
    ) -> Result<(), SinkError> {
        while next < messages.len() {
            self.send(std::mem::take(&mut messages[next])).await?;
            next += 1;
            next += self.queue_ready(&mut messages[next..]).queued;
        }
        Ok(())
    }
}
