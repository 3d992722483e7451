//! `sinks send FILE SERVICE`: stdin lines (or one file's bytes) through a
//! service built by `SinkFactory`, flushed, then disconnected.

use std::sync::Arc;

use sinks::{Message, MessageSink, SinkError, SinkFactory};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::Verdict;
use crate::check::show_rejected;
use crate::cli::SendArgs;
use crate::diagnostics;
use crate::report::{self, Progress, human_bytes};

pub(crate) async fn run(args: &SendArgs) -> Verdict {
    let config = match diagnostics::load_deployed(&args.file, &args.deploy) {
        Ok(config) => config,
        Err(rejected) => {
            show_rejected(&rejected);
            return Verdict::Failure;
        }
    };
    let factory = SinkFactory::from_services(config);
    let sink = match factory.create_sink(&args.service).await {
        Ok(sink) => sink,
        Err(error) => {
            report::sink_error(&error);
            return Verdict::Failure;
        }
    };
    let mut progress = Progress::new();
    let sent = match &args.payload_file {
        Some(path) => match tokio::fs::read(path).await {
            Ok(payload) => {
                let bytes = payload.len() as u64;
                sink.send(Message::new(payload)).await.map(|()| (1, bytes))
            }
            Err(error) => {
                report::error(&format!("cannot read {}: {error}", path.display()), None);
                return Verdict::Failure;
            }
        },
        None => send_lines(&sink, &mut progress).await,
    };
    progress.finish();
    // Flush even after a failed send: what was accepted still goes out.
    let flushed = sink.flush().await;
    // A clean goodbye (a WebSocket close frame) rather than a dropped socket.
    let _ = sink.disconnect().await;
    match (sent, flushed) {
        (Ok((messages, bytes)), Ok(())) => {
            anstream::println!(
                "sent {messages} message{} ({}) through `{}`",
                if messages == 1 { "" } else { "s" },
                human_bytes(bytes),
                args.service
            );
            Verdict::Success
        }
        (Err(error), _) | (_, Err(error)) => {
            report::sink_error(&error);
            Verdict::Failure
        }
    }
}

/// Sends each stdin line (without its `\n` or `\r\n`) as one message; the
/// count and bytes sent, or the first error.
async fn send_lines(
    sink: &Arc<dyn MessageSink>,
    progress: &mut Progress,
) -> Result<(u64, u64), SinkError> {
    let mut stdin = BufReader::new(tokio::io::stdin());
    let (mut messages, mut bytes) = (0u64, 0u64);
    let mut line = Vec::new();
    loop {
        line.clear();
        if stdin.read_until(b'\n', &mut line).await? == 0 {
            return Ok((messages, bytes));
        }
        if line.ends_with(b"\n") {
            line.pop();
            if line.ends_with(b"\r") {
                line.pop();
            }
        }
        bytes += line.len() as u64;
        sink.send(Message::new(line.clone())).await?;
        messages += 1;
        progress.update("sent", messages, bytes);
    }
}
