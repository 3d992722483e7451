// The config is rejected at compile time; see relay-without-endpoint.toml.
sinks::include_sinks!("workspace/tests/ui/relay-without-endpoint.toml");

fn main() {}
