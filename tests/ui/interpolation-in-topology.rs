// The topology is fixed at compile time: no `${VAR}` in `type`, `pattern` or `targets`.
sinks::include_sinks!("workspace/tests/ui/interpolation-in-topology.toml");

fn main() {}
