//! Connecting with a per-attempt timeout, retries and backoff.

use std::sync::Arc;

use rustls::ClientConfig;

use crate::config::{Endpoint, LeafConfig};
use crate::transport::{Connection, client_config};

/// Why connecting gave up.
#[derive(Debug)]
pub(crate) struct ConnectFailure {
    pub(crate) attempts: u32,
    pub(crate) reason: String,
}

/// What a writer keeps between connects: the TLS config is built once.
#[derive(Debug, Default)]
pub(crate) struct Connector {
    tls: Option<Arc<ClientConfig>>,
}

impl Connector {
    /// Tries `1 + max_retries` times, each attempt bounded by
    /// `connect_timeout`, pausing with backoff between attempts. `keep_trying`
    /// is asked before each retry, so a sink being shut down stops early.
    pub(crate) async fn connect(
        &mut self,
        config: &LeafConfig,
        keep_trying: impl Fn() -> bool,
    ) -> Result<Connection, ConnectFailure> {
        let policy = &config.retry;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let reason = match self.attempt(config).await {
                Ok(connection) => return Ok(connection),
                Err(reason) => reason,
            };
            if attempts > policy.max_retries || !keep_trying() {
                return Err(ConnectFailure { attempts, reason });
            }
            tokio::time::sleep(policy.delay_before_retry(attempts)).await;
        }
    }

    async fn attempt(&mut self, config: &LeafConfig) -> Result<Connection, String> {
        if matches!(&config.endpoint, Endpoint::WebSocket(ws) if ws.secure) && self.tls.is_none() {
            self.tls = Some(client_config(config.tls_ca_file.as_deref())?);
        }
        let timeout = config.retry.connect_timeout;
        match tokio::time::timeout(timeout, Connection::open(config, self.tls.as_ref())).await {
            Ok(result) => result,
            Err(_) => Err(format!("connect attempt timed out after {timeout:?}")),
        }
    }
}
