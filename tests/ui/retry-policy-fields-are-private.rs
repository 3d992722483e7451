// Outside the runtime a `RetryPolicy` is read through its getters and built
// through setters that clamp to the config's ranges; its fields cannot be
// written, nor can it be made with a struct literal.
use std::time::Duration;

use sinks::config::RetryPolicy;

fn main() {
    let mut retry = RetryPolicy::default();
    retry.backoff_multiplier = 0.5;
    let _ = RetryPolicy {
        max_retries: 3,
        retry_delay: Duration::ZERO,
        backoff_multiplier: 0.5,
        max_retry_delay: Duration::ZERO,
        auto_reconnect: true,
        connect_timeout: Duration::ZERO,
        wait_timeout: Duration::ZERO,
    };
}
