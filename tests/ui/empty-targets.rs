// The config is rejected at compile time; see empty-targets.toml.
sinks::include_sinks!("../../../../tests/ui/empty-targets.toml");

fn main() {}
