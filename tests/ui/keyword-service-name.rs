// The config is rejected at compile time; see keyword-service-name.toml.
sinks::include_sinks!("workspace/tests/ui/keyword-service-name.toml");

fn main() {}
