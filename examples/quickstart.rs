//! The quickstart: `include_sinks!` on `examples/services.toml`, an
//! `Inbox` (the receiving end of the wire format) on each of its endpoints,
//! a few sends through typed accessors, and what each inbox received.
//!
//! Run it with `cargo run --example quickstart`; it needs nothing else running.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sinks::{Inbox, Message, MessageSink};

// Reads and validates the config while this example compiles: a typo in
// services.toml is a compile error here, not a failure at start-up.
sinks::include_sinks!("examples/services.toml");

/// What each listener received, by service name.
type Received = Arc<Mutex<BTreeMap<&'static str, Vec<String>>>>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let received: Received = Arc::default();
    start_listeners(&received).await?;

    // No I/O yet: every sink connects on its first send.
    let sinks = Sinks::new();
    println!("services: {}", Sinks::SERVICES.join(", "));

    sinks
        .market_data_relay()
        .send(Message::from("AAPL 189.52"))
        .await?;
    sinks
        .polygon_strategy()
        .send(Message::from("signal: buy 100 AAPL"))
        .await?;
    // A fanout: the relay and the dashboard each get the message.
    sinks
        .broadcast_all()
        .send(Message::from("market open"))
        .await?;
    // A failover: polygon_strategy is up, so it gets it; backup_strategy does not.
    sinks
        .failover_group()
        .send(Message::from("order 42"))
        .await?;
    sinks.flush_all().await?;

    // slow_service was never sent to, so it never connected.
    println!(
        "slow_service connected: {}",
        sinks.slow_service().is_connected()
    );

    let expected = 5;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while count(&received) < expected && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for (listener, messages) in received.lock().expect("listener lock").iter() {
        println!("{listener} received {messages:?}");
    }
    sinks.disconnect_all().await?;
    if count(&received) != expected {
        return Err(format!(
            "expected {expected} messages, received {}",
            count(&received)
        )
        .into());
    }
    Ok(())
}

fn count(received: &Received) -> usize {
    received
        .lock()
        .expect("listener lock")
        .values()
        .map(Vec::len)
        .sum()
}

/// An [`Inbox`] on every endpoint in services.toml except slow_service's,
/// each recording what arrives under its service's name.
async fn start_listeners(received: &Received) -> Result<(), sinks::SinkError> {
    std::fs::create_dir_all("/tmp/sinks-quickstart")?;
    for (name, endpoint) in [
        (
            "market_data_relay",
            "unix:///tmp/sinks-quickstart/market_data_relay.sock",
        ),
        (
            "backup_strategy",
            "unix:///tmp/sinks-quickstart/backup_strategy.sock",
        ),
        ("polygon_strategy", "tcp://127.0.0.1:19001"),
        ("dashboard", "ws://127.0.0.1:18080/ws"),
    ] {
        // The same wire format the sinks write: length-prefixed frames on
        // Unix and TCP, one binary frame per message on WebSocket.
        let mut inbox = Inbox::bind(endpoint).await?;
        let received = Arc::clone(received);
        tokio::spawn(async move {
            while let Some(item) = inbox.recv().await {
                match item {
                    Ok(payload) => record(&received, name, &payload),
                    Err(error) => eprintln!("{name}: {error}"),
                }
            }
        });
    }
    Ok(())
}

fn record(received: &Received, name: &'static str, payload: &[u8]) {
    let text = String::from_utf8_lossy(payload).into_owned();
    received
        .lock()
        .expect("listener lock")
        .entry(name)
        .or_default()
        .push(text);
}
