//! Per-client allowance of failed reveal attempts.
//!
//! Only failures count, and the check happens before the attempt, so a
//! client that has used up its allowance is refused without its guess being
//! tried, while successful reveals never use any allowance. `governor`
//! (GCRA) cannot look at a key's budget without spending it, which this
//! needs; a fixed one-minute window per IP is all it takes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);

pub struct FailureLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, Window>>,
}

struct Window {
    started: Instant,
    failures: u32,
}

impl FailureLimiter {
    /// `per_minute == 0` turns the limit off.
    #[must_use]
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(retry_after)` when `ip` has no failed attempts left this minute.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match windows.get(&ip) {
            Some(window)
                if window.started.elapsed() < WINDOW && window.failures >= self.per_minute =>
            {
                Err(WINDOW
                    .saturating_sub(window.started.elapsed())
                    .max(Duration::from_secs(1)))
            }
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, ip: IpAddr) {
        if self.per_minute == 0 {
            return;
        }
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let window = windows.entry(ip).or_insert_with(|| Window {
            started: Instant::now(),
            failures: 0,
        });
        if window.started.elapsed() >= WINDOW {
            *window = Window {
                started: Instant::now(),
                failures: 0,
            };
        }
        window.failures += 1;
    }

    /// Forgets windows that have ended; called by the periodic sweeper.
    pub fn forget_old(&self) {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        windows.retain(|_, window| window.started.elapsed() < WINDOW);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));

    #[test]
    fn refuses_after_the_allowed_failures_with_a_retry_time() {
        let limiter = FailureLimiter::new(3);
        for _ in 0..3 {
            assert!(limiter.check(IP).is_ok());
            limiter.record_failure(IP);
        }
        let retry_after = limiter.check(IP).unwrap_err();
        assert!(retry_after <= WINDOW && retry_after >= Duration::from_secs(1));
        assert!(limiter.check(OTHER).is_ok(), "other clients are unaffected");
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let limiter = FailureLimiter::new(0);
        for _ in 0..100 {
            limiter.record_failure(IP);
        }
        assert!(limiter.check(IP).is_ok());
    }
}
