// The config is rejected at compile time; see undefined-target.toml.
sinks::include_sinks!("workspace/tests/ui/undefined-target.toml");

fn main() {}
