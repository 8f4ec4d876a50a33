//! Uploads: `POST .../artifact` (a file) and `POST .../artifacts[/upload]` (an archive to unpack).
//!
//! The multipart field `upload_file` streams straight into the blob store, its bytes counted: past
//! `max_upload_bytes` the stream fails, so the atomic blob write stores nothing, and the answer is
//! 413 `logs.artifact_too_large`. Where it lands comes from the query (`path`, `untar`,
//! `overwrite`) or from the `json` field the polyaxon client sends. That client sends `json` *after*
//! the file, so when the query names no `path` and no `json` came first, the file is staged under
//! `.myelin-uploads/<id>` in the blob store and moved (streamed) once the whole body is read.
//! A file lands at `<path>/<file name>` (the base name of the multipart file name).

use std::future::Future;

use axum::Json;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{Multipart, Path, Query, State as Extract};
use bytes::Bytes;
use futures::StreamExt;
use myelin_common::blob::{ByteStream, SharedBlob};
use myelin_contracts::RunUuid;
use myelin_contracts::artifacts::{ArtifactUploaded, UPLOAD_FILE_FIELD, UPLOAD_JSON_FIELD, UploadOptions};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::path::{ArtifactPath, upload_file_name};
use super::{Error, RunPath, State, ingest, untar};

/// Where uploads wait for their destination (see the module doc).
pub const STAGING_PREFIX: &str = ".myelin-uploads/";

/// Largest `json` field read.
const MAX_JSON_FIELD: usize = 64 * 1024;

/// After an upload is refused as too large, at most this much more of it is read and dropped, so a
/// client that is still sending gets the answer instead of a reset connection.
const DRAIN_AFTER_REFUSAL: usize = 1024 * 1024;

/// `POST .../artifact`: `untar` defaults to false.
#[utoipa::path(
    post, path = "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/artifact", tag = "artifacts",
    params(RunPath, UploadOptions),
    request_body(content_type = "multipart/form-data", description = "`upload_file` (the file), optional `json` (UploadOptions)"),
    responses(
        (status = 200, description = "Stored", body = ArtifactUploaded),
        (status = 400, description = "Invalid path, upload or archive (`logs.invalid_artifact_path`, `logs.invalid_upload`, `logs.invalid_archive`)"),
        (status = 413, description = "Larger than `artifacts.max_upload_bytes` (`logs.artifact_too_large`); nothing stored"),
    )
)]
pub async fn upload_file(
    Extract(state): Extract<State>,
    Path(run_path): Path<RunPath>,
    Query(query): Query<UploadOptions>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<ArtifactUploaded>, Error> {
    upload(state, run_path, query, multipart, false).await
}

/// `POST .../artifacts` (the polyaxon client's directory upload): `untar` defaults to true.
#[utoipa::path(
    post, path = "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/artifacts", tag = "artifacts",
    params(RunPath, UploadOptions),
    request_body(content_type = "multipart/form-data", description = "`upload_file` (a .tar.gz), optional `json` (UploadOptions)"),
    responses(
        (status = 200, description = "Unpacked", body = ArtifactUploaded),
        (status = 400, description = "Invalid path, upload or archive"),
        (status = 413, description = "Too large (`logs.artifact_too_large`); nothing stored"),
    )
)]
pub async fn upload_dir(
    Extract(state): Extract<State>,
    Path(run_path): Path<RunPath>,
    Query(query): Query<UploadOptions>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<ArtifactUploaded>, Error> {
    upload(state, run_path, query, multipart, true).await
}

/// `POST .../artifacts/upload?path=DIR&untar=true`: as `POST .../artifacts`.
#[utoipa::path(
    post, path = "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/artifacts/upload", tag = "artifacts",
    params(RunPath, UploadOptions),
    request_body(content_type = "multipart/form-data", description = "`upload_file` (a .tar.gz), optional `json` (UploadOptions)"),
    responses(
        (status = 200, description = "Unpacked", body = ArtifactUploaded),
        (status = 400, description = "Invalid path, upload or archive"),
        (status = 413, description = "Too large (`logs.artifact_too_large`); nothing stored"),
    )
)]
pub async fn upload_archive(
    state: Extract<State>,
    run_path: Path<RunPath>,
    query: Query<UploadOptions>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<ArtifactUploaded>, Error> {
    upload_dir(state, run_path, query, multipart).await
}

async fn upload(
    state: State,
    run_path: RunPath,
    query: UploadOptions,
    multipart: Result<Multipart, MultipartRejection>,
    untar_default: bool,
) -> Result<Json<ArtifactUploaded>, Error> {
    let run = run_path.run()?;
    let mut multipart = multipart.map_err(|rejection| Error::InvalidUpload(rejection.body_text()))?;
    let mut json: Option<UploadOptions> = None;
    let mut staged: Option<Staged> = None;
    let mut stored: Option<Stored> = None;
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some(UPLOAD_JSON_FIELD) => json = Some(read_options(field).await?),
            Some(UPLOAD_FILE_FIELD) => {
                if stored.is_some() || staged.is_some() {
                    return Err(Error::InvalidUpload("more than one `upload_file` field".into()));
                }
                let file_name = upload_file_name(field.file_name())?;
                if query.path.is_some() || json.is_some() {
                    let target = Target::resolve(&query, json.as_ref(), untar_default, &file_name)?;
                    let limit = state.settings.max_upload_bytes;
                    stored = Some(from_field(field, limit, |body| target.store(&state, &run, body)).await?);
                } else {
                    staged = Some(stage(&state, field, file_name).await?);
                }
            }
            _ => {} // ignored; its bytes are skipped
        }
    }
    let stored = match (stored, staged) {
        (Some(stored), _) => stored,
        (None, Some(staged)) => {
            let target = Target::resolve(&query, json.as_ref(), untar_default, &staged.file_name)?;
            let body = state
                .blob
                .get(&staged.key)
                .await?
                .ok_or_else(|| Error::Internal("the staged upload vanished".into()))?;
            target.store(&state, &run, body).await?
        }
        (None, None) => return Err(Error::MissingFile),
    };
    for (path, size) in &stored.files {
        ingest::collect(&state, &run_path, &run, path, *size).await?;
    }
    Ok(Json(ArtifactUploaded {
        path: stored.path.as_str().to_owned(),
        files: stored.files.len() as u64,
        bytes: stored.files.iter().map(|(_, size)| size).sum(),
    }))
}

/// Where one upload lands.
struct Target {
    dir: ArtifactPath,
    file: ArtifactPath,
    untar: bool,
    overwrite: bool,
}

impl Target {
    /// The query's `path` wins over the `json` field's; other options: query, then `json`, then the
    /// route's defaults.
    fn resolve(
        query: &UploadOptions,
        json: Option<&UploadOptions>,
        untar: bool,
        file_name: &str,
    ) -> Result<Self, Error> {
        let json = json.cloned().unwrap_or_default();
        let dir = ArtifactPath::dir(query.path.as_deref().or(json.path.as_deref()))?;
        Ok(Target {
            file: dir.join(file_name)?,
            dir,
            untar: query.untar.or(json.untar).unwrap_or(untar),
            overwrite: query.overwrite.or(json.overwrite).unwrap_or(true),
        })
    }

    /// Stores `body`: as the file, or unpacked into the directory.
    async fn store(&self, state: &State, run: &RunUuid, body: ByteStream) -> Result<Stored, Error> {
        if self.untar {
            let unpacked = untar::unpack(
                state.blob.clone(),
                *run,
                self.dir.clone(),
                body,
                self.overwrite,
                state.settings.max_unpacked_bytes,
            )
            .await?;
            return Ok(Stored {
                path: self.dir.clone(),
                files: unpacked.files,
            });
        }
        let key = self.file.key(run);
        let files = if !self.overwrite && state.blob.exists(&key).await? {
            Vec::new()
        } else {
            vec![(self.file.clone(), state.blob.put_stream(&key, body).await?)]
        };
        Ok(Stored {
            path: self.file.clone(),
            files,
        })
    }
}

/// What an upload stored: the file or directory, and each file written with its size.
struct Stored {
    path: ArtifactPath,
    files: Vec<(ArtifactPath, u64)>,
}

/// An upload parked in the blob store until its destination is known; removed when dropped.
struct Staged {
    blob: SharedBlob,
    key: String,
    file_name: String,
}

impl Drop for Staged {
    fn drop(&mut self) {
        let (blob, key) = (self.blob.clone(), std::mem::take(&mut self.key));
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                if let Err(err) = blob.delete(&key).await {
                    tracing::warn!(error = %err, %key, "cannot remove a staged upload");
                }
            });
        }
    }
}

async fn stage(state: &State, field: Field<'_>, file_name: String) -> Result<Staged, Error> {
    let key = format!("{STAGING_PREFIX}{}", uuid::Uuid::new_v4().simple());
    let blob = state.blob.clone();
    let limit = state.settings.max_upload_bytes;
    from_field(field, limit, |body| async { Ok(blob.put_stream(&key, body).await?) }).await?;
    Ok(Staged {
        blob: state.blob.clone(),
        key,
        file_name,
    })
}

/// Feeds the bytes of `field` to `sink` as a stream, counting them: past `limit` (or when the client's
/// body fails) the stream ends in an error, so an atomic write stores nothing, and that error is the
/// answer. Otherwise the answer is the sink's.
async fn from_field<'a, T, F, Fut>(field: Field<'a>, limit: u64, sink: F) -> Result<T, Error>
where
    F: FnOnce(ByteStream) -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(2);
    let (pumped, sunk) = tokio::join!(pump(field, tx, limit), sink(ReceiverStream::new(rx).boxed()));
    pumped?;
    sunk
}

async fn pump(mut field: Field<'_>, tx: mpsc::Sender<std::io::Result<Bytes>>, limit: u64) -> Result<u64, Error> {
    let mut total = 0u64;
    loop {
        let failure = match field.chunk().await {
            Ok(None) => return Ok(total),
            Ok(Some(chunk)) => {
                total += chunk.len() as u64;
                if total <= limit {
                    if tx.send(Ok(chunk)).await.is_err() {
                        return Ok(total); // the sink stopped: its answer says why
                    }
                    continue;
                }
                Error::TooLarge { limit }
            }
            Err(err) => multipart_error(err),
        };
        let _ = tx.send(Err(std::io::Error::other(failure.to_string()))).await;
        if matches!(failure, Error::TooLarge { .. }) {
            let mut drained = 0;
            while drained < DRAIN_AFTER_REFUSAL {
                match field.chunk().await {
                    Ok(Some(chunk)) => drained += chunk.len(),
                    _ => break,
                }
            }
        }
        return Err(failure);
    }
}

async fn read_options(field: Field<'_>) -> Result<UploadOptions, Error> {
    let mut field = field;
    let mut text = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        text.extend_from_slice(&chunk);
        if text.len() > MAX_JSON_FIELD {
            return Err(Error::InvalidUpload("the `json` field is larger than 64 KiB".into()));
        }
    }
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(UploadOptions::default());
    }
    serde_json::from_slice(&text).map_err(|e| Error::InvalidUpload(format!("the `json` field: {e}")))
}

fn multipart_error(err: MultipartError) -> Error {
    if err.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
        Error::BodyLimit
    } else {
        Error::InvalidUpload(err.body_text())
    }
}
