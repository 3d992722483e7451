// The config is rejected at compile time; see duplicate-target.toml.
sinks::include_sinks!("workspace/tests/ui/duplicate-target.toml");

fn main() {}
