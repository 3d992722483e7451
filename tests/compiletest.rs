//! trybuild UI cases for `include_sinks!`: every validation rule is a compile
//! error with the message checked in beside it, and the passing cases compile
//! and run.
//!
//! trybuild compiles the cases in a crate it generates at
//! `target/tests/trybuild/sinks`, which is their `CARGO_MANIFEST_DIR`, so a
//! case names its TOML as `../../../../tests/ui/case.toml`. Relative paths
//! keep the `.stderr` files the same in any clone; they need the default
//! target directory, which the test checks first.

use std::path::Path;

#[test]
fn ui() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent();
    assert_eq!(
        target,
        Some(repo.join("target").as_path()),
        "the UI cases find their TOML files through `../../../../`, from the target \
         directory back to the repository: run them with the default target directory \
         (unset CARGO_TARGET_DIR)"
    );
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
