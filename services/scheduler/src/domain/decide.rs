//! What the scheduler does with a run when its status changes or a stop is requested, as pure
//! decisions over the run's scheduling [`Slot`].
//!
//! A run's scheduling state: `pending` (compiled, its reports going out) → `queued` (waits for a
//! slot, FIFO) → `dispatched` (holds one of the `max_concurrency` slots; its Celery task is out) →
//! `done` (slot freed). A failed attempt N with N ≤ `maxRetries` goes back to `queued` as N + 1.

use std::fmt;
use std::str::FromStr;

use myelin_contracts::Statuses;

/// A run's scheduling state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Pending,
    Queued,
    Dispatched,
    Done,
}

impl State {
    pub const ALL: [State; 4] = [State::Pending, State::Queued, State::Dispatched, State::Done];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Queued => "queued",
            State::Dispatched => "dispatched",
            State::Done => "done",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        State::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown scheduling state `{s}`"))
    }
}

/// What the decisions look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub state: State,
    pub attempt: u32,
    pub max_retries: u32,
    pub stop_requested: bool,
}

/// What to do about a run that reached a done status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDone {
    /// Not about the current attempt, or already done here.
    Ignore,
    /// Free the slot; `revoke` when the run was stopped or skipped while its task may still run
    /// (not stopped by its executor).
    Finish { revoke: bool },
    /// Report `retrying` for `failed` and queue attempt `next`.
    Retry { failed: u32, next: u32 },
}

/// The decision for a `run.status.changed` to the done status `status` of attempt `attempt`.
///
/// `stopped` and `skipped` end the run whatever attempt they name (a user stopped or skipped it,
/// possibly while the tracker still showed the previous attempt); `succeeded` and `failed` belong
/// to their attempt.
pub fn on_done(slot: Slot, attempt: u32, status: Statuses, previous: Option<Statuses>) -> OnDone {
    if slot.state == State::Done {
        return OnDone::Ignore;
    }
    if matches!(status, Statuses::Stopped | Statuses::Skipped) {
        let dispatched = slot.state == State::Dispatched;
        let executor_stopped_it = previous == Some(Statuses::Stopping) && attempt == slot.attempt;
        return OnDone::Finish {
            revoke: dispatched && !executor_stopped_it,
        };
    }
    if attempt < slot.attempt {
        return OnDone::Ignore;
    }
    let stopping = slot.stop_requested || previous == Some(Statuses::Stopping);
    if status == Statuses::Failed && slot.state == State::Dispatched && !stopping && slot.attempt <= slot.max_retries {
        return OnDone::Retry {
            failed: slot.attempt,
            next: slot.attempt + 1,
        };
    }
    OnDone::Finish { revoke: false }
}

/// What to do about a `run.stop.requested`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnStop {
    /// Not started: mark it done and report `stopped`.
    StopNow,
    /// Its task is out: revoke it (terminate); the executor reports `stopped`.
    Revoke,
    /// Stopped here before; report `stopped` again (a redelivery after a failed report).
    Repeat,
    /// Done for another reason: nothing to stop.
    Ignore,
}

/// The decision for a `run.stop.requested`.
pub fn on_stop(slot: Slot) -> OnStop {
    match slot.state {
        State::Pending | State::Queued => OnStop::StopNow,
        State::Dispatched => OnStop::Revoke,
        State::Done if slot.stop_requested => OnStop::Repeat,
        State::Done => OnStop::Ignore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Statuses::*;

    fn slot(state: State, attempt: u32, max_retries: u32, stop_requested: bool) -> Slot {
        Slot {
            state,
            attempt,
            max_retries,
            stop_requested,
        }
    }

    #[test]
    fn states_round_trip() {
        for state in State::ALL {
            assert_eq!(state.to_string().parse::<State>(), Ok(state));
        }
        assert!("running".parse::<State>().is_err());
    }

    #[test]
    fn done_statuses() {
        use OnDone::*;
        let (d, q) = (State::Dispatched, State::Queued);
        // (slot, event attempt, status, previous, expected)
        #[rustfmt::skip]
        let table = [
            (slot(d, 1, 0, false), 1, Succeeded, Some(Running), Finish { revoke: false }),
            (slot(d, 1, 0, false), 1, Failed, Some(Running), Finish { revoke: false }),
            (slot(d, 1, 2, false), 1, Failed, Some(Running), Retry { failed: 1, next: 2 }),
            (slot(d, 2, 2, false), 2, Failed, Some(Running), Retry { failed: 2, next: 3 }),
            (slot(d, 3, 2, false), 3, Failed, Some(Running), Finish { revoke: false }),
            // a failure while stopping, or after a stop request, is not retried
            (slot(d, 1, 2, false), 1, Failed, Some(Stopping), Finish { revoke: false }),
            (slot(d, 1, 2, true), 1, Failed, Some(Running), Finish { revoke: false }),
            // only a dispatched attempt is retried
            (slot(q, 1, 2, false), 1, Failed, Some(Queued), Finish { revoke: false }),
            // stopped by the executor vs stopped or skipped before the tracker saw it start
            (slot(d, 1, 0, true), 1, Stopped, Some(Stopping), Finish { revoke: false }),
            (slot(d, 1, 0, false), 1, Stopped, Some(Queued), Finish { revoke: true }),
            (slot(d, 1, 0, false), 1, Skipped, Some(Queued), Finish { revoke: true }),
            (slot(q, 1, 0, false), 1, Stopped, Some(Queued), Finish { revoke: false }),
            (slot(State::Pending, 1, 0, false), 1, Skipped, Some(Compiled), Finish { revoke: false }),
            // a stop names the run, not an attempt: attempt 2 is out while the tracker stops attempt 1
            (slot(q, 2, 2, false), 1, Stopped, Some(Retrying), Finish { revoke: false }),
            (slot(d, 2, 2, false), 1, Stopped, Some(Retrying), Finish { revoke: true }),
            (slot(d, 2, 2, true), 1, Stopped, Some(Stopping), Finish { revoke: true }),
            // older attempts and runs already done are ignored
            (slot(d, 2, 2, false), 1, Failed, Some(Running), Ignore),
            (slot(d, 2, 2, false), 1, Succeeded, Some(Running), Ignore),
            (slot(State::Done, 1, 2, false), 1, Failed, Some(Running), Ignore),
            (slot(State::Done, 1, 2, true), 1, Stopped, Some(Stopping), Ignore),
        ];
        for (slot, attempt, status, previous, want) in table {
            assert_eq!(
                on_done(slot, attempt, status, previous),
                want,
                "{slot:?} + {status} of {attempt}"
            );
        }
    }

    #[test]
    fn stops() {
        assert_eq!(on_stop(slot(State::Pending, 1, 0, false)), OnStop::StopNow);
        assert_eq!(on_stop(slot(State::Queued, 2, 3, false)), OnStop::StopNow);
        assert_eq!(on_stop(slot(State::Dispatched, 1, 0, false)), OnStop::Revoke);
        assert_eq!(on_stop(slot(State::Done, 1, 0, true)), OnStop::Repeat);
        assert_eq!(on_stop(slot(State::Done, 1, 0, false)), OnStop::Ignore);
    }
}
