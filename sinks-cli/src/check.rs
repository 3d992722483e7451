//! `sinks check FILE`: the validator of `include_sinks!` and `SinkFactory`,
//! on the values a deployment sees (`Sinks::from_env()`: the environment and
//! overlays) or, with `--compiled`, on the compiled values the macro sees.

use sinks::config::ServicesConfig;

use crate::Verdict;
use crate::cli::{CheckArgs, CheckFormat};
use crate::diagnostics::{self, Rejected};

pub(crate) fn run(args: &CheckArgs) -> Verdict {
    let loaded = if args.compiled {
        diagnostics::load_compiled(&args.file)
    } else {
        diagnostics::load_deployed(&args.file, &args.deploy)
    };
    match args.format {
        CheckFormat::Json => {
            anstream::println!("{}", diagnostics::render_json(loaded.as_ref().err()));
        }
        CheckFormat::Human => match &loaded {
            Ok(config) => {
                anstream::println!("{}", summary(&args.file.display().to_string(), config));
                // Only `--compiled` leaves values for run time.
                anstream::eprint!("{}", diagnostics::render_pending(&args.file, config));
            }
            Err(rejected) => show_rejected(rejected),
        },
    }
    match loaded {
        Ok(_) => Verdict::Success,
        Err(_) => Verdict::Failure,
    }
}

/// Every problem, rustc-style, on stderr.
pub(crate) fn show_rejected(rejected: &Rejected) {
    anstream::eprint!("{}", diagnostics::render_human(rejected));
}

/// `services.toml is valid: 7 services (4 direct, 1 relay, 2 composite)`.
fn summary(file: &str, config: &ServicesConfig) -> String {
    let count = |kind: &str| {
        config
            .services()
            .iter()
            .filter(|service| service.kind.type_name() == kind)
            .count()
    };
    let total = config.services().len();
    let composites = count("composite");
    format!(
        "{file} is valid: {total} service{} ({} relay, {} direct, {composites} composite)",
        if total == 1 { "" } else { "s" },
        count("relay"),
        count("direct"),
    )
}
