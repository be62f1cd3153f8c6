//! Retry decisions as data, and capped, jittered exponential backoff.
//!
//! Failures are classified by [`RetryAction`]: timeouts, connection failures, throttling and
//! 5xx answers can succeed later; malformed requests and 4xx answers never will. Backoff uses
//! "full jitter": a uniform draw between zero and the capped exponential step, so many
//! containers retrying at once do not synchronise.

use std::time::Duration;

use rand::Rng;

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAction {
    /// The failure is transient: retry after backoff, within the budget.
    Retry,
    /// Retrying cannot help: drop the entries now (`send_failed`).
    Drop,
}

/// Capped exponential backoff with full jitter.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
}

impl Backoff {
    /// Steps of `base * 2^n`, never above `cap`.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self { base, cap }
    }

    /// The ceiling of the wait before retry number `retry` (1 for the first retry).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1_u32 << retry.saturating_sub(1).min(16);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A jittered wait before retry number `retry`, drawn from `rng`.
    pub fn delay(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(retry);
        let nanos = ceiling.as_nanos() as u64;
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(rng.random_range(0..=nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::StdRng};

    #[test]
    fn ceiling_doubles_then_caps() {
        let backoff = Backoff::new(Duration::from_millis(25), Duration::from_millis(400));
        let ceilings: Vec<_> = (1..=7).map(|n| backoff.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, vec![25, 50, 100, 200, 400, 400, 400]);
    }

    #[test]
    fn jittered_delays_stay_under_the_ceiling_and_vary() {
        let backoff = Backoff::new(Duration::from_millis(25), Duration::from_millis(400));
        let mut rng = StdRng::seed_from_u64(7);
        let delays: Vec<_> = (0..50).map(|_| backoff.delay(3, &mut rng)).collect();

        assert!(delays.iter().all(|d| *d <= Duration::from_millis(100)));
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 40, "jitter should spread delays");
    }

    #[test]
    fn huge_retry_numbers_do_not_overflow() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(5));
        assert_eq!(backoff.ceiling(u32::MAX), Duration::from_secs(5));
    }
}
