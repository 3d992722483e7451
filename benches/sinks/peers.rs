//! The receiving ends: a thread per connection, blocking std sockets, that
//! reads and counts the frames and checks the last payload.
//!
//! Receivers run on their own OS threads rather than in the tokio runtime
//! under test, so a sink and its raw baseline share the CPUs the same way.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use sinks::config::Endpoint;
use tokio_tungstenite::tungstenite;

/// Which socket a figure runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Unix,
    Tcp,
    WebSocket,
}

impl Transport {
    pub fn label(self) -> &'static str {
        match self {
            Transport::Unix => "relay (Unix)",
            Transport::Tcp => "TCP",
            Transport::WebSocket => "WebSocket",
        }
    }
}

/// What a receiver saw.
#[derive(Debug)]
pub struct Delivery {
    pub frames: u64,
    /// Frames whose length was not the payload size the sender used.
    pub wrong_length: u64,
    /// Whether frame number `expected` carried the expected last payload.
    pub last_ok: bool,
    /// When frame number `expected` was read.
    pub done: Option<Instant>,
}

impl Delivery {
    /// Panics unless every frame arrived, well formed, the last one intact.
    pub fn check(&self, expected: u64) -> Instant {
        assert_eq!(self.frames, expected, "frames received");
        assert_eq!(self.wrong_length, 0, "frames of the wrong length");
        assert!(self.last_ok, "the last payload arrived changed");
        self.done.expect("the receiver saw the last frame")
    }
}

/// What the receiver expects.
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    pub frames: u64,
    pub payload_len: usize,
    /// The last frame's payload; `None` when senders interleave.
    pub last: Option<&'static [u8]>,
}

/// A bound listener whose receiver thread is running.
pub struct Peer {
    pub endpoint: Endpoint,
    /// `host:port` for TCP and WebSocket.
    pub address: String,
    /// The Unix socket path.
    pub path: Option<PathBuf>,
    thread: JoinHandle<Delivery>,
}

impl Peer {
    /// Binds a fresh listener for `transport` and starts its receiver, which
    /// accepts one connection.
    pub fn start(transport: Transport, expect: Expect) -> Peer {
        match transport {
            Transport::Unix => {
                let path = unique_socket_path();
                let listener = UnixListener::bind(&path).expect("bind a Unix socket");
                let thread = std::thread::spawn(move || {
                    let (stream, _) = listener.accept().expect("accept");
                    count_frames(stream, expect)
                });
                Peer {
                    endpoint: Endpoint::unix(&path).expect("an absolute socket path"),
                    address: String::new(),
                    path: Some(path),
                    thread,
                }
            }
            Transport::Tcp | Transport::WebSocket => {
                let listener = TcpListener::bind("127.0.0.1:0").expect("bind TCP");
                let address = listener.local_addr().expect("local address").to_string();
                let websocket = transport == Transport::WebSocket;
                let thread = std::thread::spawn(move || {
                    let (stream, _) = listener.accept().expect("accept");
                    stream.set_nodelay(true).expect("nodelay");
                    if websocket {
                        count_messages(stream, expect)
                    } else {
                        count_frames(stream, expect)
                    }
                });
                let endpoint = if websocket {
                    Endpoint::parse_direct(&format!("ws://{address}/"))
                } else {
                    Endpoint::parse_direct(&format!("tcp://{address}"))
                }
                .expect("a valid endpoint");
                Peer {
                    endpoint,
                    address,
                    path: None,
                    thread,
                }
            }
        }
    }

    /// Waits for the receiver, which ends when the sender closes.
    pub fn finish(self) -> Delivery {
        self.thread.join().expect("the receiver thread panicked")
    }
}

pub fn unique_socket_path() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!("sinks-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the socket directory");
    dir.join(format!("{}.sock", NEXT.fetch_add(1, Ordering::Relaxed)))
}

/// Removes the bench's socket directory.
pub fn clean_up() {
    let dir = std::env::temp_dir().join(format!("sinks-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(dir);
}

/// Length-prefixed frames (u32 LE length, payload) off a byte stream.
struct FrameCounter {
    expect: Expect,
    header: [u8; 4],
    header_len: usize,
    /// Payload bytes still to come of the current frame; 0 between frames.
    remaining: usize,
    /// The payload of the last frame as it arrives.
    last: Vec<u8>,
    in_last: bool,
    delivery: Delivery,
}

impl FrameCounter {
    fn new(expect: Expect) -> FrameCounter {
        FrameCounter {
            expect,
            header: [0; 4],
            header_len: 0,
            remaining: 0,
            last: Vec::with_capacity(expect.payload_len),
            in_last: false,
            delivery: Delivery {
                frames: 0,
                wrong_length: 0,
                last_ok: expect.last.is_none(),
                done: None,
            },
        }
    }

    fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.remaining == 0 {
                let take = (4 - self.header_len).min(data.len());
                self.header[self.header_len..self.header_len + take].copy_from_slice(&data[..take]);
                self.header_len += take;
                data = &data[take..];
                if self.header_len == 4 {
                    self.header_len = 0;
                    self.remaining = u32::from_le_bytes(self.header) as usize;
                    if self.remaining != self.expect.payload_len {
                        self.delivery.wrong_length += 1;
                    }
                    self.in_last = self.delivery.frames + 1 == self.expect.frames;
                    if self.remaining == 0 {
                        self.frame_done();
                    }
                }
                continue;
            }
            let take = self.remaining.min(data.len());
            if self.in_last {
                self.last.extend_from_slice(&data[..take]);
            }
            self.remaining -= take;
            data = &data[take..];
            if self.remaining == 0 {
                self.frame_done();
            }
        }
    }

    fn frame_done(&mut self) {
        self.delivery.frames += 1;
        if self.in_last {
            self.delivery.done = Some(Instant::now());
            if let Some(last) = self.expect.last {
                self.delivery.last_ok = self.last == last;
            }
        }
    }
}

/// Reads until the sender closes, counting frames.
fn count_frames(mut stream: impl Read, expect: Expect) -> Delivery {
    let mut counter = FrameCounter::new(expect);
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return counter.delivery,
            Ok(read) => counter.feed(&buffer[..read]),
        }
    }
}

/// Reads WebSocket messages until the close, counting binary ones.
fn count_messages(stream: TcpStream, expect: Expect) -> Delivery {
    let mut socket = tungstenite::accept(stream).expect("WebSocket handshake");
    let mut delivery = Delivery {
        frames: 0,
        wrong_length: 0,
        last_ok: expect.last.is_none(),
        done: None,
    };
    loop {
        match socket.read() {
            Ok(tungstenite::Message::Binary(payload)) => {
                delivery.frames += 1;
                if payload.len() != expect.payload_len {
                    delivery.wrong_length += 1;
                }
                if delivery.frames == expect.frames {
                    delivery.done = Some(Instant::now());
                    if let Some(last) = expect.last {
                        delivery.last_ok = payload == last;
                    }
                }
            }
            Ok(tungstenite::Message::Close(_)) | Err(_) => return delivery,
            Ok(_) => {}
        }
    }
}

/// A receiver for the latency figure: reads `samples` frames of
/// `frame_len` bytes one at a time and returns, per frame, the nanoseconds
/// from `sent_at[i]` (stamped by the sender just before its send) to the
/// moment the read returned. `clock` is the shared time base.
pub fn latency_receiver(
    listener: UnixListener,
    frame_len: usize,
    sent_at: std::sync::Arc<Vec<AtomicU64>>,
    clock: Instant,
    pin_to_cpu: Option<usize>,
) -> JoinHandle<Vec<u64>> {
    std::thread::spawn(move || {
        if let Some(cpu) = pin_to_cpu {
            crate::pin_current_thread(cpu);
        }
        let (mut stream, _) = listener.accept().expect("accept");
        let mut frame = vec![0u8; frame_len];
        let mut latencies = Vec::with_capacity(sent_at.len());
        for stamp in sent_at.iter() {
            if stream.read_exact(&mut frame).is_err() {
                break;
            }
            let now = clock.elapsed().as_nanos() as u64;
            latencies.push(now.saturating_sub(stamp.load(Ordering::Acquire)));
        }
        // Read on until the sender closes, so that a sink does not see its
        // peer go away and reconnect before it disconnects.
        while matches!(stream.read(&mut frame), Ok(read) if read > 0) {}
        latencies
    })
}
