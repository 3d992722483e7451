//! Real `nats-server` processes for the tests: JetStream on, a temporary
//! store, free loopback ports; restart on the same port and store; a
//! three-node cluster with routes. Every server is killed when dropped.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long a server may take to accept connections after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A port nothing listens on now (bound, read, released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("bind a free loopback port")
}

/// One `nats-server`.
pub struct NatsServer {
    child: Option<Child>,
    pub port: u16,
    /// The monitoring port (`/varz`), for counting client connections.
    pub monitor_port: u16,
    args: Vec<String>,
    // Keeps the store (and the log) for restarts; removed on drop.
    dir: TempDir,
}

/// Extra settings for a server.
#[derive(Default, Clone)]
pub struct Options {
    /// `--user` and `--pass`.
    pub user: Option<(String, String)>,
    /// `(name, own route port, every route port of the cluster)`.
    pub cluster: Option<(String, u16, Vec<u16>)>,
}

impl NatsServer {
    /// A single server with JetStream.
    pub fn start() -> NatsServer {
        NatsServer::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> NatsServer {
        ensure_installed();
        let dir = tempfile::tempdir().expect("temp dir for the store");
        let port = free_port();
        let monitor_port = free_port();
        let store: PathBuf = dir.path().join("store");
        let mut args: Vec<String> = [
            "-a",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-m",
            &monitor_port.to_string(),
            "-js",
            "-sd",
            &store.display().to_string(),
            "-l",
            &dir.path().join("server.log").display().to_string(),
        ]
        .iter()
        .map(|arg| (*arg).to_owned())
        .collect();
        if let Some((user, pass)) = &options.user {
            args.extend(["--user".into(), user.clone(), "--pass".into(), pass.clone()]);
        }
        if let Some((name, route_port, all_routes)) = &options.cluster {
            let routes: Vec<String> = all_routes
                .iter()
                .filter(|port| *port != route_port)
                .map(|port| format!("nats://127.0.0.1:{port}"))
                .collect();
            args.extend([
                "-n".into(),
                name.clone(),
                "--cluster_name".into(),
                "sinks-test".into(),
                "--cluster".into(),
                format!("nats://127.0.0.1:{route_port}"),
                "--routes".into(),
                routes.join(","),
            ]);
        }
        let mut server = NatsServer {
            child: None,
            port,
            monitor_port,
            args,
            dir,
        };
        server.spawn();
        server.wait_for_no_clients();
        server
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let child = Command::new("nats-server")
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "nats-server exited with {status} at start; its log:\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen on {} within {START_TIMEOUT:?}; its log:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Kills the process (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.kill());
            drop(child.wait());
        }
    }

    /// Stops the process gracefully (SIGTERM: JetStream writes its store)
    /// and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id() as libc::pid_t;
            // SAFETY: signalling our own child process by its id.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            drop(child.wait());
        }
    }

    /// Starts the stopped or killed server again: same port, same store.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Starts the server again after `kill`/`stop`.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the server is still running");
        self.spawn();
    }

    /// How many clients are connected now (`/varz`).
    pub fn connections(&self) -> u64 {
        self.try_connections()
            .expect("/varz on the monitoring port gives `connections`")
    }

    /// `connections`, or `None` while the monitoring port does not answer.
    fn try_connections(&self) -> Option<u64> {
        use std::io::{Read, Write};
        let mut stream = TcpStream::connect(("127.0.0.1", self.monitor_port)).ok()?;
        stream
            .write_all(b"GET /varz HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .ok()?;
        let mut body = String::new();
        stream.read_to_string(&mut body).ok()?;
        let field = body.split("\"connections\":").nth(1)?;
        field
            .trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|digits| digits.parse().ok())
    }

    /// Waits until the server counts no client. `spawn`'s readiness probe is
    /// a client connection, counted in `/varz` until the server has seen it
    /// close; a test that counts connections starts from none.
    fn wait_for_no_clients(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        while self.try_connections() != Some(0) {
            assert!(
                Instant::now() < deadline,
                "nats-server still counted a client {START_TIMEOUT:?} after it started \
                 (/varz on port {}); its log:\n{}",
                self.monitor_port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A three-node cluster on loopback, routes between every pair.
pub struct Cluster {
    pub nodes: Vec<NatsServer>,
}

impl Cluster {
    pub fn start() -> Cluster {
        let route_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let nodes = route_ports
            .iter()
            .enumerate()
            .map(|(index, route_port)| {
                NatsServer::start_with(Options {
                    cluster: Some((format!("n{index}"), *route_port, route_ports.clone())),
                    ..Options::default()
                })
            })
            .collect();
        Cluster { nodes }
    }

    /// `nats://a,b,c/subject`-style server list: `127.0.0.1:P1,127.0.0.1:P2,...`.
    pub fn seeds(&self) -> String {
        self.nodes
            .iter()
            .map(NatsServer::address)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Tests never skip silently: without the server they fail and say how to get it.
fn ensure_installed() {
    let found = Command::new("nats-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        found,
        "nats-server is not on PATH; run `.ci/deps` (it installs Debian's nats-server package)"
    );
}
