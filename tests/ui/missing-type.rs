// The config is rejected at compile time; see missing-type.toml.
sinks::include_sinks!("../../../../tests/ui/missing-type.toml");

fn main() {}
