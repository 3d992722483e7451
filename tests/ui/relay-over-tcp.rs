// The config is rejected at compile time; see relay-over-tcp.toml.
sinks::include_sinks!("workspace/tests/ui/relay-over-tcp.toml");

fn main() {}
