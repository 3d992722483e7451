//! The peers the fault tests run against (well behaved, restarting, stalling,
//! TLS) and what the tests share: sinks with a quick retry policy, payloads
//! that carry an id, a log of what each connection received, a bound on every
//! wait, and a watch for panics in the runtime.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use crate::support::take_frames;
use bytes::Bytes;
use futures_util::StreamExt;
use sinks::config::{Endpoint, LeafConfig, RetryPolicy};
use sinks::{EndpointSink, Message};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, UnixListener};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite;

/// The longest any one step of a test may take: generous for a loaded
/// machine, short enough that a hang fails the test instead of the CI job.
pub(crate) const BOUND: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test if it takes longer than [`BOUND`].
pub(crate) async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(BOUND, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} did not finish within {BOUND:?}"),
    }
}

/// Polls `condition` every 5 ms until it holds; panics after [`BOUND`].
pub(crate) async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    bounded(what, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// Retries every 20 ms, for about a second of refused attempts: enough to
/// ride out a peer that is down for a few hundred milliseconds.
pub(crate) fn quick_retry() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_retries(50)
        .with_retry_delay(Duration::from_millis(20))
        .with_backoff_multiplier(1.0)
        .with_connect_timeout(Duration::from_millis(500))
        .with_wait_timeout(Duration::from_secs(5))
}

/// Gives up quickly: two attempts 20 ms apart, each bounded by 300 ms.
pub(crate) fn give_up_fast() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_retries(1)
        .with_retry_delay(Duration::from_millis(20))
        .with_backoff_multiplier(1.0)
        .with_connect_timeout(Duration::from_millis(300))
        .with_wait_timeout(Duration::from_secs(2))
}

/// A message whose payload starts with `id` (little-endian), padded to `size` bytes.
pub(crate) fn message_sized(id: u64, size: usize) -> Message {
    let mut payload = vec![0u8; size.max(8)];
    payload[..8].copy_from_slice(&id.to_le_bytes());
    Message::new(Bytes::from(payload))
}

/// A 24-byte message carrying `id`.
pub(crate) fn message(id: u64) -> Message {
    message_sized(id, 24)
}

/// The id a payload of [`message`] carries.
pub(crate) fn id_of(payload: &[u8]) -> u64 {
    u64::from_le_bytes(
        payload[..8]
            .try_into()
            .expect("payloads carry an 8-byte id"),
    )
}

/// What a peer received: the ids of each accepted connection, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Log(Arc<Mutex<Vec<Vec<u64>>>>);

impl Log {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<u64>>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts the record of a new connection; returns its index.
    pub(crate) fn open(&self) -> usize {
        let mut connections = self.lock();
        connections.push(Vec::new());
        connections.len() - 1
    }

    pub(crate) fn record(&self, connection: usize, id: u64) {
        self.lock()[connection].push(id);
    }

    /// The ids of every connection so far.
    pub(crate) fn connections(&self) -> Vec<Vec<u64>> {
        self.lock().clone()
    }

    /// How many connections were accepted.
    pub(crate) fn connection_count(&self) -> usize {
        self.lock().len()
    }

    /// Every id received, connection after connection.
    pub(crate) fn ids(&self) -> Vec<u64> {
        self.lock().concat()
    }

    pub(crate) fn count(&self) -> usize {
        self.lock().iter().map(Vec::len).sum()
    }
}

/// Reads length-prefixed frames into `log` until EOF or an error. A frame
/// cut off at the end is dropped, as a real peer would.
pub(crate) async fn read_frames<S: AsyncRead + Unpin>(
    stream: &mut S,
    log: &Log,
    connection: usize,
) {
    read_frames_paced(stream, log, connection, None).await
}

/// A reader that falls behind: after `slow_after`, it reads a few KiB at a time
/// with a pause between reads, so the sender's writes block part way.
const SLOW_READ: usize = 4 * 1024;
const SLOW_PAUSE: Duration = Duration::from_millis(2);

/// [`read_frames`], slowing down to `SLOW_READ` per `SLOW_PAUSE` after `slow_after`.
async fn read_frames_paced<S: AsyncRead + Unpin>(
    stream: &mut S,
    log: &Log,
    connection: usize,
    slow_after: Option<Instant>,
) {
    let mut buffer = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let slow = slow_after.is_some_and(|after| Instant::now() >= after);
        let want = if slow { SLOW_READ } else { chunk.len() };
        let read = match stream.read(&mut chunk[..want]).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        buffer.extend_from_slice(&chunk[..read]);
        take_frames(&mut buffer, |frame| log.record(connection, id_of(frame)));
        if slow {
            tokio::time::sleep(SLOW_PAUSE).await;
        }
    }
}

/// Reads binary WebSocket messages into `log` until the stream ends.
pub(crate) async fn read_ws<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut tokio_tungstenite::WebSocketStream<S>,
    log: &Log,
    connection: usize,
) {
    read_ws_paced(ws, log, connection, None).await
}

/// [`read_ws`], pausing `SLOW_PAUSE` after every few KiB after `slow_after`.
async fn read_ws_paced<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut tokio_tungstenite::WebSocketStream<S>,
    log: &Log,
    connection: usize,
    slow_after: Option<Instant>,
) {
    let mut since_pause = 0;
    while let Some(Ok(message)) = ws.next().await {
        if let tungstenite::Message::Binary(payload) = message {
            since_pause += payload.len();
            log.record(connection, id_of(&payload));
        }
        if slow_after.is_some_and(|after| Instant::now() >= after) && since_pause >= SLOW_READ {
            since_pause = 0;
            tokio::time::sleep(SLOW_PAUSE).await;
        }
    }
}

/// The receive buffer of the TCP peers a [`Transport`] binds.
const TCP_RECV_BUFFER: u32 = 64 * 1024;

/// Where a test peer listens, and how the sink talks to it.
#[derive(Debug, Clone)]
pub(crate) enum Transport {
    /// Length-prefixed frames over a Unix socket.
    Unix(PathBuf),
    /// Length-prefixed frames over TCP.
    Tcp(SocketAddr),
    /// Binary WebSocket frames over TCP, at path `/feed`.
    WebSocket(SocketAddr),
}

/// A bound listener of a [`Transport`].
#[derive(Debug)]
pub(crate) enum Listener {
    Unix(UnixListener),
    Tcp(TcpListener, bool),
}

impl Transport {
    /// A Unix transport at `dir/name.sock`.
    pub(crate) fn unix(dir: &Path, name: &str) -> Transport {
        Transport::Unix(dir.join(format!("{name}.sock")))
    }

    /// A TCP (or WebSocket) transport on a free loopback port; the port is
    /// free again when this returns, and `bind` takes it.
    pub(crate) async fn loopback(websocket: bool) -> Transport {
        let probe = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let address = probe.local_addr().expect("local address");
        if websocket {
            Transport::WebSocket(address)
        } else {
            Transport::Tcp(address)
        }
    }

    /// Binds (again) at the transport's address.
    pub(crate) async fn bind(&self) -> Listener {
        match self {
            Transport::Unix(path) => {
                // A listener dropped earlier leaves its file behind.
                let _ = std::fs::remove_file(path);
                Listener::Unix(UnixListener::bind(path).expect("bind the Unix socket"))
            }
            Transport::Tcp(address) | Transport::WebSocket(address) => {
                // SO_REUSEADDR, so the port can be taken again at once; a
                // small receive buffer, so a peer that stops reading soon
                // blocks the sender's writes, as on a real network.
                let socket = TcpSocket::new_v4().expect("a TCP socket");
                socket.set_reuseaddr(true).expect("SO_REUSEADDR");
                socket
                    .set_recv_buffer_size(TCP_RECV_BUFFER)
                    .expect("SO_RCVBUF");
                socket.bind(*address).expect("bind the TCP address again");
                let listener = socket.listen(64).expect("listen");
                Listener::Tcp(listener, matches!(self, Transport::WebSocket(_)))
            }
        }
    }

    /// The endpoint a sink uses to reach this transport.
    pub(crate) fn endpoint(&self) -> Endpoint {
        match self {
            Transport::Unix(path) => Endpoint::unix(path).expect("an absolute socket path"),
            Transport::Tcp(address) => format!("tcp://{address}")
                .parse()
                .expect("a valid tcp:// endpoint"),
            Transport::WebSocket(address) => {
                Endpoint::parse_direct(&format!("ws://{address}/feed")).expect("a valid ws:// URL")
            }
        }
    }

    /// A direct sink to this transport.
    pub(crate) fn sink(
        &self,
        name: &str,
        config: impl FnOnce(LeafConfig) -> LeafConfig,
    ) -> EndpointSink {
        EndpointSink::direct(name, config(LeafConfig::new(self.endpoint())))
    }
}

impl Listener {
    /// Accepts one Unix or plain TCP connection, as a byte stream.
    pub(crate) async fn accept_bytes(&self) -> Box<dyn AsyncRead + Unpin + Send> {
        match self {
            Listener::Unix(listener) => Box::new(listener.accept().await.expect("accept").0),
            Listener::Tcp(listener, false) => Box::new(listener.accept().await.expect("accept").0),
            Listener::Tcp(_, true) => panic!("a WebSocket listener has no byte stream"),
        }
    }

    /// Accepts one connection and records what it receives until the sink
    /// closes it. Dropping the future drops the connection mid-stream.
    pub(crate) async fn serve_one(&self, log: &Log) {
        self.serve(log, None).await
    }

    /// Accepts one connection and records what it receives: at full speed
    /// for `read_for`, then slowly for `slow_for`, so that the sender is
    /// blocked part way through a write; then drops the connection with what
    /// it did not read: a peer dying under load.
    pub(crate) async fn serve_then_drop(&self, log: &Log, read_for: Duration, slow_for: Duration) {
        self.serve(log, Some((read_for, slow_for))).await
    }

    async fn serve(&self, log: &Log, cut: Option<(Duration, Duration)>) {
        let (slow_after, end) = match cut {
            Some((read_for, slow_for)) => {
                let now = Instant::now();
                (Some(now + read_for), Some(now + read_for + slow_for))
            }
            None => (None, None),
        };
        match self {
            Listener::Unix(_) | Listener::Tcp(_, false) => {
                let mut stream = self.accept_bytes().await;
                let connection = log.open();
                until(
                    end,
                    read_frames_paced(&mut stream, log, connection, slow_after),
                )
                .await;
            }
            Listener::Tcp(listener, true) => {
                let (stream, _) = listener.accept().await.expect("accept");
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                let connection = log.open();
                until(end, read_ws_paced(&mut ws, log, connection, slow_after)).await;
            }
        }
    }
}

/// Runs `reading` to its end, or until `end`.
async fn until(end: Option<Instant>, reading: impl Future<Output = ()>) {
    match end {
        None => reading.await,
        Some(end) => drop(tokio::time::timeout_at(end.into(), reading).await),
    }
}

/// A peer that serves one connection at a time, for ever, recording into `log`.
pub(crate) fn serve_forever(listener: Listener, log: Log) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            listener.serve_one(&log).await;
        }
    })
}

/// A peer on a Unix socket that accepts one connection and does not read
/// until `start_reading` fires; then it records into `log` until EOF.
pub(crate) fn stalling_peer(
    listener: UnixListener,
    log: Log,
    start_reading: tokio::sync::oneshot::Receiver<()>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let connection = log.open();
        let _ = start_reading.await;
        read_frames(&mut stream, &log, connection).await;
    })
}

/// A self-signed certificate for `names` and the TLS acceptor that presents
/// it; the PEM is what a client puts in `tls_ca_file` to trust it.
pub(crate) fn tls_identity(names: &[&str]) -> (tokio_rustls::TlsAcceptor, String) {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    let certified = rcgen::generate_simple_self_signed(names).expect("generate a certificate");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .expect("a server certificate");
    (
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        certified.cert.pem(),
    )
}

/// A `wss://` server presenting `acceptor`'s certificate: serves one
/// WebSocket connection at a time into `log`. Failed handshakes are skipped.
pub(crate) fn tls_ws_server(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    log: Log,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let Ok(tls) = acceptor.accept(stream).await else {
                continue;
            };
            let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
                continue;
            };
            let connection = log.open();
            read_ws(&mut ws, &log, connection).await;
        }
    })
}

/// A plain TCP server that answers whatever it is sent with an HTTP 400 and
/// hangs up, as a plain HTTP server would answer a TLS ClientHello.
pub(crate) fn plain_http_server(listener: TcpListener) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request).await;
            let _ = stream
                .write_all(
                    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
            let _ = stream.shutdown().await;
        }
    })
}

static PANICS_OUTSIDE_TESTS: AtomicUsize = AtomicUsize::new(0);

/// Counts, from now on, panics whose location is not in a test file: a
/// panic in the runtime's writer task only prints, so tests ask for the count.
pub(crate) fn watch_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_tests = info
                .location()
                .is_some_and(|location| location.file().starts_with("tests"));
            if !in_tests {
                PANICS_OUTSIDE_TESTS.fetch_add(1, Ordering::SeqCst);
            }
            default(info);
        }));
    });
}

/// How many panics outside the tests' own code [`watch_panics`] has seen.
pub(crate) fn panics_outside_tests() -> usize {
    PANICS_OUTSIDE_TESTS.load(Ordering::SeqCst)
}

/// A peer that accepts every connection at once, each read into `log` by its
/// own task, so a sink that opened more than one connection is seen doing so.
pub(crate) fn serve_concurrently(listener: UnixListener, log: Log) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut readers = tokio::task::JoinSet::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            let log = log.clone();
            readers.spawn(async move {
                let connection = log.open();
                read_frames(&mut stream, &log, connection).await;
            });
        }
    })
}
