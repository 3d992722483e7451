//! `sinks listen ENDPOINT`: an `Inbox` that prints or counts what arrives.

use std::pin::pin;
use std::time::Duration;

use bytes::Bytes;
use sinks::config::Framing;
use sinks::{Inbox, InboxOptions};

use crate::Verdict;
use crate::cli::{FramingArg, ListenArgs};
use crate::report::{self, Progress, human_bytes};

/// Why listening stopped.
enum End {
    /// `--expect N` reached.
    Expected,
    /// `--timeout` passed.
    TimedOut(Duration),
    /// Ctrl-C.
    Interrupted,
    /// The inbox can receive nothing more (it reported why).
    InboxFailed,
}

pub(crate) async fn run(args: &ListenArgs) -> Verdict {
    let framing = match args.framing {
        FramingArg::LengthPrefixed => Framing::LengthPrefixed,
        FramingArg::Raw => Framing::Raw,
    };
    let options = InboxOptions::new()
        .framing(framing)
        .max_frame_bytes(args.max_frame_bytes);
    let mut inbox = match Inbox::bind_with(&args.endpoint, options).await {
        Ok(inbox) => inbox,
        Err(error) => {
            report::sink_error(&error);
            return Verdict::Failure;
        }
    };
    // On stderr, so stdout holds only messages; with port 0 this is how a
    // caller learns the port.
    anstream::eprintln!("listening on {}", inbox.local_endpoint());

    let mut progress = Progress::new();
    let (mut count, mut bytes) = (0u64, 0u64);
    let mut timeout = pin!(async {
        match args.timeout {
            Some(after) => tokio::time::sleep(after).await,
            None => std::future::pending().await,
        }
    });
    let mut interrupt = pin!(tokio::signal::ctrl_c());
    // Redraws the rate line while nothing arrives, so it falls to 0 msg/s.
    let mut redraw = tokio::time::interval(Progress::INTERVAL);
    let end = loop {
        if args.expect.is_some_and(|expected| count >= expected) {
            break End::Expected;
        }
        let item = tokio::select! {
            item = inbox.recv() => item,
            () = &mut timeout => break End::TimedOut(args.timeout.unwrap_or_default()),
            _ = &mut interrupt => break End::Interrupted,
            _ = redraw.tick(), if args.count => {
                progress.update("received", count, bytes);
                continue;
            }
        };
        match item {
            Some(Ok(payload)) => {
                count += 1;
                bytes += payload.len() as u64;
                if args.count {
                    progress.update("received", count, bytes);
                } else {
                    anstream::println!("{}", printable(&payload, args.hex));
                }
            }
            Some(Err(error)) => {
                progress.finish();
                report::error(&error.to_string(), None);
            }
            None => break End::InboxFailed,
        }
    };
    progress.finish();
    if args.count {
        anstream::println!("{count} messages, {}", human_bytes(bytes));
    }
    match (end, args.expect) {
        (End::Expected, _) => Verdict::Success,
        (End::TimedOut(after), Some(expected)) => {
            report::error(
                &format!("timed out after {after:?}: {count} of {expected} messages arrived"),
                None,
            );
            Verdict::Failure
        }
        (End::Interrupted, Some(expected)) => {
            report::error(
                &format!("interrupted: {count} of {expected} messages arrived"),
                None,
            );
            Verdict::Failure
        }
        (End::TimedOut(_) | End::Interrupted, None) => Verdict::Success,
        (End::InboxFailed, _) => Verdict::Failure,
    }
}

/// The message as one line: as it is when it is text without control
/// characters (tabs aside), otherwise (or with `--hex`) `0x` and its bytes in hex.
fn printable(payload: &Bytes, force_hex: bool) -> String {
    if !force_hex {
        if let Ok(text) = std::str::from_utf8(payload) {
            if !text.chars().any(|c| c.is_control() && c != '\t') {
                return text.to_owned();
            }
        }
    }
    let mut hex = String::with_capacity(2 + payload.len() * 2);
    hex.push_str("0x");
    for byte in payload.iter() {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}
