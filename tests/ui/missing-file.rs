// A config file that does not exist: the error names the resolved path.
sinks::include_sinks!("workspace/tests/ui/no-such-file.toml");

fn main() {}
