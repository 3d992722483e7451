//! `SinkFactory::from_provider` over a NATS key-value bucket.

use std::sync::Arc;

use sinks::provider::NatsKv;
use sinks::{Message, SinkError, SinkFactory};

use crate::server::NatsServer;
use crate::{client, index_of, payload, receive, subscribed};

async fn bucket_with(server: &NatsServer, entries: &[(&str, String)]) {
    let setup = client(&server.address()).await;
    let jetstream = async_nats::jetstream::new(setup);
    // The bucket's stream, made by hand: `create_key_value` of this client
    // version sends settings nats-server 2.9 (Debian's) answers differently.
    jetstream
        .create_stream(async_nats::jetstream::stream::Config {
            name: "KV_services".to_owned(),
            subjects: vec!["$KV.services.>".to_owned()],
            max_messages_per_subject: 1,
            allow_rollup: true,
            deny_delete: true,
            discard: async_nats::jetstream::stream::DiscardPolicy::New,
            ..Default::default()
        })
        .await
        .expect("create the bucket's stream");
    let store = jetstream
        .get_key_value("services")
        .await
        .expect("open the bucket");
    for (key, value) in entries {
        store
            .put(*key, value.clone().into())
            .await
            .expect("put a service");
    }
}

#[tokio::test]
async fn resolves_services_published_in_a_bucket_and_caches_them() {
    let server = NatsServer::start();
    let observer = client(&server.address()).await;
    let mut subscriber = subscribed(&observer, "kv.orders").await;
    bucket_with(
        &server,
        &[
            (
                "orders",
                format!(
                    "type = \"direct\"\nendpoint = \"nats://{}/kv.orders\"\n",
                    server.address()
                ),
            ),
            (
                "all_orders",
                "type = \"composite\"\npattern = \"fanout\"\ntargets = [\"orders\"]\n".to_owned(),
            ),
        ],
    )
    .await;
    let provider = NatsKv::connect(&server.address(), "services")
        .await
        .unwrap();
    let factory = SinkFactory::from_provider(provider);
    let all = factory.create_sink("all_orders").await.unwrap();
    let orders = factory.create_sink("orders").await.unwrap();
    assert!(Arc::ptr_eq(
        &orders,
        &factory.create_sink("orders").await.unwrap()
    ));
    all.send(Message::from(payload(0))).await.unwrap();
    orders.send(Message::from(payload(1))).await.unwrap();
    all.flush().await.unwrap();
    orders.flush().await.unwrap();
    let received: Vec<u64> = receive(&mut subscriber, 2)
        .await
        .iter()
        .map(|message| index_of(&message.payload))
        .collect();
    assert_eq!(received, vec![0, 1]);
    // The composite drives the very sink `orders` names.
    assert_eq!(orders.metadata().messages_sent, 2);
}

#[tokio::test]
async fn reports_a_missing_key_and_an_invalid_value_by_name() {
    let server = NatsServer::start();
    bucket_with(
        &server,
        &[
            (
                "broken",
                "type = \"direct\"\nendpoint = \"nats://h/orders.*\"\n".to_owned(),
            ),
            (
                "group",
                "type = \"composite\"\npattern = \"failover\"\ntargets = [\"absent\"]\n".to_owned(),
            ),
        ],
    )
    .await;
    let factory = SinkFactory::from_provider(
        NatsKv::connect(&server.address(), "services")
            .await
            .unwrap(),
    );
    let missing = factory.create_sink("missing").await.unwrap_err();
    assert!(matches!(missing, SinkError::InvalidConfig(_)), "{missing}");
    let text = missing.to_string();
    assert!(
        text.contains("service `missing` is not in the NATS key-value bucket `services`"),
        "{text}"
    );
    // The same validator as for a file, with the same message.
    let broken = factory.create_sink("broken").await.unwrap_err().to_string();
    assert!(
        broken.contains("service `broken`, key `endpoint`"),
        "{broken}"
    );
    assert!(broken.contains("wildcard"), "{broken}");
    let group = factory.create_sink("group").await.unwrap_err().to_string();
    assert!(group.contains("`absent`"), "{group}");
}

#[tokio::test]
async fn a_bucket_that_does_not_exist_is_a_clear_error() {
    let server = NatsServer::start();
    let error = NatsKv::connect(&server.address(), "nowhere")
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("cannot open the key-value bucket `nowhere`"),
        "{error}"
    );
}

#[tokio::test]
async fn the_config_file_provider_resolves_and_caches_as_from_config() {
    use sinks::provider::ConfigFile;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("services.toml");
    std::fs::write(
        &path,
        "[services.a]\ntype = \"direct\"\nendpoint = \"nats://127.0.0.1:4222/a\"\n\n\
         [services.both]\ntype = \"composite\"\npattern = \"fanout\"\ntargets = [\"a\"]\n",
    )
    .unwrap();
    let factory = SinkFactory::from_provider(ConfigFile::open(&path).unwrap());
    let both = factory.create_sink("both").await.unwrap();
    let a = factory.create_sink("a").await.unwrap();
    assert!(Arc::ptr_eq(&a, &factory.create_sink("a").await.unwrap()));
    assert_eq!(both.metadata().sink_type, "composite");
    let missing = factory.create_sink("b").await.unwrap_err().to_string();
    assert!(missing.contains("service `b` is not defined"), "{missing}");
    // The sinks built so far are the factory's: one relay or direct sink.
    let snapshot = factory.snapshot();
    assert_eq!(snapshot.len(), 1, "{snapshot:?}");
    assert_eq!(snapshot[0].name, "a");
    // Nothing was sent, so there is nothing to flush.
    factory.flush_all().await.unwrap();
}
