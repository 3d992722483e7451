// A composite with a `domain` only targets services of the same domain (or none).
sinks::include_sinks!("workspace/tests/ui/domain-mismatch.toml");

fn main() {}
