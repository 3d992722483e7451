// The config is rejected at compile time; see many-problems.toml.
sinks::include_sinks!("workspace/tests/ui/many-problems.toml");

fn main() {}
