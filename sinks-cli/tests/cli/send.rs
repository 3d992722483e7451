//! `sinks send`: stdin lines or a file through a service, into real inboxes.

use sinks::Inbox;

use crate::support::{TempConfig, code, run, stderr, stdout};

fn direct(name: &str, endpoint: &str) -> String {
    format!("[services.{name}]\ntype = \"direct\"\nendpoint = \"{endpoint}\"\n\n")
}

async fn received(inbox: &mut Inbox, count: usize) -> Vec<Vec<u8>> {
    let mut messages = Vec::new();
    while messages.len() < count {
        let item = tokio::time::timeout(crate::support::BOUND, inbox.recv())
            .await
            .expect("a message within the bound");
        match item {
            Some(Ok(payload)) => messages.push(payload.to_vec()),
            other => panic!("expected a message, got {other:?}"),
        }
    }
    messages
}

async fn send(args: Vec<String>, stdin: &'static [u8]) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args, stdin)
    })
    .await
    .expect("sinks send ran")
}

#[tokio::test]
async fn sends_each_stdin_line_as_a_message() {
    let mut inbox = Inbox::bind("tcp://127.0.0.1:0").await.expect("bind");
    let config = TempConfig::new(&direct("feed", &inbox.local_endpoint()));
    let output = send(
        vec!["send".into(), config.path(), "feed".into()],
        b"one\ntwo\r\n\nthree",
    )
    .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output), "sent 4 messages (11 B) through `feed`\n");
    let messages = received(&mut inbox, 4).await;
    assert_eq!(messages, [&b"one"[..], b"two", b"", b"three"]);
}

#[tokio::test]
async fn sends_a_files_bytes_as_one_message_over_websocket() {
    let mut inbox = Inbox::bind("ws://127.0.0.1:0/in").await.expect("bind");
    let config = TempConfig::new(&direct("feed", &inbox.local_endpoint()));
    let payload: Vec<u8> = (0..200_000u32).map(|index| (index % 251) as u8).collect();
    let file = config.sibling("payload.bin");
    std::fs::write(&file, &payload).expect("write the payload");
    let output = send(
        vec![
            "send".into(),
            config.path(),
            "feed".into(),
            "--file".into(),
            file.display().to_string(),
        ],
        b"",
    )
    .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "sent 1 message (195.3 KiB) through `feed`\n"
    );
    assert_eq!(received(&mut inbox, 1).await, [payload]);
}

#[tokio::test]
async fn a_fanout_reaches_every_target() {
    let mut first = Inbox::bind("tcp://127.0.0.1:0").await.expect("bind");
    let mut second = Inbox::bind("ws://127.0.0.1:0/").await.expect("bind");
    let config = TempConfig::new(&format!(
        "{}{}[services.both]\ntype = \"composite\"\npattern = \"fanout\"\ntargets = [\"first\", \"second\"]\n",
        direct("first", &first.local_endpoint()),
        direct("second", &second.local_endpoint()),
    ));
    let output = send(vec!["send".into(), config.path(), "both".into()], b"tick\n").await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(received(&mut first, 1).await, [b"tick"]);
    assert_eq!(received(&mut second, 1).await, [b"tick"]);
}

#[test]
fn an_unknown_service_exits_1_with_a_suggestion() {
    let config = TempConfig::new(&direct("feed", "tcp://127.0.0.1:9")); // never connected
    let output = run(&["send", &config.path(), "fed"], b"x\n");
    assert_eq!(code(&output), 1);
    assert_eq!(
        stderr(&output),
        "error: service `fed` is not defined\n  |\n  = help: did you mean `feed`?\n"
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_exits_1_saying_why() {
    // Bound and dropped: nothing listens there, connecting is refused.
    let address = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
        .local_addr()
        .expect("address");
    let config = TempConfig::new(&format!(
        "{}\nmax_retries = 0\n",
        direct("feed", &format!("tcp://{address}")).trim_end()
    ));
    let output = send(vec!["send".into(), config.path(), "feed".into()], b"lost\n").await;
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).starts_with(&format!(
            "error: sink `feed`: cannot connect to tcp://{address} after 1 attempt(s): Connection refused"
        )),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_invalid_config_gets_the_diagnostics() {
    let output = run(&["send", "tests/ui/unknown-key.toml", "a"], b"x\n");
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains(" --> tests/ui/unknown-key.toml:3:1"),
        "{}",
        stderr(&output)
    );
}
