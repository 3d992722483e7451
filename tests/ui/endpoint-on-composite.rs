// The config is rejected at compile time; see endpoint-on-composite.toml.
sinks::include_sinks!("workspace/tests/ui/endpoint-on-composite.toml");

fn main() {}
