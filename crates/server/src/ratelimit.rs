//! Rate limits per token: a token bucket for each token name, refilled at the token's rate
//! (its `rate_per_s` in the token file, else the server's `--rate-limit`) up to its burst.
//! A request that finds the bucket empty is answered 429 with `Retry-After`, and audited.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Requests per second and burst of a token without its own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Sustained requests per second.
    pub per_s: f64,
    /// Requests that may come at once.
    pub burst: f64,
}

impl Default for Rate {
    /// 50 requests/s with bursts of 100: a planner's app paging a layer, a wall's refresh, a
    /// department system polling.
    fn default() -> Self {
        Rate {
            per_s: 50.0,
            burst: 100.0,
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets.
#[derive(Default)]
pub struct Limiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Limiter {
    /// Takes one request from `name`'s bucket; `Err(seconds)` to wait when it is empty.
    pub fn take(&self, name: &str, rate: Rate) -> Result<(), f64> {
        self.take_at(name, rate, Instant::now())
    }

    fn take_at(&self, name: &str, rate: Rate, now: Instant) -> Result<(), f64> {
        let mut m = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let b = m.entry(name.to_string()).or_insert(Bucket {
            tokens: rate.burst,
            at: now,
        });
        let dt = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + dt * rate.per_s).min(rate.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else if rate.per_s > 0.0 {
            Err((1.0 - b.tokens) / rate.per_s)
        } else {
            Err(f64::INFINITY)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_passes_its_burst_then_its_rate() {
        let l = Limiter::default();
        let r = Rate {
            per_s: 10.0,
            burst: 5.0,
        };
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(l.take_at("a", r, t0).is_ok());
        }
        let wait = l.take_at("a", r, t0).unwrap_err();
        assert!((wait - 0.1).abs() < 1e-9, "{wait}");
        // Another token has its own bucket.
        assert!(l.take_at("b", r, t0).is_ok());
        // After 0.25 s, two more (2.5 refilled).
        let t1 = t0 + Duration::from_millis(250);
        assert!(l.take_at("a", r, t1).is_ok());
        assert!(l.take_at("a", r, t1).is_ok());
        assert!(l.take_at("a", r, t1).is_err());
        // A long pause refills no more than the burst.
        let t2 = t1 + Duration::from_secs(60);
        let ok = (0..10).filter(|_| l.take_at("a", r, t2).is_ok()).count();
        assert_eq!(ok, 5);
    }
}
