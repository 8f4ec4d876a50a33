//! Per-task rate limits (Celery's `Task.rate_limit`): starts of one task name are spaced at
//! least `1 / rate` seconds apart on this worker. A task waiting for its turn holds its message
//! (and its prefetch place) but no concurrency slot, as in Celery.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// Celery's rate strings (`celery.utils.time.rate`): `"10/s"`, `"100/m"`, `"1000/h"`, or a bare
/// number per second; starts per second, `None` when it does not parse or is not positive.
pub fn parse_rate(rate: &str) -> Option<f64> {
    let (n, per) = rate.trim().split_once('/').unwrap_or((rate.trim(), "s"));
    let n: f64 = n.trim().parse().ok()?;
    let secs = match per.trim() {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    (n.is_finite() && n > 0.0).then_some(n / secs)
}

/// The next allowed start of each rate-limited task name.
pub(super) struct RateLimits {
    limits: HashMap<String, (Duration, Mutex<Option<Instant>>)>,
}

impl RateLimits {
    /// `rates`: task name → starts per second (rates ≤ 0 or not finite are ignored).
    pub(super) fn new(rates: HashMap<String, f64>) -> Self {
        let limits = rates
            .into_iter()
            .filter(|(_, rate)| rate.is_finite() && *rate > 0.0)
            .map(|(name, rate)| (name, (Duration::from_secs_f64(1.0 / rate), Mutex::new(None))))
            .collect();
        Self { limits }
    }

    /// Whether task `name` is rate limited.
    pub(super) fn limits(&self, name: &str) -> bool {
        self.limits.contains_key(name)
    }

    /// Waits until task `name` may start, and books that start.
    pub(super) async fn acquire(&self, name: &str) {
        let Some((spacing, next)) = self.limits.get(name) else {
            return;
        };
        let at = {
            let mut next = next.lock().await;
            let now = Instant::now();
            let at = next.map_or(now, |n| n.max(now));
            *next = Some(at + *spacing);
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn celery_rate_strings() {
        assert_eq!(parse_rate("10/s"), Some(10.0));
        assert_eq!(parse_rate("120/m"), Some(2.0));
        assert_eq!(parse_rate("3600/h"), Some(1.0));
        assert_eq!(parse_rate("5"), Some(5.0));
        assert_eq!(parse_rate("0/s"), None);
        assert_eq!(parse_rate("x/s"), None);
        assert_eq!(parse_rate("1/d"), None);
    }

    #[tokio::test]
    async fn starts_are_spaced_by_the_rate() {
        let limits = RateLimits::new(HashMap::from([("t".to_owned(), 20.0), ("off".to_owned(), 0.0)]));
        let begin = Instant::now();
        for _ in 0..5 {
            limits.acquire("t").await;
        }
        // 5 starts at 20/s: the first at once, the fifth 200 ms later (at least).
        let spaced = begin.elapsed();
        assert!(spaced >= Duration::from_millis(200), "{spaced:?}");
        let again = Instant::now();
        limits.acquire("off").await;
        limits.acquire("unlimited").await;
        assert!(again.elapsed() < Duration::from_millis(50));
    }
}
