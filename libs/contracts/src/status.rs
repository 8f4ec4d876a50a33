//! Run statuses (`v1Statuses`), status conditions (`v1StatusCondition`), the status document
//! (`v1Status`) and the body of `POST .../statuses` (`v1EntityStatusBodyRequest`).
//!
//! The status families copy Polyaxon's `LifeCycle` (`polyaxon/lifecycle.py`): `DONE_VALUES`,
//! `RUNNING_VALUES`, `PENDING_VALUES`, `WARNING_VALUES`, `COMPILABLE_VALUES`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::ids::RunUuid;

/// Every status a run can have (`v1Statuses`). `Done` is a trigger-only pseudo status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Statuses {
    #[default]
    Created,
    Resuming,
    OnSchedule,
    Compiled,
    Queued,
    Scheduled,
    Starting,
    Running,
    Processing,
    Stopping,
    Failed,
    Stopped,
    Succeeded,
    Skipped,
    Warning,
    Unschedulable,
    UpstreamFailed,
    Retrying,
    Unknown,
    Done,
}

impl Statuses {
    /// Every value, in `v1Statuses` order.
    pub const ALL: [Statuses; 20] = [
        Statuses::Created,
        Statuses::Resuming,
        Statuses::OnSchedule,
        Statuses::Compiled,
        Statuses::Queued,
        Statuses::Scheduled,
        Statuses::Starting,
        Statuses::Running,
        Statuses::Processing,
        Statuses::Stopping,
        Statuses::Failed,
        Statuses::Stopped,
        Statuses::Succeeded,
        Statuses::Skipped,
        Statuses::Warning,
        Statuses::Unschedulable,
        Statuses::UpstreamFailed,
        Statuses::Retrying,
        Statuses::Unknown,
        Statuses::Done,
    ];

    /// The wire name (`upstream_failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Statuses::Created => "created",
            Statuses::Resuming => "resuming",
            Statuses::OnSchedule => "on_schedule",
            Statuses::Compiled => "compiled",
            Statuses::Queued => "queued",
            Statuses::Scheduled => "scheduled",
            Statuses::Starting => "starting",
            Statuses::Running => "running",
            Statuses::Processing => "processing",
            Statuses::Stopping => "stopping",
            Statuses::Failed => "failed",
            Statuses::Stopped => "stopped",
            Statuses::Succeeded => "succeeded",
            Statuses::Skipped => "skipped",
            Statuses::Warning => "warning",
            Statuses::Unschedulable => "unschedulable",
            Statuses::UpstreamFailed => "upstream_failed",
            Statuses::Retrying => "retrying",
            Statuses::Unknown => "unknown",
            Statuses::Done => "done",
        }
    }

    /// `LifeCycle.DONE_VALUES`: failed, upstream_failed, stopped, skipped, succeeded.
    pub fn is_done(self) -> bool {
        matches!(
            self,
            Statuses::Failed | Statuses::UpstreamFailed | Statuses::Stopped | Statuses::Skipped | Statuses::Succeeded
        )
    }

    /// `LifeCycle.DONE_OR_IN_PROGRESS_VALUES`: done, or stopping.
    pub fn is_done_or_stopping(self) -> bool {
        self.is_done() || self == Statuses::Stopping
    }

    /// `LifeCycle.RUNNING_VALUES`: starting, processing, running (Polyaxon's `initializing` is not
    /// part of `v1Statuses`). The first of these sets a run's `started_at`.
    pub fn is_running_family(self) -> bool {
        matches!(self, Statuses::Starting | Statuses::Processing | Statuses::Running)
    }

    /// `LifeCycle.PENDING_VALUES`: created, resuming, scheduled.
    pub fn is_pending(self) -> bool {
        matches!(self, Statuses::Created | Statuses::Resuming | Statuses::Scheduled)
    }

    /// `LifeCycle.WARNING_VALUES`: unschedulable, warning.
    pub fn is_warning(self) -> bool {
        matches!(self, Statuses::Unschedulable | Statuses::Warning)
    }

    /// `LifeCycle.COMPILABLE_VALUES`: created, resuming, retrying.
    pub fn is_compilable(self) -> bool {
        matches!(self, Statuses::Created | Statuses::Resuming | Statuses::Retrying)
    }

    /// `LifeCycle.is_stoppable`: anything not done.
    pub fn is_stoppable(self) -> bool {
        !self.is_done()
    }
}

impl fmt::Display for Statuses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status name that is not one of [`Statuses`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status `{0}`")]
pub struct UnknownStatus(pub String);

impl FromStr for Statuses {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Statuses::ALL
            .into_iter()
            .find(|v| v.as_str() == lower)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

/// One entry of a run's status timeline (`v1StatusCondition`).
///
/// `status` is `"True"`/`"False"` on the wire; Polyaxon's clients also send JSON booleans,
/// which are accepted and normalized. A missing or null `status` means `"True"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusCondition {
    #[serde(rename = "type")]
    pub type_: Statuses,
    #[serde(default = "true_str", deserialize_with = "de_condition_status")]
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub last_update_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_transition_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub meta_info: Option<Value>,
}

impl StatusCondition {
    /// A `"True"` condition of `type_` stamped `at`.
    pub fn new(type_: Statuses, reason: impl Into<String>, message: impl Into<String>, at: DateTime<Utc>) -> Self {
        Self {
            type_,
            status: true_str(),
            reason: Some(reason.into()),
            message: Some(message.into()),
            last_update_time: Some(at),
            last_transition_time: Some(at),
            meta_info: None,
        }
    }

    /// Whether `status` says the condition holds (`"True"`, case-insensitive).
    pub fn is_true(&self) -> bool {
        self.status.eq_ignore_ascii_case("true")
    }
}

fn true_str() -> String {
    "True".to_string()
}

fn de_condition_status<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Text(String),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        None | Some(Raw::Bool(true)) => "True".to_string(),
        Some(Raw::Bool(false)) => "False".to_string(),
        Some(Raw::Text(t)) if t.eq_ignore_ascii_case("true") => "True".to_string(),
        Some(Raw::Text(t)) if t.eq_ignore_ascii_case("false") => "False".to_string(),
        Some(Raw::Text(t)) => t,
    })
}

/// A run's status document (`v1Status`), answered by `GET .../statuses`.
/// `POST .../statuses` answers it with every field null, as Polyaxon does.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<RunUuid>,
    #[serde(default)]
    pub status: Option<Statuses>,
    #[serde(default)]
    pub status_conditions: Option<Vec<StatusCondition>>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub meta_info: Option<Value>,
}

/// The body of `POST .../statuses` (`v1EntityStatusBodyRequest`). `force` lets a done run move
/// again (resume).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusBody {
    pub condition: StatusCondition,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_display_fromstr_and_serde() {
        for s in Statuses::ALL {
            assert_eq!(s.to_string().parse::<Statuses>().unwrap(), s);
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<Statuses>(&json).unwrap(), s);
        }
        assert!("bogus".parse::<Statuses>().is_err());
    }

    #[test]
    fn families_match_polyaxon_lifecycle() {
        let done: Vec<_> = Statuses::ALL.into_iter().filter(|s| s.is_done()).collect();
        assert_eq!(
            done,
            [
                Statuses::Failed,
                Statuses::Stopped,
                Statuses::Succeeded,
                Statuses::Skipped,
                Statuses::UpstreamFailed
            ]
        );
        let running: Vec<_> = Statuses::ALL.into_iter().filter(|s| s.is_running_family()).collect();
        assert_eq!(running, [Statuses::Starting, Statuses::Running, Statuses::Processing]);
        assert!(Statuses::Stopping.is_done_or_stopping() && !Statuses::Stopping.is_done());
    }

    #[test]
    fn condition_status_accepts_bool_and_string() {
        let c: StatusCondition = serde_json::from_str(r#"{"type":"running","status":true}"#).unwrap();
        assert_eq!(c.status, "True");
        let c: StatusCondition = serde_json::from_str(r#"{"type":"running","status":"False"}"#).unwrap();
        assert!(!c.is_true());
        let c: StatusCondition = serde_json::from_str(r#"{"type":"running"}"#).unwrap();
        assert!(c.is_true());
    }
}
