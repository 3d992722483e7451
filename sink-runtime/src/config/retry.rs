//! [`RetryPolicy`]: the `max_retries`, `retry_delay_ms` and `lazy.*` settings.
//!
//! Every way to make one outside this crate (`Default`, the `with_*`
//! setters) keeps each value inside the range the config accepts, so a
//! policy built in code is one a `services.toml` could have written.

use std::time::Duration;

use super::schema::{
    MAX_BACKOFF_MULTIPLIER, MAX_RETRIES, MAX_RETRY_DELAY_MS, MAX_SECONDS, MIN_BACKOFF_MULTIPLIER,
    MIN_SECONDS,
};

/// When and how a sink connects, retries and reconnects.
///
/// A connect makes `1 + max_retries` attempts, each bounded by
/// `connect_timeout`; the pause before retry `n` is
/// `retry_delay * backoff_multiplier^(n-1)`, capped at `max_retry_delay`.
///
/// The fields are read through the methods named like them and set through
/// the `with_*` methods, which clamp to what the config accepts:
///
/// ```
/// use sink_runtime::config::RetryPolicy; // `sinks::config` in a crate that uses `sinks`
///
/// let retry = RetryPolicy::default()
///     .with_max_retries(5)
///     .with_backoff_multiplier(0.5); // below the config's minimum: 1
/// assert_eq!(retry.max_retries(), 5);
/// assert_eq!(retry.backoff_multiplier(), 1.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    // `pub(crate)` so that the config reader sets them from values it has
    // checked; code outside the crate goes through the clamping setters.
    pub(crate) max_retries: u32,
    pub(crate) retry_delay: Duration,
    pub(crate) backoff_multiplier: f64,
    pub(crate) max_retry_delay: Duration,
    pub(crate) auto_reconnect: bool,
    pub(crate) connect_timeout: Duration,
    pub(crate) wait_timeout: Duration,
}

impl RetryPolicy {
    /// Default `max_retries`.
    pub const DEFAULT_MAX_RETRIES: u32 = 3;
    /// Default `retry_delay_ms`.
    pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_millis(100);
    /// Default `backoff_multiplier`.
    pub const DEFAULT_BACKOFF_MULTIPLIER: f64 = 2.0;
    /// Default `max_retry_delay_secs`.
    pub const DEFAULT_MAX_RETRY_DELAY: Duration = Duration::from_secs(5);
    /// Default `connect_timeout_secs`.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default `wait_timeout_secs`.
    pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(30);

    /// Attempts after the first one (`max_retries`).
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// Pause before the first retry (`retry_delay_ms`).
    pub fn retry_delay(&self) -> Duration {
        self.retry_delay
    }

    /// Growth of the pause per retry, at least 1 (`lazy.backoff_multiplier`).
    pub fn backoff_multiplier(&self) -> f64 {
        self.backoff_multiplier
    }

    /// The longest pause between attempts (`lazy.max_retry_delay_secs`).
    pub fn max_retry_delay(&self) -> Duration {
        self.max_retry_delay
    }

    /// Reconnect by itself when an established connection drops (`lazy.auto_reconnect`).
    pub fn auto_reconnect(&self) -> bool {
        self.auto_reconnect
    }

    /// The bound on one connect attempt (`lazy.connect_timeout_secs`).
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The longest a `send`, `flush` or `connect` waits for room or for a
    /// connection before it returns `Timeout` (`lazy.wait_timeout_secs`).
    pub fn wait_timeout(&self) -> Duration {
        self.wait_timeout
    }

    /// Sets `max_retries`, clamped to what the config accepts: 0 to
    /// [`MAX_RETRIES`](super::MAX_RETRIES) (1000000).
    pub fn with_max_retries(mut self, max_retries: u32) -> RetryPolicy {
        self.max_retries =
            u32::try_from(MAX_RETRIES).map_or(max_retries, |max| max_retries.min(max));
        self
    }

    /// Sets `retry_delay`, as the config's `retry_delay_ms` holds it: whole
    /// milliseconds (a fraction is dropped), from 0 to
    /// [`MAX_RETRY_DELAY_MS`](super::MAX_RETRY_DELAY_MS) (a day).
    pub fn with_retry_delay(mut self, retry_delay: Duration) -> RetryPolicy {
        let millis = u64::try_from(retry_delay.as_millis()).unwrap_or(u64::MAX);
        self.retry_delay = Duration::from_millis(millis.min(MAX_RETRY_DELAY_MS));
        self
    }

    /// Sets `backoff_multiplier`, clamped to what the config accepts:
    /// [`MIN_BACKOFF_MULTIPLIER`](super::MIN_BACKOFF_MULTIPLIER) (1) to
    /// [`MAX_BACKOFF_MULTIPLIER`](super::MAX_BACKOFF_MULTIPLIER) (1000).
    /// NaN counts as the minimum, infinity as the maximum.
    pub fn with_backoff_multiplier(mut self, backoff_multiplier: f64) -> RetryPolicy {
        self.backoff_multiplier = if backoff_multiplier.is_nan() {
            MIN_BACKOFF_MULTIPLIER
        } else {
            backoff_multiplier.clamp(MIN_BACKOFF_MULTIPLIER, MAX_BACKOFF_MULTIPLIER)
        };
        self
    }

    /// Sets `max_retry_delay`, clamped to what the config's `_secs` keys
    /// accept: [`MIN_SECONDS`](super::MIN_SECONDS) (1 ms) to
    /// [`MAX_SECONDS`](super::MAX_SECONDS) (a day).
    pub fn with_max_retry_delay(mut self, max_retry_delay: Duration) -> RetryPolicy {
        self.max_retry_delay = clamp_seconds(max_retry_delay);
        self
    }

    /// Sets `auto_reconnect`.
    pub fn with_auto_reconnect(mut self, auto_reconnect: bool) -> RetryPolicy {
        self.auto_reconnect = auto_reconnect;
        self
    }

    /// Sets `connect_timeout`, clamped to what the config's `_secs` keys
    /// accept: [`MIN_SECONDS`](super::MIN_SECONDS) (1 ms) to
    /// [`MAX_SECONDS`](super::MAX_SECONDS) (a day).
    pub fn with_connect_timeout(mut self, connect_timeout: Duration) -> RetryPolicy {
        self.connect_timeout = clamp_seconds(connect_timeout);
        self
    }

    /// Sets `wait_timeout`, clamped to what the config's `_secs` keys
    /// accept: [`MIN_SECONDS`](super::MIN_SECONDS) (1 ms) to
    /// [`MAX_SECONDS`](super::MAX_SECONDS) (a day).
    pub fn with_wait_timeout(mut self, wait_timeout: Duration) -> RetryPolicy {
        self.wait_timeout = clamp_seconds(wait_timeout);
        self
    }

    /// The pause before retry number `retry` (1-based):
    /// `retry_delay * backoff_multiplier^(retry-1)`, at most `max_retry_delay`.
    pub fn delay_before_retry(&self, retry: u32) -> Duration {
        if self.retry_delay.is_zero() {
            // `0 * growth^n` is NaN once `growth^n` overflows to infinity.
            return Duration::ZERO;
        }
        let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
        let delay = self.retry_delay.as_secs_f64() * self.backoff_multiplier.powi(exponent);
        if delay.is_finite() && delay < self.max_retry_delay.as_secs_f64() {
            saturating_seconds(delay)
        } else {
            self.max_retry_delay
        }
    }

    /// The longest one connect can take: every attempt timing out, every
    /// pause. Constant time (a closed form of the geometric series, not a loop
    /// over the attempts) and saturating at `Duration::MAX`, for any value the
    /// fields hold.
    pub fn connect_budget(&self) -> Duration {
        let attempts = self.max_retries.saturating_add(1);
        let timeouts = self.connect_timeout.saturating_mul(attempts);
        timeouts.saturating_add(self.total_pauses())
    }

    /// The sum of the pauses before every retry.
    fn total_pauses(&self) -> Duration {
        let retries = f64::from(self.max_retries);
        let first = self.retry_delay.as_secs_f64();
        let cap = self.max_retry_delay.as_secs_f64();
        let growth = self.backoff_multiplier;
        if retries == 0.0 || first == 0.0 {
            return Duration::ZERO;
        }
        if first >= cap {
            return saturating_seconds(cap * retries);
        }
        // NaN too: no growth.
        if growth.is_nan() || growth <= 1.0 {
            return saturating_seconds(first * retries);
        }
        // Retries whose pause is below the cap: `first * growth^j < cap` for
        // j = 0..below; the rest each pause for `cap`.
        let below = ((cap / first).ln() / growth.ln())
            .ceil()
            .clamp(0.0, retries);
        let growing = first * (growth.powf(below) - 1.0) / (growth - 1.0);
        saturating_seconds(growing + cap * (retries - below))
    }
}

/// `seconds` as a Duration; `Duration::MAX` if it is more than one holds,
/// zero if negative or NaN.
fn saturating_seconds(seconds: f64) -> Duration {
    if seconds.is_nan() || seconds <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)
}

/// `duration` within what a config's `_secs` keys accept.
fn clamp_seconds(duration: Duration) -> Duration {
    duration.clamp(
        Duration::from_secs_f64(MIN_SECONDS),
        Duration::from_secs_f64(MAX_SECONDS),
    )
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_retries: Self::DEFAULT_MAX_RETRIES,
            retry_delay: Self::DEFAULT_RETRY_DELAY,
            backoff_multiplier: Self::DEFAULT_BACKOFF_MULTIPLIER,
            max_retry_delay: Self::DEFAULT_MAX_RETRY_DELAY,
            auto_reconnect: true,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            wait_timeout: Self::DEFAULT_WAIT_TIMEOUT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values no config accepts, written straight into the fields (which
    /// only this crate can do): the budget saturates instead of panicking or
    /// looping four billion times.
    #[test]
    fn connect_budget_saturates_on_values_no_config_accepts() {
        let mut policy = RetryPolicy {
            max_retries: u32::MAX,
            connect_timeout: Duration::MAX,
            retry_delay: Duration::MAX,
            max_retry_delay: Duration::MAX,
            backoff_multiplier: f64::INFINITY,
            ..RetryPolicy::default()
        };
        assert_eq!(policy.connect_budget(), Duration::MAX);
        policy.connect_timeout = Duration::from_secs(1);
        policy.retry_delay = Duration::from_millis(1);
        policy.backoff_multiplier = f64::NAN;
        assert!(policy.connect_budget() >= Duration::from_secs(u64::from(u32::MAX)));
    }
}
