// The config is rejected at compile time; see unknown-type.toml.
sinks::include_sinks!("workspace/tests/ui/unknown-type.toml");

fn main() {}
