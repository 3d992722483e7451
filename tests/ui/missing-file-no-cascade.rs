// A missing config file is one error: using the struct adds none.
use sinks::MessageSink;

sinks::include_sinks!("workspace/tests/ui/no-such-services.toml");

fn main() {
    let sinks = Sinks::new();
    let _ = sinks.market_data_relay().is_connected();
    let _ = sinks.broadcast_all().metadata();
    let _ = Sinks::from_env();
}
