// An endpoint with credentials but no scheme: the password is not in the message.
sinks::include_sinks!("workspace/tests/ui/credentials-never-echoed.toml");

fn main() {}
