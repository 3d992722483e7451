// The config is rejected at compile time; see unix-path-too-long.toml.
sinks::include_sinks!("workspace/tests/ui/unix-path-too-long.toml");

fn main() {}
