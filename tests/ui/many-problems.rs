// The config is rejected at compile time; see many-problems.toml.
sinks::include_sinks!("../../../../tests/ui/many-problems.toml");

fn main() {}
