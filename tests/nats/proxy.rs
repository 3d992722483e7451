//! A TCP proxy in front of a server that can drop everything the server
//! sends back (its acknowledgements) while still passing what the client
//! publishes: a publish that reaches the stream whose ack is lost, on demand.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct AckDropper {
    pub port: u16,
    dropping: Arc<AtomicBool>,
    accepting: tokio::task::JoinHandle<()>,
}

impl AckDropper {
    pub async fn start(upstream_port: u16) -> AckDropper {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let dropping = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&dropping);
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream_port)).await else {
                    continue;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                tokio::spawn(async move {
                    drop(tokio::io::copy(&mut client_read, &mut server_write).await);
                });
                let flag = Arc::clone(&flag);
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 64 * 1024];
                    loop {
                        let read = match server_read.read(&mut buffer).await {
                            Ok(0) | Err(_) => break,
                            Ok(read) => read,
                        };
                        if flag.load(Ordering::SeqCst) {
                            continue;
                        }
                        if client_write.write_all(&buffer[..read]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        AckDropper {
            port,
            dropping,
            accepting,
        }
    }

    /// While on, nothing the server sends reaches the client.
    pub fn drop_replies(&self, on: bool) {
        self.dropping.store(on, Ordering::SeqCst);
    }
}

impl Drop for AckDropper {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}
