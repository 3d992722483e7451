//! `include_sinks!` with `nats://` endpoints: the macro validates them with
//! the runtime's config module and builds the same settings the factory does.

use sinks::MessageSink;
use sinks::config::{Endpoint, NatsAuth, ServicesConfig};

sinks::include_sinks!("tests/nats/services.toml");

#[test]
fn the_macro_builds_nats_sinks_as_the_factory_does() {
    let sinks = Sinks::new();
    let from_file =
        ServicesConfig::from_toml_str(include_str!("services.toml")).expect("valid config");
    for (sink, name) in [
        (sinks.order_events(), "order_events"),
        (sinks.order_flow(), "order_flow"),
        (sinks.tokened(), "tokened"),
    ] {
        let sinks::config::ServiceKind::Direct(expected) =
            &from_file.get(name).expect("in the file").kind
        else {
            panic!("{name} is direct");
        };
        assert_eq!(sink.config(), expected, "{name}");
    }
    let flow = sinks.order_flow().config();
    assert!(flow.jetstream());
    assert_eq!(flow.jetstream_max_in_flight(), 64);
    let Endpoint::Nats(endpoint) = &flow.endpoint() else {
        panic!("a nats endpoint");
    };
    assert_eq!(endpoint.servers.len(), 2);
    assert!(
        matches!(&endpoint.auth, Some(NatsAuth::UserPassword { user, .. }) if user == "trader")
    );
    let shown = format!(
        "{:?} {:?}",
        sinks.order_flow().metadata(),
        sinks.tokened().metadata()
    );
    assert!(
        !shown.contains("secret") && !shown.contains("s3cr3t"),
        "{shown}"
    );
    assert!(
        shown.contains("nats://***@127.0.0.1:4222,127.0.0.1:4223/orders.new"),
        "{shown}"
    );
}
