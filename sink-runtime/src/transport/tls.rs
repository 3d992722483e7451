//! TLS for `wss://`: rustls with the server certificate verified.

use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};

use crate::config::TlsCa;

/// A client config that trusts the public web roots and, if `ca` is given,
/// its certificates. A `tls_ca_file` from a config was checked when the
/// config was read (embedded at compile time, or read when the overrides
/// were applied); one set by hand on a `LeafConfig` is read here.
pub(crate) fn client_config(ca: Option<&TlsCa>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(ca) = ca {
        for certificate in ca.certificates()? {
            roots.add(certificate).map_err(|error| {
                format!("bad CA certificate in {}: {error}", ca.path().display())
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("TLS setup failed: {error}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
