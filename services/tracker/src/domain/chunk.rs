//! The binary encoding of a chunk of metric points (`run_metric_chunks.data`), pure.
//!
//! A metric series is stored as chunks of up to [`MAX_POINTS`] points, one row each, in write order,
//! instead of one row per point: a 20k-point history is then twenty rows to read instead of twenty
//! thousand, and a point costs 24 bytes on disk with no per-row overhead or index entry.
//!
//! Layout (little-endian), columnar so each column decodes in one pass:
//! `[version: u8 = 1][count: u32][steps: count × i64][timestamps: count × i64][values: count × f64]`,
//! a step of `i64::MIN` meaning "no step" and timestamps in microseconds since the Unix epoch (UTC).

use chrono::{DateTime, Utc};

/// The most points one chunk holds (a 240 KB value).
pub const MAX_POINTS: usize = 10_000;

const VERSION: u8 = 1;
const HEADER: usize = 5;
const NO_STEP: i64 = i64::MIN;

/// A point as stored: `(step, timestamp, value)`.
pub type Point = (Option<i64>, DateTime<Utc>, f64);

/// A chunk that cannot be decoded: the database holds something this version did not write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("metric chunk: {0}")]
pub struct Corrupt(String);

/// Encodes `points` (at most [`MAX_POINTS`], callers split larger series).
pub fn encode(points: &[Point]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + points.len() * 24);
    out.push(VERSION);
    out.extend_from_slice(&u32::try_from(points.len()).unwrap_or(u32::MAX).to_le_bytes());
    for (step, _, _) in points {
        out.extend_from_slice(&step.unwrap_or(NO_STEP).to_le_bytes());
    }
    for (_, timestamp, _) in points {
        out.extend_from_slice(&timestamp.timestamp_micros().to_le_bytes());
    }
    for (_, _, value) in points {
        out.extend_from_slice(&value.to_le_bytes());
    }
    out
}

/// Appends the points of `chunk` to the three columns.
pub fn decode_into(
    chunk: &[u8],
    steps: &mut Vec<Option<i64>>,
    timestamps: &mut Vec<DateTime<Utc>>,
    values: &mut Vec<f64>,
) -> Result<(), Corrupt> {
    let (&version, rest) = chunk.split_first().ok_or_else(|| Corrupt("empty".into()))?;
    if version != VERSION {
        return Err(Corrupt(format!("unknown version {version}")));
    }
    let count = rest
        .get(..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| Corrupt("truncated header".into()))? as usize;
    let body = &rest[4..];
    if body.len() != count * 24 {
        return Err(Corrupt(format!("{} bytes for {count} points", body.len())));
    }
    let words = |column: usize| {
        body[column * count * 8..(column + 1) * count * 8]
            .chunks_exact(8)
            .map(|w| <[u8; 8]>::try_from(w).unwrap_or_default())
    };
    steps.extend(words(0).map(i64::from_le_bytes).map(|s| (s != NO_STEP).then_some(s)));
    for micros in words(1).map(i64::from_le_bytes) {
        let at = DateTime::from_timestamp_micros(micros).ok_or_else(|| Corrupt(format!("timestamp {micros}")))?;
        timestamps.push(at);
    }
    values.extend(words(2).map(f64::from_le_bytes));
    Ok(())
}

/// Puts the points of the columns in series order, step (no step first) then timestamp, keeping the
/// write order among equals (a stable sort, skipped when the points already are in order: the common
/// case of a training loop logging increasing steps).
pub fn order(steps: &mut Vec<Option<i64>>, timestamps: &mut Vec<DateTime<Utc>>, values: &mut Vec<f64>) {
    let key = |i: usize| (steps[i], timestamps[i]);
    if (1..steps.len()).all(|i| key(i - 1) <= key(i)) {
        return;
    }
    let mut index: Vec<usize> = (0..steps.len()).collect();
    index.sort_by_key(|&i| key(i));
    *steps = index.iter().map(|&i| steps[i]).collect();
    *timestamps = index.iter().map(|&i| timestamps[i]).collect();
    *values = index.iter().map(|&i| values[i]).collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(micros: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(micros).unwrap()
    }

    fn decode(chunk: &[u8]) -> Result<Vec<Point>, Corrupt> {
        let (mut s, mut t, mut v) = (Vec::new(), Vec::new(), Vec::new());
        decode_into(chunk, &mut s, &mut t, &mut v)?;
        Ok((0..s.len()).map(|i| (s[i], t[i], v[i])).collect())
    }

    #[test]
    fn round_trips_every_kind_of_point() {
        let points = vec![
            (Some(0), at(1_767_225_600_000_001), 0.5),
            (None, at(0), -0.0),
            (Some(i64::MAX), at(-1), f64::MAX),
            (Some(-3), at(1_767_225_600_123_456), f64::MIN_POSITIVE),
        ];
        let chunk = encode(&points);
        assert_eq!(chunk.len(), HEADER + 4 * 24);
        let back = decode(&chunk).unwrap();
        assert_eq!(back.len(), 4);
        for (a, b) in points.iter().zip(&back) {
            assert_eq!((a.0, a.1), (b.0, b.1));
            assert_eq!(a.2.to_bits(), b.2.to_bits());
        }
        assert_eq!(decode(&encode(&[])).unwrap(), vec![]);
    }

    #[test]
    fn rejects_what_it_did_not_write() {
        let chunk = encode(&[(Some(1), at(5), 1.0)]);
        assert!(decode(&[]).is_err());
        assert!(decode(&[2, 0, 0, 0, 0]).unwrap_err().to_string().contains("version 2"));
        assert!(decode(&chunk[..3]).is_err());
        assert!(decode(&chunk[..chunk.len() - 1]).is_err());
        let mut extra = chunk.clone();
        extra.push(0);
        assert!(decode(&extra).is_err());
    }

    #[test]
    fn order_is_step_then_timestamp_then_write_order() {
        let mut steps = vec![Some(2), None, Some(1), Some(1), Some(1)];
        let mut timestamps = vec![at(1), at(9), at(5), at(3), at(5)];
        let mut values = vec![20.0, 0.0, 10.0, 11.0, 12.0];
        order(&mut steps, &mut timestamps, &mut values);
        assert_eq!(steps, vec![None, Some(1), Some(1), Some(1), Some(2)]);
        assert_eq!(values, vec![0.0, 11.0, 10.0, 12.0, 20.0]);
        assert_eq!(timestamps, vec![at(9), at(3), at(5), at(5), at(1)]);
    }
}
