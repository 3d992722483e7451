// The seed design's own example targets `backup_strategy`, which it never defines.
sinks::include_sinks!("../../../../tests/ui/seed-services.toml");

fn main() {}
