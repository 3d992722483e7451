//! `ws://` and `wss://`: a TCP (optionally TLS) stream under tokio-tungstenite.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::config::WebSocketEndpoint;

/// The byte stream under a WebSocket: plain TCP or TLS over TCP.
#[derive(Debug)]
pub(crate) enum WsIo {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

pub(crate) type WsStream = WebSocketStream<WsIo>;

/// Opens the TCP connection, the TLS session for `wss://`, and the WebSocket handshake.
pub(crate) async fn connect(
    endpoint: &WebSocketEndpoint,
    tls: Option<&Arc<ClientConfig>>,
) -> Result<WsStream, String> {
    let tcp = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|error| error.to_string())?;
    tcp.set_nodelay(true).map_err(|error| error.to_string())?;
    let io = match (endpoint.secure, tls) {
        (true, Some(config)) => {
            let server_name = ServerName::try_from(endpoint.host.clone())
                .map_err(|error| format!("invalid TLS server name {:?}: {error}", endpoint.host))?;
            let stream = TlsConnector::from(Arc::clone(config))
                .connect(server_name, tcp)
                .await
                .map_err(|error| format!("TLS handshake failed: {error}"))?;
            WsIo::Tls(Box::new(stream))
        }
        (true, None) => return Err("wss:// needs a TLS config".to_owned()),
        (false, _) => WsIo::Plain(tcp),
    };
    let mut request = endpoint
        .url()
        .into_client_request()
        .map_err(|error| format!("invalid WebSocket request: {error}"))?;
    if let Some(credentials) = &endpoint.credentials {
        let value = HeaderValue::from_str(&format!("Basic {}", base64(credentials.as_bytes())))
            .map_err(|_| "the endpoint's credentials cannot form a header".to_owned())?;
        request.headers_mut().insert("authorization", value);
    }
    let (stream, _response) = tokio_tungstenite::client_async(request, io)
        .await
        .map_err(|error| format!("WebSocket handshake failed: {error}"))?;
    Ok(stream)
}

/// Standard base64 with padding, for the basic-auth header.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let bytes = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let group = u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]);
        for (index, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if index <= chunk.len() {
                out.push(ALPHABET[(group >> shift & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl AsyncRead for WsIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WsIo::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            WsIo::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for WsIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WsIo::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            WsIo::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WsIo::Plain(stream) => Pin::new(stream).poll_flush(cx),
            WsIo::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WsIo::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            WsIo::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc_4648() {
        assert_eq!(super::base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(super::base64(b"ab"), "YWI=");
        assert_eq!(super::base64(b"a"), "YQ==");
    }
}
