// The config is rejected at compile time; see reserved-service-name.toml.
sinks::include_sinks!("workspace/tests/ui/reserved-service-name.toml");

fn main() {}
