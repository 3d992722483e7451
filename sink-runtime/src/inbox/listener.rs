//! The inbox's endpoint: parsing it, binding it, accepting on it.

use std::io;
use std::path::PathBuf;

use bytes::Bytes;
use tokio::net::{TcpListener, UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::InboxOptions;
use super::connection;
use crate::SinkError;
use crate::config::{ConfigError, ConfigErrors, Endpoint, EndpointError};

/// A bound endpoint, before its accept loop starts.
#[derive(Debug)]
pub(super) enum Listener {
    Unix(UnixListener, PathBuf),
    Tcp(TcpListener),
    WebSocket(TcpListener, String),
}

impl Listener {
    pub(super) async fn bind(text: &str) -> Result<Listener, SinkError> {
        let endpoint = parse(text).map_err(|error| invalid_endpoint(text, error))?;
        let cannot_bind = |error: io::Error| bind_error(&endpoint, error);
        match &endpoint {
            Endpoint::Unix(path) => bind_unix(path)
                .await
                .map(|listener| Listener::Unix(listener, path.to_path_buf()))
                .map_err(cannot_bind),
            Endpoint::Tcp { host, port } => TcpListener::bind((host.as_str(), *port))
                .await
                .map(Listener::Tcp)
                .map_err(cannot_bind),
            Endpoint::WebSocket(ws) if ws.secure => Err(invalid_endpoint(
                text,
                EndpointError {
                    message: "an inbox does not serve TLS".to_owned(),
                    help: Some(
                        "bind a `ws://` endpoint (put a TLS proxy in front if needed)".to_owned(),
                    ),
                },
            )),
            Endpoint::WebSocket(ws) => TcpListener::bind((ws.host.as_str(), ws.port))
                .await
                .map(|listener| Listener::WebSocket(listener, ws.path.clone()))
                .map_err(cannot_bind),
            // A broker's subject is read by subscribing, not by listening.
            Endpoint::Nats(_) => Err(invalid_endpoint(
                text,
                EndpointError {
                    message: "a `nats://` endpoint has no inbox: the NATS server is the listener"
                        .to_owned(),
                    help: Some(
                        "subscribe to the subject with a NATS client, or bind a `unix://`, `tcp://` or `ws://` endpoint"
                            .to_owned(),
                    ),
                },
            )),
        }
    }

    /// The endpoint as bound, port resolved.
    pub(super) fn local_endpoint(&self) -> Result<String, SinkError> {
        let address = match self {
            Listener::Unix(_, path) => return Ok(format!("unix://{}", path.display())),
            Listener::Tcp(listener) | Listener::WebSocket(listener, _) => listener.local_addr()?,
        };
        let host = address.ip().to_string();
        Ok(match self {
            Listener::WebSocket(_, path) => {
                format!("ws://{}{path}", bracketed_address(&host, address.port()))
            }
            _ => format!("tcp://{}", bracketed_address(&host, address.port())),
        })
    }

    /// The socket file this listener created, for `unix://`.
    pub(super) fn socket_file(&self) -> Option<PathBuf> {
        match self {
            Listener::Unix(_, path) => Some(path.clone()),
            _ => None,
        }
    }

    /// Accepts until the inbox is dropped (which aborts this task and so the
    /// `JoinSet` of connection tasks) or accepting fails for good.
    pub(super) async fn run(
        self,
        options: InboxOptions,
        local_endpoint: String,
        sender: mpsc::Sender<Result<Bytes, SinkError>>,
    ) {
        let mut connections = JoinSet::new();
        loop {
            let accepted = tokio::select! {
                accepted = self.accept() => accepted,
                // Reap finished connections so the set does not grow.
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(error) if is_transient(&error) => continue,
                Err(error) if out_of_descriptors(&error) => {
                    // Accepting again at once would spin; a closing
                    // connection frees a descriptor soon.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
                Err(error) => {
                    let message = format!("inbox {local_endpoint}: accepting failed: {error}");
                    let _ = sender
                        .send(Err(SinkError::Io(io::Error::new(error.kind(), message))))
                        .await;
                    return;
                }
            };
            let context = connection::Context {
                options,
                local_endpoint: local_endpoint.clone(),
                peer,
                sender: sender.clone(),
            };
            connections.spawn(connection::read(stream, context));
        }
    }

    async fn accept(&self) -> io::Result<(connection::Incoming, String)> {
        match self {
            Listener::Unix(listener, _) => {
                let (stream, _) = listener.accept().await?;
                Ok((connection::Incoming::Unix(stream), "a Unix peer".to_owned()))
            }
            Listener::Tcp(listener) => {
                let (stream, peer) = listener.accept().await?;
                Ok((connection::Incoming::Tcp(stream), peer.to_string()))
            }
            Listener::WebSocket(listener, _) => {
                let (stream, peer) = listener.accept().await?;
                Ok((connection::Incoming::WebSocket(stream), peer.to_string()))
            }
        }
    }
}

/// Parses an inbox endpoint with the config's own endpoint parser. The
/// parser refuses port 0, which a sink can never connect to but a listener
/// binds as "any free port"; so a literal port `0` is parsed as port 1 and
/// then set back to 0, and every other rule stays the sinks' rule.
fn parse(text: &str) -> Result<Endpoint, EndpointError> {
    if text.starts_with('/') {
        return Endpoint::parse_relay(text);
    }
    let Some(port_zero) = literal_port_zero(text) else {
        return Endpoint::parse_direct(text);
    };
    let substituted = format!("{}1{}", &text[..port_zero], &text[port_zero + 1..]);
    Ok(match Endpoint::parse_direct(&substituted)? {
        Endpoint::Tcp { host, .. } => Endpoint::Tcp { host, port: 0 },
        Endpoint::WebSocket(mut ws) => {
            ws.port = 0;
            Endpoint::WebSocket(ws)
        }
        other => other,
    })
}

/// The byte offset of the port in `scheme://host:0[/path]`, if the port is
/// exactly `0`.
fn literal_port_zero(text: &str) -> Option<usize> {
    let (scheme, rest) = text.split_once("://")?;
    let authority_start = scheme.len() + 3;
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let colon = authority.rfind(':')?;
    // `[::1]` alone has colons but no port.
    if authority[colon..].contains(']') || &authority[colon + 1..] != "0" {
        return None;
    }
    Some(authority_start + colon + 1)
}

/// Binds a Unix socket, replacing a stale socket file that nobody listens on
/// (one a killed process left), never a live one.
async fn bind_unix(path: &std::path::Path) -> io::Result<UnixListener> {
    match UnixListener::bind(path) {
        Err(error) if error.kind() == io::ErrorKind::AddrInUse => {
            match UnixStream::connect(path).await {
                Err(refused) if refused.kind() == io::ErrorKind::ConnectionRefused => {
                    std::fs::remove_file(path)?;
                    UnixListener::bind(path)
                }
                _ => Err(error),
            }
        }
        result => result,
    }
}

/// Errors of one failed accept that leave the listener usable.
fn is_transient(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// EMFILE or ENFILE: the process or the system has no file descriptor left.
fn out_of_descriptors(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(23 | 24))
}

fn bracketed_address(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn invalid_endpoint(text: &str, error: EndpointError) -> SinkError {
    let mut problem = ConfigError::new(format!(
        "cannot bind an inbox to {:?}: {}",
        crate::config::redact(text),
        error.message
    ))
    .key("endpoint");
    problem.help = error.help;
    SinkError::InvalidConfig(ConfigErrors {
        file: None,
        errors: vec![problem],
    })
}

fn bind_error(endpoint: &Endpoint, error: io::Error) -> SinkError {
    let help = match error.kind() {
        io::ErrorKind::AddrInUse => {
            "; another process listens there: stop it, or pick another address (port 0 picks a free one)"
        }
        io::ErrorKind::NotFound => "; create the directory first",
        _ => "",
    };
    SinkError::Io(io::Error::new(
        error.kind(),
        format!("cannot bind an inbox to {endpoint}: {error}{help}"),
    ))
}
