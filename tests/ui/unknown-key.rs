// The config is rejected at compile time; see unknown-key.toml.
sinks::include_sinks!("workspace/tests/ui/unknown-key.toml");

fn main() {}
