// The macro takes a path literal, optionally `as` a struct name; nothing else.
sinks::include_sinks!("workspace/tests/ui/pass/backtest.toml" as BacktestSinks, "again");

fn main() {}
