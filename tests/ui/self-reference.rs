// The config is rejected at compile time; see self-reference.toml.
sinks::include_sinks!("workspace/tests/ui/self-reference.toml");

fn main() {}
