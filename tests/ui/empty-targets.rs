// The config is rejected at compile time; see empty-targets.toml.
sinks::include_sinks!("workspace/tests/ui/empty-targets.toml");

fn main() {}
