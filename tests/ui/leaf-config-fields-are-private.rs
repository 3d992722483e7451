// Outside the runtime a `LeafConfig` is read through its getters and built
// through setters that keep it valid; its fields cannot be written.
use sinks::config::{Endpoint, LeafConfig};

fn main() {
    let endpoint = Endpoint::unix("/tmp/leaf.sock").unwrap();
    let mut leaf = LeafConfig::new(endpoint);
    leaf.buffer_size = 0;
    leaf.jetstream = true;
}
