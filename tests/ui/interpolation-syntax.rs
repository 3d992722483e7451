// Malformed `${...}`: each is reported, naming the key, never the value around it.
sinks::include_sinks!("workspace/tests/ui/interpolation-syntax.toml");

fn main() {}
