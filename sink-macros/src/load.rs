//! Finding and reading the config file.

use std::path::{Component, Path, PathBuf};

/// The config file, read.
pub(crate) struct LoadedConfig {
    /// The absolute path, lexically normalized: the one `include_str!`
    /// watches and the one a missing-file error names.
    pub(crate) absolute: PathBuf,
    pub(crate) source: String,
}

/// Resolves `path` against the calling crate's `CARGO_MANIFEST_DIR` and reads it.
pub(crate) fn load(path: &str) -> Result<LoadedConfig, String> {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .ok_or("CARGO_MANIFEST_DIR is not set: include_sinks! must be built by cargo")?;
    let absolute = normalize(&manifest_dir.join(path));
    match std::fs::read_to_string(&absolute) {
        Ok(source) => Ok(LoadedConfig { absolute, source }),
        Err(error) => Err(format!(
            "cannot read the sinks config `{}`: {error}; the path is relative to the crate's directory (CARGO_MANIFEST_DIR)",
            absolute.display()
        )),
    }
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut normalized = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                normalized.pop();
            }
            Component::CurDir => {}
            other => normalized.push(other),
        }
    }
    normalized
}
