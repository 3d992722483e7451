//! A real `nats-server` for the section: JetStream on, a temporary store, a
//! free loopback port; killed when dropped (as `tests/nats/server.rs`).

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long the server may take to accept connections after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// One `nats-server` process.
pub struct BenchServer {
    child: Child,
    pub port: u16,
    // Holds the JetStream store until the server is gone.
    _store: TempDir,
}

impl BenchServer {
    /// Starts the server and waits until it accepts connections.
    pub fn start() -> BenchServer {
        let store = tempfile::tempdir().expect("a temp dir for the JetStream store");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .expect("bind a free loopback port");
        let child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(store.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server (install it with `.ci/deps`)");
        let mut server = BenchServer {
            child,
            port,
            _store: store,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("nats-server exited with {status} at start");
            }
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen on {port} within {START_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        drop(self.child.kill());
        drop(self.child.wait());
    }
}
