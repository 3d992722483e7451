// The config is rejected at compile time; see relative-unix-path.toml.
sinks::include_sinks!("../../../../tests/ui/relative-unix-path.toml");

fn main() {}
