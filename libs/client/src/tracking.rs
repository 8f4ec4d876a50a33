//! Tracking calls: metric/event ingestion (`POST .../runs/{uuid}/events`), metric summaries, event
//! reads in Polyaxon's shape (`GET /streams/v1/{ns}/.../events/{kind}`), lineage and artifacts
//! (tree, file download, directory download as tar.gz). Downloads are streamed to disk.

use std::path::Path;

use myelin_contracts::tracking::{
    EventKind, EventsBatch, EventsIngested, EventsResponse, MetricSummaries, RunArtifact,
};
use myelin_contracts::{ListResponse, RunUuid};
use reqwest::Method;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use crate::{Client, Error};

/// How an events read is shaped and sampled.
#[derive(Debug, Clone, Default)]
pub struct EventsQuery {
    /// Series names (all names of the kind when empty).
    pub names: Vec<String>,
    /// `dict` (default) or `csv`.
    pub orient: Option<String>,
    /// Downsample each series to at most this many points.
    pub sample: Option<u32>,
    /// `lttb` (default) or `minmax`.
    pub sampling: Option<String>,
}

impl EventsQuery {
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![("orient", self.orient.clone().unwrap_or_else(|| "dict".into()))];
        if !self.names.is_empty() {
            pairs.push(("names", self.names.join(",")));
        }
        if let Some(sample) = self.sample {
            pairs.push(("sample", sample.to_string()));
        }
        if let Some(sampling) = &self.sampling {
            pairs.push(("sampling", sampling.clone()));
        }
        pairs
    }
}

/// One level of a run's artifacts (`GET .../artifacts/tree`): files with their sizes, and folders.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ArtifactTree {
    #[serde(default)]
    pub files: std::collections::BTreeMap<String, u64>,
    #[serde(default)]
    pub dirs: Vec<String>,
}

impl Client {
    /// `POST .../runs/{uuid}/events`: stores the batch, all or nothing. With `idempotency_key`, a
    /// batch sent again with the same key (a retry) is stored once (`duplicate` in the answer).
    pub async fn log_events(
        &self,
        owner: &str,
        project: &str,
        uuid: &RunUuid,
        batch: &EventsBatch,
        idempotency_key: Option<&str>,
    ) -> Result<EventsIngested, Error> {
        let mut request = self.request(Method::POST, &[owner, project, "runs", &uuid.to_string(), "events"]);
        if let Some(key) = idempotency_key {
            request = request.header(myelin_contracts::headers::IDEMPOTENCY_KEY, key);
        }
        self.json(request.json(batch)).await
    }

    /// `GET .../runs/{uuid}/metrics/summary`: last/min/max/mean/count per metric name.
    pub async fn metric_summaries(&self, owner: &str, project: &str, uuid: &RunUuid) -> Result<MetricSummaries, Error> {
        let segments = [owner, project, "runs", &uuid.to_string(), "metrics", "summary"];
        self.json(self.request(Method::GET, &segments)).await
    }

    /// `GET /streams/v1/{ns}/{owner}/{project}/runs/{uuid}/events/{kind}`.
    pub async fn get_events(
        &self,
        owner: &str,
        project: &str,
        uuid: &RunUuid,
        kind: EventKind,
        query: &EventsQuery,
    ) -> Result<EventsResponse, Error> {
        let segments = [owner, project, "runs", &uuid.to_string(), "events", kind.as_str()];
        self.json(self.stream_request(Method::GET, &segments).query(&query.pairs()))
            .await
    }

    /// `GET /streams/v1/{ns}/{owner}/{project}/runs/multi/events/{kind}?runs=...`.
    pub async fn get_multi_run_events(
        &self,
        owner: &str,
        project: &str,
        runs: &[RunUuid],
        kind: EventKind,
        query: &EventsQuery,
    ) -> Result<EventsResponse, Error> {
        let mut pairs = query.pairs();
        let uuids: Vec<String> = runs.iter().map(ToString::to_string).collect();
        pairs.push(("runs", uuids.join(",")));
        let segments = [owner, project, "runs", "multi", "events", kind.as_str()];
        self.json(self.stream_request(Method::GET, &segments).query(&pairs))
            .await
    }

    /// `GET .../runs/{uuid}/lineage/artifacts` (first 1000).
    pub async fn lineage_artifacts(
        &self,
        owner: &str,
        project: &str,
        uuid: &RunUuid,
    ) -> Result<ListResponse<RunArtifact>, Error> {
        let segments = [owner, project, "runs", &uuid.to_string(), "lineage", "artifacts"];
        self.json(self.request(Method::GET, &segments).query(&[("limit", "1000")]))
            .await
    }

    /// `GET .../artifacts/tree?path=`: one level of the run's artifacts.
    pub async fn artifacts_tree(
        &self,
        owner: &str,
        project: &str,
        uuid: &RunUuid,
        path: &str,
    ) -> Result<ArtifactTree, Error> {
        let segments = [owner, project, "runs", &uuid.to_string(), "artifacts", "tree"];
        self.json(self.stream_request(Method::GET, &segments).query(&[("path", path)]))
            .await
    }

    /// `GET .../artifact?path=FILE` streamed into `dest`; returns the bytes written.
    pub async fn download_artifact(
        &self,
        owner: &str,
        project: &str,
        uuid: &RunUuid,
        path: &str,
        dest: &Path,
    ) -> Result<u64, Error> {
        let segments = [owner, project, "runs", &uuid.to_string(), "artifact"];
        let request = self.stream_request(Method::GET, &segments).query(&[("path", path)]);
        self.download(request, dest).await
    }

    /// `GET .../artifacts?path=DIR`: the folder as a tar.gz, streamed into `dest`.
    pub async fn download_artifacts_archive(
        &self,
        owner: &str,
        project: &str,
        uuid: &RunUuid,
        path: &str,
        dest: &Path,
    ) -> Result<u64, Error> {
        let segments = [owner, project, "runs", &uuid.to_string(), "artifacts"];
        let request = self.stream_request(Method::GET, &segments).query(&[("path", path)]);
        self.download(request, dest).await
    }

    async fn download(&self, request: reqwest::RequestBuilder, dest: &Path) -> Result<u64, Error> {
        let mut response = self.send(request).await?;
        let url = response.url().to_string();
        let io = |source: std::io::Error| Error::Io {
            path: dest.display().to_string(),
            source,
        };
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        let partial = dest.with_extension("part");
        let mut file = tokio::fs::File::create(&partial).await.map_err(io)?;
        let mut written = 0u64;
        while let Some(chunk) = response.chunk().await.map_err(|source| Error::Transport {
            url: url.clone(),
            source,
        })? {
            file.write_all(&chunk).await.map_err(io)?;
            written += chunk.len() as u64;
        }
        file.flush().await.map_err(io)?;
        drop(file);
        tokio::fs::rename(&partial, dest).await.map_err(io)?;
        Ok(written)
    }
}
