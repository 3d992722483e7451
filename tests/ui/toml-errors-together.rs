// A TOML syntax error, a duplicate key and a duplicate table are shown with every other problem.
sinks::include_sinks!("workspace/tests/ui/toml-errors-together.toml");

fn main() {}
