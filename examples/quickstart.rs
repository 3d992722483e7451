//! The quickstart: `include_sinks!` on `examples/services.toml`, local
//! listeners for its endpoints, a few sends through typed accessors, and
//! what each listener received.
//!
//! Run it with `cargo run --example quickstart`; it needs nothing else running.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use sinks::{Message, MessageSink};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, UnixListener};

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

/// A listener for every endpoint in services.toml except slow_service.
async fn start_listeners(received: &Received) -> std::io::Result<()> {
    let dir = std::path::Path::new("/tmp/sinks-quickstart");
    std::fs::create_dir_all(dir)?;
    for (name, file) in [
        ("market_data_relay", "market_data_relay.sock"),
        ("backup_strategy", "backup_strategy.sock"),
    ] {
        let path = dir.join(file);
        // A socket file left by an earlier run would make bind fail.
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)?;
        let received = Arc::clone(received);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(read_frames(name, stream, Arc::clone(&received)));
            }
        });
    }

    let tcp = TcpListener::bind("127.0.0.1:19001").await?;
    let received_tcp = Arc::clone(received);
    tokio::spawn(async move {
        while let Ok((stream, _)) = tcp.accept().await {
            tokio::spawn(read_frames(
                "polygon_strategy",
                stream,
                Arc::clone(&received_tcp),
            ));
        }
    });

    let ws = TcpListener::bind("127.0.0.1:18080").await?;
    let received_ws = Arc::clone(received);
    tokio::spawn(async move {
        while let Ok((stream, _)) = ws.accept().await {
            let received = Arc::clone(&received_ws);
            tokio::spawn(async move {
                let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                while let Some(Ok(message)) = socket.next().await {
                    if message.is_binary() {
                        record(&received, "dashboard", &message.into_data());
                    }
                }
            });
        }
    });
    Ok(())
}

/// Reads length-prefixed frames: a u32 little-endian length, then the payload.
async fn read_frames(name: &'static str, mut stream: impl AsyncRead + Unpin, received: Received) {
    let mut length = [0u8; 4];
    while stream.read_exact(&mut length).await.is_ok() {
        let mut payload = vec![0u8; u32::from_le_bytes(length) as usize];
        if stream.read_exact(&mut payload).await.is_err() {
            return;
        }
        record(&received, name, &payload);
    }
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
