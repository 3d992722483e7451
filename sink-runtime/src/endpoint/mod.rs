//! A relay or direct service: a bounded queue in front of one lazily opened
//! connection.
//!
//! - `state`: the one owner of the sink's state (queue, phase, writer lease,
//!   counters), with its invariants and every transition as a method.
//! - `shared`: what the handle and the writer task share around it.
//! - `writer`: the task that owns the connection.
//! - `connect`: connecting with timeouts, retries and backoff.
//! - `write_through`: a send into an idle sink writes its frame itself.
//! - `batch`: `send_batch` under one hold of the lock per run of messages.

mod batch;
mod connect;
mod shared;
mod state;
mod write_through;
mod writer;

use std::fmt;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;

use crate::config::{ConfigErrors, Domain, LeafConfig, ServiceConfig, ServiceKind};
use crate::observe::TARGET;
use crate::transport::Offer;
use crate::{ConnectionState, Message, MessageSink, SinkError, SinkFuture, SinkMetadata};
use shared::{Shared, deadline_after};
use state::{EndpointState, Exit, Lease, Phase, Refusal};

/// A sink for one endpoint (`type = "relay"` or `"direct"`).
///
/// Building one does no I/O and spawns nothing. The first `send` (or
/// `connect`) spawns a writer task on the current tokio runtime, which
/// connects with the configured retries and from then on owns the
/// connection; however many tasks send at once, there is one connection.
///
/// A send on a connected sink appends the payload to the queue under a short
/// lock and returns at once: no allocation, no syscall, no channel hop. The
/// writer takes the whole queue in one step and writes it in large chunks.
/// The exception is the first send into an idle Unix or TCP sink, which
/// writes its frame to the socket itself (one non-blocking syscall) rather
/// than wait for the writer task to be scheduled.
///
/// Dropping the sink lets the writer finish what is queued within
/// `lazy.wait_timeout_secs`, then close; what is not written by then is
/// counted as failed.
pub struct EndpointSink {
    shared: Arc<Shared>,
    /// Set for a sink whose config needs a variable it was not given; every
    /// send, try_send and connect returns it (see `unresolved`).
    unresolved: Option<Box<ConfigErrors>>,
}

/// A writer to spawn once the state's lock is released.
type Start = Option<(Lease, Handle)>;

impl EndpointSink {
    /// A `relay` sink: a local relay over a Unix socket.
    pub fn relay(name: impl Into<String>, config: LeafConfig) -> EndpointSink {
        EndpointSink::new(name.into(), "relay", config)
    }

    /// A `direct` sink: a peer over Unix, TCP or WebSocket.
    pub fn direct(name: impl Into<String>, config: LeafConfig) -> EndpointSink {
        EndpointSink::new(name.into(), "direct", config)
    }

    /// The sink for a relay or direct service of a validated config; `None`
    /// for a composite.
    pub fn from_service(service: &ServiceConfig) -> Option<EndpointSink> {
        match &service.kind {
            ServiceKind::Relay(config) => {
                Some(EndpointSink::relay(service.name.clone(), config.clone()))
            }
            ServiceKind::Direct(config) => {
                Some(EndpointSink::direct(service.name.clone(), config.clone()))
            }
            _ => None,
        }
    }

    fn new(name: String, sink_type: &'static str, config: LeafConfig) -> EndpointSink {
        EndpointSink {
            shared: Arc::new(Shared::new(name, sink_type, config)),
            unresolved: None,
        }
    }

    /// The service name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The settings the sink runs with.
    pub fn config(&self) -> &LeafConfig {
        &self.shared.config
    }

    fn capacity(&self) -> usize {
        self.shared.config.buffer_size
    }

    /// A sink that refuses every send, try_send and connect with
    /// `SinkError::InvalidConfig(problem)`: its config needs a `${VAR}` it was
    /// not given (the generated `Sinks::new()` uses the compiled values only).
    pub fn unresolved(
        name: impl Into<String>,
        sink_type: &'static str,
        config: LeafConfig,
        problem: ConfigErrors,
    ) -> EndpointSink {
        let mut sink = EndpointSink::new(name.into(), sink_type, config);
        sink.unresolved = Some(Box::new(problem));
        sink
    }

    /// Refuses `message` before anything is queued or written: the sink's
    /// config is unresolved, its TLV type is outside the sink's `domain`, or
    /// the payload is over `max_message_bytes`.
    /// Refuses what this sink never takes: anything while its config is
    /// unresolved, a TLV type outside its domain, a payload over its limit.
    /// Every send runs it, so the checks are inline and building the error
    /// is out of line.
    #[inline]
    fn admit(&self, message: &Message) -> Result<(), SinkError> {
        let config = &self.shared.config;
        if self.unresolved.is_none()
            && Domain::admits(config.domain, message.metadata.tlv_type)
            && message.payload.len() <= self.size_limit()
        {
            return Ok(());
        }
        Err(self.refusal(message))
    }

    /// Why `admit` refused `message`.
    #[cold]
    #[inline(never)]
    fn refusal(&self, message: &Message) -> SinkError {
        if let Some(problem) = &self.unresolved {
            return SinkError::InvalidConfig((**problem).clone());
        }
        if let Err(reason) = Domain::check_tlv(self.shared.config.domain, message.metadata.tlv_type)
        {
            return SinkError::OutsideDomain {
                sink: self.shared.name.clone(),
                reason,
            };
        }
        SinkError::MessageTooLarge {
            sink: self.shared.name.clone(),
            size: message.payload.len(),
            limit: self.size_limit(),
        }
    }

    /// The largest payload a send takes: the config's, and never more than
    /// a u32 length prefix can say.
    #[inline]
    fn size_limit(&self) -> usize {
        self.shared.config.max_message_bytes.min(u32::MAX as usize)
    }

    fn closed_error(&self) -> SinkError {
        SinkError::Closed {
            sink: self.shared.name.clone(),
        }
    }

    fn wake_writer(&self, wake: bool) {
        if wake {
            self.shared.work.notify_one();
        }
    }

    /// Takes the writer lease if no writer runs (the phase becomes
    /// `Connecting`); the caller spawns it after unlocking.
    #[inline]
    fn start_writer(
        &self,
        state: &mut EndpointState,
        operation: &'static str,
    ) -> Result<Start, SinkError> {
        if state.phase() != Phase::Idle {
            return Ok(None);
        }
        self.start_idle_writer(state, operation)
    }

    /// `start_writer` on an idle sink; out of line, as a busy sink never
    /// needs it.
    #[inline(never)]
    fn start_idle_writer(
        &self,
        state: &mut EndpointState,
        operation: &'static str,
    ) -> Result<Start, SinkError> {
        let runtime = Handle::try_current().map_err(|_| SinkError::NoRuntime {
            sink: self.shared.name.clone(),
            operation,
        })?;
        Ok(state.start_writer().map(|lease| (lease, runtime)))
    }

    #[inline]
    fn spawn(&self, start: Start) {
        if let Some((lease, runtime)) = start {
            writer::spawn(&self.shared, lease, &runtime);
        }
    }

    /// How long a caller may wait: for room, or for the connect in progress.
    fn wait_bound(&self) -> Duration {
        let retry = &self.shared.config.retry;
        retry.wait_timeout.max(retry.connect_budget())
    }

    /// The error of a send that waited on a writer that ended in failure.
    fn exit_error(&self, state: &EndpointState) -> SinkError {
        let sink = self.shared.name.clone();
        let endpoint = self.shared.endpoint();
        match state.last_exit() {
            Some(Exit::ConnectFailed { attempts, reason }) => SinkError::ConnectionFailed {
                sink,
                endpoint,
                attempts: *attempts,
                reason: reason.clone(),
            },
            Some(
                Exit::Lost { reason } | Exit::Abandoned { reason } | Exit::DrainTimedOut { reason },
            ) => SinkError::ConnectionLost {
                sink,
                endpoint,
                reason: reason.clone(),
            },
            Some(Exit::Closed) | None => self.closed_error(),
        }
    }

    fn take_failures_locked(&self, state: &mut EndpointState) -> Result<(), SinkError> {
        match state.take_failures() {
            None => Ok(()),
            Some((failed, reason)) => Err(SinkError::SendFailed {
                sink: self.shared.name.clone(),
                failed,
                reason,
            }),
        }
    }

    /// Waits on the sink's state until `step` returns a result, for at most
    /// `bound`. `step` runs under the lock and must not block; it is rerun
    /// after every change, and may hand back a writer to spawn.
    async fn wait_until<T>(
        &self,
        operation: &'static str,
        bound: Duration,
        mut step: impl FnMut(
            &EndpointSink,
            &mut EndpointState,
            &mut Start,
        ) -> Option<Result<T, SinkError>>,
    ) -> Result<T, SinkError> {
        let deadline = tokio::time::Instant::from_std(deadline_after(bound));
        loop {
            let mut changed = pin!(self.shared.changed.notified());
            // Registered before the state is read, so no change is missed.
            changed.as_mut().enable();
            let mut start = None;
            let (result, wake) = {
                let mut state = self.shared.lock();
                let parked_before = state.writer_parked();
                let result = step(self, &mut state, &mut start);
                (result, parked_before && !state.writer_parked())
            };
            self.spawn(start);
            self.wake_writer(wake);
            if let Some(result) = result {
                return result;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return Err(SinkError::Timeout {
                    sink: self.shared.name.clone(),
                    operation,
                    after: bound,
                });
            }
        }
    }

    /// `send` of the offered message: queued at once if the sink is up with
    /// room, else a future that waits (and owns the message).
    #[inline]
    fn send_offer(&self, mut offer: Offer<'_>) -> SinkFuture<'_, Result<(), SinkError>> {
        if let Err(error) = self.admit(offer.message()) {
            return SinkFuture::ready(Err(error));
        }
        let accepted = {
            // Held for one push and a counter; never across an await.
            let mut state = self.shared.lock();
            match state.admits_send(self.capacity()) {
                Ok(()) => state.accept(&mut offer),
                Err(Refusal::Dropped) => return SinkFuture::ready(Err(self.closed_error())),
                Err(_) => {
                    // Start connecting now rather than when the future is
                    // first polled, so that a composite's targets connect in
                    // parallel. Outside a runtime (`handle.block_on(send(..))`
                    // from a plain thread) the first poll starts it instead.
                    let start = self.start_writer(&mut state, "send").unwrap_or_default();
                    let failures_before = state.failures();
                    drop(state);
                    self.spawn(start);
                    let message = offer.into_owned();
                    return SinkFuture::waiting(self.send_waiting(message, failures_before));
                }
            }
        };
        self.wake_writer(accepted.wake);
        SinkFuture::ready_yielding(Ok(()), accepted.wake)
    }

    /// `try_send` of the offered message.
    #[inline]
    fn try_send_offer(&self, mut offer: Offer<'_>) -> Result<(), SinkError> {
        self.admit(offer.message())?;
        let (accepted, start) = {
            let mut state = self.shared.lock();
            match state.admits_try_send(self.capacity()) {
                Ok(()) => {}
                Err(Refusal::Full) => {
                    drop(state);
                    return Err(self.queue_full());
                }
                Err(_) => return Err(self.closed_error()),
            }
            let start = self.start_writer(&mut state, "try_send")?;
            (state.accept(&mut offer), start)
        };
        self.spawn(start);
        self.wake_writer(accepted.wake);
        Ok(())
    }

    /// The error of a `try_send` into a full queue, logged at a throttled rate.
    #[cold]
    fn queue_full(&self) -> SinkError {
        if let Some(burst) = self.shared.throttles.queue_full.admit(1) {
            tracing::warn!(
                target: TARGET,
                sink = %self.shared.name,
                endpoint = %self.shared.config.endpoint,
                capacity = self.capacity(),
                rejected = burst.occurrences,
                "queue full: try_send rejected messages"
            );
        }
        SinkError::BufferFull {
            sink: self.shared.name.clone(),
            capacity: self.capacity(),
        }
    }

    /// The slow path of `send`: wait for the connection or for room.
    /// `failures_before` was read under the same lock as the decision to
    /// wait, so a writer that fails at once is still the one this send waited on.
    async fn send_waiting(&self, message: Message, failures_before: u64) -> Result<(), SinkError> {
        let mut message = Some(message);
        self.wait_until("send", self.wait_bound(), move |sink, state, start| {
            if state.is_dropped() {
                return Some(Err(sink.closed_error()));
            }
            if state.failures() != failures_before {
                return Some(Err(sink.exit_error(state)));
            }
            match state.admits_send(sink.capacity()) {
                Ok(()) => {
                    let mut message = message.take()?;
                    // The wake is seen by `wait_until` (the writer was
                    // parked); this slow path drops a copied payload under the lock.
                    drop(state.accept(&mut Offer::Owned(&mut message)));
                    Some(Ok(()))
                }
                Err(Refusal::NotConnected) => match sink.start_writer(state, "send") {
                    Ok(started) => {
                        *start = started;
                        None
                    }
                    Err(error) => Some(Err(error)),
                },
                Err(_) => None,
            }
        })
        .await
    }

    /// Resolves once every message accepted before the first poll is written
    /// or failed; takes no failure report.
    async fn settle_accepted(&self) -> Result<(), SinkError> {
        let target = self.shared.lock().accepted();
        self.wait_until("flush", self.wait_bound(), move |_, state, _| {
            (state.settled() >= target).then_some(Ok(()))
        })
        .await
    }
}

impl EndpointSink {
    /// Writes what is queued and closes, all within `timeout`: what is not
    /// written by then fails. Returns `SendFailed` for every failure not yet
    /// reported, those included. Like `disconnect`, with your own deadline
    /// instead of `lazy.wait_timeout_secs`; a later send connects again.
    pub async fn shutdown(&self, timeout: Duration) -> Result<(), SinkError> {
        self.close_within("shutdown", timeout).await
    }

    async fn close_within(
        &self,
        operation: &'static str,
        drain: Duration,
    ) -> Result<(), SinkError> {
        if let Some(generation) = self.shared.request_close(false, deadline_after(drain)) {
            // The writer ends by the drain deadline whatever the peer does;
            // the margin only covers scheduling.
            let bound = drain.saturating_add(Duration::from_secs(1));
            self.wait_until(operation, bound, move |_, state, _| {
                state.writer_ended(generation).then_some(Ok(()))
            })
            .await?;
        }
        self.take_failures()
    }
}

impl MessageSink for EndpointSink {
    fn send(&self, mut message: Message) -> SinkFuture<'_, Result<(), SinkError>> {
        let future = self.send_offer(Offer::Owned(&mut message));
        // A copied payload is freed here, on the sender's CPU, after unlocking.
        drop(message);
        future
    }

    fn send_borrowed(&self, message: &Message) -> SinkFuture<'_, Result<(), SinkError>> {
        self.send_offer(Offer::Borrowed(message))
    }

    fn send_batch(&self, mut messages: Vec<Message>) -> SinkFuture<'_, Result<(), SinkError>> {
        let ready = self.queue_ready(&mut messages);
        if ready.queued == messages.len() {
            // Frees the payloads the queue copied, now that the lock is released.
            drop(messages);
            return SinkFuture::ready_yielding(Ok(()), ready.woke);
        }
        SinkFuture::waiting(self.send_rest(messages, ready.queued))
    }

    fn try_send(&self, mut message: Message) -> Result<(), SinkError> {
        let result = self.try_send_offer(Offer::Owned(&mut message));
        // A copied payload is freed here, on the sender's CPU, after unlocking.
        drop(message);
        result
    }

    fn try_send_borrowed(&self, message: &Message) -> Result<(), SinkError> {
        self.try_send_offer(Offer::Borrowed(message))
    }

    fn flush(&self) -> SinkFuture<'_, Result<(), SinkError>> {
        // Everything happens at the first poll: a flush dropped unpolled, or
        // timed out while waiting, takes no failure report with it.
        SinkFuture::waiting(async move {
            self.settle_accepted().await?;
            self.take_failures()
        })
    }

    fn settle(&self) -> SinkFuture<'_, Result<(), SinkError>> {
        SinkFuture::waiting(self.settle_accepted())
    }

    fn take_failures(&self) -> Result<(), SinkError> {
        self.take_failures_locked(&mut self.shared.lock())
    }

    fn is_connected(&self) -> bool {
        self.shared.published_state() == ConnectionState::Connected
    }

    fn state(&self) -> ConnectionState {
        self.shared.published_state()
    }

    fn connect(&self) -> SinkFuture<'_, Result<(), SinkError>> {
        if let Some(problem) = &self.unresolved {
            return SinkFuture::ready(Err(SinkError::InvalidConfig((**problem).clone())));
        }
        if self.is_connected() {
            return SinkFuture::ready(Ok(()));
        }
        SinkFuture::waiting(async move {
            let failures_before = self.shared.lock().failures();
            self.wait_until("connect", self.wait_bound(), move |sink, state, start| {
                if state.failures() != failures_before {
                    return Some(Err(sink.exit_error(state)));
                }
                match state.phase() {
                    Phase::Up => Some(Ok(())),
                    Phase::Idle if state.is_dropped() => Some(Err(sink.closed_error())),
                    Phase::Idle => match sink.start_writer(state, "connect") {
                        Ok(started) => {
                            *start = started;
                            None
                        }
                        Err(error) => Some(Err(error)),
                    },
                    _ => None,
                }
            })
            .await
        })
    }

    fn disconnect(&self) -> SinkFuture<'_, Result<(), SinkError>> {
        SinkFuture::waiting(self.close_within("disconnect", self.shared.config.retry.wait_timeout))
    }

    fn metadata(&self) -> SinkMetadata {
        let state = self.shared.lock();
        let stats = state.stats();
        SinkMetadata {
            name: self.shared.name.clone(),
            sink_type: self.shared.sink_type.to_owned(),
            endpoint: Some(self.shared.endpoint()),
            state: state.connection_state(),
            messages_sent: stats.sent,
            messages_failed: stats.failed,
            bytes_sent: stats.bytes_sent,
            last_error: stats.last_error.clone(),
            queue_depth: usize::try_from(state.unsettled()).unwrap_or(usize::MAX),
            reconnects: stats.reconnects,
            connected_since: stats.connected_since,
            last_error_at: stats.last_error_at,
            labels: self.shared.config.metadata.clone(),
        }
    }
}

impl Drop for EndpointSink {
    fn drop(&mut self) {
        // The writer drains what is queued, within the deadline, and ends.
        let deadline = deadline_after(self.shared.config.retry.wait_timeout);
        self.shared.request_close(true, deadline);
    }
}

impl fmt::Debug for EndpointSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointSink")
            .field("name", &self.shared.name)
            .field("type", &self.shared.sink_type)
            .field("endpoint", &self.shared.config.endpoint)
            .field("state", &self.shared.published_state())
            .finish()
    }
}
