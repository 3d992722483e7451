//! Endpoint strings: `unix:///abs/path`, `tcp://host:port`, `ws://`, `wss://`
//! and `nats://` (parsed in `nats.rs`).

use std::fmt;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::host::host_problem;
use super::nats::NatsEndpoint;

/// The longest Unix socket path a `sockaddr_un` holds, in bytes, leaving room
/// for the terminating NUL.
pub const MAX_UNIX_PATH_BYTES: usize = 107;

/// The schemes a `direct` service accepts, as shown in error messages.
pub const SUPPORTED_SCHEMES: &str = "unix://, tcp://, ws://, wss://, nats://";

/// Where a relay or direct service sends.
///
/// Made by parsing an endpoint string ([`str::parse`], [`Endpoint::parse_direct`],
/// [`Endpoint::parse_relay`]) or with [`Endpoint::unix`], which run the
/// config's own checks, so an endpoint built in code is one the config
/// accepts. Outside this crate the variants can be matched but not built
/// (`Tcp`, [`WebSocketEndpoint`] and [`NatsEndpoint`] are
/// `#[non_exhaustive]`; match `Tcp` with `Endpoint::Tcp { host, port, .. }`).
///
/// ```
/// use sink_runtime::config::Endpoint; // `sinks::config` in a crate that uses `sinks`
///
/// let endpoint: Endpoint = "tcp://127.0.0.1:9000".parse()?;
/// assert!(matches!(endpoint, Endpoint::Tcp { port: 9000, .. }));
/// assert!("tcp://127.0.0.1:0".parse::<Endpoint>().is_err());
/// # Ok::<(), sink_runtime::config::EndpointError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Endpoint {
    /// A Unix stream socket at an absolute path.
    Unix(UnixSocketPath),
    /// A TCP peer.
    #[non_exhaustive]
    Tcp {
        /// Host name or IP address (IPv6 without brackets).
        host: String,
        /// Port, never 0.
        port: u16,
    },
    /// A WebSocket server.
    WebSocket(WebSocketEndpoint),
    /// A NATS subject, on one server or a cluster.
    Nats(NatsEndpoint),
}

/// The path of a Unix socket endpoint: absolute, at most
/// [`MAX_UNIX_PATH_BYTES`] long, without NUL, as `unix://` parsing checks it.
/// Derefs to [`Path`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixSocketPath(PathBuf);

impl UnixSocketPath {
    /// The path.
    pub fn as_path(&self) -> &Path {
        &self.0
    }
}

impl Deref for UnixSocketPath {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for UnixSocketPath {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

/// A `ws://` or `wss://` endpoint.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebSocketEndpoint {
    /// `wss://`: TLS, with the server certificate verified.
    pub secure: bool,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// Port; 80 or 443 when the endpoint names none.
    pub port: u16,
    /// Path and query, at least `/`.
    pub path: String,
    /// `user:password` from the endpoint, sent as HTTP basic auth; never shown.
    pub credentials: Option<String>,
}

impl WebSocketEndpoint {
    /// The request URL without credentials.
    pub fn url(&self) -> String {
        let scheme = if self.secure { "wss" } else { "ws" };
        format!(
            "{scheme}://{}:{}{}",
            bracketed(&self.host),
            self.port,
            self.path
        )
    }
}

/// Why an endpoint string was rejected. The text says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointError {
    /// What is wrong.
    pub message: String,
    /// How to fix it, when that is obvious.
    pub help: Option<String>,
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, "; {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for EndpointError {}

fn problem(message: impl Into<String>) -> EndpointError {
    EndpointError {
        message: message.into(),
        help: None,
    }
}

fn problem_with_help(message: impl Into<String>, help: impl Into<String>) -> EndpointError {
    EndpointError {
        message: message.into(),
        help: Some(help.into()),
    }
}

impl Endpoint {
    /// A Unix socket endpoint at `path`, checked as `unix://` parsing checks
    /// it: absolute, at most [`MAX_UNIX_PATH_BYTES`] bytes, no NUL, and UTF-8
    /// (as every path a config can write is).
    pub fn unix(path: impl AsRef<Path>) -> Result<Endpoint, EndpointError> {
        let path = path.as_ref();
        match path.to_str() {
            Some(text) => unix_path(text),
            None => Err(problem_with_help(
                format!("the Unix socket path {} is not UTF-8", path.display()),
                "use a path a config file could name: valid UTF-8",
            )),
        }
    }

    /// Parses the endpoint of a `direct` service.
    pub fn parse_direct(text: &str) -> Result<Endpoint, EndpointError> {
        if text.starts_with('/') {
            return Err(problem_with_help(
                format!(
                    "a bare path is only accepted for a relay, got {:?}",
                    redact(text)
                ),
                format!("write `unix://{text}`"),
            ));
        }
        Endpoint::parse_any(text)
    }

    /// Parses the endpoint of a `relay` service: a Unix socket, written
    /// `unix:///abs/path` or as the bare absolute path.
    pub fn parse_relay(text: &str) -> Result<Endpoint, EndpointError> {
        const RELAY_FORMS: &str = "a relay takes `unix:///abs/path` or a bare absolute path";
        if text.starts_with('/') {
            return unix_path(text);
        }
        match text.split_once("://") {
            Some(("unix", path)) => unix_path(path),
            Some(("tcp" | "ws" | "wss" | "nats", _)) => Err(problem_with_help(
                format!(
                    "a relay connects over a Unix socket, but the endpoint is {}",
                    redact(text)
                ),
                "use `type = \"direct\"` for a TCP, WebSocket or NATS peer, or a `unix:///abs/path` endpoint",
            )),
            Some((scheme, _)) => Err(problem_with_help(
                format!("unsupported scheme `{scheme}://` for a relay"),
                RELAY_FORMS,
            )),
            None if text.is_empty() => Err(problem_with_help(
                "the endpoint is empty",
                format!("{RELAY_FORMS}, e.g. `unix:///tmp/relay.sock`"),
            )),
            None => Err(problem_with_help(
                format!(
                    "the relay endpoint {:?} is neither a `unix://` URL nor an absolute path",
                    redact(text)
                ),
                format!("{RELAY_FORMS}, e.g. `unix:///tmp/relay.sock`"),
            )),
        }
    }

    fn parse_any(text: &str) -> Result<Endpoint, EndpointError> {
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(if text.is_empty() {
                problem_with_help(
                    "the endpoint is empty",
                    format!("use one of {SUPPORTED_SCHEMES}"),
                )
            } else {
                problem_with_help(
                    format!("the endpoint {:?} has no scheme", redact(text)),
                    format!(
                        "write it as one of {SUPPORTED_SCHEMES}, e.g. `tcp://{}`",
                        redact(text)
                    ),
                )
            });
        };
        match scheme {
            "unix" => unix_path(rest),
            "tcp" => {
                let (host, port, path) = authority(rest, None)?;
                if !path.is_empty() {
                    return Err(problem(format!(
                        "a tcp:// endpoint has no path, but {:?} has {path:?}",
                        redact(text)
                    )));
                }
                Ok(Endpoint::Tcp { host, port })
            }
            "ws" | "wss" => {
                let secure = scheme == "wss";
                // Credentials end at the last `@` before the path or query;
                // an `@` in the path or query is part of it.
                let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
                let (userinfo, hostpart) = match rest[..authority_end].rfind('@') {
                    Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
                    None => (None, rest),
                };
                let default_port = if secure { 443 } else { 80 };
                let (host, port, path) = authority(hostpart, Some(default_port))?;
                Ok(Endpoint::WebSocket(WebSocketEndpoint {
                    secure,
                    host,
                    port,
                    // `ws://host?x=1` requests `/?x=1`.
                    path: if path.starts_with('/') {
                        path.to_owned()
                    } else {
                        format!("/{path}")
                    },
                    credentials: userinfo.map(str::to_owned),
                }))
            }
            "nats" => NatsEndpoint::parse(rest).map(Endpoint::Nats),
            other => Err(problem_with_help(
                format!("unsupported scheme `{other}://`"),
                format!("supported schemes are {SUPPORTED_SCHEMES}"),
            )),
        }
    }

    /// The Unix socket path, for a Unix endpoint.
    pub fn unix_path(&self) -> Option<&Path> {
        match self {
            Endpoint::Unix(path) => Some(path.as_path()),
            _ => None,
        }
    }
}

fn unix_path(path: &str) -> Result<Endpoint, EndpointError> {
    if path.is_empty() {
        return Err(problem_with_help(
            "the Unix socket path is empty",
            "write an absolute path, e.g. `unix:///tmp/relay.sock`",
        ));
    }
    if !path.starts_with('/') {
        return Err(problem_with_help(
            format!("the Unix socket path {path:?} is relative"),
            // Most often the third slash of `unix:///` is missing.
            format!(
                "write an absolute path, e.g. `unix:///{}`",
                path.trim_start_matches("./")
            ),
        ));
    }
    if path.len() > MAX_UNIX_PATH_BYTES {
        return Err(problem_with_help(
            format!(
                "the Unix socket path is {} bytes long, but a socket address holds at most {MAX_UNIX_PATH_BYTES}",
                path.len()
            ),
            "use a shorter path",
        ));
    }
    if path.contains('\0') {
        return Err(problem("the Unix socket path contains a NUL byte"));
    }
    Ok(Endpoint::Unix(UnixSocketPath(PathBuf::from(path))))
}

impl Endpoint {
    /// A Unix endpoint for a path the config reader has not checked: only
    /// for placeholders that never connect.
    pub(crate) fn unchecked_unix(path: PathBuf) -> Endpoint {
        Endpoint::Unix(UnixSocketPath(path))
    }
}

/// Parses any endpoint a `direct` service accepts, as
/// [`Endpoint::parse_direct`] does (a relay's bare path needs
/// [`Endpoint::parse_relay`] or [`Endpoint::unix`]).
impl FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(text: &str) -> Result<Endpoint, EndpointError> {
        Endpoint::parse_direct(text)
    }
}

/// Splits `host:port/path`, requiring a port unless `default_port` is given.
pub(super) fn authority(
    text: &str,
    default_port: Option<u16>,
) -> Result<(String, u16, &str), EndpointError> {
    let (authority, path) = match text.find(['/', '?']) {
        Some(index) => text.split_at(index),
        None => (text, ""),
    };
    // Only ws://, wss:// and nats:// take `user:password@`, and strip it
    // before this; anything left would be echoed below, so say what it is
    // without it.
    if authority.contains('@') {
        return Err(problem_with_help(
            "only ws://, wss:// and nats:// endpoints take a `user:password@`",
            "remove the part up to `@`",
        ));
    }
    let bracketed_host = authority.starts_with('[');
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((host, after)) = bracketed.split_once(']') else {
            return Err(problem(format!(
                "the IPv6 host in {authority:?} has no closing `]`"
            )));
        };
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(problem(format!("unexpected {after:?} after the IPv6 host"))),
            },
        }
    } else if authority.matches(':').count() > 1 {
        // `::1:9000` could be an address and a port or an address alone.
        return Err(problem_with_help(
            format!("the host in {authority:?} has more than one `:`"),
            "write an IPv6 address in brackets, e.g. `[::1]:9000`",
        ));
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(problem_with_help(
            "the endpoint has no host",
            "write it as `scheme://host:port`, e.g. `tcp://127.0.0.1:9000`",
        ));
    }
    if let Some(message) = host_problem(host, bracketed_host) {
        return Err(problem_with_help(
            message,
            "write a host name (RFC 1123), an IPv4 address or a bracketed IPv6 address",
        ));
    }
    let port = match (port, default_port) {
        (Some(port), _) => match port.parse::<u16>() {
            // `parse` alone would take `+80`.
            Ok(number) if number != 0 && port.bytes().all(|byte| byte.is_ascii_digit()) => number,
            _ => {
                return Err(problem_with_help(
                    format!("the port {port:?} is not a number from 1 to 65535"),
                    format!("write it as `{}:PORT`", bracketed(host)),
                ));
            }
        },
        (None, Some(default_port)) => default_port,
        (None, None) => {
            return Err(problem_with_help(
                format!("the endpoint has no port after the host {host:?}"),
                format!("write it as `{}:PORT`", bracketed(host)),
            ));
        }
    };
    Ok((host.to_owned(), port, path))
}

fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// `text` with any `user:password@` replaced by `***@`, for messages.
/// Without a scheme (`user:secret@host:1`), everything before the last `@`
/// of the authority is the credentials too.
pub fn redact(text: &str) -> String {
    let (prefix, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), text),
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{prefix}***@{}", &rest[at + 1..]),
        None => text.to_owned(),
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix://{}", path.display()),
            Endpoint::Tcp { host, port } => write!(f, "tcp://{}:{port}", bracketed(host)),
            Endpoint::WebSocket(ws) => {
                let scheme = if ws.secure { "wss" } else { "ws" };
                let credentials = if ws.credentials.is_some() { "***@" } else { "" };
                write!(
                    f,
                    "{scheme}://{credentials}{}:{}{}",
                    bracketed(&ws.host),
                    ws.port,
                    ws.path
                )
            }
            Endpoint::Nats(nats) => nats.fmt(f),
        }
    }
}

/// Shows the endpoint as Display does, so credentials never reach a log.
impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({self})")
    }
}

/// Shows the endpoint without credentials.
impl fmt::Debug for WebSocketEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "WebSocketEndpoint({})",
            Endpoint::WebSocket(self.clone())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_supported_form() {
        assert_eq!(
            Endpoint::parse_relay("/tmp/r.sock").unwrap(),
            Endpoint::unix("/tmp/r.sock").unwrap()
        );
        assert_eq!(
            Endpoint::parse_direct("tcp://127.0.0.1:9001")
                .unwrap()
                .to_string(),
            "tcp://127.0.0.1:9001"
        );
        assert_eq!(
            Endpoint::parse_direct("tcp://[::1]:9001").unwrap(),
            Endpoint::Tcp {
                host: "::1".into(),
                port: 9001
            }
        );
        let Endpoint::WebSocket(ws) =
            Endpoint::parse_direct("wss://u:p@example.com/feed?x=1").unwrap()
        else {
            panic!("not a websocket endpoint")
        };
        assert_eq!((ws.port, ws.path.as_str()), (443, "/feed?x=1"));
        assert_eq!(ws.credentials.as_deref(), Some("u:p"));
        assert_eq!(ws.url(), "wss://example.com:443/feed?x=1");
    }

    #[test]
    fn never_shows_credentials() {
        let endpoint = Endpoint::parse_direct("ws://user:secret@host:1/x").unwrap();
        assert!(!format!("{endpoint} {endpoint:?}").contains("secret"));
        assert_eq!(redact("ws://user:secret@host:1/x"), "ws://***@host:1/x");
        for text in [
            "http://user:secret@host:1",
            "u:secret@h:1",
            "tcp://u:secret@h:1",
        ] {
            let error = Endpoint::parse_direct(text).unwrap_err();
            assert!(!error.to_string().contains("secret"), "{error}");
        }
    }
}
