//! One backoff, used by every stage that tries again: the scheduler after a failed poll,
//! the outbox after a failed delivery, the digests after a failed send. Each caller gives
//! its constants; the doubling, the cap, the jitter and the honouring of a server's
//! Retry-After are the same everywhere.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Wait after the first failure; it doubles with each one after.
    pub first: Duration,
    /// Longest wait (before jitter).
    pub max: Duration,
    /// The wait varies at random by ± this fraction of it, so that retries of many items
    /// do not hit a recovering server at once (0: exact waits).
    pub jitter: f64,
    /// A server's Retry-After is honoured up to this long.
    pub max_retry_after: Duration,
}

impl Backoff {
    /// The wait after `failures` consecutive failures (1 for the first): `first` doubling
    /// up to `max`, with jitter, and never less than what the server asked for with
    /// `retry_after` (up to `max_retry_after`).
    pub fn delay(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        let base = self.first.saturating_mul(1u32 << doublings).min(self.max);
        let d = if self.jitter > 0.0 {
            base.mul_f64(1.0 - self.jitter + fastrand::f64() * 2.0 * self.jitter)
        } else {
            base
        };
        match retry_after {
            Some(r) => d.max(r.min(self.max_retry_after)),
            None => d,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Backoff = Backoff {
        first: Duration::from_secs(10),
        max: Duration::from_secs(100),
        jitter: 0.2,
        max_retry_after: Duration::from_secs(3600),
    };

    #[test]
    fn doubles_caps_and_jitters() {
        for _ in 0..100 {
            let d = B.delay(1, None);
            assert!(
                d >= Duration::from_secs(8) && d <= Duration::from_secs(12),
                "{d:?}"
            );
            let d = B.delay(3, None);
            assert!(
                d >= Duration::from_secs(32) && d <= Duration::from_secs(48),
                "{d:?}"
            );
            let d = B.delay(u32::MAX, None);
            assert!(
                d >= Duration::from_secs(80) && d <= Duration::from_secs(120),
                "{d:?}"
            );
        }
        let exact = Backoff { jitter: 0.0, ..B };
        assert_eq!(exact.delay(0, None), Duration::from_secs(10));
        assert_eq!(exact.delay(2, None), Duration::from_secs(20));
    }

    #[test]
    fn a_retry_after_is_honoured_up_to_its_cap() {
        assert_eq!(
            B.delay(1, Some(Duration::from_secs(600))),
            Duration::from_secs(600)
        );
        // A hostile Retry-After cannot push a retry out by years.
        assert_eq!(
            B.delay(1, Some(Duration::from_secs(u64::MAX / 2))),
            Duration::from_secs(3600)
        );
    }
}
