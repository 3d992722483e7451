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
use crate::peers::{Expect, Peer, Transport};
use crate::run_task;
use crate::throughput::{Payload, WARM_UP};

/// One run: `messages` sends into a fanout over `targets` relays. Returns the
/// messages per second each target received (all targets must have them all,
/// timed to the last target's last frame) and what sending allocated.
pub fn run(
    runtime: &Runtime,
    targets: usize,
    payload: &Bytes,
    last: &'static [u8],
    messages: u64,
) -> (f64, AllocCount) {
    let expect = Expect {
        frames: WARM_UP + messages,
        payload_len: payload.len(),
        last: Some(last),
    };
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
    let payload = payload.clone();
    let (start, allocated) = run_task(runtime, async move {
        let fanout = CompositeSink::new("fanout", CompositePattern::Fanout, sinks);
        fanout.connect().await.expect("connect");
        for _ in 0..WARM_UP {
            fanout
                .send(Message::new(payload.clone()))
                .await
                .expect("send");
        }
        fanout.flush().await.expect("flush");
        let allocations = AllocCount::now();
        let start = Instant::now();
        for _ in 1..messages {
            // A refcount increment: `payload` is one heap buffer, shared.
            fanout
                .send(Message::new(payload.clone()))
                .await
                .expect("send");
        }
        let last = Message::new(Bytes::from_static(last));
        fanout.send(last).await.expect("send");
        fanout.flush().await.expect("flush");
        let allocated = allocations.since();
        fanout.disconnect().await.expect("disconnect");
        (start, allocated)
    });
    let done = peers
        .into_iter()
        .map(|peer| peer.finish().check(WARM_UP + messages))
        .max()
        .expect("at least one target");
    (messages as f64 / (done - start).as_secs_f64(), allocated)
}

/// A heap-allocated payload (so a copy would show in the allocation count),
/// with the same bytes as `payload.body`.
pub fn heap_payload(payload: Payload) -> Bytes {
    Bytes::from(payload.body.to_vec())
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
            LeafConfig::new(sinks::config::Endpoint::Unix("/probe".into())),
        );
        relay.metadata()
    }

    fn state(&self) -> ConnectionState {
        ConnectionState::Connected
    }
}
