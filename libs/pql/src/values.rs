//! Typed values out of query text: numbers, booleans and dates (with their granularity, so that
//! `created_at:2024-01-01` means the whole day), and the relative date keywords.

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};

/// The date keywords, relative to the time of the query (UTC days).
pub const DATE_KEYWORDS: &[&str] = &[
    "now",
    "today",
    "yesterday",
    "last_hour",
    "last_day",
    "last_week",
    "last_month",
    "last_year",
];

/// A moment as written: where it starts and how far it extends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moment {
    pub start: DateTime<Utc>,
    pub extent: Extent,
}

/// How far a [`Moment`] extends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// An exact instant (`2024-01-01T10:00:00.5Z`, `now`).
    Point,
    /// Up to this instant, excluded: a day (`2024-01-01`, `today`), a minute, a second.
    Until(DateTime<Utc>),
    /// From `start` on (`last_week`: the last 7 days).
    Since,
}

/// A finite number (`0.2`, `-1e-3`, `.9`).
pub fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A boolean: `true/false`, `t/f`, `yes/no`, `y/n`, `1/0` (any case).
pub fn boolean(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" => Some(true),
        "false" | "f" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// A date, a datetime (`YYYY-MM-DD[ HH:MM[:SS[.f]]]`, `T` or a blank between, optional `Z`/offset;
/// UTC when none) or one of [`DATE_KEYWORDS`], relative to `now`.
pub fn moment(text: &str, now: DateTime<Utc>) -> Option<Moment> {
    let text = text.trim();
    if let Some(moment) = keyword(&text.to_ascii_lowercase(), now) {
        return Some(moment);
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(day_of(day));
    }
    let normalized = match text.as_bytes().get(10) {
        Some(b' ') => format!("{}T{}", &text[..10], &text[11..]),
        _ => text.to_owned(),
    };
    let fraction = normalized.contains('.');
    let granular = |start: DateTime<Utc>, step: TimeDelta| Moment {
        start,
        extent: if fraction {
            Extent::Point
        } else {
            Extent::Until(start + step)
        },
    };
    if let Ok(at) = DateTime::parse_from_rfc3339(&normalized) {
        return Some(granular(at.with_timezone(&Utc), TimeDelta::seconds(1)));
    }
    if let Ok(at) = NaiveDateTime::parse_from_str(&normalized, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(granular(at.and_utc(), TimeDelta::seconds(1)));
    }
    if let Ok(at) = NaiveDateTime::parse_from_str(&normalized, "%Y-%m-%dT%H:%M") {
        return Some(granular(at.and_utc(), TimeDelta::minutes(1)));
    }
    None
}

fn day_of(day: NaiveDate) -> Moment {
    let start = day.and_time(NaiveTime::MIN).and_utc();
    Moment {
        start,
        extent: Extent::Until(start + TimeDelta::days(1)),
    }
}

fn keyword(word: &str, now: DateTime<Utc>) -> Option<Moment> {
    let since = |delta: TimeDelta| Moment {
        start: now - delta,
        extent: Extent::Since,
    };
    Some(match word {
        "now" => Moment {
            start: now,
            extent: Extent::Point,
        },
        "today" => day_of(now.date_naive()),
        "yesterday" => day_of(now.date_naive().checked_sub_days(Days::new(1))?),
        "last_hour" => since(TimeDelta::hours(1)),
        "last_day" => since(TimeDelta::days(1)),
        "last_week" => since(TimeDelta::days(7)),
        "last_month" => since(TimeDelta::days(30)),
        "last_year" => since(TimeDelta::days(365)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn dates_keep_their_granularity() {
        let now = at("2024-03-10T15:30:00Z");
        let day = moment("2024-01-01", now).unwrap();
        assert_eq!(
            (day.start, day.extent),
            (at("2024-01-01T00:00:00Z"), Extent::Until(at("2024-01-02T00:00:00Z")))
        );
        let minute = moment("2024-01-01 10:10", now).unwrap();
        assert_eq!(minute.extent, Extent::Until(at("2024-01-01T10:11:00Z")));
        let second = moment("2024-01-01T10:10:05", now).unwrap();
        assert_eq!(second.extent, Extent::Until(at("2024-01-01T10:10:06Z")));
        let point = moment("2024-01-01T10:10:05.250+02:00", now).unwrap();
        assert_eq!(
            (point.start, point.extent),
            (at("2024-01-01T08:10:05.250Z"), Extent::Point)
        );
        let zoned = moment("2024-01-01 10:10:05Z", now).unwrap();
        assert_eq!(zoned.start, at("2024-01-01T10:10:05Z"));
        assert!(moment("2024-13-01", now).is_none());
        assert!(moment("yesterdays", now).is_none());
        assert!(moment("10:10", now).is_none());
    }

    #[test]
    fn keywords_are_relative_to_now() {
        let now = at("2024-03-10T15:30:00Z");
        assert_eq!(moment("today", now).unwrap().start, at("2024-03-10T00:00:00Z"));
        let yesterday = moment("Yesterday", now).unwrap();
        assert_eq!(yesterday.start, at("2024-03-09T00:00:00Z"));
        assert_eq!(yesterday.extent, Extent::Until(at("2024-03-10T00:00:00Z")));
        let week = moment("last_week", now).unwrap();
        assert_eq!((week.start, week.extent), (at("2024-03-03T15:30:00Z"), Extent::Since));
        assert_eq!(moment("last_month", now).unwrap().start, at("2024-02-09T15:30:00Z"));
        assert_eq!(moment("now", now).unwrap().extent, Extent::Point);
    }

    #[test]
    fn numbers_and_booleans() {
        assert_eq!(number(".9"), Some(0.9));
        assert_eq!(number("-1e-3"), Some(-0.001));
        assert_eq!(number("NaN"), None);
        assert_eq!(number("inf"), None);
        assert_eq!(number("0.2x"), None);
        assert_eq!(boolean("True"), Some(true));
        assert_eq!(boolean("0"), Some(false));
        assert_eq!(boolean("maybe"), None);
    }
}
