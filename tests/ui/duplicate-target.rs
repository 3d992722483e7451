// The config is rejected at compile time; see duplicate-target.toml.
sinks::include_sinks!("../../../../tests/ui/duplicate-target.toml");

fn main() {}
