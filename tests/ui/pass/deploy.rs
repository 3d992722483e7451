// Interpolation with defaults, a variable without one, an embedded CA and
// `metadata`: `new()` uses the compiled values, `with_overrides` the given ones.
use sinks::{Message, MessageSink, Overrides, SinkError};

sinks::include_sinks!("workspace/tests/ui/pass/deploy.toml");

fn main() {
    let sinks = Sinks::new();
    assert_eq!(
        sinks.relay().metadata().endpoint.as_deref(),
        Some("unix:///tmp/relay.sock")
    );
    let labels = sinks.relay().metadata().labels;
    assert_eq!(labels, [("team".to_owned(), "quant".to_owned()), ("region".to_owned(), "eu".to_owned())]);
    // `gateway` needs GATEWAY_HOST, which `new()` does not read.
    match sinks.gateway().try_send(Message::from("x")) {
        Err(SinkError::InvalidConfig(errors)) => {
            let shown = errors.to_string();
            assert!(shown.contains("`GATEWAY_HOST`"), "{shown}");
            assert!(shown.contains("from_env()"), "{shown}");
        }
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    let ca = sinks.secure().config().tls_ca_file().cloned().expect("the CA is embedded");
    assert_eq!(ca.certificates().map(|found| found.len()), Ok(1));
    let deployed = Sinks::with_overrides(
        &Overrides::new().var("GATEWAY_HOST", "10.1.2.3").var("REGION", "us"),
    )
    .expect("valid overrides");
    assert_eq!(
        deployed.gateway().metadata().endpoint.as_deref(),
        Some("tcp://10.1.2.3:9000")
    );
    assert_eq!(deployed.relay().metadata().labels[1].1, "us");
}
