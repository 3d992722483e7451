// The default of `${VAR:-default}` is checked as the key's value at compile time.
sinks::include_sinks!("workspace/tests/ui/interpolation-bad-default.toml");

fn main() {}
