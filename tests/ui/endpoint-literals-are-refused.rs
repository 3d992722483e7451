// Outside the runtime an endpoint is made by parsing (or `Endpoint::unix`),
// which runs the config's checks; literals could hold port 0 or a
// wildcard subject. Matching on the variants still works.
use std::path::PathBuf;

use sinks::config::{Endpoint, NatsEndpoint, UnixSocketPath, WebSocketEndpoint};

fn main() {
    let _ = Endpoint::Tcp {
        host: "127.0.0.1".to_owned(),
        port: 0,
    };
    let _ = Endpoint::WebSocket(WebSocketEndpoint {
        secure: false,
        host: "127.0.0.1".to_owned(),
        port: 80,
        path: String::new(),
        credentials: None,
    });
    let _ = Endpoint::Nats(NatsEndpoint {
        servers: Vec::new(),
        subject: "orders.>".to_owned(),
        auth: None,
    });
    let _ = Endpoint::Unix(UnixSocketPath(PathBuf::from("relative.sock")));
}
