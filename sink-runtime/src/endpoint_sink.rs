//! A relay or direct service: a bounded queue in front of one lazily opened
//! connection.

use std::fmt;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use crate::config::{ConfigErrors, Domain, LeafConfig, ServiceConfig, ServiceKind};
use crate::queue::{GaveUp, Link, Queue, Shared};
use crate::write_through;
use crate::{ConnectionState, Message, MessageSink, SinkError, SinkFuture, SinkMetadata, writer};

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
/// Dropping the sink lets the writer finish what is queued, then close.
pub struct EndpointSink {
    shared: Arc<Shared>,
    /// Set for a sink whose config needs a variable it was not given; every
    /// send, try_send and connect returns it (see `unresolved`).
    unresolved: Option<Box<ConfigErrors>>,
}

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

    fn check_size(&self, payload: &Bytes) -> Result<(), SinkError> {
        let limit = self.shared.config.max_message_bytes.min(u32::MAX as usize);
        if payload.len() > limit {
            return Err(SinkError::MessageTooLarge {
                sink: self.shared.name.clone(),
                size: payload.len(),
                limit,
            });
        }
        Ok(())
    }

    /// Accepts `payload`; the caller has checked for room. On an idle sink the
    /// frame is written through to the socket (see `write_through`), else
    /// queued for the writer. Returns whether the writer must be woken, which
    /// the caller does after unlocking.
    #[inline]
    fn push(&self, queue: &mut Queue, payload: Bytes) -> bool {
        queue.accepted += 1;
        // The tests a busy sink pays: the writer is awake or work is queued,
        // or the sink was found busy a moment ago (see `write_through`).
        if queue.writer_parked && queue.pending.is_empty() && !write_through::skip(queue) {
            return write_through::accept(queue, self.shared.config.framing, payload);
        }
        queue.pending.push_back(payload);
        mem_take_flag(&mut queue.writer_parked)
    }

    fn wake_writer(&self, wake: bool) {
        if wake {
            self.shared.work.notify_one();
        }
    }

    /// Spawns the writer; the link becomes `Connecting`.
    fn start_writer(&self, queue: &mut Queue, operation: &'static str) -> Result<(), SinkError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| SinkError::NoRuntime {
            sink: self.shared.name.clone(),
            operation,
        })?;
        queue.link = Link::Connecting;
        queue.writer_parked = false;
        runtime.spawn(writer::run(Arc::clone(&self.shared)));
        Ok(())
    }

    /// How long a caller may wait: for room, or for the connect in progress.
    fn wait_bound(&self) -> Duration {
        let retry = &self.shared.config.retry;
        retry.wait_timeout.max(retry.connect_budget())
    }

    fn gave_up_error(&self, queue: &Queue) -> SinkError {
        let sink = self.shared.name.clone();
        let endpoint = self.shared.endpoint();
        match &queue.gave_up {
            Some(GaveUp::Connect { attempts, reason }) => SinkError::ConnectionFailed {
                sink,
                endpoint,
                attempts: *attempts,
                reason: reason.clone(),
            },
            Some(GaveUp::Lost { reason }) => SinkError::ConnectionLost {
                sink,
                endpoint,
                reason: reason.clone(),
            },
            None => SinkError::ConnectionLost {
                sink,
                endpoint,
                reason: queue
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "unknown".to_owned()),
            },
        }
    }

    fn take_failures(&self, queue: &mut Queue) -> Result<(), SinkError> {
        if queue.failed_unreported == 0 {
            return Ok(());
        }
        let failed = std::mem::take(&mut queue.failed_unreported);
        Err(SinkError::SendFailed {
            sink: self.shared.name.clone(),
            failed,
            reason: queue
                .last_error
                .clone()
                .unwrap_or_else(|| "unknown".to_owned()),
        })
    }

    /// Waits on the sink's state until `step` returns a result. `step` runs
    /// under the queue lock and must not block; it is rerun after every change.
    async fn wait_until<T>(
        &self,
        operation: &'static str,
        mut step: impl FnMut(&EndpointSink, &mut Queue) -> Option<Result<T, SinkError>>,
    ) -> Result<T, SinkError> {
        let bound = self.wait_bound();
        let deadline = Instant::now() + bound;
        loop {
            let mut changed = pin!(self.shared.changed.notified());
            // Registered before the state is read, so no change is missed.
            changed.as_mut().enable();
            let (result, wake) = {
                let mut queue = self.shared.lock();
                let parked_before = queue.writer_parked;
                let result = step(self, &mut queue);
                (result, parked_before && !queue.writer_parked)
            };
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

    /// The slow path of `send`; `failures_before` was read under the same
    /// lock as the decision to wait, so an attempt that gives up at once is
    /// still seen as the one this send waited on.
    async fn send_waiting(&self, payload: Bytes, failures_before: u64) -> Result<(), SinkError> {
        let mut payload = Some(payload);
        self.wait_until("send", move |sink, queue| {
            if queue.dropped {
                return Some(Err(SinkError::Closed {
                    sink: sink.shared.name.clone(),
                }));
            }
            if queue.failures != failures_before {
                return Some(Err(sink.gave_up_error(queue)));
            }
            match queue.link {
                Link::Idle if !queue.closing => {
                    if let Err(error) = sink.start_writer(queue, "send") {
                        return Some(Err(error));
                    }
                    None
                }
                Link::Up | Link::Reconnecting
                    if !queue.closing && queue.pending.len() < sink.capacity() =>
                {
                    let payload = payload
                        .take()
                        .expect("the payload is pushed once, then the wait ends");
                    sink.push(queue, payload);
                    Some(Ok(()))
                }
                _ => None,
            }
        })
        .await
    }
}

/// Reads and clears a flag.
pub(crate) fn mem_take_flag(flag: &mut bool) -> bool {
    std::mem::replace(flag, false)
}

impl MessageSink for EndpointSink {
    fn send(&self, message: Message) -> SinkFuture<'_, Result<(), SinkError>> {
        if let Err(error) = self.admit(&message) {
            return SinkFuture::ready(Err(error));
        }
        let payload = message.payload;
        if let Err(error) = self.check_size(&payload) {
            return SinkFuture::ready(Err(error));
        }
        let wake = {
            // Held for one push and a counter; never across an await.
            let mut queue = self.shared.lock();
            let open = matches!(queue.link, Link::Up | Link::Reconnecting) && !queue.closing;
            if !open || queue.pending.len() >= self.capacity() {
                // Start connecting now rather than when the future is first
                // polled, so that a composite's targets connect in parallel.
                if queue.link == Link::Idle && !queue.closing && !queue.dropped {
                    if let Err(error) = self.start_writer(&mut queue, "send") {
                        return SinkFuture::ready(Err(error));
                    }
                }
                let failures_before = queue.failures;
                drop(queue);
                return SinkFuture::waiting(self.send_waiting(payload, failures_before));
            }
            self.push(&mut queue, payload)
        };
        self.wake_writer(wake);
        SinkFuture::ready(Ok(()))
    }

    fn try_send(&self, message: Message) -> Result<(), SinkError> {
        self.admit(&message)?;
        let payload = message.payload;
        self.check_size(&payload)?;
        let wake = {
            let mut queue = self.shared.lock();
            if queue.dropped || queue.closing {
                return Err(SinkError::Closed {
                    sink: self.shared.name.clone(),
                });
            }
            if queue.pending.len() >= self.capacity() {
                return Err(SinkError::BufferFull {
                    sink: self.shared.name.clone(),
                    capacity: self.capacity(),
                });
            }
            if queue.link == Link::Idle {
                self.start_writer(&mut queue, "try_send")?;
            }
            self.push(&mut queue, payload)
        };
        self.wake_writer(wake);
        Ok(())
    }

    fn flush(&self) -> SinkFuture<'_, Result<(), SinkError>> {
        let target = {
            let mut queue = self.shared.lock();
            if queue.unsettled() == 0 {
                return SinkFuture::ready(self.take_failures(&mut queue));
            }
            queue.accepted
        };
        SinkFuture::waiting(self.wait_until("flush", move |sink, queue| {
            let settled = queue.sent + queue.failed_messages;
            (settled >= target).then(|| sink.take_failures(queue))
        }))
    }

    fn is_connected(&self) -> bool {
        self.shared.lock().link == Link::Up
    }

    fn state(&self) -> ConnectionState {
        self.shared.lock().state()
    }

    fn connect(&self) -> SinkFuture<'_, Result<(), SinkError>> {
        if let Some(problem) = &self.unresolved {
            return SinkFuture::ready(Err(SinkError::InvalidConfig((**problem).clone())));
        }
        let failures_before = {
            let queue = self.shared.lock();
            if queue.link == Link::Up {
                return SinkFuture::ready(Ok(()));
            }
            queue.failures
        };
        SinkFuture::waiting(self.wait_until("connect", move |sink, queue| {
            if queue.failures != failures_before {
                return Some(Err(sink.gave_up_error(queue)));
            }
            match queue.link {
                Link::Up => Some(Ok(())),
                Link::Idle if !queue.closing => sink.start_writer(queue, "connect").err().map(Err),
                _ => None,
            }
        }))
    }

    fn disconnect(&self) -> SinkFuture<'_, Result<(), SinkError>> {
        {
            let mut queue = self.shared.lock();
            if queue.link == Link::Idle {
                return SinkFuture::ready(self.take_failures(&mut queue));
            }
            queue.closing = true;
            queue.writer_parked = false;
        }
        // A permit, should the writer not be parked yet.
        self.shared.work.notify_one();
        SinkFuture::waiting(self.wait_until("disconnect", |sink, queue| {
            (queue.link == Link::Idle).then(|| sink.take_failures(queue))
        }))
    }

    fn metadata(&self) -> SinkMetadata {
        let queue = self.shared.lock();
        SinkMetadata {
            name: self.shared.name.clone(),
            sink_type: self.shared.sink_type.to_owned(),
            endpoint: Some(self.shared.endpoint()),
            state: queue.state(),
            messages_sent: queue.sent,
            messages_failed: queue.failed_messages,
            bytes_sent: queue.bytes_sent,
            last_error: queue.last_error.clone(),
            labels: self.shared.config.metadata.clone(),
        }
    }
}

/// Sinks whose config is not complete, and the checks a message passes
/// before anything is queued or written.
impl EndpointSink {
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

    /// Refuses `message` if the sink's config is unresolved, or if its TLV
    /// type is outside the sink's `domain`; nothing is written either way.
    fn admit(&self, message: &Message) -> Result<(), SinkError> {
        if let Some(problem) = &self.unresolved {
            return Err(SinkError::InvalidConfig((**problem).clone()));
        }
        Domain::check_tlv(self.shared.config.domain, message.metadata.tlv_type).map_err(|reason| {
            SinkError::OutsideDomain {
                sink: self.shared.name.clone(),
                reason,
            }
        })
    }
}

impl Drop for EndpointSink {
    fn drop(&mut self) {
        {
            let mut queue = self.shared.lock();
            queue.dropped = true;
            queue.closing = true;
            queue.writer_parked = false;
        }
        self.shared.work.notify_one();
    }
}

impl fmt::Debug for EndpointSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointSink")
            .field("name", &self.shared.name)
            .field("type", &self.shared.sink_type)
            .field("endpoint", &self.shared.config.endpoint)
            .field("state", &self.shared.lock().state())
            .finish()
    }
}
