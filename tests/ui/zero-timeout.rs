// The config is rejected at compile time; see zero-timeout.toml.
sinks::include_sinks!("workspace/tests/ui/zero-timeout.toml");

fn main() {}
