//! Finding and reading the config file.

use std::path::{Component, Path, PathBuf};

/// The config file, read.
pub(crate) struct LoadedConfig {
    /// The canonical absolute path (no `..`, no symlink): the one
    /// `include_str!` watches and the one errors anchor relative paths on.
    pub(crate) absolute: PathBuf,
    pub(crate) source: String,
}

/// Resolves `path` against the calling crate's `CARGO_MANIFEST_DIR` and reads it.
pub(crate) fn load(path: &str) -> Result<LoadedConfig, String> {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .ok_or("CARGO_MANIFEST_DIR is not set: include_sinks! must be built by cargo")?;
    let joined = manifest_dir.join(path);
    match std::fs::read_to_string(&joined) {
        Ok(source) => {
            // Canonicalizing a file just read fails only if it vanished in
            // between; the next build reports that.
            let absolute = std::fs::canonicalize(&joined).unwrap_or_else(|_| normalize(&joined));
            Ok(LoadedConfig { absolute, source })
        }
        // A missing file cannot be canonicalized: name it from its nearest
        // directory that exists, canonicalized, without the `..` of the path
        // as written.
        Err(error) => Err(format!(
            "cannot read the sinks config `{}`: {error}; the path is relative to the crate's directory (CARGO_MANIFEST_DIR)",
            nearest_canonical(&normalize(&joined)).display()
        )),
    }
}

/// `path` with its longest existing ancestor canonicalized (symlinks resolved).
fn nearest_canonical(path: &Path) -> PathBuf {
    let mut missing = Vec::new();
    let mut existing = path;
    loop {
        if let Ok(canonical) = std::fs::canonicalize(existing) {
            return missing
                .iter()
                .rev()
                .fold(canonical, |dir, part| dir.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name.to_owned());
                existing = parent;
            }
            _ => return path.to_path_buf(),
        }
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
