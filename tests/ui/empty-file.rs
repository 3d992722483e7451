// The config is rejected at compile time; see empty-file.toml.
sinks::include_sinks!("../../../../tests/ui/empty-file.toml");

fn main() {}
