//! The task that owns an endpoint sink's connection.
//!
//! It is spawned by the first send (or `connect`), makes the connection,
//! then loops: take everything queued in one swap, write it in large chunks,
//! count it, and when there is nothing to do, yield a few times (a busy
//! sender refills the queue meanwhile), then park. While parked it also watches
//! the connection, so a peer that goes away is noticed before the next send.
//! When a write or the connection fails it reconnects (if `auto_reconnect`)
//! and writes, whole, every message that had not been written. When it gives
//! up, every message still queued is counted as failed, so `flush` reports it.

use std::collections::VecDeque;
use std::mem;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::lazy::{ConnectFailure, Connector};
use crate::queue::{GaveUp, Link, Shared};
use crate::transport::Connection;

/// Runs until the sink is disconnected, dropped, or its connection gives up.
pub(crate) async fn run(shared: Arc<Shared>) {
    let _guard = AbandonGuard(Arc::clone(&shared));
    let mut connector = Connector::default();
    let Some(mut connection) = establish(&shared, &mut connector, Link::Connecting).await else {
        return;
    };
    let mut batch: VecDeque<Bytes> = VecDeque::new();
    let mut out: Vec<u8> = Vec::new();
    // Yields left before parking on an empty queue (see `LINGER_YIELDS`).
    let mut linger = 0;
    loop {
        // Read before locking: senders wait on the lock, not on the clock.
        let now = Instant::now();
        let next = {
            let mut queue = shared.lock();
            if !queue.pending.is_empty() {
                mem::swap(&mut queue.pending, &mut batch);
                Next::Write {
                    skip: mem::take(&mut queue.front_written),
                }
            } else if queue.closing {
                // The writer's handle is then the last one, and shuts down.
                queue.stream = None;
                Next::Close
            } else if linger > 0 {
                linger -= 1;
                Next::Linger
            } else {
                queue.writer_parked = true;
                queue.idle_since = Some(now);
                Next::Park
            }
        };
        match next {
            Next::Linger => tokio::task::yield_now().await,
            Next::Write { skip } => {
                linger = LINGER_YIELDS;
                // Room was made for senders waiting on a full queue.
                shared.changed.notify_waiters();
                let outcome = connection
                    .write_batch(&batch, shared.config.framing, skip, &mut out)
                    .await;
                let failure = {
                    let mut queue = shared.lock();
                    queue.sent += outcome.written as u64;
                    queue.bytes_sent += outcome.bytes;
                    match outcome.error {
                        None => None,
                        Some(reason) => {
                            queue.stream = None;
                            let unsent = batch.len() - outcome.written - outcome.uncertain;
                            queue.fail(outcome.uncertain as u64, &reason);
                            // Unwritten messages go back in front of anything
                            // queued since, to be written first and in order.
                            for payload in batch.drain(..).rev().take(unsent) {
                                queue.pending.push_front(payload);
                            }
                            Some(reason)
                        }
                    }
                };
                batch.clear();
                shared.changed.notify_waiters();
                if let Some(reason) = failure {
                    // Let go of the dead connection now, not after reconnecting:
                    // the peer sees the close at once (see `reconnect`).
                    drop(connection);
                    match reconnect(&shared, &mut connector, reason).await {
                        Some(fresh) => connection = fresh,
                        None => return,
                    }
                }
            }
            Next::Park => {
                let lost = tokio::select! {
                    _ = shared.work.notified() => None,
                    reason = connection.closed() => Some(reason),
                };
                if let Some(reason) = lost {
                    {
                        let mut queue = shared.lock();
                        queue.writer_parked = false;
                        queue.stream = None;
                        // A frame a sender began on the lost connection is
                        // written whole on the next.
                        queue.front_written = 0;
                    }
                    drop(connection);
                    match reconnect(&shared, &mut connector, reason).await {
                        Some(fresh) => connection = fresh,
                        None => return,
                    }
                }
            }
            Next::Close => {
                connection.shutdown().await;
                {
                    // Nothing was queued meanwhile: sends wait while `closing`.
                    let mut queue = shared.lock();
                    queue.closing = queue.dropped;
                    queue.link = Link::Idle;
                    queue.failed = false;
                }
                shared.changed.notify_waiters();
                return;
            }
        }
    }
}

/// Ends the writer's watch if its future is dropped without finishing, as
/// when the tokio runtime it was spawned on shuts down: the queue is failed
/// and the link goes idle, so the next send (perhaps on another runtime)
/// starts a new writer instead of queuing behind a dead one.
struct AbandonGuard(Arc<Shared>);

impl Drop for AbandonGuard {
    fn drop(&mut self) {
        if self.0.lock().link != Link::Idle {
            give_up(
                &self.0,
                GaveUp::Lost {
                    reason: "the tokio runtime running the connection shut down".to_owned(),
                },
            );
        }
    }
}

enum Next {
    /// Write the swapped-out batch; `skip` bytes of its first frame are
    /// already on the connection.
    Write {
        skip: usize,
    },
    /// Nothing queued, but senders were busy a moment ago: yield and look again.
    Linger,
    Park,
    Close,
}

/// How many times the writer yields and looks at the queue again after a
/// write before it parks. A sender that keeps sending refills the queue within
/// a few microseconds; a parked writer must be woken (`notify_one`, and often
/// a sleeping worker thread's futex), which costs that sender more than the
/// messages it sends meanwhile. Yielding lets any other task run first.
const LINGER_YIELDS: u32 = 8;

/// After a lost connection: reconnect if allowed, otherwise give up.
///
/// The caller drops the lost connection first. Held open through the
/// retries, it would leave a peer that closed it waiting for our side of the
/// close (a WebSocket server waits for the close reply or EOF) for the whole
/// connect budget, and a peer that serves one connection at a time would not
/// accept the new one meanwhile.
async fn reconnect(
    shared: &Arc<Shared>,
    connector: &mut Connector,
    reason: String,
) -> Option<Connection> {
    if !shared.config.retry.auto_reconnect {
        give_up(shared, GaveUp::Lost { reason });
        return None;
    }
    {
        let mut queue = shared.lock();
        queue.last_error = Some(reason);
        queue.link = Link::Reconnecting;
    }
    shared.changed.notify_waiters();
    establish(shared, connector, Link::Reconnecting).await
}

/// Connects with the retry policy; on success the link is up, on failure
/// the writer gives up.
async fn establish(
    shared: &Arc<Shared>,
    connector: &mut Connector,
    during: Link,
) -> Option<Connection> {
    let keep_trying = || !shared.lock().dropped;
    match connector.connect(&shared.config, keep_trying).await {
        Ok(connection) => {
            {
                let mut queue = shared.lock();
                queue.stream = connection.shared_stream();
                queue.link = Link::Up;
                queue.failed = false;
                queue.gave_up = None;
            }
            shared.changed.notify_waiters();
            Some(connection)
        }
        Err(ConnectFailure { attempts, reason }) => {
            let gave_up = match during {
                Link::Reconnecting => GaveUp::Lost {
                    reason: format!("reconnecting failed after {attempts} attempt(s): {reason}"),
                },
                _ => GaveUp::Connect { attempts, reason },
            };
            give_up(shared, gave_up);
            None
        }
    }
}

/// Ends the writer: every queued message fails, waiters learn why.
fn give_up(shared: &Shared, gave_up: GaveUp) {
    {
        let mut queue = shared.lock();
        let reason = gave_up.reason().to_owned();
        let queued = queue.pending.len() as u64;
        queue.pending.clear();
        queue.fail(queued, &reason);
        queue.link = Link::Idle;
        queue.failed = true;
        queue.failures += 1;
        queue.closing = queue.dropped;
        queue.writer_parked = false;
        queue.stream = None;
        queue.front_written = 0;
        queue.gave_up = Some(gave_up);
    }
    shared.changed.notify_waiters();
}
