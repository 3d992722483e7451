// The config is rejected at compile time; see toml-syntax.toml.
sinks::include_sinks!("../../../../tests/ui/toml-syntax.toml");

fn main() {}
