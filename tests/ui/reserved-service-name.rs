// The config is rejected at compile time; see reserved-service-name.toml.
sinks::include_sinks!("../../../../tests/ui/reserved-service-name.toml");

fn main() {}
