//! Runs (`v1Run`) and the bodies that create, patch and clone them, with the enums they use
//! (`v1RunKind`, `v1ManagedBy`, `v1RunPending`, `v1CloningKind`, `v1PipelineKind`).
//!
//! Fields Polyaxon answers as `null` are always serialized; fields it leaves out of `GET` answers
//! (`status_conditions`, `is_approved`, `graph`, ...) are skipped when `None`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::RunUuid;
use crate::status::{StatusCondition, Statuses};

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant,)+
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];
            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire,)+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownValue { kind: stringify!($name), value: s.to_string() })
            }
        }
    };
}

/// A value that is not one of an enum's wire names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

wire_enum!(
    /// What a run is (`v1RunKind`, plus the 2.x runtime names).
    RunKind {
        Job => "job", Service => "service", Dag => "dag", Daskcluster => "daskcluster",
        Raycluster => "raycluster", Daskjob => "daskjob", Rayjob => "rayjob", Mpijob => "mpijob",
        Tfjob => "tfjob", Pytorchjob => "pytorchjob", Paddlejob => "paddlejob", Mxjob => "mxjob",
        Xgbjob => "xgbjob", Matrix => "matrix", Schedule => "schedule", Tuner => "tuner",
        Watchdog => "watchdog", Notifier => "notifier", Builder => "builder", Cleaner => "cleaner",
    }
);

wire_enum!(
    /// Who drives a run (`v1ManagedBy`; Polyaxon's SDK sends `user`, the swagger says `client`).
    ManagedBy { User => "user", Client => "client", Cli => "cli", Agent => "agent" }
);

wire_enum!(
    /// Why a run waits before being scheduled (`v1RunPending`).
    RunPending { Approval => "approval", Upload => "upload", Cache => "cache", Build => "build" }
);

wire_enum!(
    /// How a run was cloned from its original (`v1CloningKind`).
    CloningKind { Copy => "copy", Restart => "restart", Cache => "cache" }
);

wire_enum!(
    /// The kind of pipeline a run belongs to (`v1PipelineKind`).
    PipelineKind { Dag => "dag", Matrix => "matrix" }
);

// The enum is macro-generated, so `#[derive(Default)]` cannot mark a variant.
#[allow(clippy::derivable_impls)]
impl Default for RunKind {
    fn default() -> Self {
        RunKind::Job
    }
}

/// The run a clone was made from (`v1Cloning`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunOriginal {
    pub uuid: RunUuid,
    #[serde(default)]
    pub name: Option<String>,
    pub kind: CloningKind,
}

/// The pipeline a run belongs to (`v1Pipeline`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Pipeline {
    #[serde(default)]
    pub uuid: Option<RunUuid>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub kind: Option<PipelineKind>,
}

/// Resources a run used (`v1RunResources`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunResources {
    #[serde(default)]
    pub cpu: Option<f64>,
    #[serde(default)]
    pub memory: Option<f64>,
    #[serde(default)]
    pub gpu: Option<f64>,
    #[serde(default)]
    pub custom: Option<f64>,
    #[serde(default)]
    pub cost: Option<f64>,
}

/// A run (`v1Run`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Run {
    pub uuid: RunUuid,
    #[serde(default)]
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub schedule_at: Option<DateTime<Utc>>,
    /// Seconds between `created_at` and `started_at`.
    #[serde(default)]
    pub wait_time: Option<f64>,
    /// Seconds between `started_at` and `finished_at`.
    #[serde(default)]
    pub duration: Option<f64>,
    #[serde(default)]
    pub kind: RunKind,
    #[serde(default)]
    pub runtime: Option<RunKind>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub meta_info: Option<Value>,
    #[serde(default)]
    pub status: Statuses,
    #[serde(default)]
    pub pipeline: Option<Pipeline>,
    #[serde(default)]
    pub original: Option<RunOriginal>,
    #[serde(default)]
    pub is_managed: bool,
    #[serde(default)]
    pub managed_by: Option<ManagedBy>,
    #[serde(default)]
    pub pending: Option<RunPending>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub inputs: Option<Value>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub outputs: Option<Value>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// `v1RunSettings` (namespace, agent, queue, artifacts store, ...), kept as an object.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Value>,
    /// Who created it (the request subject).
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub readme: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The Polyaxonfile as submitted (a JSON or YAML string).
    #[serde(default)]
    pub raw_content: Option<String>,
    /// The operation the run executes (a JSON string).
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_state: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bookmarked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<RunResources>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_conditions: Option<Vec<StatusCondition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_approved: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub contributors: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub graph: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<bool>,
    /// Myelin extension: archived runs are hidden from lists unless asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}

/// The body of `POST /api/v1/{owner}/{project}/runs`.
///
/// `polyaxon run` sends `{content, managed_by: agent}` (content = the operation as a JSON string);
/// the SDK creates unmanaged runs with `{is_managed: false, managed_by: user, name, tags}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreateRun {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<ManagedBy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_managed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub meta_info: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub inputs: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub outputs: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<RunPending>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readme: Option<String>,
}

/// The body of `PATCH .../runs/{uuid}`. Only present fields change; with `merge: true`,
/// `inputs`/`outputs`/`meta_info` are merged key by key and `tags` are unioned.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PatchRun {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub inputs: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub outputs: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub meta_info: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<bool>,
}

/// The optional body of `POST .../runs/{uuid}/restart|copy` (the CLI sends `{}`): overrides for
/// the new run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CloneRun {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip() {
        for k in RunKind::ALL {
            assert_eq!(k.as_str().parse::<RunKind>().unwrap(), *k);
            assert_eq!(serde_json::to_value(k).unwrap(), Value::String(k.to_string()));
        }
        assert_eq!("user".parse::<ManagedBy>().unwrap(), ManagedBy::User);
        assert_eq!(serde_json::to_string(&CloningKind::Restart).unwrap(), "\"restart\"");
        assert!("bogus".parse::<RunKind>().is_err());
    }

    #[test]
    fn create_run_accepts_the_sdk_body() {
        let body =
            r#"{"is_managed": false, "managed_by": "user", "name": "sdk-run", "description": "sdk", "tags": ["sdk"]}"#;
        let c: CreateRun = serde_json::from_str(body).unwrap();
        assert_eq!(c.managed_by, Some(ManagedBy::User));
        assert_eq!(c.is_managed, Some(false));
        assert!(c.content.is_none());
    }
}

/// One event of a project's run-changes stream
/// (`GET /streams/v1/{namespace}/{owner}/{project}/runs/changes`, Server-Sent Events `run`): a run
/// was created or changed (status, name, tags...), as of `updated_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunChange {
    pub uuid: RunUuid,
    pub status: Statuses,
    pub updated_at: DateTime<Utc>,
}
