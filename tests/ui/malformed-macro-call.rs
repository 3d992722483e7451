// The macro takes a path literal, optionally `as` a struct name; nothing else.
sinks::include_sinks!("../../../../tests/ui/pass/backtest.toml" as BacktestSinks, "again");

fn main() {}
