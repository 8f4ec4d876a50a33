//! The runtimes of a component (`run`): a union tagged by `kind` over Polyaxon's `V1Job`,
//! `V1Service`, `V1Dag`, the Kubeflow jobs (`V1TFJob`, `V1PytorchJob`, `V1MPIJob`,
//! `V1XGBoostJob`, `V1PaddleJob`, `V1MXJob`), `V1DaskCluster`, `V1RayCluster`, and the
//! helper jobs (notifier, cleaner, tuner, watchdog, builder), which have a job's fields.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, ResourceRequirements, Volume};
use serde::{Deserialize, Serialize};

use super::component::{Component, Operation};
use super::env::{Environment, Init};
use super::schedule::EarlyStopping;
use super::{Json, OrRef};
use crate::{section, tagged};

tagged! {
    /// A component's runtime.
    pub enum Run {
        "job" => Job(Box<Job>),
        "service" => Service(Box<Service>),
        "dag" => Dag(Box<Dag>),
        "tfjob" => TfJob(Box<TfJob>),
        "pytorchjob" => PytorchJob(Box<PytorchJob>),
        "mpijob" => MpiJob(Box<MpiJob>),
        "xgbjob" => XgbJob(Box<MasterWorkerJob>),
        "paddlejob" => PaddleJob(Box<MasterWorkerJob>),
        "mxjob" => MxJob(Box<MxJob>),
        "daskcluster" => DaskCluster(Box<DaskCluster>),
        "raycluster" => RayCluster(Box<RayCluster>),
        "notifier" => Notifier(Box<Job>),
        "cleaner" => Cleaner(Box<Job>),
        "tuner" => Tuner(Box<Job>),
        "watchdog" => Watchdog(Box<Job>),
        "builder" => Builder(Box<Job>),
    }
}

section! {
    /// A batch job: one main container run to completion.
    #[derive(Default)]
    pub struct Job {
        environment: Option<Environment>,
        connections: Option<OrRef<Vec<String>>>,
        #[serde(deserialize_with = "super::k8s")]
        volumes: Option<Vec<Volume>>,
        init: Option<Vec<Init>>,
        #[serde(deserialize_with = "super::k8s")]
        sidecars: Option<Vec<Container>>,
        #[serde(deserialize_with = "super::k8s")]
        container: Option<Container>,
    }
}

section! {
    /// A long-running service exposing ports.
    #[derive(Default)]
    pub struct Service {
        environment: Option<Environment>,
        connections: Option<OrRef<Vec<String>>>,
        #[serde(deserialize_with = "super::k8s")]
        volumes: Option<Vec<Volume>>,
        init: Option<Vec<Init>>,
        #[serde(deserialize_with = "super::k8s")]
        sidecars: Option<Vec<Container>>,
        #[serde(deserialize_with = "super::k8s")]
        container: Option<Container>,
        ports: Option<OrRef<Vec<u16>>>,
        rewrite_path: Option<OrRef<bool>>,
        is_external: Option<OrRef<bool>>,
        replicas: Option<OrRef<u32>>,
    }
}

section! {
    /// A graph of operations.
    #[derive(Default)]
    pub struct Dag {
        operations: Option<Vec<Operation>>,
        components: Option<Vec<Component>>,
        environment: Option<Environment>,
        connections: Option<OrRef<Vec<String>>>,
        #[serde(deserialize_with = "super::k8s")]
        volumes: Option<Vec<Volume>>,
        concurrency: Option<OrRef<u64>>,
        early_stopping: Option<Vec<EarlyStopping>>,
    }
}

section! {
    /// One replica type of a distributed job (`V1KFReplica`, `V1DaskReplica`).
    #[derive(Default)]
    pub struct Replica {
        replicas: Option<OrRef<u32>>,
        environment: Option<Environment>,
        connections: Option<OrRef<Vec<String>>>,
        #[serde(deserialize_with = "super::k8s")]
        volumes: Option<Vec<Volume>>,
        init: Option<Vec<Init>>,
        #[serde(deserialize_with = "super::k8s")]
        sidecars: Option<Vec<Container>>,
        #[serde(deserialize_with = "super::k8s")]
        container: Option<Container>,
    }
}

/// When the pods of a finished Kubeflow job are deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CleanPodPolicy {
    /// Delete every pod.
    All,
    /// Delete the running pods.
    Running,
    /// Keep every pod.
    None,
}

section! {
    /// Gang scheduling settings of a Kubeflow job.
    #[derive(Default)]
    pub struct SchedulingPolicy {
        min_available: Option<OrRef<u32>>,
        queue: Option<String>,
        priority_class: Option<String>,
    }
}

section! {
    /// Distributed TensorFlow.
    #[derive(Default)]
    pub struct TfJob {
        clean_pod_policy: Option<CleanPodPolicy>,
        scheduling_policy: Option<SchedulingPolicy>,
        enable_dynamic_worker: Option<bool>,
        success_policy: Option<String>,
        chief: Option<Replica>,
        ps: Option<Replica>,
        worker: Option<Replica>,
        evaluator: Option<Replica>,
    }
}

section! {
    /// Elastic training of a PyTorch job.
    #[derive(Default)]
    pub struct PytorchElasticPolicy {
        min_replicas: Option<OrRef<u32>>,
        max_replicas: Option<OrRef<u32>>,
        rdvz_backend: Option<String>,
        rdvz_port: Option<OrRef<u16>>,
        rdvz_host: Option<String>,
        rdvz_id: Option<String>,
        rdvz_conf: Option<Vec<Json>>,
        standalone: Option<OrRef<bool>>,
        n_proc_per_node: Option<OrRef<u32>>,
        max_restarts: Option<OrRef<u32>>,
        metrics: Option<Vec<Json>>,
    }
}

section! {
    /// Distributed PyTorch.
    #[derive(Default)]
    pub struct PytorchJob {
        clean_pod_policy: Option<CleanPodPolicy>,
        scheduling_policy: Option<SchedulingPolicy>,
        elastic_policy: Option<PytorchElasticPolicy>,
        n_proc_per_node: Option<OrRef<u32>>,
        master: Option<Replica>,
        worker: Option<Replica>,
    }
}

section! {
    /// Distributed MPI.
    #[derive(Default)]
    pub struct MpiJob {
        clean_pod_policy: Option<CleanPodPolicy>,
        scheduling_policy: Option<SchedulingPolicy>,
        slots_per_worker: Option<OrRef<u32>>,
        launcher: Option<Replica>,
        worker: Option<Replica>,
    }
}

section! {
    /// Distributed XGBoost or PaddlePaddle: a master and workers.
    #[derive(Default)]
    pub struct MasterWorkerJob {
        clean_pod_policy: Option<CleanPodPolicy>,
        scheduling_policy: Option<SchedulingPolicy>,
        master: Option<Replica>,
        worker: Option<Replica>,
    }
}

/// The kind of MXNet job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MxJobMode {
    /// Training.
    #[serde(rename = "MXTrain")]
    Train,
    /// Tuning.
    #[serde(rename = "MXTune")]
    Tune,
}

section! {
    /// Distributed MXNet.
    #[derive(Default)]
    pub struct MxJob {
        clean_pod_policy: Option<CleanPodPolicy>,
        scheduling_policy: Option<SchedulingPolicy>,
        mode: Option<MxJobMode>,
        scheduler: Option<Replica>,
        server: Option<Replica>,
        worker: Option<Replica>,
        tuner: Option<Replica>,
        tuner_tracker: Option<Replica>,
        tuner_server: Option<Replica>,
    }
}

section! {
    /// A Dask cluster (autoscaled between `minReplicas` and `maxReplicas`).
    #[derive(Default)]
    pub struct DaskCluster {
        worker: Option<Replica>,
        scheduler: Option<Replica>,
        min_replicas: Option<OrRef<u32>>,
        max_replicas: Option<OrRef<u32>>,
    }
}

section! {
    /// A replica group of a Ray cluster.
    #[derive(Default)]
    pub struct RayReplica {
        replicas: Option<OrRef<u32>>,
        min_replicas: Option<OrRef<u32>>,
        max_replicas: Option<OrRef<u32>>,
        ray_start_params: Option<BTreeMap<String, String>>,
        environment: Option<Environment>,
        connections: Option<OrRef<Vec<String>>>,
        #[serde(deserialize_with = "super::k8s")]
        volumes: Option<Vec<Volume>>,
        init: Option<Vec<Init>>,
        #[serde(deserialize_with = "super::k8s")]
        sidecars: Option<Vec<Container>>,
        #[serde(deserialize_with = "super::k8s")]
        container: Option<Container>,
    }
}

section! {
    /// The KubeRay autoscaler settings.
    #[derive(Default)]
    pub struct RayAutoscalerOptions {
        upscaling_mode: Option<String>,
        image_pull_policy: Option<String>,
        #[serde(deserialize_with = "super::k8s")]
        resources: Option<ResourceRequirements>,
    }
}

section! {
    /// A Ray cluster: a head and named worker groups.
    #[derive(Default)]
    pub struct RayCluster {
        entrypoint: Option<String>,
        runtime_env: Option<BTreeMap<String, Json>>,
        metadata: Option<BTreeMap<String, String>>,
        ray_version: Option<String>,
        head: Option<RayReplica>,
        workers: Option<BTreeMap<String, RayReplica>>,
        enable_in_tree_autoscaling: Option<OrRef<bool>>,
        autoscaler_options: Option<RayAutoscalerOptions>,
    }
}

impl Run {
    /// The run kind.
    pub fn run_kind(&self) -> crate::RunKind {
        self.kind().parse().unwrap_or(crate::RunKind::Job)
    }

    /// The main containers (with their path under `run`), for templating and checks.
    pub fn containers(&self) -> Vec<(String, &Container)> {
        fn push<'a>(found: &mut Vec<(String, &'a Container)>, name: &str, replica: &'a Option<Replica>) {
            if let Some(container) = replica.as_ref().and_then(|replica| replica.container.as_ref()) {
                found.push((format!("{name}.container"), container));
            }
        }
        let mut found = Vec::new();
        match self {
            Run::Job(job)
            | Run::Notifier(job)
            | Run::Cleaner(job)
            | Run::Tuner(job)
            | Run::Watchdog(job)
            | Run::Builder(job) => {
                if let Some(container) = &job.container {
                    found.push(("container".to_owned(), container));
                }
            }
            Run::Service(service) => {
                if let Some(container) = &service.container {
                    found.push(("container".to_owned(), container));
                }
            }
            Run::Dag(_) => {}
            Run::TfJob(job) => {
                push(&mut found, "chief", &job.chief);
                push(&mut found, "ps", &job.ps);
                push(&mut found, "worker", &job.worker);
                push(&mut found, "evaluator", &job.evaluator);
            }
            Run::PytorchJob(job) => {
                push(&mut found, "master", &job.master);
                push(&mut found, "worker", &job.worker);
            }
            Run::MpiJob(job) => {
                push(&mut found, "launcher", &job.launcher);
                push(&mut found, "worker", &job.worker);
            }
            Run::XgbJob(job) | Run::PaddleJob(job) => {
                push(&mut found, "master", &job.master);
                push(&mut found, "worker", &job.worker);
            }
            Run::MxJob(job) => {
                push(&mut found, "scheduler", &job.scheduler);
                push(&mut found, "server", &job.server);
                push(&mut found, "worker", &job.worker);
                push(&mut found, "tuner", &job.tuner);
                push(&mut found, "tunerTracker", &job.tuner_tracker);
                push(&mut found, "tunerServer", &job.tuner_server);
            }
            Run::DaskCluster(cluster) => {
                push(&mut found, "worker", &cluster.worker);
                push(&mut found, "scheduler", &cluster.scheduler);
            }
            Run::RayCluster(cluster) => {
                if let Some(container) = cluster.head.as_ref().and_then(|head| head.container.as_ref()) {
                    found.push(("head.container".to_owned(), container));
                }
                for (name, worker) in cluster.workers.iter().flatten() {
                    if let Some(container) = &worker.container {
                        found.push((format!("workers[{name:?}].container"), container));
                    }
                }
            }
        }
        found
    }
}
