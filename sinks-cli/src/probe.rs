//! `sinks probe FILE`: one connection attempt per endpoint, as a table.

use crate::Verdict;
use crate::check::show_rejected;
use crate::cli::ProbeArgs;
use crate::diagnostics;

pub(crate) async fn run(args: &ProbeArgs) -> Verdict {
    let config = match diagnostics::load_deployed(&args.file, &args.deploy) {
        Ok(config) => config,
        Err(rejected) => {
            show_rejected(&rejected);
            return Verdict::Failure;
        }
    };
    let report = sinks::preflight(&config, args.timeout).await;
    anstream::println!("{report}");
    if report.all_reachable() {
        Verdict::Success
    } else {
        Verdict::Failure
    }
}
