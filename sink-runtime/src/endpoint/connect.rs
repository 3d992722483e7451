//! Connecting with a per-attempt timeout, retries and backoff.
//!
//! Durations come from the config and may be huge (the validator caps them,
//! but a `LeafConfig` can be built by hand): tokio's `timeout` and `sleep`
//! saturate to a far-away deadline instead of overflowing.

use std::sync::Arc;

use rustls::ClientConfig;

use tracing::Instrument;

use super::shared::Shared;
use super::state::Lease;
use crate::config::{Endpoint, LeafConfig};
use crate::observe::TARGET;
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
    /// `connect_timeout`, pausing with backoff between attempts. A
    /// `disconnect` stops the retries: the attempt in progress may still
    /// succeed (so what is queued can be written), but no other starts, and a
    /// pause is cut short. The writer also bounds the whole connect by the
    /// drain deadline of a close.
    pub(crate) async fn connect(
        &mut self,
        shared: &Shared,
        lease: &Lease,
    ) -> Result<(Connection, u32), ConnectFailure> {
        let config = &shared.config;
        let policy = &config.retry;
        let keep_trying = || shared.lock().keeps_connecting(lease);
        let mut attempts: u32 = 0;
        loop {
            attempts = attempts.saturating_add(1);
            let span = tracing::info_span!(
                target: TARGET,
                "connect",
                sink = %shared.name,
                endpoint = %config.endpoint,
                attempt = attempts,
            );
            let reason = match self.attempt(config).instrument(span).await {
                Ok(connection) => return Ok((connection, attempts)),
                Err(reason) => reason,
            };
            if let Some(burst) = shared.throttles.attempt_failed.admit(1) {
                tracing::warn!(
                    target: TARGET,
                    sink = %shared.name,
                    endpoint = %config.endpoint,
                    attempt = attempts,
                    error = %reason,
                    failed_attempts = burst.occurrences,
                    "connect attempt failed"
                );
            }
            if attempts > policy.max_retries || !keep_trying() {
                return Err(ConnectFailure { attempts, reason });
            }
            tokio::select! {
                () = tokio::time::sleep(policy.delay_before_retry(attempts)) => {}
                () = shared.disconnect_requested() => {}
            }
            if !keep_trying() {
                return Err(ConnectFailure { attempts, reason });
            }
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
