// The config is rejected at compile time; see endpoint-without-port.toml.
sinks::include_sinks!("../../../../tests/ui/endpoint-without-port.toml");

fn main() {}
