// The config is rejected at compile time; see composite-without-pattern.toml.
sinks::include_sinks!("workspace/tests/ui/composite-without-pattern.toml");

fn main() {}
