//! Warm-up, repeated runs, medians, and the table the bench prints.

use std::fmt::Write as _;

use crate::payloads::PayloadKind;

/// How long to run: the full run, or `SINKS_BENCH_QUICK=1` for a smoke run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub quick: bool,
    /// Timed runs per figure (after one untimed warm-up run).
    pub runs: usize,
    /// `SINKS_BENCH_ONLY`: the sections to run; all when unset.
    pub only: Option<String>,
    /// `SINKS_BENCH_PAYLOADS`: how payloads are made (static, vec, slices);
    /// all three when unset.
    pub payloads: Vec<PayloadKind>,
}

impl Settings {
    pub fn from_env() -> Settings {
        let quick = std::env::var("SINKS_BENCH_QUICK").is_ok_and(|value| value != "0");
        Settings {
            quick,
            runs: if quick { 3 } else { 7 },
            only: std::env::var("SINKS_BENCH_ONLY").ok(),
            payloads: payload_kinds(std::env::var("SINKS_BENCH_PAYLOADS").ok().as_deref()),
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
        self.count_at_least(full, 1_000)
    }

    /// `full` in a full run, a tenth of it (at least `floor`) in a quick run.
    pub fn count_at_least(&self, full: u64, floor: u64) -> u64 {
        if self.quick {
            (full / 10).max(floor)
        } else {
            full
        }
    }
}

/// The kinds named in `SINKS_BENCH_PAYLOADS` (comma separated), in the
/// table's order; every kind when unset. An unknown name stops the bench
/// rather than silently measuring less.
fn payload_kinds(names: Option<&str>) -> Vec<PayloadKind> {
    let Some(names) = names else {
        return PayloadKind::ALL.to_vec();
    };
    let wanted: Vec<&str> = names.split(',').map(str::trim).collect();
    for name in &wanted {
        assert!(
            PayloadKind::ALL.iter().any(|kind| kind.name() == *name),
            "SINKS_BENCH_PAYLOADS: unknown payload kind {name:?}; use static, vec or slices"
        );
    }
    PayloadKind::ALL
        .into_iter()
        .filter(|kind| wanted.contains(&kind.name()))
        .collect()
}

/// The median of several runs, with the spread as a noise indication.
#[derive(Debug, Clone)]
pub struct Measured {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// Every timed run's figure, in round order (not sorted), so that two
    /// figures measured side by side can be compared round by round.
    pub runs: Vec<f64>,
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
    fn of(runs: Vec<f64>) -> Measured {
        let mut sorted = runs.clone();
        sorted.sort_by(f64::total_cmp);
        Measured {
            median: sorted[sorted.len() / 2],
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            runs,
        }
    }

    /// `self / baseline` per round, for two figures measured side by side:
    /// its median is the ratio the table reports. Within a round the two
    /// ran seconds apart, so load drifting over the section cancels out of
    /// each round's ratio, which it does not from a ratio of medians.
    pub fn ratio_per_round(&self, baseline: &Measured) -> Measured {
        assert_eq!(
            self.runs.len(),
            baseline.runs.len(),
            "figures measured side by side have as many rounds"
        );
        Measured::of(
            self.runs
                .iter()
                .zip(&baseline.runs)
                .map(|(ours, theirs)| ours / theirs)
                .collect(),
        )
    }

    /// Every run multiplied by `factor` (per target → all targets).
    pub fn scaled(&self, factor: f64) -> Measured {
        Measured::of(self.runs.iter().map(|run| run * factor).collect())
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
    /// A figure compared with a baseline by the ratio of the two figures.
    pub fn ratio(
        figure: impl Into<String>,
        ours: (f64, String),
        baseline: (f64, String),
        goal: Goal,
    ) -> Row {
        Row::with_ratio(figure, ours.1, baseline.1, ours.0 / baseline.0, goal)
    }

    /// A figure compared with a baseline measured side by side with it: the
    /// ratio is the median of the per-round ratios.
    pub fn paired(
        figure: impl Into<String>,
        ours: (&Measured, String),
        baseline: (&Measured, String),
        goal: Goal,
    ) -> Row {
        let ratio = ours.0.ratio_per_round(baseline.0).median;
        Row::with_ratio(figure, ours.1, baseline.1, ratio, goal)
    }

    fn with_ratio(
        figure: impl Into<String>,
        ours: String,
        baseline: String,
        ratio: f64,
        goal: Goal,
    ) -> Row {
        let (target, met) = match goal {
            Goal::AtLeast(limit) => (format!(">= {limit}x"), Some(ratio >= limit)),
            Goal::AtMost(limit) => (format!("<= {limit}x"), Some(ratio <= limit)),
            Goal::None => ("-".to_owned(), None),
        };
        Row {
            figure: figure.into(),
            ours,
            baseline,
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
