//! The run lifecycle rules (DESIGN.md, "Lifecycle"), as pure functions over a [`Timeline`].
//!
//! 1. `done` is a trigger-only pseudo status: never applied.
//! 2. A condition equal to the last one (same `type` and `status`) replaces it: new reason, message
//!    and `last_update_time`, the old `last_transition_time`. Duplicates are therefore harmless.
//! 3. `created` is never applied after creation.
//! 4. Once done (succeeded, failed, upstream_failed, stopped, skipped), nothing changes unless
//!    `force` (resume).
//! 5. While `stopping`, only done statuses are accepted (unless `force`).
//! 6. `started_at` (and `wait_time` = started_at − created_at) on the first running-family status
//!    (starting, processing, running); `finished_at` (and `duration` = finished_at − started_at) on
//!    the first done status. Forcing a done run back to a live status clears `finished_at`/`duration`.
//!
//! Reports and attempts ([`apply_report`], for the scheduler's and executors' `run.status.reported`
//! messages; each belongs to an execution attempt, 1-based):
//! 7. A report of an older attempt than the run's is ignored.
//! 8. A report of a newer attempt starts that attempt afresh: it is accepted (as if forced) only on a
//!    `retrying` or `failed` run, the run's attempt becomes the report's, and the finish is cleared.
//! 9. Within the current attempt: `retrying` is accepted on a `failed` run (the failure is being
//!    retried); a done status on a `retrying` run is a late report of the failed attempt and is
//!    refused; a status earlier in the pending → running order (compiled < queued < scheduled <
//!    starting < running/processing) than the current one is a late report and is refused; the rest
//!    follows rules 1–6 without force; except that a `starting` with reason `redelivered` (the task
//!    came back after its worker was lost, and the attempt starts over) is accepted on a starting or
//!    running run.

use chrono::{DateTime, Utc};
use myelin_contracts::execution::REDELIVERED_REASON;
use myelin_contracts::{StatusCondition, Statuses};

/// The status-related part of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    pub status: Statuses,
    pub conditions: Vec<StatusCondition>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Seconds from creation to start.
    pub wait_time: Option<f64>,
    /// Seconds from start to finish.
    pub duration: Option<f64>,
}

/// What [`apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The status changed from `previous` (an event is due).
    Changed { previous: Statuses },
    /// The condition repeated the last one and replaced it; the status is unchanged.
    Refreshed,
}

/// Why a condition was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection {
    pub current: Statuses,
    pub requested: Statuses,
    pub reason: &'static str,
}

/// Reason (and message) of the condition every run starts with, as Polyaxon writes it.
pub const CREATED_REASON: &str = "OperationServiceInit";

/// The timeline of a run created at `at`: status `created` with its one condition.
pub fn initial(at: DateTime<Utc>) -> Timeline {
    Timeline {
        status: Statuses::Created,
        conditions: vec![StatusCondition::new(
            Statuses::Created,
            CREATED_REASON,
            "Run is created",
            at,
        )],
        created_at: at,
        started_at: None,
        finished_at: None,
        wait_time: None,
        duration: None,
    }
}

/// Applies `condition` to `timeline` at time `now`, or explains why not (leaving it untouched).
pub fn apply(
    timeline: &mut Timeline,
    mut condition: StatusCondition,
    force: bool,
    now: DateTime<Utc>,
) -> Result<Applied, Rejection> {
    let current = timeline.status;
    let requested = condition.type_;
    let reject = |reason| {
        Err(Rejection {
            current,
            requested,
            reason,
        })
    };
    if requested == Statuses::Done {
        return reject("`done` is a trigger-only status and is never applied");
    }
    condition.last_update_time = Some(condition.last_update_time.unwrap_or(now));
    condition.last_transition_time = Some(condition.last_transition_time.unwrap_or(now));
    if let Some(last) = timeline.conditions.last_mut()
        && last.type_ == requested
        && last.status.eq_ignore_ascii_case(&condition.status)
        && requested == current
    {
        condition.last_transition_time = last.last_transition_time.or(condition.last_transition_time);
        *last = condition;
        return Ok(Applied::Refreshed);
    }
    if requested == Statuses::Created {
        return reject("`created` is only set when the run is created");
    }
    if current.is_done() && !force {
        return reject("the run is done; only a resume (force) can change its status");
    }
    if current == Statuses::Stopping && !requested.is_done() && !force {
        return reject("a stopping run only accepts done statuses");
    }
    timeline.conditions.push(condition);
    timeline.status = requested;
    if requested.is_running_family() && timeline.started_at.is_none() {
        timeline.started_at = Some(now);
        timeline.wait_time = Some(seconds(timeline.created_at, now));
    }
    if requested.is_done() {
        if timeline.finished_at.is_none() {
            timeline.finished_at = Some(now);
            timeline.duration = timeline.started_at.map(|start| seconds(start, now));
        }
    } else if current.is_done() {
        timeline.finished_at = None;
        timeline.duration = None;
    }
    Ok(Applied::Changed { previous: current })
}

/// Applies a status report of execution `attempt` to a run whose current attempt is `current`
/// (see "Reports and attempts" in the module doc). On success the run's attempt becomes
/// `max(current, attempt)`; a rejection leaves `timeline` untouched.
pub fn apply_report(
    timeline: &mut Timeline,
    current: u32,
    attempt: u32,
    condition: StatusCondition,
    now: DateTime<Utc>,
) -> Result<Applied, Rejection> {
    let status = timeline.status;
    let requested = condition.type_;
    let reject = |reason| {
        Err(Rejection {
            current: status,
            requested,
            reason,
        })
    };
    if attempt < current {
        return reject("the report belongs to an older attempt");
    }
    if attempt > current {
        if !matches!(status, Statuses::Retrying | Statuses::Failed) {
            return reject("a new attempt only follows a failed or retrying one");
        }
        return apply(timeline, condition, true, now);
    }
    if status == Statuses::Failed && requested == Statuses::Retrying {
        return apply(timeline, condition, true, now);
    }
    if status == Statuses::Retrying && requested.is_done() {
        return reject("late report: this attempt already failed and is being retried");
    }
    if requested == Statuses::Starting
        && condition.reason.as_deref() == Some(REDELIVERED_REASON)
        && matches!(status, Statuses::Starting | Statuses::Running | Statuses::Processing)
    {
        return apply(timeline, condition, false, now);
    }
    if let (Some(have), Some(want)) = (progress(status), progress(requested))
        && want < have
    {
        return reject("late report: the run is already past this status");
    }
    apply(timeline, condition, false, now)
}

/// The order an attempt goes through its pending and running statuses (others have none).
fn progress(status: Statuses) -> Option<u8> {
    match status {
        Statuses::Created | Statuses::Resuming => Some(0),
        Statuses::Compiled => Some(1),
        Statuses::Queued => Some(2),
        Statuses::Scheduled => Some(3),
        Statuses::Starting => Some(4),
        Statuses::Running | Statuses::Processing => Some(5),
        _ => None,
    }
}

/// Seconds from `from` to `to`, never negative.
fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    let micros = (to - from).num_microseconds().unwrap_or(i64::MAX).max(0);
    micros as f64 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use Statuses::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    /// A timeline that went created → each of `path` (forced), one second apart.
    fn at(path: &[Statuses]) -> Timeline {
        let mut tl = initial(t0());
        for (i, s) in path.iter().enumerate() {
            let now = t0() + Duration::seconds(i as i64 + 1);
            apply(&mut tl, StatusCondition::new(*s, "test", "", now), true, now).unwrap();
        }
        tl
    }

    #[derive(Debug)]
    enum Want {
        Changed,
        Refreshed,
        Rejected(&'static str),
    }

    #[test]
    fn every_rule() {
        use Want::*;
        // (history after `created`, requested, force, expected outcome)
        let table: &[(&[Statuses], Statuses, bool, Want)] = &[
            // the normal path
            (&[], Compiled, false, Changed),
            (&[Compiled], Queued, false, Changed),
            (&[Compiled, Queued], Scheduled, false, Changed),
            (&[Scheduled], Starting, false, Changed),
            (&[Starting], Running, false, Changed),
            (&[Running], Succeeded, false, Changed),
            (&[Running], Processing, false, Changed),
            (&[], Skipped, false, Changed),
            // rule 1: done is never applied
            (&[Running], Done, false, Rejected("trigger-only")),
            (&[Running], Done, true, Rejected("trigger-only")),
            // rule 2: a repeat of the last condition replaces it, even when done or stopping
            (&[Running], Running, false, Refreshed),
            (&[Running, Succeeded], Succeeded, false, Refreshed),
            (&[Running, Stopping], Stopping, false, Refreshed),
            (&[], Created, false, Refreshed),
            // rule 3: created is never applied again
            (&[Running], Created, false, Rejected("only set when the run is created")),
            (
                &[Running, Failed],
                Created,
                true,
                Rejected("only set when the run is created"),
            ),
            // rule 4: done is final unless forced
            (&[Running, Succeeded], Running, false, Rejected("the run is done")),
            (&[Failed], Stopped, false, Rejected("the run is done")),
            (&[Stopped], Queued, false, Rejected("the run is done")),
            (&[Running, Failed], Resuming, true, Changed),
            (&[Stopped], Succeeded, true, Changed),
            // rule 5: stopping only moves to done
            (
                &[Running, Stopping],
                Running,
                false,
                Rejected("stopping run only accepts done"),
            ),
            (
                &[Running, Stopping],
                Queued,
                false,
                Rejected("stopping run only accepts done"),
            ),
            (&[Running, Stopping], Stopped, false, Changed),
            (&[Running, Stopping], Failed, false, Changed),
            (&[Running, Stopping], Running, true, Changed),
        ];
        for (history, requested, force, want) in table {
            let mut tl = at(history);
            let before = tl.clone();
            let now = t0() + Duration::seconds(100);
            let got = apply(&mut tl, StatusCondition::new(*requested, "r", "m", now), *force, now);
            let case = format!("{history:?} + {requested} (force={force})");
            match (want, got) {
                (Changed, Ok(Applied::Changed { previous })) => {
                    assert_eq!(previous, before.status, "{case}");
                    assert_eq!(tl.status, *requested, "{case}");
                    assert_eq!(tl.conditions.len(), before.conditions.len() + 1, "{case}");
                }
                (Refreshed, Ok(Applied::Refreshed)) => {
                    assert_eq!(tl.status, before.status, "{case}");
                    assert_eq!(tl.conditions.len(), before.conditions.len(), "{case}");
                    let (old, new) = (before.conditions.last().unwrap(), tl.conditions.last().unwrap());
                    assert_eq!(
                        new.last_transition_time, old.last_transition_time,
                        "{case}: transition kept"
                    );
                    assert_eq!(new.last_update_time, Some(now), "{case}: update time refreshed");
                    assert_eq!(new.reason.as_deref(), Some("r"), "{case}: replaced");
                    assert_eq!(
                        (tl.started_at, tl.finished_at),
                        (before.started_at, before.finished_at),
                        "{case}"
                    );
                }
                (Rejected(why), Err(rejection)) => {
                    assert!(rejection.reason.contains(why), "{case}: {}", rejection.reason);
                    assert_eq!(rejection.current, before.status, "{case}");
                    assert_eq!(tl, before, "{case}: a rejection changes nothing");
                }
                (want, got) => panic!("{case}: wanted {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn reports_follow_attempts_and_never_go_back() {
        use Want::*;
        // (history after `created`, run's attempt, report's attempt, requested, expected outcome)
        let table: &[(&[Statuses], u32, u32, Statuses, Want)] = &[
            // the scheduler's and executor's path
            (&[], 1, 1, Compiled, Changed),
            (&[Compiled], 1, 1, Queued, Changed),
            (&[Compiled, Queued], 1, 1, Scheduled, Changed),
            (&[Scheduled], 1, 1, Starting, Changed),
            (&[Starting], 1, 1, Running, Changed),
            (&[Running], 1, 1, Succeeded, Changed),
            (&[Running], 1, 1, Failed, Changed),
            (&[], 1, 1, Failed, Changed),
            (&[Running, Stopping], 1, 1, Stopped, Changed),
            // duplicates are harmless
            (&[Compiled], 1, 1, Compiled, Refreshed),
            (&[Running], 1, 1, Running, Refreshed),
            (&[Running, Succeeded], 1, 1, Succeeded, Refreshed),
            // rule 7: older attempts are ignored, whatever they say
            (&[Running], 2, 1, Failed, Rejected("older attempt")),
            (&[Queued], 3, 2, Running, Rejected("older attempt")),
            // rule 8: a newer attempt follows a retrying (or failed) run and starts afresh
            (&[Running, Failed, Retrying], 1, 2, Queued, Changed),
            (&[Running, Failed], 1, 2, Queued, Changed),
            (&[Running, Failed, Retrying], 1, 2, Scheduled, Changed),
            (&[Running], 1, 2, Queued, Rejected("only follows a failed or retrying")),
            (
                &[Running, Stopped],
                1,
                2,
                Queued,
                Rejected("only follows a failed or retrying"),
            ),
            (
                &[Running, Succeeded],
                1,
                2,
                Queued,
                Rejected("only follows a failed or retrying"),
            ),
            (
                &[Running, Stopping],
                1,
                2,
                Queued,
                Rejected("only follows a failed or retrying"),
            ),
            (
                &[Running, Failed],
                1,
                2,
                Created,
                Rejected("only set when the run is created"),
            ),
            // rule 9: retrying a failure; late reports within an attempt
            (&[Running, Failed], 1, 1, Retrying, Changed),
            (&[Running, Failed, Retrying], 1, 1, Failed, Rejected("being retried")),
            (&[Running, Failed, Retrying], 1, 1, Retrying, Refreshed),
            (&[Running, Succeeded], 1, 1, Retrying, Rejected("the run is done")),
            (&[Scheduled], 1, 1, Queued, Rejected("already past")),
            (&[Running], 1, 1, Starting, Rejected("already past")),
            (&[Queued], 1, 1, Compiled, Rejected("already past")),
            (&[Running], 1, 1, Processing, Changed),
            (&[Processing], 1, 1, Running, Changed),
            (&[Queued], 1, 1, Running, Changed),
            // rules 1–6 still hold for the current attempt
            (&[Running, Succeeded], 1, 1, Running, Rejected("the run is done")),
            (
                &[Running, Stopping],
                1,
                1,
                Running,
                Rejected("stopping run only accepts done"),
            ),
            (&[Running], 1, 1, Done, Rejected("trigger-only")),
        ];
        check_reports(table, "r");
        // A task redelivered after its worker was lost starts the same attempt over.
        let redelivered: &[(&[Statuses], u32, u32, Statuses, Want)] = &[
            (&[Running], 1, 1, Starting, Changed),
            (&[Starting], 1, 1, Starting, Refreshed),
            (&[Running, Succeeded], 1, 1, Starting, Rejected("the run is done")),
            (&[Running], 2, 1, Starting, Rejected("older attempt")),
        ];
        check_reports(redelivered, REDELIVERED_REASON);
    }

    fn check_reports(table: &[(&[Statuses], u32, u32, Statuses, Want)], reason: &str) {
        use Want::*;
        for (history, current, attempt, requested, want) in table {
            let mut tl = at(history);
            let before = tl.clone();
            let now = t0() + Duration::seconds(100);
            let cond = StatusCondition::new(*requested, reason, "m", now);
            let got = apply_report(&mut tl, *current, *attempt, cond, now);
            let case = format!("{history:?} (attempt {current}) + {requested} of attempt {attempt}");
            match (want, got) {
                (Changed, Ok(Applied::Changed { previous })) => {
                    assert_eq!(previous, before.status, "{case}");
                    assert_eq!(tl.status, *requested, "{case}");
                    if !requested.is_done() {
                        assert_eq!((tl.finished_at, tl.duration), (None, None), "{case}: not finished");
                    }
                }
                (Refreshed, Ok(Applied::Refreshed)) => assert_eq!(tl.status, before.status, "{case}"),
                (Rejected(why), Err(rejection)) => {
                    assert!(rejection.reason.contains(why), "{case}: {}", rejection.reason);
                    assert_eq!(tl, before, "{case}: a rejection changes nothing");
                }
                (want, got) => panic!("{case}: wanted {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn a_condition_with_another_status_value_is_not_a_repeat() {
        let mut tl = at(&[Running]);
        let now = t0() + Duration::seconds(10);
        let mut cond = StatusCondition::new(Running, "r", "", now);
        cond.status = "False".into();
        // Same type, different status value, same current status: not a repeat, and running → running
        // is not a rejected transition, so it is appended.
        assert_eq!(
            apply(&mut tl, cond, false, now),
            Ok(Applied::Changed { previous: Running })
        );
        assert_eq!(tl.conditions.len(), 3);
    }

    #[test]
    fn timestamps_follow_the_first_running_and_done_statuses() {
        let mut tl = initial(t0());
        let s = |n: i64| t0() + Duration::milliseconds(n);
        apply(&mut tl, StatusCondition::new(Queued, "", "", s(100)), false, s(100)).unwrap();
        assert_eq!((tl.started_at, tl.wait_time), (None, None));
        apply(&mut tl, StatusCondition::new(Starting, "", "", s(1500)), false, s(1500)).unwrap();
        assert_eq!(tl.started_at, Some(s(1500)));
        assert_eq!(tl.wait_time, Some(1.5));
        apply(&mut tl, StatusCondition::new(Running, "", "", s(2000)), false, s(2000)).unwrap();
        assert_eq!(
            tl.started_at,
            Some(s(1500)),
            "only the first running-family status sets started_at"
        );
        apply(&mut tl, StatusCondition::new(Failed, "", "", s(4000)), false, s(4000)).unwrap();
        assert_eq!(tl.finished_at, Some(s(4000)));
        assert_eq!(tl.duration, Some(2.5));
        // A forced done → done keeps the first finish.
        apply(&mut tl, StatusCondition::new(Succeeded, "", "", s(5000)), true, s(5000)).unwrap();
        assert_eq!(tl.finished_at, Some(s(4000)));
        // Resume clears the finish; the next done sets it again.
        apply(&mut tl, StatusCondition::new(Resuming, "", "", s(6000)), true, s(6000)).unwrap();
        assert_eq!((tl.finished_at, tl.duration), (None, None));
        assert_eq!(tl.started_at, Some(s(1500)));
        apply(&mut tl, StatusCondition::new(Running, "", "", s(7000)), false, s(7000)).unwrap();
        apply(
            &mut tl,
            StatusCondition::new(Succeeded, "", "", s(8000)),
            false,
            s(8000),
        )
        .unwrap();
        assert_eq!(tl.finished_at, Some(s(8000)));
        assert_eq!(tl.duration, Some(6.5));
    }

    #[test]
    fn done_before_start_has_no_duration_and_missing_times_are_filled() {
        let mut tl = initial(t0());
        let now = t0() + Duration::seconds(3);
        let mut cond = StatusCondition::new(Stopped, "", "", now);
        cond.last_update_time = None;
        cond.last_transition_time = None;
        apply(&mut tl, cond, false, now).unwrap();
        assert_eq!((tl.finished_at, tl.duration, tl.started_at), (Some(now), None, None));
        let last = tl.conditions.last().unwrap();
        assert_eq!(
            (last.last_update_time, last.last_transition_time),
            (Some(now), Some(now))
        );
    }
}
