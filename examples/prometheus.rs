//! The `metrics` feature's counters and gauges in Prometheus' text format,
//! through `metrics-exporter-prometheus`.
//!
//! Run it with `cargo run --example prometheus --features metrics`; it
//! needs nothing else running. It starts a local TCP listener, sends to it
//! through one sink and to a port nothing listens on through another, and
//! prints what a Prometheus scrape would get.
//!
//! Install the recorder before building any sink: a sink registers its
//! metrics (label `sink`, the service name) when it is built. A real service
//! serves the same text over HTTP: turn on the exporter's `http-listener`
//! feature and call `PrometheusBuilder::new().with_http_listener(address).install()`
//! instead of `install_recorder()`.

use std::time::Duration;

use metrics_exporter_prometheus::PrometheusBuilder;
use sinks::config::{Endpoint, LeafConfig, RetryPolicy};
use sinks::{EndpointSink, Message, MessageSink};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // First: sinks built before this would report to no recorder.
    let prometheus = PrometheusBuilder::new().install_recorder()?;

    // A peer that reads and discards everything.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let live_address = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 64 * 1024];
                while matches!(stream.read(&mut buffer).await, Ok(read) if read > 0) {}
            });
        }
    });
    // A port nothing listens on: bind one, note it, let it go.
    let dead_address = TcpListener::bind("127.0.0.1:0").await?.local_addr()?;

    let quick = RetryPolicy::default()
        .with_max_retries(1)
        .with_retry_delay(Duration::from_millis(10))
        .with_connect_timeout(Duration::from_millis(300));
    let endpoint = |address| Endpoint::parse_direct(&format!("tcp://{address}"));
    let ticks = EndpointSink::direct(
        "ticks",
        LeafConfig::new(endpoint(live_address)?).with_retry(quick),
    );
    let audit = EndpointSink::direct(
        "audit",
        LeafConfig::new(endpoint(dead_address)?).with_retry(quick),
    );

    for index in 0..100 {
        ticks.send(Message::from(format!("tick {index}"))).await?;
    }
    ticks.flush().await?;
    // `try_send` queues behind the connect, which gives up: 3 failed messages.
    for index in 0..3 {
        audit.try_send(Message::from(format!("audit {index}")))?;
    }
    if let Err(error) = audit.flush().await {
        println!("audit: {error}");
    }

    println!("{}", prometheus.render());
    ticks.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}
