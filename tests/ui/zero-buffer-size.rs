// The config is rejected at compile time; see zero-buffer-size.toml.
sinks::include_sinks!("../../../../tests/ui/zero-buffer-size.toml");

fn main() {}
