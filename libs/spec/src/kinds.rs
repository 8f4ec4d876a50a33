//! The kinds a Polyaxonfile names: the document kind (`kind: component|operation`) and the
//! run kind of a component (`run.kind: job|service|dag|...`), spelled as Polyaxon spells them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A kind name that is not one of the accepted values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown kind `{0}`")]
pub struct UnknownKind(pub String);

/// What a Polyaxonfile describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocKind {
    /// A reusable definition: inputs/outputs and a `run` section.
    Component,
    /// An execution of a component (inline or referenced) with params and run-time settings.
    Operation,
}

impl DocKind {
    /// Every document kind, in the order error messages list them.
    pub const ALL: [DocKind; 2] = [DocKind::Component, DocKind::Operation];

    /// The name used in `kind:`.
    pub fn as_str(&self) -> &'static str {
        match self {
            DocKind::Component => "component",
            DocKind::Operation => "operation",
        }
    }
}

/// The runtime of a component (`run.kind`), as Polyaxon's `V1RunKind` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// A batch job: one container run to completion.
    Job,
    /// A long-running service with ports (notebook, tensorboard, API).
    Service,
    /// A pipeline of operations (`run.operations`, `run.components`).
    Dag,
    /// Distributed TensorFlow (Kubeflow `TFJob`).
    Tfjob,
    /// Distributed PyTorch (Kubeflow `PyTorchJob`).
    Pytorchjob,
    /// Distributed MPI (Kubeflow `MPIJob`).
    Mpijob,
    /// Distributed XGBoost (Kubeflow `XGBoostJob`).
    Xgbjob,
    /// Distributed PaddlePaddle (Kubeflow `PaddleJob`).
    Paddlejob,
    /// Distributed MXNet (Kubeflow `MXJob`).
    Mxjob,
    /// A Dask cluster.
    Daskcluster,
    /// A Ray cluster.
    Raycluster,
    /// A helper that sends notifications.
    Notifier,
    /// A helper that cleans artifacts.
    Cleaner,
    /// A helper that suggests the next hyperparameters.
    Tuner,
    /// A helper that watches a pipeline.
    Watchdog,
    /// A helper that builds a container image.
    Builder,
}

impl RunKind {
    /// Every run kind, in the order error messages list them.
    pub const ALL: [RunKind; 16] = [
        RunKind::Job,
        RunKind::Service,
        RunKind::Dag,
        RunKind::Tfjob,
        RunKind::Pytorchjob,
        RunKind::Mpijob,
        RunKind::Xgbjob,
        RunKind::Paddlejob,
        RunKind::Mxjob,
        RunKind::Daskcluster,
        RunKind::Raycluster,
        RunKind::Notifier,
        RunKind::Cleaner,
        RunKind::Tuner,
        RunKind::Watchdog,
        RunKind::Builder,
    ];

    /// The name used in `run.kind:`.
    pub fn as_str(&self) -> &'static str {
        match self {
            RunKind::Job => "job",
            RunKind::Service => "service",
            RunKind::Dag => "dag",
            RunKind::Tfjob => "tfjob",
            RunKind::Pytorchjob => "pytorchjob",
            RunKind::Mpijob => "mpijob",
            RunKind::Xgbjob => "xgbjob",
            RunKind::Paddlejob => "paddlejob",
            RunKind::Mxjob => "mxjob",
            RunKind::Daskcluster => "daskcluster",
            RunKind::Raycluster => "raycluster",
            RunKind::Notifier => "notifier",
            RunKind::Cleaner => "cleaner",
            RunKind::Tuner => "tuner",
            RunKind::Watchdog => "watchdog",
            RunKind::Builder => "builder",
        }
    }
}

/// `a, b, c` for error messages.
pub(crate) fn list<const N: usize>(names: [&'static str; N]) -> String {
    names.join(", ")
}

macro_rules! name_traits {
    ($kind:ty) => {
        impl fmt::Display for $kind {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $kind {
            type Err = UnknownKind;

            /// Exact, lower-case names only (Polyaxon's schemas are case-sensitive).
            fn from_str(name: &str) -> Result<Self, UnknownKind> {
                Self::ALL
                    .into_iter()
                    .find(|kind| kind.as_str() == name)
                    .ok_or_else(|| UnknownKind(name.to_owned()))
            }
        }
    };
}

name_traits!(DocKind);
name_traits!(RunKind);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_str_display_and_serde() {
        for kind in RunKind::ALL {
            assert_eq!(kind.as_str().parse::<RunKind>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.as_str());
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::json!(kind.as_str()));
        }
        for kind in DocKind::ALL {
            assert_eq!(kind.as_str().parse::<DocKind>(), Ok(kind));
        }
        assert_eq!(
            serde_json::from_str::<RunKind>("\"pytorchjob\"").unwrap(),
            RunKind::Pytorchjob
        );
        assert_eq!("Job".parse::<RunKind>(), Err(UnknownKind("Job".into())));
        assert_eq!(
            "compiled_operation".parse::<DocKind>(),
            Err(UnknownKind("compiled_operation".into()))
        );
    }
}
