//! Composites mix NATS and socket targets like any others.

use sinks::{Message, SinkFactory};

use crate::server::NatsServer;
use crate::{PATIENCE, client, index_of, payload, receive, subscribed};

#[tokio::test]
async fn failover_from_a_dead_relay_reaches_the_nats_subject() {
    let server = NatsServer::start();
    let observer = client(&server.address()).await;
    let mut subscriber = subscribed(&observer, "failover.orders").await;
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on the relay's socket.
    let relay = dir.path().join("dead-relay.sock");
    let source = format!(
        "[services.relay]\ntype = \"relay\"\nendpoint = \"unix://{}\"\nmax_retries = 0\n\n\
         [services.nats]\ntype = \"direct\"\nendpoint = \"nats://{}/failover.orders\"\n\n\
         [services.orders]\ntype = \"composite\"\npattern = \"failover\"\ntargets = [\"relay\", \"nats\"]\n",
        relay.display(),
        server.address()
    );
    let factory = SinkFactory::from_config_str(&source).unwrap();
    let orders = factory.create_sink("orders").await.unwrap();
    for index in 0..100 {
        tokio::time::timeout(PATIENCE, orders.send(Message::from(payload(index))))
            .await
            .expect("the failover does not hang on the dead relay")
            .unwrap();
    }
    orders.flush().await.unwrap();
    let received: Vec<u64> = receive(&mut subscriber, 100)
        .await
        .iter()
        .map(|message| index_of(&message.payload))
        .collect();
    assert_eq!(received, (0..100).collect::<Vec<_>>());
    let nats = factory.create_sink("nats").await.unwrap();
    assert_eq!(nats.metadata().messages_sent, 100);
}

#[tokio::test]
async fn fanout_reaches_a_unix_peer_and_a_nats_subject() {
    use tokio::io::AsyncReadExt;
    let server = NatsServer::start();
    let observer = client(&server.address()).await;
    let mut subscriber = subscribed(&observer, "fanout.orders").await;
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("peer.sock");
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    let source = format!(
        "[services.peer]\ntype = \"relay\"\nendpoint = \"unix://{}\"\n\n\
         [services.nats]\ntype = \"direct\"\nendpoint = \"nats://{}/fanout.orders\"\n\n\
         [services.both]\ntype = \"composite\"\npattern = \"fanout\"\ntargets = [\"peer\", \"nats\"]\n",
        socket.display(),
        server.address()
    );
    let factory = SinkFactory::from_config_str(&source).unwrap();
    let both = factory.create_sink("both").await.unwrap();
    for index in 0..10 {
        both.send(Message::from(payload(index))).await.unwrap();
    }
    both.flush().await.unwrap();
    let over_nats: Vec<u64> = receive(&mut subscriber, 10)
        .await
        .iter()
        .map(|message| index_of(&message.payload))
        .collect();
    assert_eq!(over_nats, (0..10).collect::<Vec<_>>());
    // The Unix peer reads length-prefixed frames.
    let (mut peer, _) = tokio::time::timeout(PATIENCE, listener.accept())
        .await
        .unwrap()
        .unwrap();
    let mut over_unix = Vec::new();
    for _ in 0..10 {
        let length = peer.read_u32_le().await.unwrap() as usize;
        let mut frame = vec![0; length];
        peer.read_exact(&mut frame).await.unwrap();
        over_unix.push(index_of(&frame));
    }
    assert_eq!(over_unix, over_nats);
}
