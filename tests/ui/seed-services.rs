// The seed design's own example targets `backup_strategy`, which it never defines.
sinks::include_sinks!("workspace/tests/ui/seed-services.toml");

fn main() {}
