//! Fanout to several relays, and the proof that the payload is shared, not
//! copied per target.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::Instant;

use bytes::Bytes;
use sinks::config::{CompositePattern, LeafConfig};
use sinks::{
    CompositeSink, ConnectionState, EndpointSink, Message, MessageSink, SinkError, SinkFuture,
    SinkMetadata,
};
use tokio::runtime::Runtime;

use crate::alloc::AllocCount;
use crate::payloads::{Payload, PayloadKind, Source};
use crate::peers::{Peer, Transport};
use crate::run_task;

/// One run: `messages` sends into a fanout over `targets` relays, payloads
/// made as `kind` says. Returns the messages per second each target
/// received (all targets must have them all, timed to the last target's last
/// frame) and what sending allocated.
pub fn run(
    runtime: &Runtime,
    targets: usize,
    kind: PayloadKind,
    payload: Payload,
    messages: u64,
) -> (f64, AllocCount) {
    let expect = payload.expect(messages);
    let peers: Vec<Peer> = (0..targets)
        .map(|_| Peer::start(Transport::Unix, expect))
        .collect();
    let sinks: Vec<Arc<dyn MessageSink>> = peers
        .iter()
        .enumerate()
        .map(|(index, peer)| {
            let config = LeafConfig::new(peer.endpoint.clone());
            Arc::new(EndpointSink::relay(format!("relay_{index}"), config)) as Arc<dyn MessageSink>
        })
        .collect();
    let source = Source::new(kind, payload);
    let warm_up = payload.warm_up();
    let (start, allocated) = run_task(runtime, async move {
        let fanout = CompositeSink::new("fanout", CompositePattern::Fanout, sinks);
        fanout.connect().await.expect("connect");
        for index in 0..warm_up {
            fanout
                .send(Message::new(source.body(index)))
                .await
                .expect("send");
        }
        fanout.flush().await.expect("flush");
        let allocations = AllocCount::now();
        let start = Instant::now();
        for index in 0..messages {
            fanout
                .send(Message::new(source.nth(index, messages)))
                .await
                .expect("send");
        }
        fanout.flush().await.expect("flush");
        let allocated = allocations.since();
        fanout.disconnect().await.expect("disconnect");
        (start, allocated)
    });
    let done = peers
        .into_iter()
        .map(|peer| peer.finish().check(warm_up + messages))
        .max()
        .expect("at least one target");
    (messages as f64 / (done - start).as_secs_f64(), allocated)
}

/// Sends one message through a fanout over `targets` probe sinks and
/// returns whether every target got the very bytes that were sent (same
/// address), and how many targets there were.
pub fn payload_shared(targets: usize) -> bool {
    let probes: Vec<Arc<PointerProbe>> = (0..targets)
        .map(|_| Arc::new(PointerProbe::default()))
        .collect();
    let sinks = probes
        .iter()
        .map(|probe| Arc::clone(probe) as Arc<dyn MessageSink>)
        .collect();
    let fanout = CompositeSink::new("fanout", CompositePattern::Fanout, sinks);
    let payload = Bytes::from(vec![0xAB; 512]);
    fanout
        .try_send(Message::new(payload.clone()))
        .expect("probes accept everything");
    let sent_at = payload.as_ptr() as usize;
    probes
        .iter()
        .all(|probe| *probe.seen.lock().expect("not poisoned") == Some(sent_at))
}

/// A target that records where the payload it was given lives.
#[derive(Debug, Default)]
struct PointerProbe {
    seen: Mutex<Option<usize>>,
}

impl MessageSink for PointerProbe {
    fn send(&self, message: Message) -> SinkFuture<'_, Result<(), SinkError>> {
        SinkFuture::ready(self.try_send(message))
    }

    fn send_batch(&self, messages: Vec<Message>) -> SinkFuture<'_, Result<(), SinkError>> {
        for message in messages {
            let _ = self.try_send(message);
        }
        SinkFuture::ready(Ok(()))
    }

    fn try_send(&self, message: Message) -> Result<(), SinkError> {
        *self.seen.lock().expect("not poisoned") = Some(message.payload.as_ptr() as usize);
        Ok(())
    }

    fn flush(&self) -> SinkFuture<'_, Result<(), SinkError>> {
        SinkFuture::ready(Ok(()))
    }

    fn is_connected(&self) -> bool {
        true
    }

    fn connect(&self) -> SinkFuture<'_, Result<(), SinkError>> {
        SinkFuture::ready(Ok(()))
    }

    fn disconnect(&self) -> SinkFuture<'_, Result<(), SinkError>> {
        SinkFuture::ready(Ok(()))
    }

    fn metadata(&self) -> SinkMetadata {
        // SinkMetadata is non-exhaustive; a probe reports through its real
        // sinks' shape by asking an idle relay for one.
        let relay = EndpointSink::relay(
            "probe",
            LeafConfig::new(
                sinks::config::Endpoint::unix("/probe").expect("an absolute socket path"),
            ),
        );
        relay.metadata()
    }

    fn state(&self) -> ConnectionState {
        ConnectionState::Connected
    }
}
