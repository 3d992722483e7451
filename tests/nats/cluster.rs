//! A three-node cluster on loopback: the stream's leader is killed and
//! restarted while the sink publishes; nothing accepted is lost.

use std::time::Duration;

use crate::jetstream::{PATIENT, assert_exactly_once, send_in_background, until_sent};
use crate::server::Cluster;
use crate::{PATIENCE, sink};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replicated_stream_keeps_every_message_while_a_node_is_killed_and_restarted() {
    let mut cluster = Cluster::start();
    let setup = async_nats::ConnectOptions::new()
        .max_reconnects(None)
        .connect(
            cluster
                .nodes
                .iter()
                .map(|node| node.address())
                .collect::<Vec<_>>()
                .as_slice(),
        )
        .await
        .expect("the test's client connects to the cluster");
    // The cluster elects its JetStream meta leader after it starts.
    let mut stream = tokio::time::timeout(PATIENCE, async {
        loop {
            let jetstream = async_nats::jetstream::new(setup.clone());
            let created = jetstream
                .get_or_create_stream(async_nats::jetstream::stream::Config {
                    name: "CLUSTERED".to_owned(),
                    subjects: vec!["cluster.orders".to_owned()],
                    num_replicas: 3,
                    storage: async_nats::jetstream::stream::StorageType::File,
                    ..Default::default()
                })
                .await;
            match created {
                Ok(stream) => break stream,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    })
    .await
    .expect("the cluster takes a replicated stream");
    let info = stream.info().await.expect("stream info").clone();
    let cluster_info = info.cluster.expect("a clustered stream");
    assert_eq!(
        cluster_info.replicas.len(),
        2,
        "the stream is replicated x3"
    );
    let leader = cluster_info.leader.expect("the stream has a leader");

    let sink = sink(
        &format!("nats://{}/cluster.orders", cluster.seeds()),
        PATIENT,
    )
    .await;
    let sending = send_in_background(&sink, 5_000);
    until_sent(&sink, 1_000).await;
    let victim: usize = leader
        .strip_prefix('n')
        .and_then(|digits| digits.parse().ok())
        .expect("nodes are named n0..n2");
    let restarted = tokio::task::spawn_blocking(move || {
        cluster.nodes[victim].kill();
        cluster
    })
    .await
    .unwrap();
    cluster = restarted;
    until_sent(&sink, 3_000).await;
    let restarted = tokio::task::spawn_blocking(move || {
        cluster.nodes[victim].start_again();
        cluster
    })
    .await
    .unwrap();
    let _cluster = restarted;
    sending.await.unwrap();
    tokio::time::timeout(PATIENCE, sink.flush())
        .await
        .expect("flush resolves")
        .expect("nothing failed");
    assert_exactly_once(&sink, &stream, 5_000).await;
}
