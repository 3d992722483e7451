//! Credentials in `ws://user:pass@host` reach the server as HTTP basic auth
//! and never appear in errors, `Debug` output or metadata.

use std::sync::Arc;

use sinks::config::{CompositePattern, Endpoint, LeafConfig};
use sinks::{CompositeSink, EndpointSink, Message, MessageSink, SinkFactory};

use crate::common::{self, bounded, websocket_peer};

const SECRET: &str = "s3cr3t-pw";

fn assert_hidden(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} shows the password: {text}");
    assert!(!text.contains("alice:"), "{what} shows the user: {text}");
}

#[tokio::test]
async fn basic_auth_credentials_reach_the_server_as_an_authorization_header() {
    let (address, received, _accepts, _server) = websocket_peer().await;
    let endpoint = Endpoint::parse_direct(&format!("ws://user:pass@{address}/feed"))
        .expect("a valid ws:// endpoint");
    let sink = EndpointSink::direct("authed", common::leaf(endpoint));
    bounded("send", sink.send(Message::from("hello")))
        .await
        .expect("send");
    received.wait_for(1).await;
    let headers = received.headers();
    assert_eq!(headers.len(), 1);
    let authorization: Vec<&str> = headers[0]
        .iter()
        .filter(|(name, _)| name == "authorization")
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(authorization, vec!["Basic dXNlcjpwYXNz"]);
    assert_eq!(received.payloads(), vec![b"hello".to_vec()]);
}

#[tokio::test]
async fn credentials_never_appear_in_errors_debug_or_metadata() {
    let address = common::unused_tcp_address().await;
    let url = format!("ws://alice:{SECRET}@{address}/feed");
    let endpoint = Endpoint::parse_direct(&url).expect("a valid ws:// endpoint");
    assert_hidden("Endpoint's Debug", &format!("{endpoint:?}"));
    assert_hidden("Endpoint's Display", &endpoint.to_string());
    let sink: Arc<dyn MessageSink> = Arc::new(EndpointSink::direct(
        "authed",
        LeafConfig::new(endpoint).retry(common::give_up_fast()),
    ));
    let error = bounded("a send to an absent peer", sink.send(Message::from("x")))
        .await
        .expect_err("nothing listens");
    assert!(matches!(error, sinks::SinkError::ConnectionFailed { .. }));
    assert_hidden("the error's Display", &error.to_string());
    assert_hidden("the error's Debug", &format!("{error:?}"));
    let metadata = sink.metadata();
    assert!(
        metadata
            .endpoint
            .as_deref()
            .is_some_and(|e| e.contains("***@")),
        "{metadata:?}"
    );
    assert_hidden("metadata", &format!("{metadata:?}"));
    assert_hidden("the sink's Debug", &format!("{sink:?}"));

    let fanout = CompositeSink::new("all", CompositePattern::Fanout, vec![Arc::clone(&sink)]);
    let error = bounded("a fanout send", fanout.send(Message::from("x")))
        .await
        .expect_err("nothing listens");
    assert_hidden("the composite's error", &error.to_string());
    assert_hidden("the composite's error Debug", &format!("{error:?}"));
    assert_hidden("the composite's Debug", &format!("{fanout:?}"));
    assert_hidden(
        "the composite's metadata",
        &format!("{:?}", fanout.metadata()),
    );

    let factory = SinkFactory::from_config_str(&format!(
        "[services.authed]\ntype = \"direct\"\nendpoint = \"{url}\"\n"
    ))
    .expect("a valid config");
    assert_hidden("the factory's Debug", &format!("{factory:?}"));
    let built = factory.create_sink("authed").await.expect("create");
    assert_hidden("a factory sink's Debug", &format!("{built:?}"));
    assert_hidden(
        "a factory sink's metadata",
        &format!("{:?}", built.metadata()),
    );
}
