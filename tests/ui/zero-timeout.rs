// The config is rejected at compile time; see zero-timeout.toml.
sinks::include_sinks!("../../../../tests/ui/zero-timeout.toml");

fn main() {}
