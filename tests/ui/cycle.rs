// The config is rejected at compile time; see cycle.toml.
sinks::include_sinks!("workspace/tests/ui/cycle.toml");

fn main() {}
