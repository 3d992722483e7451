// The config is rejected at compile time; see missing-type.toml.
sinks::include_sinks!("workspace/tests/ui/missing-type.toml");

fn main() {}
