//! [`Preflight`]: one connection attempt per endpoint, to see before the
//! first send which peers are there.
//!
//! Each relay and direct service gets one attempt with its own TLS settings,
//! through the very connect code its sink uses (`transport::Connection::open`),
//! bounded by a timeout, and the connection is closed again at once (a
//! WebSocket close frame, a stream shutdown). Nothing is sent. The attempts
//! run concurrently, so the whole check takes about one timeout at most.

use std::fmt;
use std::time::{Duration, Instant};

use futures_util::future::join_all;

use crate::SinkFactory;
use crate::config::{Endpoint, LeafConfig, ServiceKind, ServicesConfig};
use crate::transport::{Connection, client_config};

/// What one connection attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PreflightOutcome {
    /// Connected (TLS and WebSocket handshakes included) after `connect_time`.
    Reachable {
        /// From the start of the attempt to an open connection.
        connect_time: Duration,
    },
    /// Nothing listens there: the connection was refused, or no Unix socket
    /// exists at the path.
    Refused {
        /// The operating system's words.
        reason: String,
    },
    /// No answer within the timeout.
    TimedOut {
        /// The timeout.
        after: Duration,
    },
    /// The host name did not resolve.
    NameNotResolved {
        /// The resolver's words.
        reason: String,
    },
    /// TLS could not be set up: the CA file, the server name, the handshake
    /// or the server's certificate.
    TlsFailed {
        /// What failed.
        reason: String,
    },
    /// Any other failure (a WebSocket handshake the server refused, a
    /// permission denied, ...).
    Failed {
        /// What failed.
        reason: String,
    },
}

impl PreflightOutcome {
    /// Whether the endpoint was reached.
    pub fn is_reachable(&self) -> bool {
        matches!(self, PreflightOutcome::Reachable { .. })
    }
}

impl fmt::Display for PreflightOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PreflightOutcome::Reachable { connect_time } => {
                write!(f, "reachable in {}", milliseconds(*connect_time))
            }
            PreflightOutcome::Refused { reason } => write!(f, "refused: {reason}"),
            PreflightOutcome::TimedOut { after } => {
                write!(f, "timed out after {}", milliseconds(*after))
            }
            PreflightOutcome::NameNotResolved { reason } => {
                write!(f, "name not resolved: {reason}")
            }
            PreflightOutcome::TlsFailed { reason } => write!(f, "TLS failed: {reason}"),
            PreflightOutcome::Failed { reason } => write!(f, "failed: {reason}"),
        }
    }
}

/// One service's attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PreflightEntry {
    /// The service name.
    pub service: String,
    /// The endpoint, credentials hidden.
    pub endpoint: String,
    /// What the attempt found.
    pub outcome: PreflightOutcome,
}

/// The outcome of one connection attempt per relay and direct service, in
/// file order. `Display` prints it as a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preflight {
    entries: Vec<PreflightEntry>,
}

impl Preflight {
    /// Every service's attempt, in file order.
    pub fn entries(&self) -> &[PreflightEntry] {
        &self.entries
    }

    /// Whether every endpoint was reached (true when there is none).
    pub fn all_reachable(&self) -> bool {
        self.entries
            .iter()
            .all(|entry| entry.outcome.is_reachable())
    }

    /// The entries whose endpoint was not reached.
    pub fn unreachable(&self) -> impl Iterator<Item = &PreflightEntry> {
        self.entries
            .iter()
            .filter(|entry| !entry.outcome.is_reachable())
    }
}

/// ```text
/// service    endpoint               result
/// feed       tcp://127.0.0.1:9001   reachable in 0.2 ms
/// backup     unix:///tmp/b.sock     refused: No such file or directory (os error 2)
/// 1 of 2 endpoints reachable
/// ```
impl fmt::Display for Preflight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let service_width = column_width("service", self.entries.iter().map(|e| &e.service));
        let endpoint_width = column_width("endpoint", self.entries.iter().map(|e| &e.endpoint));
        writeln!(
            f,
            "{:service_width$}  {:endpoint_width$}  result",
            "service", "endpoint"
        )?;
        for entry in &self.entries {
            writeln!(
                f,
                "{:service_width$}  {:endpoint_width$}  {}",
                entry.service, entry.endpoint, entry.outcome
            )?;
        }
        let reachable = self
            .entries
            .iter()
            .filter(|entry| entry.outcome.is_reachable())
            .count();
        let total = self.entries.len();
        write!(
            f,
            "{reachable} of {total} endpoint{} reachable",
            if total == 1 { "" } else { "s" }
        )
    }
}

fn column_width<'a>(title: &str, cells: impl Iterator<Item = &'a String>) -> usize {
    cells
        .map(|cell| cell.chars().count())
        .chain(std::iter::once(title.len()))
        .max()
        .unwrap_or(0)
}

/// `0.3 ms`, `1500.0 ms`.
fn milliseconds(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// Probes every relay and direct service of `config`, concurrently, each
/// attempt bounded by `timeout`.
pub async fn preflight(config: &ServicesConfig, timeout: Duration) -> Preflight {
    let leaves = config
        .services()
        .iter()
        .filter_map(|service| match &service.kind {
            ServiceKind::Relay(leaf) | ServiceKind::Direct(leaf) => {
                Some((service.name.as_str(), leaf))
            }
            _ => None,
        });
    preflight_leaves(leaves, timeout).await
}

/// Probes the given services, concurrently, each attempt bounded by `timeout`.
pub async fn preflight_leaves<'a>(
    leaves: impl IntoIterator<Item = (&'a str, &'a LeafConfig)>,
    timeout: Duration,
) -> Preflight {
    let attempts = leaves.into_iter().map(|(service, leaf)| async move {
        PreflightEntry {
            service: service.to_owned(),
            endpoint: leaf.endpoint.to_string(),
            outcome: attempt(leaf, timeout).await,
        }
    });
    Preflight {
        entries: join_all(attempts).await,
    }
}

impl SinkFactory {
    /// One connection attempt per relay and direct service of the factory's
    /// config, each bounded by `timeout`; see [`Preflight`]. Builds no sink.
    pub async fn preflight(&self, timeout: Duration) -> Preflight {
        preflight(self.config(), timeout).await
    }
}

/// One bounded attempt, closed again at once.
async fn attempt(leaf: &LeafConfig, timeout: Duration) -> PreflightOutcome {
    let started = Instant::now();
    let tls = match &leaf.endpoint {
        Endpoint::WebSocket(ws) if ws.secure => match client_config(leaf.tls_ca_file.as_deref()) {
            Ok(config) => Some(config),
            Err(reason) => return PreflightOutcome::TlsFailed { reason },
        },
        _ => None,
    };
    let probe = async {
        // Resolved first, on its own, so that a name the resolver does not
        // know is told apart by where it failed rather than by error text.
        if let Some((host, port)) = host_name(&leaf.endpoint) {
            if let Err(error) = tokio::net::lookup_host((host, port)).await {
                return Err(PreflightOutcome::NameNotResolved {
                    reason: format!("cannot resolve `{host}`: {error}"),
                });
            }
        }
        Connection::open(leaf, tls.as_ref()).await.map_err(classify)
    };
    match tokio::time::timeout(timeout, probe).await {
        Err(_) => PreflightOutcome::TimedOut { after: timeout },
        Ok(Err(outcome)) => outcome,
        Ok(Ok(connection)) => {
            let connect_time = started.elapsed();
            // A polite close; a peer slow to take it does not hold the report up.
            let _ = tokio::time::timeout(timeout, connection.shutdown()).await;
            PreflightOutcome::Reachable { connect_time }
        }
    }
}

/// The host and port of an endpoint that names its peer by a host name (not
/// an IP address), for the resolver.
fn host_name(endpoint: &Endpoint) -> Option<(&str, u16)> {
    let (host, port) = match endpoint {
        Endpoint::Tcp { host, port } => (host.as_str(), *port),
        Endpoint::WebSocket(ws) => (ws.host.as_str(), ws.port),
        Endpoint::Unix(_) | Endpoint::Nats(_) => return None,
    };
    host.parse::<std::net::IpAddr>()
        .is_err()
        .then_some((host, port))
}

/// Sorts a failed attempt by the error text `Connection::open` gives (the
/// operating system's, rustls's and tungstenite's words).
fn classify(reason: String) -> PreflightOutcome {
    let has = |needle: &str| reason.contains(needle);
    if has("TLS") || has("certificate") || has("tls_ca_file") {
        PreflightOutcome::TlsFailed { reason }
    } else if has("os error 111") || has("Connection refused") || has("os error 2)") {
        PreflightOutcome::Refused { reason }
    } else if has("failed to lookup address")
        || has("Name or service not known")
        || has("nodename nor servname")
        || has("No address associated")
        || has("Temporary failure in name resolution")
    {
        PreflightOutcome::NameNotResolved { reason }
    } else {
        PreflightOutcome::Failed { reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_error_texts_of_connection_open() {
        let cases = [
            ("Connection refused (os error 111)", "refused"),
            ("No such file or directory (os error 2)", "refused"),
            (
                "failed to lookup address information: Name or service not known",
                "name not resolved",
            ),
            (
                "failed to lookup address information: Temporary failure in name resolution",
                "name not resolved",
            ),
            (
                "TLS handshake failed: invalid peer certificate: UnknownIssuer",
                "TLS failed",
            ),
            (
                "cannot read tls_ca_file /x.pem: No such file or directory (os error 2)",
                "TLS failed",
            ),
            (
                "WebSocket handshake failed: HTTP error: 404 Not Found",
                "failed",
            ),
            ("Permission denied (os error 13)", "failed"),
        ];
        for (reason, expected) in cases {
            let shown = classify(reason.to_owned()).to_string();
            assert_eq!(shown, format!("{expected}: {reason}"));
        }
    }
}
