// The quickstart topology: one accessor per service, SERVICES in file order,
// `get` by name, and a struct that is Clone + Send + Sync + Default.
use sinks::MessageSink;

sinks::include_sinks!("workspace/examples/services.toml");

fn assert_shareable<T: Clone + Send + Sync + Default + std::fmt::Debug>() {}

fn main() {
    assert_shareable::<Sinks>();
    let sinks = Sinks::new();
    assert_eq!(Sinks::SERVICES[0], "market_data_relay");
    assert_eq!(Sinks::SERVICES.len(), 7);
    let relay: &sinks::EndpointSink = sinks.market_data_relay();
    assert_eq!(relay.metadata().sink_type, "relay");
    let fanout: &sinks::CompositeSink = sinks.broadcast_all();
    assert_eq!(fanout.metadata().sink_type, "composite");
    assert!(!sinks.polygon_strategy().is_connected());
    assert!(sinks.get("dashboard").is_some());
    assert!(sinks.get("nope").is_none());
    let copy = sinks.clone();
    assert!(std::ptr::eq(copy.dashboard(), sinks.dashboard()));
}
