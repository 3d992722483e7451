// The config is rejected at compile time; see undefined-target.toml.
sinks::include_sinks!("../../../../tests/ui/undefined-target.toml");

fn main() {}
