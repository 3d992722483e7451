// The config is rejected at compile time; see bad-service-name.toml.
sinks::include_sinks!("workspace/tests/ui/bad-service-name.toml");

fn main() {}
