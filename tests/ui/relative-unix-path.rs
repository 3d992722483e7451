// The config is rejected at compile time; see relative-unix-path.toml.
sinks::include_sinks!("workspace/tests/ui/relative-unix-path.toml");

fn main() {}
