//! Rules of runtimes: one handler per `init` entry (and a git init needs a url or a
//! connection), service ports, early stopping of a dag, and the same inside every replica.

use super::Report;
use super::schedule::check_early_stopping;
use crate::model::run::Replica;
use crate::model::{Init, OrRef, Run};
use crate::path::Path;

/// The handlers of an init entry; at most one may be set.
const HANDLERS: [&str; 9] = [
    "artifacts",
    "paths",
    "git",
    "dockerfile",
    "file",
    "tensorboard",
    "lineageRef",
    "modelRef",
    "artifactRef",
];

/// `run`.
pub(crate) fn check(report: &mut Report, run: &Run, path: &Path) {
    let replica = |report: &mut Report, name: &str, replica: &Option<Replica>| {
        if let Some(replica) = replica {
            check_init(report, replica.init.as_deref(), &path.key(name));
        }
    };
    match run {
        Run::Job(job)
        | Run::Notifier(job)
        | Run::Cleaner(job)
        | Run::Tuner(job)
        | Run::Watchdog(job)
        | Run::Builder(job) => {
            check_init(report, job.init.as_deref(), path);
        }
        Run::Service(service) => {
            check_init(report, service.init.as_deref(), path);
            if let Some(OrRef::Value(ports)) = &service.ports {
                for (index, port) in ports.iter().enumerate() {
                    if *port == 0 {
                        report.invalid(path.key("ports").index(index), "a port must be between 1 and 65535");
                    } else if ports[..index].contains(port) {
                        report.invalid(path.key("ports").index(index), format!("port {port} is listed twice"));
                    }
                }
            }
        }
        Run::Dag(dag) => {
            if dag.concurrency == Some(OrRef::Value(0)) {
                report.invalid(path.key("concurrency"), "`concurrency` must be at least 1");
            }
            check_early_stopping(
                report,
                dag.early_stopping.as_deref().unwrap_or_default(),
                &path.key("earlyStopping"),
            );
        }
        Run::TfJob(job) => {
            replica(report, "chief", &job.chief);
            replica(report, "ps", &job.ps);
            replica(report, "worker", &job.worker);
            replica(report, "evaluator", &job.evaluator);
        }
        Run::PytorchJob(job) => {
            replica(report, "master", &job.master);
            replica(report, "worker", &job.worker);
        }
        Run::MpiJob(job) => {
            replica(report, "launcher", &job.launcher);
            replica(report, "worker", &job.worker);
        }
        Run::XgbJob(job) | Run::PaddleJob(job) => {
            replica(report, "master", &job.master);
            replica(report, "worker", &job.worker);
        }
        Run::MxJob(job) => {
            for (name, member) in [
                ("scheduler", &job.scheduler),
                ("server", &job.server),
                ("worker", &job.worker),
                ("tuner", &job.tuner),
                ("tunerTracker", &job.tuner_tracker),
                ("tunerServer", &job.tuner_server),
            ] {
                replica(report, name, member);
            }
        }
        Run::DaskCluster(cluster) => {
            replica(report, "worker", &cluster.worker);
            replica(report, "scheduler", &cluster.scheduler);
            if let (Some(OrRef::Value(min)), Some(OrRef::Value(max))) = (&cluster.min_replicas, &cluster.max_replicas)
                && max < min
            {
                report.invalid(
                    path.key("maxReplicas"),
                    format!("`maxReplicas` ({max}) is below `minReplicas` ({min})"),
                );
            }
        }
        Run::RayCluster(cluster) => {
            if let Some(head) = &cluster.head {
                check_init(report, head.init.as_deref(), &path.key("head"));
            }
            for (name, worker) in cluster.workers.iter().flatten() {
                let worker_path = path.key("workers").key(name.clone());
                check_init(report, worker.init.as_deref(), &worker_path);
                if let (Some(OrRef::Value(min)), Some(OrRef::Value(max))) = (&worker.min_replicas, &worker.max_replicas)
                    && max < min
                {
                    let message = format!("`maxReplicas` ({max}) is below `minReplicas` ({min})");
                    report.invalid(worker_path.key("maxReplicas"), message);
                }
            }
        }
    }
}

/// The `init` entries under `path`.
fn check_init(report: &mut Report, init: Option<&[Init]>, path: &Path) {
    for (index, entry) in init.into_iter().flatten().enumerate() {
        let entry_path = path.key("init").index(index);
        let set = [
            entry.artifacts.is_some(),
            entry.paths.is_some(),
            entry.git.is_some(),
            entry.dockerfile.is_some(),
            entry.file.is_some(),
            entry.tensorboard.is_some(),
            entry.lineage_ref.is_some(),
            entry.model_ref.is_some(),
            entry.artifact_ref.is_some(),
        ];
        let given: Vec<&str> = HANDLERS
            .iter()
            .zip(set)
            .filter(|(_, set)| *set)
            .map(|(name, _)| *name)
            .collect();
        if given.len() > 1 {
            let message = format!(
                "an init entry takes one of {}; this one sets {}",
                HANDLERS.join(", "),
                given.join(" and ")
            );
            report.invalid(entry_path.key(given[1]), message);
        }
        if let Some(OrRef::Value(git)) = &entry.git
            && git.url.is_none()
            && entry.connection.is_none()
        {
            report.push(
                crate::code::MISSING_FIELD,
                entry_path.key("git").key("url"),
                "a git init needs a `url` or a `connection`",
            );
        }
    }
}
