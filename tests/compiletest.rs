//! trybuild UI cases for `include_sinks!`: every validation rule is a compile
//! error with the message checked in beside it, and the passing cases compile
//! and run.
//!
//! trybuild compiles the cases in a crate it generates at
//! `<target dir>/tests/trybuild/sinks`, which is their `CARGO_MANIFEST_DIR`.
//! This test links `workspace` there to the repository, so a case names its
//! TOML as `workspace/tests/ui/case.toml` under any `CARGO_TARGET_DIR`, and
//! the `.stderr` files are the same in any clone.

use std::path::{Path, PathBuf};

#[test]
fn ui() {
    link_workspace_into_the_trybuild_crate();
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}

/// `<target>/tests/trybuild/sinks/workspace` → this repository.
fn link_workspace_into_the_trybuild_crate() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"));
    // `CARGO_TARGET_TMPDIR` is `<target>/tmp`, whatever `CARGO_TARGET_DIR` says.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target directory");
    let project: PathBuf = target.join("tests").join("trybuild").join("sinks");
    std::fs::create_dir_all(&project).expect("create the trybuild crate's directory");
    let link = project.join("workspace");
    if std::fs::read_link(&link).is_ok_and(|points_to| points_to == repository) {
        return;
    }
    // A stale link from another clone, or none yet.
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(repository, &link)
        .expect("link the repository into the trybuild crate");
}
