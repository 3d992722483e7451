//! Real peers for integration tests, shared by every test binary that says
//! `#[path = "../common/mod.rs"] mod common;`: Unix listeners in a temporary
//! directory, TCP on `127.0.0.1:0`, a length-prefixed frame reader, plain and
//! TLS WebSocket servers (certificates made by rcgen, signed by a private CA),
//! an accept counter, and a bound on every wait.
//!
//! Each binary uses a different part of this file.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use sinks::config::{Endpoint, LeafConfig, RetryPolicy};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite;

/// The longest any one step of a test may take: generous for a loaded
/// 2-core CI machine, short enough that a hang fails the test, not the job.
pub const BOUND: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test if it takes longer than [`BOUND`].
pub async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(BOUND, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} did not finish within {BOUND:?}"),
    }
}

/// Polls `condition` every 5 ms until it holds; panics after [`BOUND`].
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    bounded(what, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// A retry policy for live peers: quick retries, short bounds.
pub fn quick_retry() -> RetryPolicy {
    RetryPolicy::default()
        .max_retries(20)
        .retry_delay(Duration::from_millis(20))
        .backoff_multiplier(1.0)
        .connect_timeout(Duration::from_millis(500))
        .wait_timeout(Duration::from_secs(5))
}

/// A retry policy that gives up fast: two attempts 20 ms apart, each
/// bounded by 300 ms.
pub fn give_up_fast() -> RetryPolicy {
    RetryPolicy::default()
        .max_retries(1)
        .retry_delay(Duration::from_millis(20))
        .backoff_multiplier(1.0)
        .connect_timeout(Duration::from_millis(300))
        .wait_timeout(Duration::from_secs(2))
}

/// A payload of `size` bytes that starts with `id` (u64 little-endian) and
/// is filled after it with a byte derived from `id`, so a torn or mixed-up
/// frame shows.
pub fn payload(id: u64, size: usize) -> Bytes {
    let size = size.max(8);
    let mut bytes = vec![(id % 251) as u8; size];
    bytes[..8].copy_from_slice(&id.to_le_bytes());
    Bytes::from(bytes)
}

/// The id a [`payload`] carries.
pub fn id_of(payload: &[u8]) -> u64 {
    u64::from_le_bytes(
        payload[..8]
            .try_into()
            .expect("test payloads carry an 8-byte id"),
    )
}

/// A stream a peer reads from: Unix, TCP, or TLS over TCP.
pub trait PeerStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> PeerStream for T {}

/// A boxed [`PeerStream`], so one peer serves every transport.
pub type BoxedStream = Box<dyn PeerStream>;

/// A bound listener, Unix or TCP.
#[derive(Debug)]
pub enum Listener {
    /// A Unix socket.
    Unix(UnixListener),
    /// A TCP socket.
    Tcp(TcpListener),
}

impl Listener {
    /// Accepts one connection.
    pub async fn accept(&self) -> io::Result<BoxedStream> {
        match self {
            Listener::Unix(listener) => {
                let (stream, _) = listener.accept().await?;
                Ok(Box::new(stream))
            }
            Listener::Tcp(listener) => {
                let (stream, _) = listener.accept().await?;
                Ok(Box::new(stream))
            }
        }
    }
}

/// A Unix socket path `name.sock` in `dir` (a test's `tempfile::tempdir()`).
pub fn unix_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.sock"))
}

/// Binds a Unix listener at `path`, removing a socket file a previous
/// listener left behind (as a restarting peer would).
pub fn bind_unix(path: &Path) -> UnixListener {
    let _ = std::fs::remove_file(path);
    UnixListener::bind(path).expect("bind the Unix socket")
}

/// Binds a TCP listener on a free loopback port.
pub async fn bind_tcp() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let address = listener.local_addr().expect("the bound address");
    (listener, address)
}

/// Binds a TCP listener at `address` again, after an earlier one there was
/// dropped (tokio sets `SO_REUSEADDR`, so the port can be taken at once).
pub async fn rebind_tcp(address: SocketAddr) -> TcpListener {
    TcpListener::bind(address)
        .await
        .expect("bind the TCP address again")
}

/// A loopback address nothing listens on: bound, then released.
pub async fn unused_tcp_address() -> SocketAddr {
    let (listener, address) = bind_tcp().await;
    drop(listener);
    address
}

/// The `tcp://` endpoint of `address`.
pub fn tcp_endpoint(address: SocketAddr) -> Endpoint {
    Endpoint::parse_direct(&format!("tcp://{address}")).expect("a valid tcp:// endpoint")
}

/// The `ws://` endpoint of `address` at `path` (which starts with `/`).
pub fn ws_endpoint(address: SocketAddr, path: &str) -> Endpoint {
    Endpoint::parse_direct(&format!("ws://{address}{path}")).expect("a valid ws:// endpoint")
}

/// A leaf config for `endpoint` with [`quick_retry`].
pub fn leaf(endpoint: Endpoint) -> LeafConfig {
    LeafConfig::new(endpoint).retry(quick_retry())
}

/// Reads one length-prefixed frame (u32 little-endian length, then the
/// payload). `None` at a clean end of stream before a frame starts; a frame
/// cut off mid-way is an error.
pub async fn read_frame<S: AsyncRead + Unpin + ?Sized>(
    stream: &mut S,
) -> io::Result<Option<Vec<u8>>> {
    let mut prefix = [0u8; 4];
    let mut filled = 0;
    while filled < prefix.len() {
        let read = stream.read(&mut prefix[filled..]).await?;
        if read == 0 {
            if filled == 0 {
                return Ok(None);
            }
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        filled += read;
    }
    let length = u32::from_le_bytes(prefix) as usize;
    let mut payload = vec![0u8; length];
    stream.read_exact(&mut payload).await?;
    Ok(Some(payload))
}

/// Reads exactly `count` length-prefixed frames.
pub async fn read_frames<S: AsyncRead + Unpin + ?Sized>(
    stream: &mut S,
    count: usize,
) -> io::Result<Vec<Vec<u8>>> {
    let mut frames = Vec::with_capacity(count);
    while frames.len() < count {
        match read_frame(stream).await? {
            Some(frame) => frames.push(frame),
            None => return Err(io::ErrorKind::UnexpectedEof.into()),
        }
    }
    Ok(frames)
}

/// Reads until the peer closes; returns every byte.
pub async fn read_to_end<S: AsyncRead + Unpin + ?Sized>(stream: &mut S) -> Vec<u8> {
    let mut all = Vec::new();
    let _ = stream.read_to_end(&mut all).await;
    all
}

/// Splits a byte stream into length-prefixed frames; panics on a torn tail.
pub fn split_frames(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        assert!(bytes.len() >= 4, "a torn length prefix: {bytes:?}");
        let length = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes")) as usize;
        assert!(
            bytes.len() >= 4 + length,
            "a frame of {length} bytes cut off after {}",
            bytes.len() - 4
        );
        frames.push(bytes[4..4 + length].to_vec());
        bytes = &bytes[4 + length..];
    }
    frames
}

/// What a peer received: the payloads of each accepted connection, in
/// order, plus (for WebSocket peers) the request headers and any frame that
/// was not a binary message.
#[derive(Debug, Clone, Default)]
pub struct Received(Arc<Mutex<ReceivedInner>>);

#[derive(Debug, Default)]
struct ReceivedInner {
    connections: Vec<Vec<Vec<u8>>>,
    headers: Vec<Vec<(String, String)>>,
    not_binary: Vec<String>,
}

impl Received {
    fn lock(&self) -> std::sync::MutexGuard<'_, ReceivedInner> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts the record of a new connection; returns its index.
    pub fn open(&self) -> usize {
        let mut inner = self.lock();
        inner.connections.push(Vec::new());
        inner.connections.len() - 1
    }

    /// Records one payload received on `connection`.
    pub fn record(&self, connection: usize, payload: Vec<u8>) {
        self.lock().connections[connection].push(payload);
    }

    fn record_headers(&self, headers: Vec<(String, String)>) {
        self.lock().headers.push(headers);
    }

    fn record_not_binary(&self, frame: String) {
        self.lock().not_binary.push(frame);
    }

    /// How many connections were accepted (for WebSocket: handshakes completed).
    pub fn connection_count(&self) -> usize {
        self.lock().connections.len()
    }

    /// The payloads of each connection.
    pub fn connections(&self) -> Vec<Vec<Vec<u8>>> {
        self.lock().connections.clone()
    }

    /// Every payload, connection after connection.
    pub fn payloads(&self) -> Vec<Vec<u8>> {
        self.lock().connections.concat()
    }

    /// The [`id_of`] of every payload, connection after connection.
    pub fn ids(&self) -> Vec<u64> {
        self.payloads()
            .iter()
            .map(|payload| id_of(payload))
            .collect()
    }

    /// How many payloads arrived in all.
    pub fn count(&self) -> usize {
        self.lock().connections.iter().map(Vec::len).sum()
    }

    /// The HTTP request headers of each WebSocket handshake, names lowercase.
    pub fn headers(&self) -> Vec<Vec<(String, String)>> {
        self.lock().headers.clone()
    }

    /// WebSocket frames that were not binary messages (text, ...), described.
    pub fn not_binary(&self) -> Vec<String> {
        self.lock().not_binary.clone()
    }

    /// Waits until `count` payloads arrived in all; panics after [`BOUND`].
    pub async fn wait_for(&self, count: usize) {
        let what = format!("{count} payload(s) arriving");
        eventually(&what, || self.count() >= count).await;
    }
}

/// Counts the connections a listener accepted.
#[derive(Debug, Clone, Default)]
pub struct AcceptCounter(Arc<AtomicUsize>);

impl AcceptCounter {
    /// Counts one accept.
    pub fn accepted(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    /// How many connections were accepted so far.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Reads length-prefixed frames from `stream` into `received` until EOF or
/// an error; a frame cut off at the end is dropped, as a real peer would.
pub async fn record_frames<S: AsyncRead + Unpin + ?Sized>(stream: &mut S, received: &Received) {
    let connection = received.open();
    while let Ok(Some(frame)) = read_frame(stream).await {
        received.record(connection, frame);
    }
}

/// A peer that accepts every connection (each read by its own task, so a
/// sink opening more than one connection is seen doing so) and records the
/// length-prefixed frames it receives. Aborting the handle stops accepting;
/// connections already accepted keep being read until the sink closes them.
pub fn serve_frames(listener: Listener) -> (Received, AcceptCounter, JoinHandle<()>) {
    let received = Received::default();
    let accepts = AcceptCounter::default();
    let task = {
        let received = received.clone();
        let accepts = accepts.clone();
        tokio::spawn(async move {
            while let Ok(mut stream) = listener.accept().await {
                accepts.accepted();
                let received = received.clone();
                tokio::spawn(async move { record_frames(&mut stream, &received).await });
            }
        })
    };
    (received, accepts, task)
}

/// [`serve_frames`] on a fresh Unix socket `name.sock` in `dir`; returns its path.
pub fn unix_peer(dir: &Path, name: &str) -> (PathBuf, Received, AcceptCounter, JoinHandle<()>) {
    let path = unix_path(dir, name);
    let (received, accepts, task) = serve_frames(Listener::Unix(bind_unix(&path)));
    (path, received, accepts, task)
}

/// [`serve_frames`] on a fresh loopback TCP port; returns its address.
pub async fn tcp_peer() -> (SocketAddr, Received, AcceptCounter, JoinHandle<()>) {
    let (listener, address) = bind_tcp().await;
    let (received, accepts, task) = serve_frames(Listener::Tcp(listener));
    (address, received, accepts, task)
}

/// Serves one WebSocket connection on `stream`: records the handshake's
/// request headers, then each binary message, until the stream ends.
// The handshake callback's error type is tungstenite's, not ours to shrink.
#[allow(clippy::result_large_err)]
pub async fn record_websocket<S: AsyncRead + AsyncWrite + Unpin>(stream: S, received: &Received) {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let callback = {
        let captured = Arc::clone(&captured);
        move |request: &tungstenite::handshake::server::Request,
              response: tungstenite::handshake::server::Response| {
            let headers = request
                .headers()
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_ascii_lowercase(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect::<Vec<_>>();
            *captured.lock().unwrap_or_else(|p| p.into_inner()) = headers;
            Ok(response)
        }
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let headers = std::mem::take(&mut *captured.lock().unwrap_or_else(|p| p.into_inner()));
    received.record_headers(headers);
    let connection = received.open();
    while let Some(Ok(message)) = ws.next().await {
        match message {
            tungstenite::Message::Binary(payload) => received.record(connection, payload.to_vec()),
            tungstenite::Message::Close(_)
            | tungstenite::Message::Ping(_)
            | tungstenite::Message::Pong(_) => {}
            other => received.record_not_binary(format!("{other:?}")),
        }
    }
}

/// A WebSocket server on `listener`: every connection is served by its own
/// task with [`record_websocket`].
pub fn serve_websocket(listener: TcpListener) -> (Received, AcceptCounter, JoinHandle<()>) {
    let received = Received::default();
    let accepts = AcceptCounter::default();
    let task = {
        let received = received.clone();
        let accepts = accepts.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                accepts.accepted();
                let received = received.clone();
                tokio::spawn(async move { record_websocket(stream, &received).await });
            }
        })
    };
    (received, accepts, task)
}

/// [`serve_websocket`] on a fresh loopback port; returns its address.
pub async fn websocket_peer() -> (SocketAddr, Received, AcceptCounter, JoinHandle<()>) {
    let (listener, address) = bind_tcp().await;
    let (received, accepts, task) = serve_websocket(listener);
    (address, received, accepts, task)
}

/// A private certificate authority and a server certificate it signed,
/// written as PEM files into a temporary directory that lives as long as
/// this value.
pub struct TestPki {
    /// The CA certificate, PEM: what a client's `tls_ca_file` holds.
    pub ca_pem: String,
    /// `ca_pem`, written to a file.
    pub ca_file: PathBuf,
    /// A TLS acceptor presenting the server certificate (and the CA above it).
    pub acceptor: tokio_rustls::TlsAcceptor,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki")
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

impl TestPki {
    /// A fresh CA and a server certificate for `server_names` (e.g. `["localhost"]`).
    pub fn new(server_names: &[&str]) -> TestPki {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "sinks test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
        ];
        let ca_key = KeyPair::generate().expect("a CA key");
        let ca_cert = ca_params.self_signed(&ca_key).expect("the CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);

        let names: Vec<String> = server_names.iter().map(|name| (*name).to_owned()).collect();
        let mut server_params = CertificateParams::new(names).expect("server params");
        server_params.distinguished_name.push(
            DnType::CommonName,
            server_names.first().copied().unwrap_or("server"),
        );
        server_params.use_authority_key_identifier_extension = true;
        server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate().expect("a server key");
        let server_cert = server_params
            .signed_by(&server_key, &issuer)
            .expect("the server certificate");

        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![server_cert.der().clone(), ca_cert.der().clone()], key)
            .expect("a server certificate and key");

        let dir = tempfile::tempdir().expect("a temporary directory");
        let ca_pem = ca_cert.pem();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &ca_pem).expect("write the CA file");
        TestPki {
            ca_pem,
            ca_file,
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            _dir: dir,
        }
    }
}

/// A `wss://` server on `listener` presenting `acceptor`'s certificate: each
/// connection does the TLS handshake, then [`record_websocket`]. Failed TLS
/// handshakes are counted in the returned counter's twin (the second one).
pub fn serve_tls_websocket(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
) -> (Received, AcceptCounter, AcceptCounter, JoinHandle<()>) {
    let received = Received::default();
    let accepts = AcceptCounter::default();
    let tls_failures = AcceptCounter::default();
    let task = {
        let received = received.clone();
        let accepts = accepts.clone();
        let tls_failures = tls_failures.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                accepts.accepted();
                let received = received.clone();
                let acceptor = acceptor.clone();
                let tls_failures = tls_failures.clone();
                tokio::spawn(async move {
                    match acceptor.accept(stream).await {
                        Ok(tls) => record_websocket(tls, &received).await,
                        Err(_) => tls_failures.accepted(),
                    }
                });
            }
        })
    };
    (received, accepts, tls_failures, task)
}
