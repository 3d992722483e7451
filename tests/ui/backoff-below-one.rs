// The config is rejected at compile time; see backoff-below-one.toml.
sinks::include_sinks!("workspace/tests/ui/backoff-below-one.toml");

fn main() {}
