// `gen` is reserved in edition 2024: one error, no bogus parse error.
sinks::include_sinks!("workspace/tests/ui/gen-service-name.toml");

fn main() {}
