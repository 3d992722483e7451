//! What integration tests share: real peers (Unix and TCP byte streams,
//! WebSocket, WebSocket over TLS) that record what arrives, a decoder for
//! length-prefixed frames, a private CA for `wss://`, retry policies for
//! quick tests, and a bound on every wait.
//!
//! Peers listen on `127.0.0.1:0` or on a Unix socket in a temporary
//! directory, so tests run in parallel without colliding. A [`Peer`] can stop
//! reading (to fill the socket buffers), hang up on its connections while
//! still listening (a restart), or be shut down (gone until a new one binds).
//!
//! Included by each test binary with `#[path = "../support/mod.rs"] mod support;`.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use sinks::config::{CompositePattern, Endpoint, RetryPolicy};
use sinks::{CompositeSink, EndpointSink, Message, MessageSink};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

/// The longest any one step of a test may take: generous for a loaded
/// 2-core machine, short enough that a hang fails the test, not the CI job.
pub const BOUND: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test if it takes longer than [`BOUND`].
pub async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(BOUND, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} did not finish within {BOUND:?}"),
    }
}

/// Polls `condition` every 2 ms until it holds; fails the test after [`BOUND`].
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    bounded(what, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
}

/// Fails the test if `future` completes within `wait`. The future is polled
/// in place, so the caller can go on awaiting it afterwards.
pub async fn assert_pending_for<F: Future + Unpin>(what: &str, future: &mut F, wait: Duration) {
    if tokio::time::timeout(wait, future).await.is_ok() {
        panic!("{what} completed, but it should still be waiting after {wait:?}");
    }
}

/// Retries every 10 ms for about a second and a half, each attempt bounded by
/// 500 ms: rides out a peer that is down for a few hundred milliseconds.
pub fn quick_retry() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_retries(150)
        .with_retry_delay(Duration::from_millis(10))
        .with_backoff_multiplier(1.0)
        .with_connect_timeout(Duration::from_millis(500))
        .with_wait_timeout(Duration::from_secs(5))
}

/// Gives up quickly: two attempts 10 ms apart, each bounded by 300 ms.
pub fn give_up_fast() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_retries(1)
        .with_retry_delay(Duration::from_millis(10))
        .with_backoff_multiplier(1.0)
        .with_connect_timeout(Duration::from_millis(300))
        .with_wait_timeout(Duration::from_secs(3))
}

// ---------------------------------------------------------------------------
// Payloads and the wire format

/// A message whose payload is `id` (u64 little-endian) padded with a byte
/// pattern to `size` bytes (at least 8), so a cut or shifted frame shows.
pub fn numbered(id: u64, size: usize) -> Message {
    Message::new(numbered_payload(id, size))
}

/// The payload of [`numbered`].
pub fn numbered_payload(id: u64, size: usize) -> Bytes {
    let mut payload: Vec<u8> = (0..size.max(8)).map(|index| index as u8).collect();
    payload[..8].copy_from_slice(&id.to_le_bytes());
    Bytes::from(payload)
}

/// The id a [`numbered`] payload carries; panics on a payload that is not one.
pub fn id_of(payload: &[u8]) -> u64 {
    let id = u64::from_le_bytes(payload[..8].try_into().expect("an 8-byte id"));
    assert_eq!(
        payload,
        &numbered_payload(id, payload.len())[..],
        "payload {id} is corrupted"
    );
    id
}

/// The ids of [`numbered`] payloads.
pub fn ids_of(frames: &[Vec<u8>]) -> Vec<u64> {
    frames.iter().map(|frame| id_of(frame)).collect()
}

/// The bytes `payloads` take on a length-prefixed stream, encoded here
/// independently of the runtime: a u32 little-endian length, then the payload.
pub fn length_prefixed<P: AsRef<[u8]>>(payloads: &[P]) -> Vec<u8> {
    let mut out = Vec::new();
    for payload in payloads {
        let payload = payload.as_ref();
        let length = u32::try_from(payload.len()).expect("a test payload fits a u32");
        out.extend_from_slice(&length.to_le_bytes());
        out.extend_from_slice(payload);
    }
    out
}

/// Decodes length-prefixed frames from a byte stream.
#[derive(Debug)]
pub struct FrameReader<S> {
    stream: S,
    buffer: Vec<u8>,
}

impl<S: AsyncRead + Unpin> FrameReader<S> {
    /// A reader of `stream`.
    pub fn new(stream: S) -> FrameReader<S> {
        FrameReader {
            stream,
            buffer: Vec::new(),
        }
    }

    /// The next whole frame's payload; `None` at a clean end of stream, an
    /// `UnexpectedEof` error if the stream ends inside a frame.
    pub async fn read_frame(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if self.buffer.len() >= 4 {
                let length =
                    u32::from_le_bytes(self.buffer[..4].try_into().expect("4 bytes")) as usize;
                if self.buffer.len() >= 4 + length {
                    let payload = self.buffer[4..4 + length].to_vec();
                    self.buffer.drain(..4 + length);
                    return Ok(Some(payload));
                }
            }
            let mut chunk = [0u8; 64 * 1024];
            let read = self.stream.read(&mut chunk).await?;
            if read == 0 {
                return if self.buffer.is_empty() {
                    Ok(None)
                } else {
                    Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "the stream ended inside a frame ({} bytes)",
                            self.buffer.len()
                        ),
                    ))
                };
            }
            self.buffer.extend_from_slice(&chunk[..read]);
        }
    }

    /// Exactly `count` frames; an error if the stream ends first.
    pub async fn read_frames(&mut self, count: usize) -> io::Result<Vec<Vec<u8>>> {
        let mut frames = Vec::with_capacity(count);
        while frames.len() < count {
            match self.read_frame().await? {
                Some(frame) => frames.push(frame),
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the stream ended after {} of {count} frames", frames.len()),
                    ));
                }
            }
        }
        Ok(frames)
    }

    /// Every frame until the end of the stream.
    pub async fn read_to_end(&mut self) -> io::Result<Vec<Vec<u8>>> {
        let mut frames = Vec::new();
        while let Some(frame) = self.read_frame().await? {
            frames.push(frame);
        }
        Ok(frames)
    }

    /// The stream, and any bytes read past the last whole frame.
    pub fn into_parts(self) -> (S, Vec<u8>) {
        (self.stream, self.buffer)
    }
}

// ---------------------------------------------------------------------------
// Addresses and listeners

/// A temporary directory for Unix sockets, removed when dropped.
#[derive(Debug)]
pub struct SocketDir(tempfile::TempDir);

impl SocketDir {
    /// A fresh directory.
    pub fn new() -> SocketDir {
        SocketDir(tempfile::tempdir().expect("create a temporary directory"))
    }

    /// The path of socket `name` in the directory (nothing is created).
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(format!("{name}.sock"))
    }

    /// Binds a Unix listener at [`path`](SocketDir::path)`(name)`.
    pub fn bind(&self, name: &str) -> (UnixListener, PathBuf) {
        let path = self.path(name);
        (bind_unix(&path), path)
    }
}

/// Binds a Unix listener at `path`, replacing the file a previous listener
/// left behind (as a restarting peer does).
pub fn bind_unix(path: &Path) -> UnixListener {
    let _ = std::fs::remove_file(path);
    UnixListener::bind(path).expect("bind a Unix socket")
}

/// A TCP listener on a free loopback port, and its address.
pub async fn bind_tcp() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let address = listener.local_addr().expect("the listener's address");
    (listener, address)
}

/// Binds `address` again, for a peer that comes back where it was. tokio
/// sets SO_REUSEADDR, so the port is free as soon as the old listener closed.
pub async fn rebind_tcp(address: SocketAddr) -> TcpListener {
    TcpListener::bind(address)
        .await
        .expect("bind the same TCP address again")
}

/// A loopback address nothing listens on: connecting is refused.
pub async fn refused_tcp_address() -> SocketAddr {
    bind_tcp().await.1
}

/// `tcp://` for `address`.
pub fn tcp_endpoint(address: SocketAddr) -> Endpoint {
    Endpoint::parse_direct(&format!("tcp://{address}")).expect("a valid tcp:// endpoint")
}

/// `ws://` for `address`, at path `/feed`.
pub fn ws_endpoint(address: SocketAddr) -> Endpoint {
    Endpoint::parse_direct(&format!("ws://{address}/feed")).expect("a valid ws:// endpoint")
}

/// A listener for a byte-stream peer.
#[derive(Debug)]
pub enum StreamListener {
    /// A Unix socket.
    Unix(UnixListener),
    /// A TCP socket.
    Tcp(TcpListener),
}

impl From<UnixListener> for StreamListener {
    fn from(listener: UnixListener) -> StreamListener {
        StreamListener::Unix(listener)
    }
}

impl From<TcpListener> for StreamListener {
    fn from(listener: TcpListener) -> StreamListener {
        StreamListener::Tcp(listener)
    }
}

/// A byte stream of any transport.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

impl StreamListener {
    /// The next connection.
    pub async fn accept(&self) -> io::Result<Box<dyn Io>> {
        Ok(match self {
            StreamListener::Unix(listener) => Box::new(listener.accept().await?.0),
            StreamListener::Tcp(listener) => Box::new(listener.accept().await?.0),
        })
    }
}

// ---------------------------------------------------------------------------
// Recording peers

/// What a [`Peer`] received, connection by connection, in accept order.
#[derive(Debug, Clone, Default)]
pub struct Recording(Arc<Mutex<Received>>);

#[derive(Debug, Default)]
struct Received {
    /// The payloads of each accepted connection, in arrival order.
    connections: Vec<Vec<Vec<u8>>>,
    /// The `Authorization` header of each WebSocket handshake.
    authorization: Vec<Option<String>>,
    /// TLS or WebSocket handshakes that failed.
    handshake_failures: Vec<String>,
    /// What a well-behaved sink never causes: a frame cut off by the end of
    /// the stream, a text frame, a read error.
    anomalies: Vec<String>,
}

impl Recording {
    fn lock(&self) -> MutexGuard<'_, Received> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn open(&self) -> usize {
        let mut received = self.lock();
        received.connections.push(Vec::new());
        received.connections.len() - 1
    }

    fn push(&self, connection: usize, payload: Vec<u8>) {
        self.lock().connections[connection].push(payload);
    }

    fn anomaly(&self, what: String) {
        self.lock().anomalies.push(what);
    }

    /// How many connections were accepted.
    pub fn accepted(&self) -> usize {
        self.lock().connections.len()
    }

    /// The payloads of every connection.
    pub fn connections(&self) -> Vec<Vec<Vec<u8>>> {
        self.lock().connections.clone()
    }

    /// Every payload received, connection after connection.
    pub fn frames(&self) -> Vec<Vec<u8>> {
        self.lock().connections.concat()
    }

    /// How many payloads were received.
    pub fn frame_count(&self) -> usize {
        self.lock().connections.iter().map(Vec::len).sum()
    }

    /// The `Authorization` header of each WebSocket handshake, in order.
    pub fn authorization_headers(&self) -> Vec<Option<String>> {
        self.lock().authorization.clone()
    }

    /// Why TLS or WebSocket handshakes failed.
    pub fn handshake_failures(&self) -> Vec<String> {
        self.lock().handshake_failures.clone()
    }

    /// Partial frames, text frames, read errors.
    pub fn anomalies(&self) -> Vec<String> {
        self.lock().anomalies.clone()
    }

    /// Waits until `count` payloads have arrived and returns them all.
    pub async fn wait_for_frames(&self, count: usize) -> Vec<Vec<u8>> {
        eventually(&format!("{count} frames arriving"), || {
            self.frame_count() >= count
        })
        .await;
        self.frames()
    }

    /// Waits until `count` connections have been accepted.
    pub async fn wait_for_accepts(&self, count: usize) {
        eventually(&format!("{count} accepted connection(s)"), || {
            self.accepted() >= count
        })
        .await;
    }
}

/// How a [`Peer`] reads its connections.
#[derive(Clone)]
enum Protocol {
    LengthPrefixed,
    WebSocket(Option<TlsAcceptor>),
}

/// A listening peer that accepts every connection at once and records what
/// each receives into a [`Recording`]. Dropping it stops listening and drops
/// its connections (shortly after; [`shutdown`](Peer::shutdown) waits for it).
#[derive(Debug)]
pub struct Peer {
    recording: Recording,
    reading: watch::Sender<bool>,
    hang_ups: watch::Sender<u64>,
    task: JoinHandle<()>,
}

impl Peer {
    /// A peer decoding length-prefixed frames on a Unix or TCP listener.
    pub fn length_prefixed(listener: impl Into<StreamListener>) -> Peer {
        Peer::start(listener.into(), Protocol::LengthPrefixed)
    }

    /// A `ws://` peer recording binary messages.
    pub fn websocket(listener: TcpListener) -> Peer {
        Peer::start(StreamListener::Tcp(listener), Protocol::WebSocket(None))
    }

    /// A `wss://` peer presenting `acceptor`'s certificate.
    pub fn secure_websocket(listener: TcpListener, acceptor: TlsAcceptor) -> Peer {
        Peer::start(
            StreamListener::Tcp(listener),
            Protocol::WebSocket(Some(acceptor)),
        )
    }

    fn start(listener: StreamListener, protocol: Protocol) -> Peer {
        let recording = Recording::default();
        let (reading, _) = watch::channel(true);
        let (hang_ups, _) = watch::channel(0);
        let task = tokio::spawn(accept_loop(
            listener,
            protocol,
            recording.clone(),
            reading.clone(),
            hang_ups.clone(),
        ));
        Peer {
            recording,
            reading,
            hang_ups,
            task,
        }
    }

    /// What arrived so far.
    pub fn recording(&self) -> &Recording {
        &self.recording
    }

    /// Stops reading every connection (accepting goes on), so the sender's
    /// socket buffers fill up. Call it before the sink connects to read nothing.
    pub fn pause_reading(&self) {
        self.reading.send_replace(false);
    }

    /// Reads again.
    pub fn resume_reading(&self) {
        self.reading.send_replace(true);
    }

    /// Drops every open connection, unread bytes and all, and keeps
    /// listening on the same address: a peer that restarts.
    pub fn hang_up(&self) {
        self.hang_ups.send_modify(|count| *count += 1);
    }

    /// Stops listening and drops every connection; when this returns the
    /// address is free for a new peer.
    pub async fn shutdown(mut self) -> Recording {
        self.task.abort();
        let _ = (&mut self.task).await;
        self.recording.clone()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    listener: StreamListener,
    protocol: Protocol,
    recording: Recording,
    reading: watch::Sender<bool>,
    hang_ups: watch::Sender<u64>,
) {
    // Dropped with this task, which aborts every connection's task.
    let mut connections = JoinSet::new();
    loop {
        let stream = match listener.accept().await {
            Ok(stream) => stream,
            Err(error) => {
                recording.anomaly(format!("accept failed: {error}"));
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        let connection = recording.open();
        let recording = recording.clone();
        let reading = reading.subscribe();
        let hang_up = hang_ups.subscribe();
        let protocol = protocol.clone();
        connections.spawn(async move {
            let serve = serve(stream, protocol, &recording, connection, reading);
            tokio::select! {
                () = serve => {}
                _ = wait_for_hang_up(hang_up) => {}
            }
        });
        while connections.try_join_next().is_some() {}
    }
}

async fn wait_for_hang_up(mut hang_up: watch::Receiver<u64>) {
    if hang_up.changed().await.is_err() {
        // The peer is gone, and this task with it.
        std::future::pending::<()>().await;
    }
}

async fn serve(
    stream: Box<dyn Io>,
    protocol: Protocol,
    recording: &Recording,
    connection: usize,
    mut reading: watch::Receiver<bool>,
) {
    match protocol {
        Protocol::LengthPrefixed => {
            let mut frames = FrameReader::new(stream);
            loop {
                let _ = reading.wait_for(|reading| *reading).await;
                match frames.read_frame().await {
                    Ok(Some(payload)) => recording.push(connection, payload),
                    Ok(None) => return,
                    Err(error) => return recording.anomaly(format!("read: {error}")),
                }
            }
        }
        Protocol::WebSocket(tls) => {
            let stream: Box<dyn Io> = match tls {
                None => stream,
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => Box::new(stream),
                    Err(error) => {
                        let failure = format!("TLS: {error}");
                        return recording.lock().handshake_failures.push(failure);
                    }
                },
            };
            let authorization = Arc::new(Mutex::new(None));
            let seen = Arc::clone(&authorization);
            // The signature is tungstenite's `Callback`; its error type is not ours to shrink.
            #[allow(clippy::result_large_err)]
            let callback = move |request: &Request, response: Response| {
                let header = request.headers().get("authorization");
                *seen.lock().unwrap_or_else(|p| p.into_inner()) =
                    header.map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
                Ok::<Response, ErrorResponse>(response)
            };
            let mut ws = match tokio_tungstenite::accept_hdr_async(stream, callback).await {
                Ok(ws) => ws,
                Err(error) => {
                    let failure = format!("WebSocket: {error}");
                    return recording.lock().handshake_failures.push(failure);
                }
            };
            let header = authorization
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            recording.lock().authorization.push(header);
            loop {
                let _ = reading.wait_for(|reading| *reading).await;
                match ws.next().await {
                    None | Some(Ok(tungstenite::Message::Close(_))) => return,
                    Some(Ok(tungstenite::Message::Binary(payload))) => {
                        recording.push(connection, payload.to_vec())
                    }
                    Some(Ok(tungstenite::Message::Text(text))) => {
                        recording.anomaly(format!("a text frame: {text:?}"))
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => return recording.anomaly(format!("read: {error}")),
                }
            }
        }
    }
}

/// A TCP peer that accepts connections and never answers: a WebSocket
/// handshake to it hangs until the client's timeout. Records when it
/// accepted each connection.
#[derive(Debug)]
pub struct SilentPeer {
    accepted_at: Arc<Mutex<Vec<Instant>>>,
    task: JoinHandle<()>,
}

impl SilentPeer {
    /// Starts it on `listener`.
    pub fn start(listener: TcpListener) -> SilentPeer {
        let accepted_at = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&accepted_at);
        let task = tokio::spawn(async move {
            // Held open, unread, until the peer is dropped.
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
                log.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(Instant::now());
            }
        });
        SilentPeer { accepted_at, task }
    }

    /// When it accepted each connection.
    pub fn accepted_at(&self) -> Vec<Instant> {
        self.accepted_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for SilentPeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ---------------------------------------------------------------------------
// TLS

/// A private certificate authority, made fresh for a test.
pub struct TestCa {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    pem: String,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

impl TestCa {
    /// A new CA with its self-signed certificate.
    pub fn new() -> TestCa {
        let mut params = rcgen::CertificateParams::new(Vec::new()).expect("CA parameters");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "sinks test CA");
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().expect("a CA key");
        let certificate = params.self_signed(&key).expect("the CA certificate");
        TestCa {
            issuer: rcgen::Issuer::new(params, key),
            pem: certificate.pem(),
        }
    }

    /// The CA certificate in PEM, as a client's `tls_ca_file` holds it.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// Writes the CA certificate to `path` and returns the path.
    pub fn write_pem(&self, path: PathBuf) -> PathBuf {
        std::fs::write(&path, &self.pem).expect("write the CA file");
        path
    }

    /// A TLS acceptor presenting a certificate for `names`, signed by this CA.
    pub fn acceptor_for(&self, names: &[&str]) -> TlsAcceptor {
        use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let mut params = rcgen::CertificateParams::new(names).expect("server parameters");
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = rcgen::KeyPair::generate().expect("a server key");
        let certificate = params
            .signed_by(&key, &self.issuer)
            .expect("sign the server certificate");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![certificate.der().clone()], key)
            .expect("a server certificate and key");
        TlsAcceptor::from(Arc::new(config))
    }
}

// ===========================================================================
// Lifecycle helpers (added for tests/lifecycle; usable by any test binary):
// payloads tagged with their producer and sequence number, and a peer that
// also records how each of its connections ended.

/// The bytes a [`tagged`] payload's tag takes: producer (u32 LE), then
/// sequence number (u64 LE).
pub const TAG_LEN: usize = 12;

/// A message from producer `producer`, number `seq` of its sequence, padded
/// with a byte pattern to `size` bytes (at least [`TAG_LEN`]), so the peer
/// can tell which producer sent it, in what order, and whether it was cut.
pub fn tagged(producer: u32, seq: u64, size: usize) -> Message {
    Message::new(tagged_payload(producer, seq, size))
}

/// The payload of [`tagged`].
pub fn tagged_payload(producer: u32, seq: u64, size: usize) -> Bytes {
    let mut payload: Vec<u8> = (0..size.max(TAG_LEN)).map(|index| index as u8).collect();
    payload[..4].copy_from_slice(&producer.to_le_bytes());
    payload[4..TAG_LEN].copy_from_slice(&seq.to_le_bytes());
    Bytes::from(payload)
}

/// The `(producer, seq)` a [`tagged`] payload carries; panics on a payload
/// that is not one (cut, shifted or corrupted).
pub fn tag_of(payload: &[u8]) -> (u32, u64) {
    assert!(
        payload.len() >= TAG_LEN,
        "a {}-byte payload is too short to be tagged",
        payload.len()
    );
    let producer = u32::from_le_bytes(payload[..4].try_into().expect("4 bytes"));
    let seq = u64::from_le_bytes(payload[4..TAG_LEN].try_into().expect("8 bytes"));
    assert_eq!(
        payload,
        &tagged_payload(producer, seq, payload.len())[..],
        "payload ({producer}, {seq}) is corrupted"
    );
    (producer, seq)
}

/// How a connection a [`WatchedPeer`] accepted ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionEnd {
    /// The sender closed it after a whole frame.
    Eof,
    /// The sender closed it inside a frame; this many bytes of it had arrived.
    Torn {
        /// Bytes of the unfinished frame.
        bytes: usize,
    },
    /// Reading failed (a reset, for example).
    Failed(String),
}

/// What one connection a [`WatchedPeer`] accepted carried, and how it ended
/// (`None`: still open, or the peer was shut down first).
#[derive(Debug, Clone, Default)]
pub struct ConnectionLog {
    /// The payloads of its whole frames, in arrival order.
    pub frames: Vec<Vec<u8>>,
    /// How it ended, if it did.
    pub end: Option<ConnectionEnd>,
}

/// The failed targets of a `TargetsFailed` error from the group or
/// composite `group`, which tried `total` targets; panics on any other error.
pub fn targets_failed<'e>(
    error: &'e sinks::SinkError,
    group: &str,
    total: usize,
) -> &'e [(String, sinks::SinkError)] {
    let sinks::SinkError::TargetsFailed {
        sink,
        total: tried,
        failed,
    } = error
    else {
        panic!("expected TargetsFailed, got {error}");
    };
    assert_eq!((sink.as_str(), *tried), (group, total), "{error}");
    failed
}

impl ConnectionLog {
    /// Asserts that the sender closed the connection: after a whole frame,
    /// or inside one (a close that cut a write short), but not by a failure.
    pub fn assert_closed_by_sender(&self) {
        assert!(
            matches!(
                self.end,
                Some(ConnectionEnd::Eof | ConnectionEnd::Torn { .. })
            ),
            "the socket ends: {:?}",
            self.end
        );
    }
}

/// A length-prefixed Unix or TCP peer like [`Peer`], which also records how
/// each connection ended: to prove that a sink closed its socket, or that a
/// close cut a frame. Can stop reading, to stall the sender.
#[derive(Debug)]
pub struct WatchedPeer {
    log: Arc<Mutex<Vec<ConnectionLog>>>,
    reading: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl WatchedPeer {
    /// Starts accepting on `listener`, reading every connection at once.
    pub fn start(listener: impl Into<StreamListener>) -> WatchedPeer {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (reading, _) = watch::channel(true);
        let task = tokio::spawn(watched_accept_loop(
            listener.into(),
            Arc::clone(&log),
            reading.clone(),
        ));
        WatchedPeer { log, reading, task }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<ConnectionLog>> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops reading every connection (accepting goes on).
    pub fn pause_reading(&self) {
        self.reading.send_replace(false);
    }

    /// Reads again.
    pub fn resume_reading(&self) {
        self.reading.send_replace(true);
    }

    /// Every connection so far, in accept order.
    pub fn connections(&self) -> Vec<ConnectionLog> {
        self.lock().clone()
    }

    /// How many connections were accepted.
    pub fn accepted(&self) -> usize {
        self.lock().len()
    }

    /// How many whole frames arrived, over every connection.
    pub fn frame_count(&self) -> usize {
        self.lock()
            .iter()
            .map(|connection| connection.frames.len())
            .sum()
    }

    /// Waits until every connection accepted so far has ended (and at least
    /// `at_least` were accepted); fails the test after [`BOUND`].
    pub async fn wait_until_ended(&self, at_least: usize) -> Vec<ConnectionLog> {
        eventually(&format!("{at_least}+ connection(s) ending"), || {
            let log = self.lock();
            log.len() >= at_least && log.iter().all(|connection| connection.end.is_some())
        })
        .await;
        self.connections()
    }

    /// Stops listening and drops every connection, unread bytes and all;
    /// when this returns the address is free for a new peer.
    pub async fn shutdown(mut self) -> Vec<ConnectionLog> {
        self.task.abort();
        let _ = (&mut self.task).await;
        self.connections()
    }
}

impl Drop for WatchedPeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn watched_accept_loop(
    listener: StreamListener,
    log: Arc<Mutex<Vec<ConnectionLog>>>,
    reading: watch::Sender<bool>,
) {
    // Dropped with this task, which aborts every connection's task.
    let mut connections = JoinSet::new();
    loop {
        let Ok(stream) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let index = {
            let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
            log.push(ConnectionLog::default());
            log.len() - 1
        };
        let log = Arc::clone(&log);
        let mut reading = reading.subscribe();
        connections.spawn(async move {
            let lock = || log.lock().unwrap_or_else(|p| p.into_inner());
            let mut frames = FrameReader::new(stream);
            let end = loop {
                let _ = reading.wait_for(|reading| *reading).await;
                match frames.read_frame().await {
                    Ok(Some(payload)) => lock()[index].frames.push(payload),
                    Ok(None) => break ConnectionEnd::Eof,
                    Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
                        let (_, rest) = frames.into_parts();
                        break ConnectionEnd::Torn { bytes: rest.len() };
                    }
                    Err(error) => break ConnectionEnd::Failed(error.to_string()),
                }
            };
            lock()[index].end = Some(end);
        });
        while connections.try_join_next().is_some() {}
    }
}

// ---------------------------------------------------------------------------
// Counting peers (added for tests/operating)
//
// A peer that reads one connection to its end and hands back every whole
// frame it got, so a test can count exactly what arrived after the sender
// is gone: what the sink counted as sent or failed can then be compared with
// what the peer really received.

/// How a [`CountingPeer`] reads its connection.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// As fast as the bytes come.
    Full,
    /// At most `chunk` bytes per read, then a pause of `pause`: a peer that
    /// falls behind a busy sender.
    Slow {
        /// Bytes per read.
        chunk: usize,
        /// The pause after each read.
        pause: Duration,
    },
}

/// What a [`CountingPeer`] read from its connection.
#[derive(Debug)]
pub struct Counted {
    /// The payloads of every whole length-prefixed frame, in order.
    pub frames: Vec<Vec<u8>>,
    /// Bytes of a frame the stream ended inside of (0 if it ended cleanly).
    pub torn_tail: usize,
}

/// Accepts one connection on a Unix or TCP listener and reads it until the
/// sender closes it; does not read before [`start_reading`](CountingPeer::start_reading)
/// when made with `paused`, so the sender's socket buffers fill.
#[derive(Debug)]
pub struct CountingPeer {
    start: Option<tokio::sync::oneshot::Sender<()>>,
    task: JoinHandle<io::Result<Counted>>,
}

impl CountingPeer {
    /// Starts it on the current runtime.
    pub fn start(listener: impl Into<StreamListener>, pace: Pace, paused: bool) -> CountingPeer {
        let listener = listener.into();
        let (start, started) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut stream = listener.accept().await?;
            if paused {
                // A dropped sender starts reading too.
                let _ = started.await;
            }
            read_counting(&mut stream, pace).await
        });
        let start = if paused {
            Some(start)
        } else {
            drop(start);
            None
        };
        CountingPeer { start, task }
    }

    /// Starts reading (a no-op for a peer not made `paused`).
    pub fn start_reading(&mut self) {
        if let Some(start) = self.start.take() {
            let _ = start.send(());
        }
    }

    /// Reads to the end of the connection (starting to read if paused) and
    /// returns what arrived; fails the test if that takes longer than [`BOUND`].
    pub async fn finish(mut self) -> Counted {
        self.start_reading();
        bounded("the counting peer reading to the end", self.task)
            .await
            .expect("the counting peer's task")
            .expect("the counting peer's connection")
    }
}

/// A composite over `targets` that probes failed targets every `probe`.
pub fn composite_of(
    name: &str,
    pattern: CompositePattern,
    targets: &[&Arc<EndpointSink>],
    probe: Duration,
) -> CompositeSink {
    let targets = targets
        .iter()
        .map(|sink| Arc::clone(sink) as Arc<dyn MessageSink>)
        .collect();
    CompositeSink::new(name, pattern, targets).with_probe_interval(probe)
}

/// Hands every whole length-prefixed frame at the front of `buffer` to
/// `frame` (its payload), in order, and removes them; a torn frame stays.
pub fn take_frames(buffer: &mut Vec<u8>, mut frame: impl FnMut(&[u8])) {
    let mut offset = 0;
    while let Some(prefix) = buffer.get(offset..offset + 4) {
        let length = u32::from_le_bytes(prefix.try_into().expect("a 4-byte prefix")) as usize;
        let Some(payload) = buffer.get(offset + 4..offset + 4 + length) else {
            break;
        };
        frame(payload);
        offset += 4 + length;
    }
    buffer.drain(..offset);
}

async fn read_counting(stream: &mut Box<dyn Io>, pace: Pace) -> io::Result<Counted> {
    let (chunk_size, pause) = match pace {
        Pace::Full => (64 * 1024, None),
        Pace::Slow { chunk, pause } => (chunk.max(1), Some(pause)),
    };
    let mut chunk = vec![0u8; chunk_size];
    let mut buffer: Vec<u8> = Vec::new();
    let mut frames = Vec::new();
    loop {
        let read = match stream.read(&mut chunk).await {
            Ok(read) => read,
            // A sender that closed with unread bytes of ours can reset.
            Err(error) if error.kind() == io::ErrorKind::ConnectionReset => 0,
            Err(error) => return Err(error),
        };
        if read == 0 {
            return Ok(Counted {
                frames,
                torn_tail: buffer.len(),
            });
        }
        buffer.extend_from_slice(&chunk[..read]);
        take_frames(&mut buffer, |frame| frames.push(frame.to_vec()));
        if let Some(pause) = pause {
            tokio::time::sleep(pause).await;
        }
    }
}
