//! `tls_ca_file`: CA certificates to trust for `wss://`, checked as PEM when
//! the config is read, never first at connect.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// The CA certificates of a `tls_ca_file`.
///
/// From a config, the PEM was read and checked when the config was: at
/// compile time for `include_sinks!` (the bytes are embedded in the binary),
/// when the overrides are applied for a run-time path. A sink built by hand
/// with [`LeafConfig::tls_ca_file`](super::LeafConfig::tls_ca_file) reads its
/// path at connect.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsCa {
    /// The file the certificates came from, for messages.
    path: PathBuf,
    /// The value of `tls_ca_file` as the config wrote it (after `${VAR}`s),
    /// which identifies a PEM embedded at compile time.
    written: String,
    /// The checked PEM text, or `None` to read `path` at connect.
    pem: Option<Arc<[u8]>>,
}

impl TlsCa {
    /// Certificates read from `path` at connect.
    pub fn at_path(path: impl Into<PathBuf>) -> TlsCa {
        let path = path.into();
        TlsCa {
            written: path.display().to_string(),
            path,
            pem: None,
        }
    }

    /// Certificates in `pem`, which came from `path`; checked first.
    pub fn from_pem(path: impl Into<PathBuf>, pem: &[u8]) -> Result<TlsCa, String> {
        let path = path.into();
        certificates(&path, pem)?;
        Ok(TlsCa {
            written: path.display().to_string(),
            path,
            pem: Some(pem.into()),
        })
    }

    /// Reads and checks the PEM file at `path` now.
    pub fn read(path: impl Into<PathBuf>) -> Result<TlsCa, String> {
        let path = path.into();
        let pem = std::fs::read(&path)
            .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
        TlsCa::from_pem(path, &pem)
    }

    /// The `tls_ca_file` value as written in the config.
    pub fn written(&self) -> &str {
        &self.written
    }

    pub(crate) fn set_written(&mut self, written: &str) {
        self.written = written.to_owned();
    }

    /// The file the certificates came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every certificate, in DER; read from the path first if it was not yet.
    pub fn certificates(&self) -> Result<Vec<CertificateDer<'static>>, String> {
        match &self.pem {
            Some(pem) => certificates(&self.path, pem),
            None => {
                let pem = std::fs::read(&self.path).map_err(|error| {
                    format!("cannot read tls_ca_file {}: {error}", self.path.display())
                })?;
                certificates(&self.path, &pem)
            }
        }
    }
}

/// The certificates of `pem`, at least one.
fn certificates(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut found = Vec::new();
    for certificate in CertificateDer::pem_slice_iter(pem) {
        found.push(
            certificate
                .map_err(|error| format!("`{}` is not valid PEM: {error}", path.display()))?,
        );
    }
    if found.is_empty() {
        return Err(format!(
            "`{}` holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)",
            path.display()
        ));
    }
    Ok(found)
}

impl fmt::Debug for TlsCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = if self.pem.is_some() {
            "checked"
        } else {
            "read at connect"
        };
        write!(f, "TlsCa({}, {how})", self.path.display())
    }
}
