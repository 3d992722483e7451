//! `sinks listen`: an inbox on the command line, fed by real sinks.

use sinks::config::{Endpoint, LeafConfig};
use sinks::{EndpointSink, Message, MessageSink};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::{Listening, code, run, stderr, stdout};

fn sink_to(endpoint: &str) -> EndpointSink {
    let endpoint = Endpoint::parse_direct(endpoint).expect("the endpoint listen printed");
    EndpointSink::direct("feed", LeafConfig::new(endpoint))
}

async fn finish(listening: Listening) -> (std::process::Output, String) {
    tokio::task::spawn_blocking(move || listening.finish())
        .await
        .expect("the listener's output")
}

#[tokio::test]
async fn prints_a_tcp_sinks_messages_as_text_or_hex_and_exits_once_expected() {
    let listening = Listening::start(&["tcp://127.0.0.1:0", "--expect", "3", "--timeout", "15"]);
    assert!(listening.endpoint.starts_with("tcp://127.0.0.1:"));
    assert!(!listening.endpoint.ends_with(":0"));
    let sink = sink_to(&listening.endpoint);
    sink.send(Message::from("AAPL 189.52")).await.expect("send");
    sink.send(Message::new(vec![0u8, 1, 0xff]))
        .await
        .expect("send");
    sink.send(Message::from("tab\tstays text"))
        .await
        .expect("send");
    sink.flush().await.expect("flush");
    let (output, rest) = finish(listening).await;
    assert_eq!(code(&output), 0, "{rest}");
    assert_eq!(stdout(&output), "AAPL 189.52\n0x0001ff\ntab\tstays text\n");
    assert_eq!(rest, "");
}

#[tokio::test]
async fn counts_a_websocket_sinks_messages() {
    let listening = Listening::start(&[
        "ws://127.0.0.1:0/feed",
        "--count",
        "--expect",
        "1000",
        "--timeout",
        "15",
    ]);
    assert!(
        listening.endpoint.ends_with("/feed"),
        "{}",
        listening.endpoint
    );
    let sink = sink_to(&listening.endpoint);
    for id in 0..1000u32 {
        sink.send(Message::new(format!("message {id:02}").into_bytes()))
            .await
            .expect("send");
    }
    sink.flush().await.expect("flush");
    let (output, rest) = finish(listening).await;
    assert_eq!(code(&output), 0, "{rest}");
    // 10 messages of 10 bytes, 90 of 10, 900 of 11: 10,900 bytes.
    assert_eq!(stdout(&output), "1000 messages, 10.6 KiB\n");
}

#[tokio::test]
async fn hex_and_raw_framing_show_the_bytes_as_they_came() {
    let listening = Listening::start(&[
        "tcp://127.0.0.1:0",
        "--framing",
        "raw",
        "--hex",
        "--expect",
        "1",
        "--timeout",
        "15",
    ]);
    let address = listening.endpoint.trim_start_matches("tcp://").to_owned();
    let mut peer = TcpStream::connect(address).await.expect("connect");
    peer.write_all(b"abc").await.expect("write");
    let (output, rest) = finish(listening).await;
    assert_eq!(code(&output), 0, "{rest}");
    assert_eq!(stdout(&output), "0x616263\n");
}

#[tokio::test]
async fn a_malformed_connection_is_reported_and_listening_goes_on() {
    let listening = Listening::start(&[
        "tcp://127.0.0.1:0",
        "--max-frame-bytes",
        "4",
        "--expect",
        "1",
        "--timeout",
        "15",
    ]);
    let address = listening.endpoint.trim_start_matches("tcp://").to_owned();
    let mut bad = TcpStream::connect(&address).await.expect("connect");
    bad.write_all(&5u32.to_le_bytes()).await.expect("write");
    // The inbox closes the bad connection: the read sees its end.
    let mut scratch = [0u8; 1];
    let _ = tokio::io::AsyncReadExt::read(&mut bad, &mut scratch).await;
    let sink = sink_to(&listening.endpoint);
    sink.send(Message::from("fine")).await.expect("send");
    sink.flush().await.expect("flush");
    let (output, rest) = finish(listening).await;
    assert_eq!(code(&output), 0, "{rest}");
    assert_eq!(stdout(&output), "fine\n");
    assert!(
        rest.starts_with("error: inbox tcp://127.0.0.1:")
            && rest.contains("a frame of 5 bytes is over the maximum of 4 bytes"),
        "{rest}"
    );
}

#[test]
fn a_timeout_before_the_expected_count_exits_1() {
    let output = run(
        &[
            "listen",
            "tcp://127.0.0.1:0",
            "--expect",
            "2",
            "--timeout",
            "0.2",
        ],
        b"",
    );
    assert_eq!(code(&output), 1);
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).ends_with("error: timed out after 200ms: 0 of 2 messages arrived\n"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_endpoint_it_cannot_bind_exits_1_with_the_reason() {
    let output = run(&["listen", "tcp://127.0.0.1"], b"");
    assert_eq!(code(&output), 1);
    assert_eq!(
        stderr(&output),
        "error: key `endpoint`: cannot bind an inbox to \"tcp://127.0.0.1\": the endpoint has no port after the host \"127.0.0.1\"\n  |\n  = help: write it as `127.0.0.1:PORT`\n"
    );
}
