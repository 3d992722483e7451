// Out-of-range values name the range the key accepts, with its cap.
sinks::include_sinks!("workspace/tests/ui/ranges-state-the-real-range.toml");

fn main() {}
