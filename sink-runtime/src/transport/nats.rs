//! A `nats://` connection: core NATS publish, or JetStream publish with acks.
//!
//! The client is `async-nats`. It reconnects by itself when a server goes
//! away, with the sink's retry settings (`max_retries + 1` attempts per seed
//! server, the sink's backoff between them); while it reconnects, publishes
//! wait in its buffer and a flush waits for it. Only when it gives up does
//! [`NatsConnection::closed`] resolve, and the sink's writer then makes a new
//! client (if `lazy.auto_reconnect`) with the same policy.
//!
//! Core NATS: a batch is handed to the client, then flushed once; "written"
//! means flushed to the server's socket. NATS itself gives at most once: what
//! the server had not yet routed when it died is lost, and nothing tells us.
//!
//! JetStream (`jetstream = true`): every message is published with a
//! `Nats-Msg-Id` that the message keeps for its life (see `Queued`), at most
//! `jetstream_max_in_flight` acknowledgements awaited at once, and a message
//! counts as written only once the stream acknowledged it. When an ack fails
//! (timeout, lost connection), everything from the first unacknowledged
//! message on is published again, with the same ids: the stream drops the
//! copies it already has, so each message is stored once.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::{
    Client, ClientError, ConnectErrorKind, ConnectOptions, Event, HeaderMap, Subject, jetstream,
};
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use tokio::sync::watch;

use super::{BatchOutcome, Pending, Queued};
use crate::config::{LeafConfig, NatsAuth, NatsEndpoint, RetryPolicy};
use crate::{MessageMetadata, MessagePriority};

/// Header names for [`MessageMetadata`] (absent when unset).
pub(crate) const CORRELATION_ID_HEADER: &str = "Sinks-Correlation-Id";
/// The priority header: `low`, `high` or `critical` (absent for `normal`).
pub(crate) const PRIORITY_HEADER: &str = "Sinks-Priority";
/// Nanoseconds since the Unix epoch, when the message was stamped.
pub(crate) const TIMESTAMP_HEADER: &str = "Sinks-Timestamp-Ns";

/// How many core NATS publishes the writer makes between two yields.
///
/// Each publish spends a unit of tokio's cooperative budget, so left to the
/// budget the writer would yield every 128 publishes, and the client's task,
/// running at each yield, would write about 180 messages per syscall:
/// measured with a 64 B scratch loop, 5.4 `writev` and 14 `epoll_wait` per
/// 1,000 messages, and the sink at 0.83x a raw `async-nats` loop. Yielding
/// every 1,024 publishes instead gave 1.9 and 8.8, and 1.01x (BENCHMARKS.md,
/// "Fifth stop"). The writer still never keeps its
/// worker for long: at most 1,024 publishes (a few hundred microseconds), and
/// less whenever the client's channel is full, where it waits.
const PUBLISHES_PER_YIELD: usize = 1024;

/// An open NATS client for one sink.
pub(crate) struct NatsConnection {
    client: Client,
    subject: Subject,
    /// `Some` under `jetstream = true`.
    jetstream: Option<JetStream>,
    /// Set once, with the reason, when the client has given up (or, without
    /// `auto_reconnect`, at the first disconnect).
    lost: watch::Receiver<Option<String>>,
    /// The retry policy's pause before re-publishing unacknowledged messages.
    retry: RetryPolicy,
}

struct JetStream {
    context: jetstream::Context,
    max_in_flight: usize,
}

impl fmt::Debug for NatsConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsConnection")
            .field("subject", &self.subject)
            .field("jetstream", &self.jetstream.is_some())
            .finish()
    }
}

/// The error for a subject that no stream takes, as the issue names it.
fn no_stream(subject: &str) -> String {
    format!(
        "no JetStream stream captures subject `{subject}`; create a stream whose subjects include it \
         (e.g. `nats stream add --subjects {subject}`), or set `jetstream = false`"
    )
}

impl NatsConnection {
    /// Connects once to the seed servers (the sink's writer bounds the
    /// attempt and retries it); under JetStream, also checks that a stream
    /// captures the subject, so a wrong subject fails the first send.
    pub(crate) async fn open(
        endpoint: &NatsEndpoint,
        config: &LeafConfig,
    ) -> Result<NatsConnection, String> {
        let retry = config.retry;
        let (lost_tx, lost) = watch::channel(None);
        let lost_tx = Arc::new(lost_tx);
        let auto_reconnect = retry.auto_reconnect;
        let mut options = ConnectOptions::new()
            .connection_timeout(retry.connect_timeout)
            .request_timeout(Some(retry.connect_timeout))
            // A round of attempts goes through every seed server. Without
            // `auto_reconnect` the writer gives up at the first disconnect
            // (see the event callback); the client's one attempt is moot.
            .max_reconnects(if auto_reconnect {
                (retry.max_retries as usize + 1).saturating_mul(endpoint.servers.len().max(1))
            } else {
                1
            })
            // The first attempt (of a connect, or after a disconnect) goes at
            // once, as our own connector's does; then the sink's backoff.
            .reconnect_delay_callback(move |attempt| match attempt {
                0 | 1 => Duration::ZERO,
                retry_number => {
                    retry.delay_before_retry(u32::try_from(retry_number - 1).unwrap_or(u32::MAX))
                }
            })
            .event_callback(move |event| {
                let lost_tx = Arc::clone(&lost_tx);
                async move {
                    let reason = match event {
                        Event::ClientError(ClientError::MaxReconnects) => {
                            "reconnecting to the NATS server failed on every attempt".to_owned()
                        }
                        Event::Closed => "the NATS connection closed".to_owned(),
                        Event::Disconnected if !auto_reconnect => {
                            "the NATS server closed the connection".to_owned()
                        }
                        _ => return,
                    };
                    lost_tx.send_if_modified(|lost| {
                        lost.is_none() && {
                            *lost = Some(reason);
                            true
                        }
                    });
                }
            });
        options = match &endpoint.auth {
            Some(NatsAuth::UserPassword { user, password }) => {
                options.user_and_password(user.clone(), password.clone())
            }
            Some(NatsAuth::Token(token)) => options.token(token.clone()),
            _ => options,
        };
        let urls = endpoint.server_urls();
        let client = options
            .connect(urls.as_slice())
            .await
            .map_err(|error| connect_error(&error))?;
        let subject = interned_subject(&endpoint.subject);
        let jetstream = if config.jetstream {
            // The ack wait is the connect timeout. The client's own bound on
            // pending acks is twice ours: acks of a round given up on (see
            // `publish_round`) may hold a permit until they time out.
            let context = jetstream::ContextBuilder::new()
                .timeout(retry.connect_timeout)
                .max_ack_inflight(config.jetstream_max_in_flight.saturating_mul(2))
                .backpressure_on_inflight(true)
                .build(client.clone());
            match context.stream_by_subject(endpoint.subject.as_str()).await {
                Ok(_) => {}
                Err(error)
                    if error.kind() == jetstream::context::GetStreamByNameErrorKind::NotFound =>
                {
                    return Err(no_stream(&endpoint.subject));
                }
                Err(error) => {
                    return Err(format!(
                        "cannot look up the JetStream stream for subject `{}`: {error} \
                         (is JetStream enabled on the server?)",
                        endpoint.subject
                    ));
                }
            }
            Some(JetStream {
                context,
                max_in_flight: config.jetstream_max_in_flight,
            })
        } else {
            None
        };
        Ok(NatsConnection {
            client,
            subject,
            jetstream,
            lost,
            retry,
        })
    }

    /// Publishes `batch` in order; see the module doc for what "written" means.
    /// `progress` is told how many messages from the front are written (for
    /// JetStream: acknowledged) as that grows, so a write cut off counts them.
    ///
    /// A payload above the server's `max_payload` (which the server would
    /// answer by closing the connection) ends the batch there: the messages
    /// before it are written, it alone fails, the rest stay queued.
    pub(crate) async fn write_batch(
        &mut self,
        batch: &mut Pending,
        progress: &mut (dyn FnMut(usize, u64) + Send),
    ) -> BatchOutcome {
        // NATS payloads are never copied into frames, so every message is
        // whole, with its metadata (see `endpoint::shared`).
        let Some(messages) = (0..batch.len())
            .map(|index| batch.whole(index))
            .collect::<Option<Vec<&Queued>>>()
        else {
            return BatchOutcome {
                uncertain: batch.len(),
                error: Some(
                    "internal error: a NATS message was queued without its metadata".to_owned(),
                ),
                ..BatchOutcome::default()
            };
        };
        let max_payload = self.client.server_info().max_payload;
        let end = messages
            .iter()
            .position(|queued| queued.payload.len() > max_payload)
            .unwrap_or(messages.len());
        let too_large = messages.get(end).map(|queued| queued.payload.len());
        let mut outcome = match &self.jetstream {
            // Paced by `PUBLISHES_PER_YIELD`, not by tokio's budget.
            None => tokio::task::unconstrained(self.write_core(batch, end, progress)).await,
            Some(jetstream) => {
                let publish = Publish {
                    jetstream,
                    subject: &self.subject,
                    retry: &self.retry,
                    lost: &self.lost,
                    messages: &messages[..end],
                };
                publish.write(progress).await
            }
        };
        if let Some(size) = too_large
            && outcome.error.is_none()
        {
            outcome.uncertain = 1;
            outcome.error = Some(format!(
                "a message of {size} bytes is larger than the NATS server's max_payload of {max_payload} bytes; \
                 lower the sink's `max_message_bytes` to at most {max_payload}, or raise the server's `max_payload`"
            ));
        }
        outcome
    }

    /// Publishes the first `end` messages of `batch`, then flushes once.
    /// Each payload is moved into the client rather than cloned (cloning a
    /// `Bytes` made from a `Vec` allocates): a message handed to the client
    /// is written or failed, never published again (at most once), so its
    /// emptied place in the batch is never read.
    async fn write_core(
        &self,
        batch: &mut Pending,
        end: usize,
        progress: &mut (dyn FnMut(usize, u64) + Send),
    ) -> BatchOutcome {
        let mut outcome = BatchOutcome::default();
        let mut bytes = 0u64;
        for index in 0..end {
            let headers = batch
                .whole(index)
                .and_then(|queued| headers(&queued.metadata));
            // Every message is whole: `write_batch` checked.
            let payload = batch.take_payload(index).unwrap_or_default();
            let len = payload.len() as u64;
            let result = match headers {
                Some(headers) => {
                    self.client
                        .publish_with_headers(self.subject.clone(), headers, payload)
                        .await
                }
                None => self.client.publish(self.subject.clone(), payload).await,
            };
            if let Err(error) = result {
                // The client is gone. What it took may or may not have
                // reached the server: failed, never sent again (at most
                // once). This message too: its payload was moved out.
                outcome.uncertain = index + 1;
                outcome.error = Some(format!("publishing to NATS failed: {error}"));
                return outcome;
            }
            bytes += len;
            if (index + 1) % PUBLISHES_PER_YIELD == 0 {
                tokio::task::yield_now().await;
            }
        }
        if let Err(error) = self.client.flush().await {
            outcome.uncertain = end;
            outcome.error = Some(format!("flushing to NATS failed: {error}"));
            return outcome;
        }
        outcome.written = end;
        outcome.bytes = bytes;
        progress(outcome.written, outcome.bytes);
        outcome
    }

    /// Resolves once the client has given up reconnecting (or, without
    /// `lazy.auto_reconnect`, once it lost the server). Cancel safe.
    pub(crate) async fn closed(&mut self) -> String {
        match self.lost.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone().unwrap_or_default(),
            Err(_) => "the NATS client stopped".to_owned(),
        }
    }

    /// Flushes what the client holds and closes the connection, waiting at
    /// most the connect timeout for a server that is away.
    pub(crate) async fn shutdown(self) {
        // The connection is going away either way; a failed goodbye changes nothing.
        drop(tokio::time::timeout(self.retry.connect_timeout, self.client.drain()).await);
    }
}

/// One JetStream write: `messages` published with acks, the acknowledged
/// prefix returned as `written`.
struct Publish<'a> {
    jetstream: &'a JetStream,
    subject: &'a Subject,
    retry: &'a RetryPolicy,
    lost: &'a watch::Receiver<Option<String>>,
    messages: &'a [&'a Queued],
}

impl Publish<'_> {
    async fn write(&self, progress: &mut (dyn FnMut(usize, u64) + Send)) -> BatchOutcome {
        let mut outcome = BatchOutcome::default();
        // Consecutive rounds that failed without acknowledging anything.
        let mut fruitless_rounds = 0u32;
        loop {
            let acknowledged_before = outcome.written;
            let Some(reason) = self.round(&mut outcome, progress).await else {
                return outcome;
            };
            if outcome.written > acknowledged_before {
                fruitless_rounds = 0;
            }
            fruitless_rounds += 1;
            if fruitless_rounds > self.retry.max_retries || self.lost.borrow().is_some() {
                // Left for the writer: it reconnects (or gives up, counting
                // them failed) and the next publish of these messages keeps
                // their ids.
                outcome.error = Some(reason);
                return outcome;
            }
            tokio::time::sleep(self.retry.delay_before_retry(fruitless_rounds)).await;
        }
    }

    /// Publishes from the first unacknowledged message on, keeping up to
    /// `max_in_flight` acks pending (polled together, so their timeouts run
    /// at once), and advances `outcome.written` over the acknowledged prefix,
    /// telling `progress` each time.
    async fn round(
        &self,
        outcome: &mut BatchOutcome,
        progress: &mut (dyn FnMut(usize, u64) + Send),
    ) -> Option<String> {
        let jetstream = self.jetstream;
        let end = self.messages.len();
        let mut in_flight = FuturesOrdered::new();
        let mut next = outcome.written;
        while outcome.written < end {
            while next < end && in_flight.len() < jetstream.max_in_flight {
                let queued = self.messages[next];
                let mut publish = PublishMessage::build().payload(queued.payload.clone());
                if let Some(headers) = headers(&queued.metadata) {
                    publish = publish.headers(headers);
                }
                // Added to the metadata's headers, if any.
                let publish = publish.message_id(message_id(queued.publish_id));
                match jetstream
                    .context
                    .send_publish(self.subject.clone(), publish)
                    .await
                {
                    Ok(ack) => in_flight.push_back(std::future::IntoFuture::into_future(ack)),
                    Err(error) => return Some(format!("publishing to JetStream failed: {error}")),
                }
                next += 1;
            }
            let Some(result) = in_flight.next().await else {
                break;
            };
            match result {
                Ok(_ack) => {
                    // A duplicate ack is as good: the stream has the message.
                    outcome.bytes += self.messages[outcome.written].payload.len() as u64;
                    outcome.written += 1;
                    progress(outcome.written, outcome.bytes);
                }
                // `open` found a stream for the subject, so "no responders" is
                // a stream being deleted or a cluster electing its leader: worth
                // retrying. If the stream is gone, reconnecting says so.
                Err(error) if error.kind() == PublishErrorKind::StreamNotFound => {
                    return Some(format!(
                        "no JetStream stream answered for subject `{}` (no responders)",
                        self.subject.as_str()
                    ));
                }
                Err(error) => {
                    return Some(format!("JetStream did not acknowledge a publish: {error}"));
                }
            }
        }
        // Pending acks, if any, are dropped with `in_flight`: their messages
        // are published again, with the same ids, in the next round.
        None
    }
}

/// The subject as a `Subject` that costs no reference count to clone.
///
/// Every publish hands the client its own `Subject`. One made from a
/// `String` is a shared `Bytes`: each clone and drop is an atomic operation
/// on one counter, taken by the writer and dropped by the client's task on
/// the other worker, and that cache line moving between CPUs cost a core NATS
/// sink about a tenth of its rate at 64 B. A `&'static str` subject is free to
/// clone, so each distinct subject is kept once, for the life of the process
/// (a few bytes each: subjects come from the configuration, not from data).
fn interned_subject(subject: &str) -> Subject {
    static SUBJECTS: std::sync::Mutex<BTreeSet<&'static str>> =
        std::sync::Mutex::new(BTreeSet::new());
    // A panic elsewhere while holding the lock leaves the set whole.
    let mut subjects = SUBJECTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let interned = match subjects.get(subject) {
        Some(interned) => *interned,
        None => {
            let interned: &'static str = Box::leak(subject.to_owned().into_boxed_str());
            subjects.insert(interned);
            interned
        }
    };
    Subject::from_static(interned)
}

/// The process's id: a random NUID, so that ids from two runs of a service
/// (or two processes) never collide within the stream's duplicate window.
fn process_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| nuid::next().to_string())
}

/// The `Nats-Msg-Id` of the message with `publish_id`.
fn message_id(publish_id: u64) -> String {
    format!("{}-{publish_id}", process_id())
}

/// The metadata as headers; `None` when nothing is set, so a plain message
/// costs no header block.
fn headers(metadata: &MessageMetadata) -> Option<HeaderMap> {
    let priority = (metadata.priority != MessagePriority::Normal).then_some(metadata.priority);
    if metadata.correlation_id.is_none() && priority.is_none() && metadata.timestamp_ns == 0 {
        return None;
    }
    let mut headers = HeaderMap::new();
    if let Some(correlation_id) = metadata.correlation_id {
        headers.insert(CORRELATION_ID_HEADER, correlation_id.to_string().as_str());
    }
    if let Some(priority) = priority {
        headers.insert(PRIORITY_HEADER, priority_name(priority));
    }
    if metadata.timestamp_ns != 0 {
        headers.insert(TIMESTAMP_HEADER, metadata.timestamp_ns.to_string().as_str());
    }
    Some(headers)
}

fn priority_name(priority: MessagePriority) -> &'static str {
    match priority {
        MessagePriority::Low => "low",
        MessagePriority::Normal => "normal",
        MessagePriority::High => "high",
        MessagePriority::Critical => "critical",
    }
}

/// A connect error in words that say what to check.
fn connect_error(error: &async_nats::ConnectError) -> String {
    match error.kind() {
        ConnectErrorKind::AuthorizationViolation => {
            "the NATS server rejected the credentials (authorization violation); check the `user:password@` or `token@` of the endpoint".to_owned()
        }
        ConnectErrorKind::Dns => format!("cannot resolve the NATS server's host: {error}"),
        ConnectErrorKind::TimedOut => format!("connecting to the NATS server timed out: {error}"),
        _ => format!("cannot connect to the NATS server: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::interned_subject;

    #[test]
    fn a_subject_is_interned_once_and_kept_apart_from_others() {
        let first = interned_subject("orders.interned");
        let again = interned_subject(&String::from("orders.interned"));
        let other = interned_subject("fills.interned");
        assert_eq!(first.as_str(), "orders.interned");
        assert_eq!(other.as_str(), "fills.interned");
        // One allocation per distinct subject, however many connections open it.
        assert!(std::ptr::eq(first.as_str(), again.as_str()));
        assert!(!std::ptr::eq(first.as_str(), other.as_str()));
    }
}
