//! Plain messages on stderr in rustc's form (`error: ...`, `help: ...`),
//! and the live progress line. Colour and the progress line only on a
//! terminal: anstream strips the styles elsewhere (and honours `NO_COLOR`).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use annotate_snippets::{Group, Level, Renderer};
use sinks::SinkError;

/// Prints `error: {message}` (and `help: {help}`) on stderr.
pub(crate) fn error(message: &str, help: Option<&str>) {
    let mut group = Group::with_title(Level::ERROR.primary_title(message));
    if let Some(help) = help {
        group = group.element(Level::HELP.message(help));
    }
    anstream::eprintln!("{}", Renderer::styled().render(&[group]));
}

/// A sink error on stderr: each config problem as its own `error:` with
/// its `help:`, anything else as one line.
pub(crate) fn sink_error(error: &SinkError) {
    match error {
        SinkError::InvalidConfig(errors) => {
            for problem in errors {
                self::error(&crate::diagnostics::title(problem), problem.help.as_deref());
            }
        }
        other => self::error(&other.to_string(), None),
    }
}

/// A line on stderr rewritten in place at most every 250 ms, only when
/// stderr is a terminal (a log gets the final summary on stdout instead).
#[derive(Debug)]
pub(crate) struct Progress {
    enabled: bool,
    started: Instant,
    /// When the line was last drawn, and the count it showed.
    last_drawn: Option<(Instant, u64)>,
}

impl Progress {
    /// How often the line is redrawn at most.
    pub(crate) const INTERVAL: Duration = Duration::from_millis(250);

    pub(crate) fn new() -> Progress {
        Progress {
            enabled: std::io::stderr().is_terminal(),
            started: Instant::now(),
            last_drawn: None,
        }
    }

    /// Redraws the line with `count` items and `bytes` so far, if it is time to.
    pub(crate) fn update(&mut self, what: &str, count: u64, bytes: u64) {
        if !self.enabled
            || self
                .last_drawn
                .is_some_and(|(drawn, _)| drawn.elapsed() < Self::INTERVAL)
        {
            return;
        }
        // The rate since the last redraw, so it shows the current pace.
        let (since, counted) = self.last_drawn.unwrap_or((self.started, 0));
        let seconds = since.elapsed().as_secs_f64().max(0.001);
        let rate = count.saturating_sub(counted) as f64 / seconds;
        self.last_drawn = Some((Instant::now(), count));
        let mut stderr = std::io::stderr().lock();
        // A progress line that cannot be drawn is not worth failing over.
        let _ = write!(
            stderr,
            "\r\x1b[2K{what} {count} messages, {}, {rate:.0} msg/s",
            human_bytes(bytes),
        );
        let _ = stderr.flush();
    }

    /// Clears the line before other output.
    pub(crate) fn finish(&mut self) {
        if self.enabled && self.last_drawn.is_some() {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}

/// `512 B`, `1.5 KiB`, `3.2 MiB`.
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
