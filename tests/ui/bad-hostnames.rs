// Hosts are RFC 1123 names, IPv4 or bracketed IPv6 addresses.
sinks::include_sinks!("workspace/tests/ui/bad-hostnames.toml");

fn main() {}
