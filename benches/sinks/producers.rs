//! Several tasks sending through one relay sink.

use std::sync::Arc;
use std::time::Instant;

use sinks::config::LeafConfig;
use sinks::{EndpointSink, Message, MessageSink};
use tokio::runtime::Runtime;

use crate::payloads::{Payload, PayloadKind, Source};
use crate::peers::{Expect, Peer, Transport};
use crate::run_task;

/// One run: `producers` tasks share `messages` sends into one relay, each
/// with its own payload source of `kind` (made before the clock starts);
/// returns the total messages per second, first send to last frame received.
/// Producers interleave, so the receiver checks the count and every frame's
/// length rather than which payload came last.
pub fn run(
    runtime: &Runtime,
    producers: u64,
    kind: PayloadKind,
    payload: Payload,
    messages: u64,
) -> f64 {
    let per_producer = messages / producers;
    let total = per_producer * producers;
    let warm_up = payload.warm_up();
    let peer = Peer::start(
        Transport::Unix,
        Expect {
            frames: warm_up + total,
            payload_len: payload.len(),
            last: None,
        },
    );
    let sink = Arc::new(EndpointSink::relay(
        "bench",
        LeafConfig::new(peer.endpoint.clone()),
    ));
    let sources: Vec<Source> = (0..producers).map(|_| Source::new(kind, payload)).collect();
    let start = run_task(runtime, async move {
        sink.connect().await.expect("connect");
        for index in 0..warm_up {
            let message = Message::new(sources[0].body(index));
            sink.send(message).await.expect("send");
        }
        sink.flush().await.expect("flush");
        let start = Instant::now();
        let tasks: Vec<_> = sources
            .into_iter()
            .map(|source| {
                let sink = Arc::clone(&sink);
                tokio::spawn(async move {
                    for index in 0..per_producer {
                        let message = Message::new(source.body(index));
                        sink.send(message).await.expect("send");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("a producer panicked");
        }
        sink.flush().await.expect("flush");
        sink.disconnect().await.expect("disconnect");
        start
    });
    let done = peer.finish().check(warm_up + total);
    total as f64 / (done - start).as_secs_f64()
}
