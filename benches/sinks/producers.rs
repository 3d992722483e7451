//! Several tasks sending through one relay sink.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use sinks::config::LeafConfig;
use sinks::{EndpointSink, Message, MessageSink};
use tokio::runtime::Runtime;

use crate::peers::{Expect, Peer, Transport};
use crate::run_task;
use crate::throughput::{Payload, WARM_UP};

/// One run: `producers` tasks share `messages` sends into one relay; returns
/// the total messages per second, first send to last frame received.
/// Producers interleave, so the receiver checks the count and every frame's
/// length rather than which payload came last.
pub fn run(runtime: &Runtime, producers: u64, payload: Payload, messages: u64) -> f64 {
    let per_producer = messages / producers;
    let total = per_producer * producers;
    let peer = Peer::start(
        Transport::Unix,
        Expect {
            frames: WARM_UP + total,
            payload_len: payload.len(),
            last: None,
        },
    );
    let sink = Arc::new(EndpointSink::relay(
        "bench",
        LeafConfig::new(peer.endpoint.clone()),
    ));
    let start = run_task(runtime, async move {
        sink.connect().await.expect("connect");
        for _ in 0..WARM_UP {
            let message = Message::new(Bytes::from_static(payload.body));
            sink.send(message).await.expect("send");
        }
        sink.flush().await.expect("flush");
        let start = Instant::now();
        let tasks: Vec<_> = (0..producers)
            .map(|_| {
                let sink = Arc::clone(&sink);
                tokio::spawn(async move {
                    for _ in 0..per_producer {
                        let message = Message::new(Bytes::from_static(payload.body));
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
    let done = peer.finish().check(WARM_UP + total);
    total as f64 / (done - start).as_secs_f64()
}
