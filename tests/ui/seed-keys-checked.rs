// `domain`, `precision_context` and `metadata` are validated.
sinks::include_sinks!("workspace/tests/ui/seed-keys-checked.toml");

fn main() {}
