//! The task that owns an endpoint sink's connection.
//!
//! It is spawned with a [`Lease`] by the first send (or `connect`), makes the
//! connection, then loops: take everything queued in one swap, write it in
//! large chunks, count it, and when there is nothing to do, yield a few
//! times (a busy sender refills the queue meanwhile), then park. While parked
//! it also watches the connection, so a peer that goes away is noticed before
//! the next send. When a write or the connection fails it reconnects (if
//! `auto_reconnect`) and writes, whole, every message that had not been
//! written.
//!
//! Every way out, including the task being dropped unfinished by a runtime
//! that shuts down, goes through [`LeaseGuard`]'s drop: one locked exit that
//! fails whatever is still pending or in flight, once, for this lease only.
//!
//! A close (`disconnect`, or the handle dropped) is raced against its drain
//! deadline (`lazy.wait_timeout_secs`): what is not written by then fails,
//! so a peer that stopped reading cannot keep the task and its socket alive.

use std::sync::Arc;
use std::time::Instant;

use tokio::runtime::Handle;

use super::connect::{ConnectFailure, Connector};
use super::shared::Shared;
use super::state::{Exit, Lease, Next, Phase, Written};
use crate::observe::TARGET;
use crate::transport::{Connection, Pending};

/// How many times the writer yields and looks at the queue again after a
/// write before it parks. A sender that keeps sending refills the queue within
/// a few microseconds; a parked writer must be woken (`notify_one`, and often
/// a sleeping worker thread's futex), which costs that sender more than the
/// messages it sends meanwhile. Yielding lets any other task run first.
const LINGER_YIELDS: u32 = 8;

/// Spawns the writer of `lease` on `runtime`. Call it without holding the
/// sink's lock: a runtime that is shutting down drops the task at once, and
/// its guard then takes the lock to end the lease.
pub(crate) fn spawn(shared: &Arc<Shared>, lease: Lease, runtime: &Handle) {
    // Made before spawning, so that a task dropped before its first poll
    // still ends its lease instead of leaving the sink `Connecting` forever.
    let guard = LeaseGuard {
        shared: Arc::clone(shared),
        lease,
        exit: Exit::Abandoned {
            reason: "the sink's writer task was dropped before it finished: \
                     the tokio runtime it ran on shut down"
                .to_owned(),
        },
    };
    runtime.spawn(run(guard));
}

/// The writer's lease, and how the writer ended: applied when dropped.
struct LeaseGuard {
    shared: Arc<Shared>,
    lease: Lease,
    /// What the drop reports; `Abandoned` until the writer says otherwise.
    exit: Exit,
}

impl LeaseGuard {
    fn finish(mut self, exit: Exit) {
        self.exit = exit;
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        let exit = std::mem::replace(&mut self.exit, Exit::Closed);
        let abandoned = matches!(exit, Exit::Abandoned { .. });
        let reason = exit.reason().map(str::to_owned);
        let lost = self.shared.lock().exit(&self.lease, exit);
        self.shared.changed.notify_waiters();
        match lost {
            Some(count) if count > 0 && abandoned => tracing::error!(
                target: TARGET,
                sink = %self.shared.name,
                endpoint = %self.shared.config.endpoint,
                count,
                "{count} accepted message(s) dropped at runtime shutdown: the tokio runtime \
                 ended before the sink wrote them; call `shutdown()` (or `flush()`) before \
                 the runtime ends. They are counted in messages_failed"
            ),
            Some(count) if count > 0 => report_failed(&self.shared, count, reason.as_deref()),
            _ => {}
        }
    }
}

/// The `messages failed` event, rate limited per sink.
fn report_failed(shared: &Shared, count: u64, reason: Option<&str>) {
    if let Some(burst) = shared.throttles.messages_failed.admit(count) {
        tracing::error!(
            target: TARGET,
            sink = %shared.name,
            endpoint = %shared.config.endpoint,
            count = burst.amount,
            error = reason.unwrap_or("unknown"),
            "messages failed"
        );
    }
}

/// Runs until the sink is closed, dropped, or its connection gives up.
async fn run(guard: LeaseGuard) {
    let shared = Arc::clone(&guard.shared);
    let mut connector = Connector::default();
    let connection = establish(&shared, &guard.lease, &mut connector, Phase::Connecting).await;
    let exit = match connection {
        Ok(connection) => serve(&shared, &guard.lease, &mut connector, connection).await,
        Err(exit) => exit,
    };
    guard.finish(exit);
}

/// Writes until a close, a stale lease or a connection that cannot be restored.
async fn serve(
    shared: &Arc<Shared>,
    lease: &Lease,
    connector: &mut Connector,
    mut connection: Connection,
) -> Exit {
    let framing = shared.config.framing;
    let mut batch = Pending::default();
    // Yields left before parking on an empty queue (see `LINGER_YIELDS`).
    let mut linger = 0;
    // One deadline future for the writer's life, raced against every write:
    // registered once, so a batch costs no extra lock or waiter-list update.
    let mut deadline = std::pin::pin!(shared.drain_deadline());
    loop {
        // Read before locking: senders wait on the lock, not on the clock.
        let now = Instant::now();
        let next = shared.lock().next_step(lease, &mut batch, now, &mut linger);
        match next {
            Next::Stale => return Exit::Closed,
            Next::Linger => tokio::task::yield_now().await,
            Next::Write { skip } => {
                linger = LINGER_YIELDS;
                // Room was made for senders waiting on a full queue.
                shared.changed.notify_waiters();
                let mut progress = |messages: usize, bytes: u64| {
                    shared.lock().batch_progress(lease, messages, bytes);
                };
                let outcome = tokio::select! {
                    outcome = connection.write_batch(&mut batch, framing, skip, &mut progress) => outcome,
                    () = &mut deadline => return drain_timed_out(),
                };
                let written = Written {
                    messages: outcome.written,
                    bytes: outcome.bytes,
                    uncertain: outcome.uncertain,
                };
                let failed = shared.lock().batch_written(
                    lease,
                    &mut batch,
                    written,
                    outcome.error.as_deref(),
                );
                shared.changed.notify_waiters();
                if failed > 0 {
                    report_failed(shared, failed, outcome.error.as_deref());
                }
                if let Some(reason) = outcome.error {
                    // Let go of the dead connection now, not after reconnecting:
                    // the peer sees the close at once (see `reconnect`).
                    drop(connection);
                    connection = match reconnect(shared, lease, connector, reason).await {
                        Ok(fresh) => fresh,
                        Err(exit) => return exit,
                    };
                }
            }
            Next::Park => {
                let lost = tokio::select! {
                    () = shared.work.notified() => None,
                    reason = connection.closed() => Some(reason),
                };
                if let Some(reason) = lost {
                    drop(connection);
                    connection = match reconnect(shared, lease, connector, reason).await {
                        Ok(fresh) => fresh,
                        Err(exit) => return exit,
                    };
                }
            }
            Next::Close => {
                tokio::select! {
                    () = connection.shutdown() => {}
                    () = &mut deadline => {}
                }
                return Exit::Closed;
            }
        }
    }
}

fn drain_timed_out() -> Exit {
    Exit::DrainTimedOut {
        reason: "the sink was closed and its drain deadline (lazy.wait_timeout_secs) \
                 passed before the message was written"
            .to_owned(),
    }
}

/// After a lost connection: reconnect if allowed, otherwise end.
///
/// The caller drops the lost connection first. Held open through the
/// retries, it would leave a peer that closed it waiting for our side of the
/// close (a WebSocket server waits for the close reply or EOF) for the whole
/// connect budget, and a peer that serves one connection at a time would not
/// accept the new one meanwhile.
async fn reconnect(
    shared: &Arc<Shared>,
    lease: &Lease,
    connector: &mut Connector,
    reason: String,
) -> Result<Connection, Exit> {
    tracing::warn!(
        target: TARGET,
        sink = %shared.name,
        endpoint = %shared.config.endpoint,
        error = %reason,
        reconnecting = shared.config.retry.auto_reconnect,
        "connection lost"
    );
    if !shared.config.retry.auto_reconnect {
        return Err(Exit::Lost { reason });
    }
    if !shared.lock().connection_lost(lease, &reason) {
        return Err(Exit::Closed);
    }
    shared.changed.notify_waiters();
    establish(shared, lease, connector, Phase::Reconnecting).await
}

/// Connects with the retry policy, unless a close cancels it first; on
/// success the phase is `Up`.
async fn establish(
    shared: &Arc<Shared>,
    lease: &Lease,
    connector: &mut Connector,
    during: Phase,
) -> Result<Connection, Exit> {
    let outcome = tokio::select! {
        outcome = connector.connect(shared, lease) => outcome,
        () = shared.drain_deadline() => return Err(drain_timed_out()),
    };
    match outcome {
        Ok((connection, attempts)) => {
            if !shared.lock().connected(lease, connection.shared_stream()) {
                return Err(Exit::Closed);
            }
            shared.changed.notify_waiters();
            let endpoint = &shared.config.endpoint;
            if during == Phase::Reconnecting {
                tracing::info!(target: TARGET, sink = %shared.name, %endpoint, attempts, "reconnected");
            } else {
                tracing::info!(target: TARGET, sink = %shared.name, %endpoint, attempts, "connected");
            }
            Ok(connection)
        }
        Err(ConnectFailure { attempts, reason }) => {
            if let Some(burst) = shared.throttles.retries_exhausted.admit(1) {
                tracing::warn!(
                    target: TARGET,
                    sink = %shared.name,
                    endpoint = %shared.config.endpoint,
                    attempts,
                    error = %reason,
                    times = burst.occurrences,
                    "retries exhausted"
                );
            }
            Err(match during {
                Phase::Reconnecting => Exit::Lost {
                    reason: format!("reconnecting failed after {attempts} attempt(s): {reason}"),
                },
                _ => Exit::ConnectFailed { attempts, reason },
            })
        }
    }
}
