// The config is rejected at compile time; see zero-buffer-size.toml.
sinks::include_sinks!("workspace/tests/ui/zero-buffer-size.toml");

fn main() {}
