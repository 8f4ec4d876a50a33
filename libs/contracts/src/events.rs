//! Bus events: the envelope every message carries, the exchange they go to, their routing keys
//! (= event types, past tense) and their typed payloads.
//!
//! Delivery is at least once: consumers dedupe by [`Envelope::id`]. Changes within a `version` are
//! additive and consumers ignore unknown fields.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::ids::{ProjectUuid, RunUuid};
use crate::run::{ManagedBy, RunKind};
use crate::status::{StatusCondition, Statuses};

/// The topic exchange (durable) every domain event is published on.
pub const EVENTS_EXCHANGE: &str = "myelin.events";

/// A run was created (payload [`RunEvent`]).
pub const RUN_CREATED: &str = "run.created";
/// A run's fields changed: patch, approve, archive, restore (payload [`RunEvent`], `change` says which).
pub const RUN_UPDATED: &str = "run.updated";
/// A run's status changed (payload [`RunEvent`] with `previous_status` and `condition`).
pub const RUN_STATUS_CHANGED: &str = "run.status.changed";
/// Someone asked a started run to stop; executors kill it and report `stopped` (payload [`RunEvent`]).
pub const RUN_STOP_REQUESTED: &str = "run.stop.requested";
/// A run was deleted (payload [`RunEvent`]).
pub const RUN_DELETED: &str = "run.deleted";
/// A project was created (payload [`ProjectEvent`]).
pub const PROJECT_CREATED: &str = "project.created";
/// A project's fields changed (payload [`ProjectEvent`]).
pub const PROJECT_UPDATED: &str = "project.updated";
/// A project was deleted, after its runs (payload [`ProjectEvent`]).
pub const PROJECT_DELETED: &str = "project.deleted";

/// The current envelope version.
pub const ENVELOPE_VERSION: u32 = 1;

/// Every bus message: `{type, version, id, occurred_at, correlation_id, payload}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Envelope {
    /// The event type, also the routing key (`run.created`).
    #[serde(rename = "type")]
    pub type_: String,
    pub version: u32,
    /// Unique per event; the AMQP `message_id`; consumers dedupe on it.
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// The request id (or parent event id) that caused this event.
    #[serde(default)]
    pub correlation_id: Option<String>,
    #[schema(value_type = Object)]
    pub payload: Value,
}

impl Envelope {
    /// A new envelope of `type_` with a fresh id (v7, time ordered) stamped now.
    pub fn new(
        type_: impl Into<String>,
        payload: &impl Serialize,
        correlation_id: Option<String>,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            type_: type_.into(),
            version: ENVELOPE_VERSION,
            id: Uuid::now_v7(),
            occurred_at: Utc::now(),
            correlation_id,
            payload: serde_json::to_value(payload)?,
        })
    }

    /// The payload as a typed value.
    pub fn payload_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.payload)
    }
}

/// Payload of every `run.*` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunEvent {
    pub owner: String,
    pub project: String,
    pub run: RunUuid,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub kind: Option<RunKind>,
    /// The status after the change.
    pub status: Statuses,
    /// The status before the change (status events).
    #[serde(default)]
    pub previous_status: Option<Statuses>,
    #[serde(default)]
    pub is_managed: bool,
    #[serde(default)]
    pub managed_by: Option<ManagedBy>,
    /// Execution attempt the event belongs to, when known.
    #[serde(default)]
    pub attempt: Option<u32>,
    /// The condition that was applied (status events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<StatusCondition>,
    /// The Polyaxonfile the run was created from (`run.created` of managed runs), so the scheduler
    /// needs no call back to the tracker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// What changed (`patch`, `approve`, `archive`, `restore`) for `run.updated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
}

/// Payload of every `project.*` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProjectEvent {
    pub owner: String,
    pub project: String,
    pub uuid: ProjectUuid,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips_a_typed_payload() {
        let p = ProjectEvent {
            owner: "default".into(),
            project: "demo".into(),
            uuid: ProjectUuid::new(),
        };
        let env = Envelope::new(PROJECT_CREATED, &p, Some("req-1".into())).unwrap();
        let json = serde_json::to_value(&env).unwrap();
        assert_eq!(json["type"], "project.created");
        assert_eq!(json["version"], 1);
        let back: Envelope = serde_json::from_value(json).unwrap();
        assert_eq!(back.payload_as::<ProjectEvent>().unwrap(), p);
    }
}
