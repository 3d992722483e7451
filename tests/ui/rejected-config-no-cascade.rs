// Code that uses the accessors of a config with an error sees that error
// only: the stand-in struct keeps every service's accessor.
use sinks::MessageSink;

sinks::include_sinks!("workspace/tests/ui/seed-services.toml");

fn main() {
    let sinks = Sinks::new();
    let relay: &sinks::EndpointSink = sinks.market_data_relay();
    let fanout: &sinks::CompositeSink = sinks.broadcast_all();
    let _ = (relay.metadata(), fanout.targets().count());
    let _ = sinks.failover_group().is_connected();
}
