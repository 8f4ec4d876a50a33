//! Server-side downsampling of metric series for charts, pure: given the points of a series in order
//! (`x` = step or position, `y` = value), pick the indices of at most `n` points to send back.
//!
//! Both methods always keep the first and the last point and the global minimum and maximum
//! (`n >= 4`; with `n = 3`, the first, the last and the maximum), so a chart never hides a spike:
//! - [`Method::Lttb`]: Largest-Triangle-Three-Buckets (Steinarsson, 2013) on `n - 2` points, plus the
//!   extremes when it skipped them — the most faithful shape;
//! - [`Method::MinMax`]: the points split in `(n - 2) / 2` equal buckets, each keeping its minimum and
//!   its maximum in order — an envelope, exact about every bucket's range.
//!
//! Both run in one pass over the points, with no allocation per point.

use std::fmt;
use std::str::FromStr;

/// How a series is downsampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// Largest-Triangle-Three-Buckets plus the extremes (the default).
    #[default]
    Lttb,
    /// The minimum and the maximum of each bucket.
    MinMax,
}

impl FromStr for Method {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "lttb" => Ok(Method::Lttb),
            "minmax" => Ok(Method::MinMax),
            other => Err(format!("`{other}` is not a sampling method (lttb, minmax)")),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::Lttb => "lttb",
            Method::MinMax => "minmax",
        })
    }
}

/// The smallest `n` accepted.
pub const MIN_POINTS: usize = 3;

/// The indices (increasing) of at most `n` points of the series `(x[i], y[i])` chosen by `method`.
/// Every index when the series has no more than `n` points. `x` must be non-decreasing and as long
/// as `y`; values must be finite.
pub fn sample(x: &[f64], y: &[f64], n: usize, method: Method) -> Vec<usize> {
    let len = y.len().min(x.len());
    let n = n.max(MIN_POINTS);
    if len <= n {
        return (0..len).collect();
    }
    let (min, max) = extremes(&y[..len]);
    let mut picked = match method {
        Method::Lttb if n >= 5 => lttb(&x[..len], &y[..len], n - 2),
        Method::MinMax if n >= 4 => minmax(&y[..len], (n - 2) / 2),
        _ => vec![0, len - 1],
    };
    for extreme in [max, min] {
        if picked.len() < n && !picked.contains(&extreme) {
            picked.push(extreme);
        }
    }
    picked.sort_unstable();
    picked.dedup();
    picked
}

/// The indices of the first minimum and the first maximum of `y` (non-empty).
fn extremes(y: &[f64]) -> (usize, usize) {
    let (mut min, mut max) = (0, 0);
    for (i, &v) in y.iter().enumerate() {
        if v < y[min] {
            min = i;
        }
        if v > y[max] {
            max = i;
        }
    }
    (min, max)
}

/// Bucket `b` of `buckets` over the points `1..len - 1` (the first and last are kept apart).
fn bucket(b: usize, buckets: usize, len: usize) -> std::ops::Range<usize> {
    let inner = len - 2;
    let start = 1 + b * inner / buckets;
    let end = 1 + (b + 1) * inner / buckets;
    start..end
}

/// Largest-Triangle-Three-Buckets: `threshold` (≥ 3, < `y.len()`) indices, first and last included.
fn lttb(x: &[f64], y: &[f64], threshold: usize) -> Vec<usize> {
    let len = y.len();
    let buckets = threshold - 2;
    let mut out = Vec::with_capacity(threshold + 2);
    out.push(0);
    let mut a = 0;
    for b in 0..buckets {
        let next = if b + 1 < buckets {
            bucket(b + 1, buckets, len)
        } else {
            len - 1..len
        };
        let count = next.len().max(1) as f64;
        let (sum_x, sum_y) = next.clone().fold((0.0, 0.0), |(sx, sy), i| (sx + x[i], sy + y[i]));
        let (avg_x, avg_y) = (sum_x / count, sum_y / count);
        let (ax, ay) = (x[a], y[a]);
        let mut best = None;
        let mut best_area = -1.0;
        for i in bucket(b, buckets, len) {
            let area = ((ax - avg_x) * (y[i] - ay) - (ax - x[i]) * (avg_y - ay)).abs();
            if area > best_area {
                best_area = area;
                best = Some(i);
            }
        }
        if let Some(i) = best {
            out.push(i);
            a = i;
        }
    }
    out.push(len - 1);
    out
}

/// The first and last points and, in each of `buckets` (≥ 1) buckets, its minimum and its maximum.
fn minmax(y: &[f64], buckets: usize) -> Vec<usize> {
    let len = y.len();
    let mut out = Vec::with_capacity(2 * buckets + 2);
    out.push(0);
    for b in 0..buckets {
        let range = bucket(b, buckets, len);
        if range.is_empty() {
            continue;
        }
        let (min, max) = extremes(&y[range.clone()]);
        let (lo, hi) = (range.start + min.min(max), range.start + min.max(max));
        out.push(lo);
        if hi != lo {
            out.push(hi);
        }
    }
    out.push(len - 1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(x: &[f64], y: &[f64], n: usize, method: Method) -> Vec<usize> {
        let picked = sample(x, y, n, method);
        assert!(picked.len() <= n.max(MIN_POINTS), "{method}: {} > {n}", picked.len());
        assert!(picked.windows(2).all(|w| w[0] < w[1]), "{method}: indices increase");
        let (min, max) = extremes(y);
        assert_eq!(picked.first(), Some(&0), "{method}: first kept");
        assert_eq!(picked.last(), Some(&(y.len() - 1)), "{method}: last kept");
        assert!(picked.contains(&max), "{method}: max kept");
        if n >= 4 {
            assert!(picked.contains(&min), "{method}: min kept");
        }
        picked
    }

    /// A noisy decaying curve with one spike up and one spike down in the middle.
    fn series(len: usize) -> (Vec<f64>, Vec<f64>) {
        let x: Vec<f64> = (0..len).map(|i| i as f64).collect();
        let mut y: Vec<f64> = (0..len)
            .map(|i| 1.0 / (1.0 + i as f64 / 1000.0) + ((i * 7919) % 101) as f64 / 10_000.0)
            .collect();
        y[len / 3] = 50.0;
        y[len / 3 + 1] = -50.0;
        (x, y)
    }

    #[test]
    fn short_series_come_back_whole() {
        let (x, y) = series(10);
        for method in [Method::Lttb, Method::MinMax] {
            assert_eq!(sample(&x, &y, 10, method), (0..10).collect::<Vec<_>>());
            assert_eq!(sample(&x, &y, 2000, method).len(), 10);
        }
        assert!(sample(&[], &[], 5, Method::Lttb).is_empty());
    }

    #[test]
    fn extremes_first_and_last_are_always_kept() {
        let (x, y) = series(1000);
        for n in [3, 4, 5, 6, 7, 10, 99, 500, 999] {
            for method in [Method::Lttb, Method::MinMax] {
                check(&x, &y, n, method);
            }
        }
        // Extremes at the ends, and a constant series.
        let y: Vec<f64> = (0..100).map(|i| i as f64).collect();
        let x = y.clone();
        check(&x, &y, 5, Method::Lttb);
        let flat = vec![1.0; 100];
        check(&x, &flat, 10, Method::MinMax);
        check(&x, &flat, 10, Method::Lttb);
    }

    #[test]
    fn lttb_keeps_the_shape_of_a_line() {
        // A straight line: every triangle is flat, yet the sample spans the whole range evenly.
        let x: Vec<f64> = (0..10_000).map(f64::from).collect();
        let picked = check(&x, &x, 100, Method::Lttb);
        assert!(picked.len() >= 98);
        let gaps: Vec<usize> = picked.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(
            gaps.iter().all(|&g| g <= 3 * 10_000 / 98),
            "no hole in the curve: {gaps:?}"
        );
    }

    #[test]
    fn minmax_keeps_every_bucket_range() {
        let y = [0.0, 5.0, 1.0, 9.0, 2.0, -3.0, 4.0, 7.0, 6.0, 1.0];
        let x: Vec<f64> = (0..y.len()).map(|i| i as f64).collect();
        // 4 points: first, last, and one bucket [1..9) keeping its min (-3 at 5) and max (9 at 3).
        assert_eq!(sample(&x, &y, 4, Method::MinMax), vec![0, 3, 5, 9]);
    }

    #[test]
    fn a_million_points_sample_to_2000_quickly() {
        let (x, y) = series(1_000_000);
        for method in [Method::Lttb, Method::MinMax] {
            let started = std::time::Instant::now();
            let picked = check(&x, &y, 2000, method);
            println!(
                "{method}: 1M points → {} in {:?} (debug build)",
                picked.len(),
                started.elapsed()
            );
            assert!(picked.len() >= 1900, "{method}: {} points", picked.len());
        }
    }
}
