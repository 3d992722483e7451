// The config is rejected at compile time; see toml-syntax.toml.
sinks::include_sinks!("workspace/tests/ui/toml-syntax.toml");

fn main() {}
