// The config is rejected at compile time; see unknown-key.toml.
sinks::include_sinks!("../../../../tests/ui/unknown-key.toml");

fn main() {}
