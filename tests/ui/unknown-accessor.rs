// An accessor exists exactly when the config defines the service.
sinks::include_sinks!("workspace/tests/ui/pass/backtest.toml");

fn main() {
    let sinks = Sinks::new();
    let _ = sinks.recordr();
}
