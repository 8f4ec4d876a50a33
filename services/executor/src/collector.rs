//! The tracking collector: while an attempt runs, the traceml event files its code writes under
//! `<run dir>/events/<kind>/<name>.plx` (and the resource usage under `resources/`, as `sys/<name>`) (what `from polyaxon import tracking; tracking.log_metrics(...)`
//! produces) are read and published as [`SeriesCollected`] on `myelin.events`
//! (`run.events.collected`), which the tracker stores, replacing the series. So Polyaxon-tracked code
//! shows its metrics in Myelin unchanged.
//!
//! A file is read again only when its size or modification time changed; every `interval` while the
//! workload runs, and once more when it ended ([`Watch::finish`]), so the last points are never
//! missed. Files over [`MAX_FILE_BYTES`] are skipped with a warning.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use myelin_common::bus::{OutgoingMessage, SharedBus};
use myelin_common::plx;
use myelin_contracts::Envelope;
use myelin_contracts::events::EVENTS_EXCHANGE;
use myelin_contracts::execution::ExecuteRun;
use myelin_contracts::tracking::{RUN_EVENTS_COLLECTED, SeriesCollected};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Largest `.plx` file collected.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Publishes collected series.
#[derive(Clone)]
pub struct Collector {
    bus: SharedBus,
    interval: Duration,
}

/// A collection in progress for one attempt.
pub struct Watch {
    stop: CancellationToken,
    task: JoinHandle<Seen>,
    collector: Collector,
    target: Target,
}

#[derive(Clone)]
struct Target {
    owner: String,
    project: String,
    run: myelin_contracts::RunUuid,
    run_dir: PathBuf,
}

/// `(size, modified)` of each file when it was last published.
type Seen = HashMap<PathBuf, (u64, Option<SystemTime>)>;

impl Collector {
    /// A collector reading changed files every `interval`.
    pub fn new(bus: SharedBus, interval: Duration) -> Self {
        Self { bus, interval }
    }

    /// Starts watching `<run_dir>/events/` of `run`.
    pub fn watch(&self, run: &ExecuteRun, run_dir: &Path) -> Watch {
        let target = Target {
            owner: run.owner.clone(),
            project: run.project.clone(),
            run: run.run,
            run_dir: run_dir.to_path_buf(),
        };
        let stop = CancellationToken::new();
        let (collector, task_target, task_stop) = (self.clone(), target.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut seen = Seen::new();
            loop {
                tokio::select! {
                    () = task_stop.cancelled() => return seen,
                    () = tokio::time::sleep(collector.interval) => collector.pass(&task_target, &mut seen).await,
                }
            }
        });
        Watch {
            stop,
            task,
            collector: self.clone(),
            target,
        }
    }

    /// Publishes every file that changed since `seen`.
    async fn pass(&self, target: &Target, seen: &mut Seen) {
        for (path, kind, name) in series_files(&target.run_dir) {
            let Ok(meta) = tokio::fs::metadata(&path).await else {
                continue;
            };
            let stamp = (meta.len(), meta.modified().ok());
            if seen.get(&path) == Some(&stamp) {
                continue;
            }
            if meta.len() > MAX_FILE_BYTES {
                tracing::warn!(path = %path.display(), size = meta.len(), "event file too large to collect; skipped");
                seen.insert(path, stamp);
                continue;
            }
            let text = match tokio::fs::read_to_string(&path).await {
                Ok(text) => text,
                Err(err) => {
                    tracing::warn!(path = %path.display(), error = %err, "cannot read an event file");
                    continue;
                }
            };
            let points = match plx::parse(kind, &text) {
                Ok(points) => points,
                Err(err) => {
                    tracing::warn!(path = %path.display(), error = %err, "cannot parse an event file; skipped");
                    seen.insert(path, stamp);
                    continue;
                }
            };
            let series = SeriesCollected {
                owner: target.owner.clone(),
                project: target.project.clone(),
                run: target.run,
                kind,
                name,
                points,
            };
            match self.publish(&series).await {
                Ok(()) => {
                    seen.insert(path, stamp);
                }
                Err(err) => tracing::warn!(error = %err, name = %series.name, "cannot publish a collected series"),
            }
        }
    }

    async fn publish(&self, series: &SeriesCollected) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let envelope = Envelope::new(RUN_EVENTS_COLLECTED, series, None)?;
        let message = OutgoingMessage::envelope(&envelope)?;
        self.bus.publish(EVENTS_EXCHANGE, RUN_EVENTS_COLLECTED, message).await?;
        Ok(())
    }
}

impl Watch {
    /// Stops the periodic passes and makes the last one, after the workload ended.
    pub async fn finish(self) {
        self.stop.cancel();
        let mut seen = self.task.await.unwrap_or_default();
        self.collector.pass(&self.target, &mut seen).await;
    }
}

/// Every `events/<kind>/<name>.plx` (names may hold `/`) and `resources/<kind>/<name>.plx` under
/// `run_dir`, with its kind and series name ([`plx::series_path`]).
fn series_files(run_dir: &Path) -> Vec<(PathBuf, myelin_contracts::tracking::EventKind, String)> {
    let mut found = Vec::new();
    let mut pending = vec![run_dir.join(plx::EVENTS_DIR), run_dir.join(plx::RESOURCES_DIR)];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(path);
                continue;
            }
            let Some(relative) = path.strip_prefix(run_dir).ok().and_then(Path::to_str) else {
                continue;
            };
            if let Some((kind, name)) = plx::series_path(relative) {
                found.push((path, kind, name));
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_series_files_by_kind_and_name() {
        let dir = tempfile::tempdir().unwrap();
        let events = dir.path().join("events");
        std::fs::create_dir_all(events.join("metric")).unwrap();
        std::fs::create_dir_all(dir.path().join("resources/metric")).unwrap();
        std::fs::write(dir.path().join("resources/metric/cpu.plx"), "step|timestamp|metric\n").unwrap();
        std::fs::create_dir_all(events.join("nonsense")).unwrap();
        std::fs::write(events.join("metric/loss.plx"), "timestamp|step|metric\n").unwrap();
        std::fs::write(events.join("metric/notes.txt"), "").unwrap();
        std::fs::write(events.join("nonsense/x.plx"), "").unwrap();
        std::fs::create_dir_all(events.join("metric/val")).unwrap();
        std::fs::write(events.join("metric/val/acc.plx"), "timestamp|step|metric\n").unwrap();
        let found = series_files(dir.path());
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(found[1].2, "val/acc");
        assert_eq!(found[2].2, "sys/cpu");
        assert_eq!(found[0].1, myelin_contracts::tracking::EventKind::Metric);
        assert_eq!(found[0].2, "loss");
        assert!(series_files(&dir.path().join("missing")).is_empty());
    }
}
