//! Per-task rate limits (Celery's `Task.rate_limit`): starts of one task name are spaced at
//! least `1 / rate` seconds apart on this worker. A task waiting for its turn holds its message
//! (and its prefetch place) but no concurrency slot, as in Celery.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

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
