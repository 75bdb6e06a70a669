//! Per-client allowance of failed attempts (wrong keys, tokens,
//! passphrases).
//!
//! Only failures count, and an attempt whose key is right is never refused:
//! trying a key costs nothing and consumes nothing, so the attempt runs
//! first and only a failed one is counted, and answered `429` once it is
//! beyond the allowance (see `AppState::guarded`). A limited client thus
//! learns nothing from a wrong guess but `429`, while the rightful
//! recipient behind the same address (a proxy, a NAT) still reveals.
//! `governor` (GCRA) counts every request, not only failures; a fixed
//! one-minute window per IP is all this takes.
//!
//! With one process the windows live in memory. Instances sharing Redis
//! count in Redis instead (`handoff:{fail:<ip>}`, a counter that expires
//! with its window, counted by one atomic script), so N instances allow
//! what one does, not N times as much.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::Script;

use crate::store::{Patience, RedisConnection};

const WINDOW: Duration = Duration::from_secs(60);

/// Windows that one process keeps at most, so that a flood of addresses
/// cannot grow memory without bound.
const MAX_LOCAL_WINDOWS: usize = 100_000;

/// The limiter is advice, never a reason to stall a request: Redis that
/// does not answer this fast lets the attempt through (the attempt itself
/// then meets the store's own timeout).
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

// KEYS: the address's counter. ARGV: window in ms. Counts one failure
// more and returns {failures, ms left in the window}; the first failure of
// a window starts its clock. A counter without a TTL (which only a crash
// between two commands could leave, and a script cannot) gets one, so no
// counter outlives its window.
const RECORD_FAILURE: &str = r"
local failures = redis.call('INCR', KEYS[1])
if failures == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return {failures, redis.call('PTTL', KEYS[1])}
";

pub struct FailureLimiter {
    per_minute: u32,
    counter: Counter,
}

enum Counter {
    Local(Mutex<HashMap<IpAddr, Window>>),
    Redis {
        connection: RedisConnection,
        record_failure: Script,
    },
}

struct Window {
    started: Instant,
    failures: u32,
}

impl FailureLimiter {
    /// Counts in this process. `per_minute == 0` turns the limit off.
    #[must_use]
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            counter: Counter::Local(Mutex::new(HashMap::new())),
        }
    }

    /// Counts in the Redis (node or cluster) at `url`, shared by every
    /// instance using it.
    pub async fn shared(per_minute: u32, url: &str) -> Result<Self, redis::RedisError> {
        if per_minute == 0 {
            return Ok(Self::new(0));
        }
        let connection = RedisConnection::open(
            url,
            Patience {
                connect: Duration::from_secs(2),
                response: REDIS_TIMEOUT,
                retries: 1,
                // Advice only: during a failover, let attempts through
                // rather than stall them.
                cluster_overall: REDIS_TIMEOUT,
            },
        )
        .await?;
        Ok(Self {
            per_minute,
            counter: Counter::Redis {
                connection,
                record_failure: Script::new(RECORD_FAILURE),
            },
        })
    }

    /// Counts a failed attempt from `ip`; `Err(retry_after)` when it was
    /// beyond this minute's allowance, and is to be answered `429`.
    pub async fn record_failure(&self, ip: IpAddr) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let (failures, left) = match &self.counter {
            Counter::Local(windows) => {
                let mut windows = windows
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if windows.len() >= MAX_LOCAL_WINDOWS && !windows.contains_key(&ip) {
                    windows.retain(|_, window| window.started.elapsed() < WINDOW);
                    // Still full: this many addresses in one minute are not
                    // held back by a per-address limit anyway. Starting
                    // afresh costs O(n) once per n new addresses.
                    if windows.len() >= MAX_LOCAL_WINDOWS {
                        tracing::warn!(
                            addresses = windows.len(),
                            "too many addresses with failed attempts; forgetting their counts"
                        );
                        windows.clear();
                    }
                }
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
                window.failures = window.failures.saturating_add(1);
                (
                    u64::from(window.failures),
                    WINDOW.saturating_sub(window.started.elapsed()),
                )
            }
            Counter::Redis {
                connection,
                record_failure,
            } => {
                let mut connection = connection.clone();
                let counted: Result<(u64, i64), _> = record_failure
                    .key(redis_key(ip))
                    .arg(WINDOW.as_millis() as u64)
                    .invoke_async(&mut connection)
                    .await;
                match counted {
                    Ok((failures, left_ms)) => (
                        failures,
                        Duration::from_millis(u64::try_from(left_ms).unwrap_or(0)),
                    ),
                    Err(error) => {
                        tracing::warn!(%error, "cannot count a failed attempt in Redis; not limiting it");
                        return Ok(());
                    }
                }
            }
        };
        if failures > u64::from(self.per_minute) {
            Err(retry_after(left))
        } else {
            Ok(())
        }
    }

    /// Forgets windows that have ended; called by the periodic sweeper.
    /// (Redis expires its counters by itself.)
    pub fn forget_old(&self) {
        if let Counter::Local(windows) = &self.counter {
            windows
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .retain(|_, window| window.started.elapsed() < WINDOW);
        }
    }
}

/// `Retry-After` is whole seconds, at least one.
fn retry_after(left: Duration) -> Duration {
    Duration::from_secs(left.as_secs_f64().ceil() as u64).clamp(Duration::from_secs(1), WINDOW)
}

/// One counter per address, each its own hash tag, so that in a cluster
/// the counters spread over the slots instead of making one hot key.
fn redis_key(ip: IpAddr) -> String {
    format!("handoff:{{fail:{ip}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));

    #[tokio::test]
    async fn failures_beyond_the_allowance_are_refused_with_a_retry_time() {
        let limiter = FailureLimiter::new(3);
        for _ in 0..3 {
            assert!(limiter.record_failure(IP).await.is_ok());
        }
        let retry_after = limiter.record_failure(IP).await.unwrap_err();
        assert!(retry_after <= WINDOW && retry_after >= Duration::from_secs(1));
        assert!(
            limiter.record_failure(OTHER).await.is_ok(),
            "other clients are unaffected"
        );
    }

    #[tokio::test]
    async fn zero_turns_the_limit_off() {
        let limiter = FailureLimiter::new(0);
        for _ in 0..100 {
            assert!(limiter.record_failure(IP).await.is_ok());
        }
    }

    #[test]
    fn each_address_has_its_own_hash_tag() {
        assert_eq!(redis_key(IP), "handoff:{fail:127.0.0.1}");
        assert_eq!(
            redis_key("2001:db8::1".parse().unwrap()),
            "handoff:{fail:2001:db8::1}"
        );
    }

    #[test]
    fn retry_after_is_whole_seconds_within_the_window() {
        assert_eq!(retry_after(Duration::ZERO), Duration::from_secs(1));
        assert_eq!(
            retry_after(Duration::from_millis(1500)),
            Duration::from_secs(2)
        );
        assert_eq!(retry_after(Duration::from_secs(600)), WINDOW);
    }
}
