//! Orchestration sections: schedules (`V1CronSchedule`, `V1IntervalSchedule`,
//! `V1DateTimeSchedule`), early stopping and its policies, event triggers, and the enums they
//! use (statuses, event kinds, trigger policies, patch strategies, optimization).

use serde::{Deserialize, Serialize};

use super::OrRef;
use crate::{section, tagged};

tagged! {
    /// When an operation runs again (`schedule`).
    pub enum Schedule {
        "cron" => Cron(CronSchedule),
        "interval" => Interval(IntervalSchedule),
        "datetime" => DateTime(DateTimeSchedule),
    }
}

section! {
    /// Runs on a cron expression.
    #[derive(Default)]
    pub struct CronSchedule {
        cron: String,
        start_at: Option<String>,
        end_at: Option<String>,
        max_runs: Option<OrRef<u64>>,
        depends_on_past: Option<OrRef<bool>>,
    }
}

section! {
    /// Runs every `frequency` seconds.
    #[derive(Default)]
    pub struct IntervalSchedule {
        frequency: OrRef<u64>,
        start_at: Option<String>,
        end_at: Option<String>,
        max_runs: Option<OrRef<u64>>,
        depends_on_past: Option<OrRef<bool>>,
    }
}

impl Default for OrRef<u64> {
    fn default() -> Self {
        OrRef::Value(0)
    }
}

section! {
    /// Runs once, at `startAt`.
    #[derive(Default)]
    pub struct DateTimeSchedule {
        start_at: String,
    }
}

tagged! {
    /// A condition that stops a pipeline (`earlyStopping`).
    pub enum EarlyStopping {
        "metric_early_stopping" => Metric(MetricEarlyStopping),
        "failure_early_stopping" => Failure(FailureEarlyStopping),
    }
}

section! {
    /// Stops when a metric reaches a value.
    #[derive(Default)]
    pub struct MetricEarlyStopping {
        metric: String,
        value: OrRef<f64>,
        optimization: Optimization,
        policy: Option<StoppingPolicy>,
    }
}

impl Default for OrRef<f64> {
    fn default() -> Self {
        OrRef::Value(0.0)
    }
}

section! {
    /// Stops when a percentage of the runs failed.
    #[derive(Default)]
    pub struct FailureEarlyStopping {
        percent: OrRef<f64>,
    }
}

tagged! {
    /// Which runs a metric early stopping stops.
    pub enum StoppingPolicy {
        "median" => Median(MedianPolicy),
        "truncation" => Truncation(TruncationPolicy),
        "diff" => Diff(DiffPolicy),
    }
}

section! {
    /// Stops runs worse than the running median.
    #[derive(Default)]
    pub struct MedianPolicy {
        evaluation_interval: Option<OrRef<u64>>,
        min_interval: Option<OrRef<u64>>,
        min_samples: Option<OrRef<u64>>,
    }
}

section! {
    /// Stops a percentage of the runs at every evaluation.
    #[derive(Default)]
    pub struct TruncationPolicy {
        percent: OrRef<f64>,
        evaluation_interval: OrRef<u64>,
        min_interval: Option<OrRef<u64>>,
        min_samples: Option<OrRef<u64>>,
        include_succeeded: Option<OrRef<bool>>,
    }
}

section! {
    /// Stops runs worse than the best by a percentage.
    #[derive(Default)]
    pub struct DiffPolicy {
        percent: OrRef<f64>,
        evaluation_interval: OrRef<u64>,
        min_interval: Option<OrRef<u64>>,
        min_samples: Option<OrRef<u64>>,
    }
}

/// Whether a metric is better higher or lower.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Optimization {
    /// Higher is better.
    #[default]
    Maximize,
    /// Lower is better.
    Minimize,
}

section! {
    /// The metric a search optimizes.
    #[derive(Default)]
    pub struct OptimizationMetric {
        name: String,
        optimization: Option<Optimization>,
    }
}

section! {
    /// The resource hyperband allocates (`num_steps`, `epochs`).
    #[derive(Default)]
    pub struct OptimizationResource {
        name: String,
        r#type: Option<ResourceType>,
    }
}

/// The type of a hyperband resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceType {
    /// An integer.
    Int,
    /// A float.
    Float,
}

section! {
    /// Starts an operation when another object emits an event (`V1EventTrigger`).
    #[derive(Default)]
    pub struct EventTrigger {
        kinds: Vec<EventKind>,
        /// `ops.<name>`, `runs.<uuid>`, `dag`, `connections.<name>`.
        r#ref: String,
    }
}

macro_rules! names {
    ($(#[$meta:meta])* pub enum $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[doc = $text] #[serde(rename = $text)] $variant),*
        }

        impl $name {
            /// Every accepted name.
            pub const ALL: &'static [&'static str] = &[$($text),*];

            /// The name as written in a Polyaxonfile.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(Self::$variant => $text),*
                }
            }
        }
    };
}

names! {
    /// The kinds of events an operation can wait for (`V1EventKind`).
    pub enum EventKind {
        RunStatusCreated = "run_status_created",
        RunStatusResuming = "run_status_resuming",
        RunStatusCompiled = "run_status_compiled",
        RunStatusOnSchedule = "run_status_on_schedule",
        RunStatusQueued = "run_status_queued",
        RunStatusScheduled = "run_status_scheduled",
        RunStatusStarting = "run_status_starting",
        RunStatusRunning = "run_status_running",
        RunStatusProcessing = "run_status_processing",
        RunStatusStopping = "run_status_stopping",
        RunStatusFailed = "run_status_failed",
        RunStatusStopped = "run_status_stopped",
        RunStatusSucceeded = "run_status_succeeded",
        RunStatusSkipped = "run_status_skipped",
        RunStatusWarning = "run_status_warning",
        RunStatusUnschedulable = "run_status_unschedulable",
        RunStatusUpstreamFailed = "run_status_upstream_failed",
        RunStatusRetrying = "run_status_retrying",
        RunStatusUnknown = "run_status_unknown",
        RunStatusDone = "run_status_done",
        RunApprovedActor = "run_approved_actor",
        RunInvalidatedActor = "run_invalidated_actor",
        RunNewArtifacts = "run_new_artifacts",
        ConnectionGitCommit = "connection_git_commit",
        ConnectionDatasetVersion = "connection_dataset_version",
        ConnectionRegistryImage = "connection_registry_image",
        AlertInfo = "alert_info",
        AlertWarning = "alert_warning",
        AlertCritical = "alert_critical",
        ModelVersionNewMetric = "model_version_new_metric",
        ProjectCustomEvent = "project_custom_event",
        OrgCustomEvent = "org_custom_event",
    }
}

names! {
    /// Run statuses (`V1Statuses`), as hooks and notifications name them.
    pub enum Status {
        Created = "created",
        Resuming = "resuming",
        OnSchedule = "on_schedule",
        Compiled = "compiled",
        Queued = "queued",
        Scheduled = "scheduled",
        Starting = "starting",
        Running = "running",
        Processing = "processing",
        Stopping = "stopping",
        Failed = "failed",
        Stopped = "stopped",
        Succeeded = "succeeded",
        Skipped = "skipped",
        Warning = "warning",
        Unschedulable = "unschedulable",
        UpstreamFailed = "upstream_failed",
        Retrying = "retrying",
        Unknown = "unknown",
        Done = "done",
    }
}

impl Status {
    /// The statuses a hook or a notification may trigger on (final ones).
    pub const FINAL: [Status; 6] = [
        Status::Failed,
        Status::Stopped,
        Status::Succeeded,
        Status::Skipped,
        Status::UpstreamFailed,
        Status::Done,
    ];
}

names! {
    /// When an operation of a dag starts, given its upstream (`V1TriggerPolicy`).
    pub enum TriggerPolicy {
        AllSucceeded = "all_succeeded",
        AllFailed = "all_failed",
        AllDone = "all_done",
        OneSucceeded = "one_succeeded",
        OneFailed = "one_failed",
        OneDone = "one_done",
    }
}

names! {
    /// How a newer specification patches an older one (`PatchStrategy`).
    pub enum PatchStrategy {
        Replace = "replace",
        IsNull = "isnull",
        PostMerge = "post_merge",
        PreMerge = "pre_merge",
    }
}
