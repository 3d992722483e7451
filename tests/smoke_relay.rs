use std::sync::Arc;
use std::time::Duration;

use sinks::config::{Endpoint, LeafConfig, RetryPolicy};
use sinks::{EndpointSink, MessageSink};
use tokio::io::AsyncReadExt;
use tokio::net::UnixListener;

#[tokio::test]
async fn relay_delivers_length_prefixed_frames() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let sink = Arc::new(EndpointSink::relay(
        "r",
        LeafConfig::new(Endpoint::Unix(path.clone()))
            .retry(RetryPolicy::default().retry_delay(Duration::from_millis(10))),
    ));
    let reader = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut all = Vec::new();
        stream.read_to_end(&mut all).await.unwrap();
        all
    });
    for i in 0..1000u32 {
        sink.send(i.to_le_bytes().to_vec().into()).await.unwrap();
    }
    sink.flush().await.unwrap();
    assert_eq!(sink.metadata().messages_sent, 1000);
    sink.disconnect().await.unwrap();
    let all = reader.await.unwrap();
    assert_eq!(all.len(), 8000);
    assert_eq!(&all[..8], &[4, 0, 0, 0, 0, 0, 0, 0]);
}
