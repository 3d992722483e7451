// `tls_ca_file` is read and checked as PEM at compile time.
sinks::include_sinks!("workspace/tests/ui/tls-ca-not-pem.toml");

fn main() {}
