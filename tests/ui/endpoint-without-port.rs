// The config is rejected at compile time; see endpoint-without-port.toml.
sinks::include_sinks!("workspace/tests/ui/endpoint-without-port.toml");

fn main() {}
