// WebSocket has its own frames: `framing` there is an error.
sinks::include_sinks!("workspace/tests/ui/framing-on-websocket.toml");

fn main() {}
