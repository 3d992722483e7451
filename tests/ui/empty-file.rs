// The config is rejected at compile time; see empty-file.toml.
sinks::include_sinks!("workspace/tests/ui/empty-file.toml");

fn main() {}
