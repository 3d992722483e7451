// Two services with one name would be two accessors with one name.
sinks::include_sinks!("../../../../tests/ui/duplicate-service.toml");

fn main() {}
