// The config is rejected at compile time; see endpoint-on-composite.toml.
sinks::include_sinks!("../../../../tests/ui/endpoint-on-composite.toml");

fn main() {}
