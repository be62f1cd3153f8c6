//! Circuit breaker that turns a telemetry outage into immediate, counted drops.
//!
//! After `threshold` consecutive failed attempts the breaker opens for `cooldown`; while open,
//! `emit` drops events at once (`circuit_open`) so an outage costs generation no latency. When
//! the cooldown has passed the breaker is half-open: the next batch is a single-attempt probe.
//! Success closes it; failure opens it for another cooldown. The state is atomics shared by the
//! client and its shipper and lives as long as the client, so in Lambda it persists across the
//! invocations of one container.
//!
//! Time comes from `tokio::time::Instant`, so tests drive it with a paused clock.

use std::{
    sync::atomic::{AtomicU32, AtomicU64, Ordering},
    time::Duration,
};

use tokio::time::Instant;

/// What the breaker allows right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Normal operation.
    Closed,
    /// Failing: drop at once.
    Open,
    /// Cooldown over: allow one probe.
    HalfOpen,
}

/// A consecutive-failure circuit breaker.
#[derive(Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    cooldown: Duration,
    epoch: Instant,
    consecutive_failures: AtomicU32,
    /// Nanoseconds after `epoch` until which the breaker is open; zero when closed.
    open_until: AtomicU64,
    times_opened: AtomicU64,
}

impl CircuitBreaker {
    /// A closed breaker opening after `threshold` consecutive failures for `cooldown`.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            epoch: Instant::now(),
            consecutive_failures: AtomicU32::new(0),
            open_until: AtomicU64::new(0),
            times_opened: AtomicU64::new(0),
        }
    }

    /// The state at `now`.
    pub fn state(&self, now: Instant) -> BreakerState {
        match self.open_until.load(Ordering::Acquire) {
            0 => BreakerState::Closed,
            until if self.nanos(now) < until => BreakerState::Open,
            _ => BreakerState::HalfOpen,
        }
    }

    /// Records a successful attempt: closes the breaker.
    pub fn record_success(&self) {
        self.consecutive_failures.store(0, Ordering::Release);
        self.open_until.store(0, Ordering::Release);
    }

    /// Records a failed attempt at `now`; returns true when this failure opened the breaker.
    pub fn record_failure(&self, now: Instant) -> bool {
        let failures = self.consecutive_failures.fetch_add(1, Ordering::AcqRel) + 1;
        let state = self.state(now);
        let should_open = match state {
            BreakerState::Closed => failures >= self.threshold,
            BreakerState::HalfOpen => true,
            BreakerState::Open => false,
        };
        if should_open {
            let until = self.nanos(now + self.cooldown).max(1);
            self.open_until.store(until, Ordering::Release);
            self.times_opened.fetch_add(1, Ordering::Relaxed);
        }
        should_open
    }

    /// How many times the breaker has opened since it was created.
    pub fn times_opened(&self) -> u64 {
        self.times_opened.load(Ordering::Relaxed)
    }

    fn nanos(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_nanos() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn opens_after_threshold_and_probes_after_cooldown() {
        let breaker = CircuitBreaker::new(3, Duration::from_secs(30));
        let now = Instant::now();

        assert!(!breaker.record_failure(now));
        assert!(!breaker.record_failure(now));
        assert_eq!(breaker.state(now), BreakerState::Closed);
        assert!(breaker.record_failure(now));
        assert_eq!(breaker.state(Instant::now()), BreakerState::Open);

        tokio::time::advance(Duration::from_secs(29)).await;
        assert_eq!(breaker.state(Instant::now()), BreakerState::Open);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(breaker.state(Instant::now()), BreakerState::HalfOpen);
    }

    #[tokio::test(start_paused = true)]
    async fn failed_probe_reopens_and_successful_probe_closes() {
        let breaker = CircuitBreaker::new(1, Duration::from_secs(10));
        breaker.record_failure(Instant::now());
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(breaker.state(Instant::now()), BreakerState::HalfOpen);

        assert!(breaker.record_failure(Instant::now()));
        assert_eq!(breaker.state(Instant::now()), BreakerState::Open);
        tokio::time::advance(Duration::from_secs(10)).await;

        breaker.record_success();
        assert_eq!(breaker.state(Instant::now()), BreakerState::Closed);
        assert_eq!(breaker.times_opened(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn success_resets_the_failure_count() {
        let breaker = CircuitBreaker::new(2, Duration::from_secs(10));
        breaker.record_failure(Instant::now());
        breaker.record_success();
        assert!(!breaker.record_failure(Instant::now()));
        assert_eq!(breaker.state(Instant::now()), BreakerState::Closed);
    }
}
