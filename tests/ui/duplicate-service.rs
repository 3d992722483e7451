// Two services with one name would be two accessors with one name.
sinks::include_sinks!("workspace/tests/ui/duplicate-service.toml");

fn main() {}
