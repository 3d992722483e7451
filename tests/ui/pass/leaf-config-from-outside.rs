// What a user crate can do with a `LeafConfig` and its endpoint: parse,
// match every variant, read through the getters, build through the setters.
use std::time::Duration;

use sinks::config::{Endpoint, Framing, LeafConfig, RetryPolicy};

fn describe(endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::Unix(path) => format!("unix {}", path.display()),
        Endpoint::Tcp { host, port, .. } => format!("tcp {host} {port}"),
        Endpoint::WebSocket(ws) => format!("ws {} {} {}", ws.host, ws.port, ws.path),
        Endpoint::Nats(nats) => format!("nats {}", nats.subject),
        _ => "other".to_owned(),
    }
}

fn main() {
    let tcp: Endpoint = "tcp://127.0.0.1:9000".parse().unwrap();
    assert_eq!(describe(&tcp), "tcp 127.0.0.1 9000");
    let unix = Endpoint::unix("/tmp/relay.sock").unwrap();
    assert_eq!(describe(&unix), "unix /tmp/relay.sock");
    let ws: Endpoint = "ws://127.0.0.1:8080/feed".parse().unwrap();
    assert_eq!(describe(&ws), "ws 127.0.0.1 8080 /feed");
    let nats: Endpoint = "nats://127.0.0.1/orders.new".parse().unwrap();
    assert_eq!(describe(&nats), "nats orders.new");

    let retry = RetryPolicy::default()
        .with_max_retries(2)
        .with_wait_timeout(Duration::from_secs(1));
    let leaf = LeafConfig::new(tcp)
        .with_buffer_size(64)
        .with_framing(Framing::Raw)
        .unwrap()
        .with_retry(retry)
        .with_metadata("team", "pricing");
    assert_eq!(leaf.buffer_size(), 64);
    assert_eq!(leaf.framing(), Framing::Raw);
    assert_eq!(leaf.retry().max_retries(), 2);
    assert_eq!(leaf.metadata(), [("team".to_owned(), "pricing".to_owned())]);
    assert!(LeafConfig::new(ws).with_framing(Framing::Raw).is_err());
}
