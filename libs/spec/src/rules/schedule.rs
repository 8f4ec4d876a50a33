//! Rules of time and events: schedules (a cron expression that parses and that some date
//! matches, a positive interval, dates that parse and come in order), hooks and notifications
//! (final statuses only), event refs, early stopping bounds and termination.

use std::str::FromStr;

use chrono::{TimeZone, Utc};
use croner::Cron;

use super::Report;
use crate::de::is_template;
use crate::error::code;
use crate::model::schedule::StoppingPolicy;
use crate::model::{EarlyStopping, EventTrigger, Hook, OrRef, Schedule, Status, Termination};
use crate::path::Path;
use crate::values::datetime;

/// Hooks and termination, shared by components and operations.
pub(crate) fn check_base(report: &mut Report, hooks: Option<&[Hook]>, termination: Option<&Termination>, path: &Path) {
    for (index, hook) in hooks.into_iter().flatten().enumerate() {
        if let Some(trigger) = hook.trigger
            && !Status::FINAL.contains(&trigger)
        {
            let accepted: Vec<&str> = Status::FINAL.iter().map(Status::as_str).collect();
            let message = format!(
                "a hook cannot trigger on `{}`: use one of {}",
                trigger.as_str(),
                accepted.join(", ")
            );
            report.invalid(path.key("hooks").index(index).key("trigger"), message);
        }
    }
    if let Some(termination) = termination
        && termination.culling.as_ref().and_then(|culling| culling.timeout) == Some(0)
    {
        report.invalid(
            path.key("termination").key("culling").key("timeout"),
            "the idle timeout must be positive",
        );
    }
}

/// `schedule`.
pub(crate) fn check_schedule(report: &mut Report, schedule: &Schedule, path: &Path) {
    let (start, end) = match schedule {
        Schedule::Cron(cron) => {
            if !is_template(&cron.cron)
                && let Err(problem) = check_cron(&cron.cron)
            {
                report.invalid(path.key("cron"), problem);
            }
            (&cron.start_at, &cron.end_at)
        }
        Schedule::Interval(interval) => {
            if interval.frequency == OrRef::Value(0) {
                report.invalid(
                    path.key("frequency"),
                    "the frequency must be a positive number of seconds",
                );
            }
            (&interval.start_at, &interval.end_at)
        }
        Schedule::DateTime(at) => {
            if !is_template(&at.start_at) && datetime(&at.start_at).is_none() {
                let message = format!("`{}` is not a date and time such as 2024-01-31T10:00:00Z", at.start_at);
                report.invalid(path.key("startAt"), message);
            }
            return;
        }
    };
    let parse = |field: &Option<String>, name: &str, report: &mut Report| match field {
        Some(text) if !is_template(text) => {
            let parsed = datetime(text);
            if parsed.is_none() {
                let message = format!("`{text}` is not a date and time such as 2024-01-31T10:00:00Z");
                report.invalid(path.key(name), message);
            }
            parsed
        }
        _ => None,
    };
    let start = parse(start, "startAt", report);
    let end = parse(end, "endAt", report);
    if let (Some(start), Some(end)) = (start, end)
        && end <= start
    {
        report.invalid(path.key("endAt"), "`endAt` must come after `startAt`");
    }
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS_IN_MONTH: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/// A cron expression: it must parse, and some date must match it.
pub(crate) fn check_cron(expression: &str) -> Result<(), String> {
    let cron =
        Cron::from_str(expression).map_err(|error| format!("invalid cron expression `{expression}`: {error}"))?;
    let Some(start) = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single() else {
        return Ok(());
    };
    match cron.find_next_occurrence(&start, true) {
        Ok(_) => Ok(()),
        Err(_) => Err(match impossible_day(expression) {
            Some(reason) => format!("no date matches the cron expression `{expression}`: {reason}"),
            None => format!("no date matches the cron expression `{expression}`"),
        }),
    }
}

/// Why a day-of-month/month pair never occurs, for the common `m h D M *` case.
fn impossible_day(expression: &str) -> Option<String> {
    let fields: Vec<&str> = expression.split_whitespace().collect();
    let (dom, month) = match fields.len() {
        5 => (fields[2], fields[3]),
        6 => (fields[3], fields[4]),
        _ => return None,
    };
    let days: Vec<u32> = dom.split(',').map(|day| day.parse().ok()).collect::<Option<_>>()?;
    let months: Vec<usize> = month
        .split(',')
        .map(|month| {
            month.parse::<usize>().ok().or_else(|| {
                MONTHS
                    .iter()
                    .position(|name| name.eq_ignore_ascii_case(month))
                    .map(|index| index + 1)
            })
        })
        .collect::<Option<_>>()?;
    let longest = months
        .iter()
        .filter_map(|month| DAYS_IN_MONTH.get(month.checked_sub(1)?))
        .max()?;
    let first_day = days.iter().min()?;
    (first_day > longest).then(|| {
        let names: Vec<&str> = months
            .iter()
            .filter_map(|month| MONTHS.get(month.checked_sub(1)?).copied())
            .collect();
        format!(
            "day {first_day} never occurs in {} (at most {longest} days)",
            names.join(", ")
        )
    })
}

/// One entry of `events`.
pub(crate) fn check_event(report: &mut Report, event: &EventTrigger, path: &Path) {
    let reference = event
        .r#ref
        .trim()
        .trim_start_matches("{{")
        .trim_end_matches("}}")
        .trim();
    let parts: Vec<&str> = reference.split('.').collect();
    let valid = matches!(parts[..], ["dag"] | ["ops" | "runs" | "connections", _]);
    if !valid {
        let message = format!(
            "invalid event ref `{}`: expected `ops.<operation>`, `runs.<uuid>`, `dag` or `connections.<name>`",
            event.r#ref
        );
        report.push(code::INVALID_REF, path.key("ref"), message);
    }
    if event.kinds.is_empty() {
        report.invalid(path.key("kinds"), "an event trigger needs at least one kind");
    }
}

/// `earlyStopping` entries.
pub(crate) fn check_early_stopping(report: &mut Report, conditions: &[EarlyStopping], path: &Path) {
    for (index, condition) in conditions.iter().enumerate() {
        let path = path.index(index);
        match condition {
            EarlyStopping::Failure(failure) => {
                if let OrRef::Value(percent) = failure.percent
                    && !(percent > 0.0 && percent <= 99.0)
                {
                    report.invalid(
                        path.key("percent"),
                        format!("`percent` must be between 1 and 99, found {percent}"),
                    );
                }
            }
            EarlyStopping::Metric(metric) => {
                let (percent, interval) = match &metric.policy {
                    Some(StoppingPolicy::Truncation(policy)) => {
                        (Some(&policy.percent), Some(&policy.evaluation_interval))
                    }
                    Some(StoppingPolicy::Diff(policy)) => (Some(&policy.percent), Some(&policy.evaluation_interval)),
                    Some(StoppingPolicy::Median(policy)) => (None, policy.evaluation_interval.as_ref()),
                    None => (None, None),
                };
                if let Some(OrRef::Value(percent)) = percent
                    && !(*percent > 0.0 && *percent < 100.0)
                {
                    let message = format!("`percent` must be between 0 and 100, found {percent}");
                    report.invalid(path.key("policy").key("percent"), message);
                }
                if let Some(OrRef::Value(0)) = interval {
                    report.invalid(
                        path.key("policy").key("evaluationInterval"),
                        "`evaluationInterval` must be positive",
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crons_parse_and_match_some_date() {
        assert_eq!(check_cron("0 0 * * *"), Ok(()));
        assert_eq!(check_cron("*/5 * * * MON-FRI"), Ok(()));
        assert_eq!(check_cron("0 12 29 2 *"), Ok(()));
        assert_eq!(
            check_cron("0 0 30 2 *"),
            Err(
                "no date matches the cron expression `0 0 30 2 *`: day 30 never occurs in FEB (at most 29 days)".into()
            )
        );
        assert_eq!(
            check_cron("0 0 31 4,6 *"),
            Err(
                "no date matches the cron expression `0 0 31 4,6 *`: day 31 never occurs in APR, JUN (at most 30 days)"
                    .into()
            )
        );
        assert!(
            check_cron("0 0 * *")
                .unwrap_err()
                .starts_with("invalid cron expression `0 0 * *`")
        );
        assert!(check_cron("61 0 * * *").is_err());
    }
}
