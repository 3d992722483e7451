// The config is rejected at compile time; see self-reference.toml.
sinks::include_sinks!("../../../../tests/ui/self-reference.toml");

fn main() {}
