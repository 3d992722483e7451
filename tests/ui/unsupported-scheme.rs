// The config is rejected at compile time; see unsupported-scheme.toml.
sinks::include_sinks!("workspace/tests/ui/unsupported-scheme.toml");

fn main() {}
