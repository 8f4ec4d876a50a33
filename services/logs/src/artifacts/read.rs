//! Reading and deleting artifacts: one file streamed (`GET .../artifact`), one level of a directory
//! (`GET .../artifacts/tree`), and deletes of a file or a directory.

use std::collections::BTreeSet;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State as Extract};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use myelin_common::blob::{Blob, ByteStream};
use myelin_contracts::artifacts::ArtifactTree;
use serde::Deserialize;

use super::path::{ArtifactPath, content_disposition, content_type};
use super::{Error, RunPath, State};

/// `?path=...[&stream=true]`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PathQuery {
    /// The file or directory, relative to the run.
    pub path: Option<String>,
    /// Show the file inline (`content-disposition: inline`) rather than as a download.
    #[serde(default)]
    pub stream: Option<bool>,
}

/// `GET .../artifact?path=FILE`: the file, streamed, with its type, length and name.
#[utoipa::path(
    get, path = "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/artifact", tag = "artifacts",
    params(RunPath, PathQuery),
    responses(
        (status = 200, description = "The file, streamed", content_type = "application/octet-stream"),
        (status = 400, description = "Invalid path (`logs.invalid_artifact_path`) or uuid"),
        (status = 404, description = "No such file (`logs.artifact_not_found`)"),
    )
)]
pub async fn get_file(
    Extract(state): Extract<State>,
    Path(run_path): Path<RunPath>,
    Query(query): Query<PathQuery>,
) -> Result<Response, Error> {
    let run = run_path.run()?;
    let path = ArtifactPath::file(query.path.as_deref().unwrap_or_default())?;
    let key = path.key(&run);
    let missing = || Error::NotFound(path.as_str().to_owned());
    let size = object_size(state.blob.as_ref(), &key).await?.ok_or_else(missing)?;
    let body = state.blob.get(&key).await?.ok_or_else(missing)?;
    let headers = [
        (CONTENT_TYPE, header(content_type(path.name()))),
        (CONTENT_LENGTH, HeaderValue::from(size)),
        (
            CONTENT_DISPOSITION,
            header(&content_disposition(path.name(), query.stream.unwrap_or(false))),
        ),
    ];
    Ok((StatusCode::OK, guarded(), headers, Body::from_stream(exact(body, size))).into_response())
}

/// `GET .../artifacts/tree?path=DIR`: files (with sizes) and sub-directories directly in `DIR`.
/// The run's root is an empty tree when it holds nothing; another missing directory is a 404.
#[utoipa::path(
    get, path = "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/artifacts/tree", tag = "artifacts",
    params(RunPath, PathQuery),
    responses(
        (status = 200, description = "One level of the directory", body = ArtifactTree),
        (status = 400, description = "Invalid path (`logs.invalid_artifact_path`) or uuid"),
        (status = 404, description = "No such directory (`logs.artifact_not_found`)"),
    )
)]
pub async fn tree(
    Extract(state): Extract<State>,
    Path(run_path): Path<RunPath>,
    Query(query): Query<PathQuery>,
) -> Result<Json<ArtifactTree>, Error> {
    let run = run_path.run()?;
    let dir = ArtifactPath::dir(query.path.as_deref())?;
    let prefix = dir.prefix(&run);
    let objects = state.blob.list(&prefix).await?;
    if objects.is_empty() && !dir.is_root() {
        return Err(Error::NotFound(dir.as_str().to_owned()));
    }
    let mut tree = ArtifactTree::default();
    let mut dirs = BTreeSet::new();
    for object in objects {
        let Some(rest) = object.key.strip_prefix(&prefix) else {
            continue;
        };
        match rest.split_once('/') {
            Some((sub, _)) => {
                dirs.insert(sub.to_owned());
            }
            None => {
                tree.files.insert(rest.to_owned(), object.size);
            }
        }
    }
    tree.dirs = dirs.into_iter().collect();
    Ok(Json(tree))
}

/// `DELETE .../artifact?path=FILE` → 204, or 404 when there is no such file.
#[utoipa::path(
    delete, path = "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/artifact", tag = "artifacts",
    params(RunPath, PathQuery),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Invalid path (`logs.invalid_artifact_path`) or uuid"),
        (status = 404, description = "No such file (`logs.artifact_not_found`)"),
    )
)]
pub async fn delete_file(
    Extract(state): Extract<State>,
    Path(run_path): Path<RunPath>,
    Query(query): Query<PathQuery>,
) -> Result<StatusCode, Error> {
    let run = run_path.run()?;
    let path = ArtifactPath::file(query.path.as_deref().unwrap_or_default())?;
    let key = path.key(&run);
    if !state.blob.exists(&key).await? {
        return Err(Error::NotFound(path.as_str().to_owned()));
    }
    state.blob.delete(&key).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE .../artifacts?path=DIR` → 204 once every file under `DIR` is deleted (the whole run's
/// artifacts without `path`); 404 when a named directory holds nothing.
#[utoipa::path(
    delete, path = "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/artifacts", tag = "artifacts",
    params(RunPath, PathQuery),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Invalid path (`logs.invalid_artifact_path`) or uuid"),
        (status = 404, description = "No such directory (`logs.artifact_not_found`)"),
    )
)]
pub async fn delete_dir(
    Extract(state): Extract<State>,
    Path(run_path): Path<RunPath>,
    Query(query): Query<PathQuery>,
) -> Result<StatusCode, Error> {
    let run = run_path.run()?;
    let dir = ArtifactPath::dir(query.path.as_deref())?;
    let deleted = state.blob.delete_prefix(&dir.prefix(&run)).await?;
    if deleted == 0 && !dir.is_root() {
        return Err(Error::NotFound(dir.as_str().to_owned()));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The size of the object at `key`, None when there is none.
pub async fn object_size(blob: &dyn Blob, key: &str) -> Result<Option<u64>, Error> {
    let listed = blob.list(key).await?;
    Ok(listed
        .into_iter()
        .find(|object| object.key == key)
        .map(|object| object.size))
}

/// Headers of every download: user files must not run as pages of the API's origin.
pub fn guarded() -> [(http::HeaderName, HeaderValue); 2] {
    [
        (
            http::header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            http::header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox"),
        ),
    ]
}

fn header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

/// `body`, failing when it turns out longer or shorter than `size` (the object changed between the
/// listing and the read), so a client never takes a mix of two versions for a whole file.
pub fn exact(body: ByteStream, size: u64) -> ByteStream {
    futures::stream::unfold((body, 0u64, false), move |(mut body, seen, done)| async move {
        if done {
            return None;
        }
        let (item, seen, done) = match body.next().await {
            Some(Ok(chunk)) => {
                let seen = seen + chunk.len() as u64;
                if seen > size {
                    (
                        Err(std::io::Error::other("the artifact grew while it was read")),
                        seen,
                        true,
                    )
                } else {
                    (Ok(chunk), seen, false)
                }
            }
            Some(Err(err)) => (Err(err), seen, true),
            None if seen < size => {
                let short = std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the artifact shrank while it was read",
                );
                (Err(short), seen, true)
            }
            None => return None,
        };
        Some((item, (body, seen, done)))
    })
    .boxed()
}
