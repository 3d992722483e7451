// Two topologies in one crate, the second named with `as`.
sinks::include_sinks!("workspace/examples/services.toml");
sinks::include_sinks!("workspace/tests/ui/pass/backtest.toml" as BacktestSinks);

fn main() {
    let live = Sinks::new();
    let backtest = BacktestSinks::default();
    assert_eq!(BacktestSinks::SERVICES, &["recorder", "everything"]);
    let _ = (
        live.market_data_relay(),
        backtest.recorder(),
        backtest.everything(),
    );
}
