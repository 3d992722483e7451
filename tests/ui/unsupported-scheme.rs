// The config is rejected at compile time; see unsupported-scheme.toml.
sinks::include_sinks!("../../../../tests/ui/unsupported-scheme.toml");

fn main() {}
