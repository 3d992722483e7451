//! Warm-up, repeated runs, medians, and the table the bench prints.

use std::fmt::Write as _;

/// How long to run: the full run, or `SINKS_BENCH_QUICK=1` for a smoke run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub quick: bool,
    /// Timed runs per figure (after one untimed warm-up run).
    pub runs: usize,
    /// `SINKS_BENCH_ONLY`: the sections to run; all when unset.
    pub only: Option<String>,
}

impl Settings {
    pub fn from_env() -> Settings {
        let quick = std::env::var("SINKS_BENCH_QUICK").is_ok_and(|value| value != "0");
        Settings {
            quick,
            runs: if quick { 3 } else { 7 },
            only: std::env::var("SINKS_BENCH_ONLY").ok(),
        }
    }

    /// Whether the section named `name` runs.
    pub fn runs_section(&self, name: &str) -> bool {
        self.only
            .as_deref()
            .is_none_or(|only| only.split(',').any(|section| section.trim() == name))
    }

    /// `full` in a full run, a tenth of it (at least 1,000) in a quick run.
    pub fn count(&self, full: u64) -> u64 {
        if self.quick {
            (full / 10).max(1_000)
        } else {
            full
        }
    }
}

/// The median of several runs, with the spread as a noise indication.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Measured {
    /// (max - min) / median, in percent.
    pub fn spread_percent(&self) -> f64 {
        if self.median == 0.0 {
            return 0.0;
        }
        (self.max - self.min) / self.median * 100.0
    }
}

impl Measured {
    fn of(mut values: Vec<f64>) -> Measured {
        values.sort_by(f64::total_cmp);
        Measured {
            median: values[values.len() / 2],
            min: values[0],
            max: values[values.len() - 1],
        }
    }
}

/// Runs `run` once to warm up, then `settings.runs` times, and takes the median.
pub fn measure(settings: &Settings, mut run: impl FnMut() -> f64) -> Measured {
    run();
    Measured::of((0..settings.runs).map(|_| run()).collect())
}

/// Figures to compare with each other: each runs once to warm up, then
/// `settings.runs` rounds in which every one runs once in turn, and each
/// gets the median of its runs. Interleaved rather than one figure after the
/// other, so that load drifting on a shared machine over the seconds of a
/// section weighs on every figure alike.
pub fn measure_side_by_side(
    settings: &Settings,
    runs: &mut [&mut dyn FnMut() -> f64],
) -> Vec<Measured> {
    let figures: Vec<usize> = (0..runs.len()).collect();
    measure_each(settings, &figures, |figure| runs[figure]())
}

/// `measure_side_by_side` for one run function over several settings
/// (targets, producers): one figure per entry of `each`, in its order.
pub fn measure_each<T: Copy>(
    settings: &Settings,
    each: &[T],
    mut run: impl FnMut(T) -> f64,
) -> Vec<Measured> {
    for &setting in each {
        run(setting);
    }
    let mut values = vec![Vec::with_capacity(settings.runs); each.len()];
    for _ in 0..settings.runs {
        for (&setting, values) in each.iter().zip(&mut values) {
            values.push(run(setting));
        }
    }
    values.into_iter().map(Measured::of).collect()
}

/// Whether a higher or a lower figure is better, for the ratio's target.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    /// ours / baseline must be at least this.
    AtLeast(f64),
    /// ours / baseline must be at most this.
    AtMost(f64),
    /// No ratio target (the figure stands alone or has an absolute target).
    None,
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub figure: String,
    pub ours: String,
    pub baseline: String,
    pub ratio: Option<f64>,
    pub target: String,
    pub met: Option<bool>,
}

impl Row {
    /// A figure compared with a baseline by ratio.
    pub fn ratio(
        figure: impl Into<String>,
        ours: (f64, String),
        baseline: (f64, String),
        goal: Goal,
    ) -> Row {
        let ratio = ours.0 / baseline.0;
        let (target, met) = match goal {
            Goal::AtLeast(limit) => (format!(">= {limit}x"), Some(ratio >= limit)),
            Goal::AtMost(limit) => (format!("<= {limit}x"), Some(ratio <= limit)),
            Goal::None => ("-".to_owned(), None),
        };
        Row {
            figure: figure.into(),
            ours: ours.1,
            baseline: baseline.1,
            ratio: Some(ratio),
            target,
            met,
        }
    }

    /// A figure with an absolute target.
    pub fn absolute(
        figure: impl Into<String>,
        ours: String,
        baseline: impl Into<String>,
        target: impl Into<String>,
        met: Option<bool>,
    ) -> Row {
        Row {
            figure: figure.into(),
            ours,
            baseline: baseline.into(),
            ratio: None,
            target: target.into(),
            met,
        }
    }
}

/// Prints a row as soon as it is measured, so a long run shows progress.
pub fn announce(row: &Row) {
    eprintln!(
        "  {}: {} | {} | {} | {}",
        row.figure,
        row.ours,
        row.baseline,
        row.ratio
            .map_or("-".to_owned(), |ratio| format!("{ratio:.2}x")),
        verdict(row.met)
    );
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "-",
    }
}

/// The table, in Markdown.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str("| figure | ours | baseline | ratio | target | met? |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- |\n");
    for row in rows {
        let ratio = row
            .ratio
            .map_or("-".to_owned(), |ratio| format!("{ratio:.2}x"));
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            row.figure,
            row.ours,
            row.baseline,
            ratio,
            row.target,
            verdict(row.met)
        )
        .expect("writing to a String cannot fail");
    }
    out
}

/// Messages per second and MB/s of payload, e.g. `5.21 M msg/s, 333 MB/s (±3%)`.
pub fn rate(measured: &Measured, payload_bytes: usize) -> String {
    let megabytes = measured.median * payload_bytes as f64 / 1e6;
    format!(
        "{} msg/s, {:.0} MB/s (spread {:.0}%)",
        count(measured.median),
        megabytes,
        measured.spread_percent()
    )
}

/// A count with a unit prefix: `5.21 M`, `830 k`.
pub fn count(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.2} M", value / 1e6)
    } else if value >= 1e3 {
        format!("{:.0} k", value / 1e3)
    } else {
        format!("{value:.0}")
    }
}
