//! Times as Celery writes them (`datetime.isoformat()` of an aware UTC time) and reads them.

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};

/// Python's `isoformat()` of a UTC time: `2025-01-02T03:04:05.123456+00:00`, the fraction
/// (microseconds) only when non-zero.
pub fn format_iso(t: &DateTime<Utc>) -> String {
    let micros = t.nanosecond() / 1_000;
    let base = t.format("%Y-%m-%dT%H:%M:%S");
    if micros == 0 {
        format!("{base}+00:00")
    } else {
        format!("{base}.{micros:06}+00:00")
    }
}

/// An ISO 8601 time with an offset (any), or without one (read as UTC, Celery's default
/// timezone).
pub fn parse_iso(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|n| n.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn round_trips_python_isoformat() {
        let t = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(format_iso(&t), "2025-01-02T03:04:05+00:00");
        let t = t + chrono::Duration::microseconds(123_456);
        assert_eq!(format_iso(&t), "2025-01-02T03:04:05.123456+00:00");
        assert_eq!(parse_iso("2025-01-02T03:04:05.123456+00:00"), Some(t));
        assert_eq!(parse_iso("2025-01-02T05:04:05.123456+02:00"), Some(t));
        assert_eq!(parse_iso("2025-01-02T03:04:05.123456"), Some(t));
        assert_eq!(parse_iso("tomorrow"), None);
    }
}
