//! `GET .../artifacts?path=DIR`: the directory as a `.tar.gz`, built while it streams.
//!
//! A blocking task reads each object from the blob store (bridged to `std::io::Read`), writes it
//! through `tar` and `flate2` into a writer that hands 64 KiB chunks to a bounded channel, and the
//! response body is that channel: memory stays bounded whatever the directory's size, and a client
//! that goes away stops the work. Entries are named relative to `DIR`.

use std::io::{self, Read, Write};

use axum::body::Body;
use axum::extract::{Path, Query, State as Extract};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use flate2::Compression;
use flate2::write::GzEncoder;
use http::StatusCode;
use http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use myelin_common::blob::SharedBlob;
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::path::{ArtifactPath, content_disposition};
use super::read::{PathQuery, guarded};
use super::{Error, RunPath, State};

/// Bytes handed to the response at once.
const CHUNK: usize = 64 * 1024;
/// Chunks buffered between the archiver and the response.
const DEPTH: usize = 8;

/// One file of the archive.
struct Entry {
    key: String,
    name: String,
    size: u64,
    mtime: u64,
}

/// `GET .../artifacts?path=DIR`: `application/gzip`, named `<DIR name>.tar.gz` (`<run>.tar.gz` for
/// the root); 404 when the directory holds nothing.
#[utoipa::path(
    get, path = "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/artifacts", tag = "artifacts",
    params(RunPath, PathQuery),
    responses(
        (status = 200, description = "The directory as a .tar.gz, streamed", content_type = "application/gzip"),
        (status = 400, description = "Invalid path (`logs.invalid_artifact_path`) or uuid"),
        (status = 404, description = "No such directory (`logs.artifact_not_found`)"),
    )
)]
pub async fn get_dir(
    Extract(state): Extract<State>,
    Path(run_path): Path<RunPath>,
    Query(query): Query<PathQuery>,
) -> Result<Response, Error> {
    let run = run_path.run()?;
    let dir = ArtifactPath::dir(query.path.as_deref())?;
    let prefix = dir.prefix(&run);
    let entries: Vec<Entry> = state
        .blob
        .list(&prefix)
        .await?
        .into_iter()
        .filter_map(|object| {
            let name = object.key.strip_prefix(&prefix)?.to_owned();
            let mtime = object
                .last_modified
                .map_or(0, |t| u64::try_from(t.timestamp()).unwrap_or(0));
            Some(Entry {
                key: object.key,
                name,
                size: object.size,
                mtime,
            })
        })
        .collect();
    if entries.is_empty() {
        return Err(Error::NotFound(dir.as_str().to_owned()));
    }
    let (tx, rx) = mpsc::channel(DEPTH);
    let blob = state.blob.clone();
    let handle = Handle::current();
    tokio::task::spawn_blocking(move || {
        if let Err(err) = write_archive(&handle, &blob, &entries, &tx) {
            tracing::warn!(error = %err, "artifact archive cut short");
            let _ = tx.blocking_send(Err(err));
        }
    });
    let name = if dir.is_root() {
        run.to_string()
    } else {
        dir.name().to_owned()
    };
    let disposition = content_disposition(&format!("{name}.tar.gz"), false);
    let headers = [
        (CONTENT_TYPE, http::HeaderValue::from_static("application/gzip")),
        (
            CONTENT_DISPOSITION,
            http::HeaderValue::from_str(&disposition).map_err(|e| Error::Internal(e.to_string()))?,
        ),
    ];
    let body = Body::from_stream(ReceiverStream::new(rx));
    Ok((StatusCode::OK, guarded(), headers, body).into_response())
}

fn write_archive(
    handle: &Handle,
    blob: &SharedBlob,
    entries: &[Entry],
    tx: &mpsc::Sender<io::Result<Bytes>>,
) -> io::Result<()> {
    let writer = ChannelWriter {
        tx: tx.clone(),
        buf: BytesMut::with_capacity(CHUNK),
    };
    let mut builder = tar::Builder::new(GzEncoder::new(writer, Compression::fast()));
    for entry in entries {
        let Some(body) = handle.block_on(blob.get(&entry.key)).map_err(io::Error::other)? else {
            continue; // deleted since the listing
        };
        let reader = SyncIoBridge::new_with_handle(StreamReader::new(body), handle.clone());
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(entry.size);
        header.set_mode(0o644);
        header.set_mtime(entry.mtime);
        builder.append_data(&mut header, &entry.name, Exact::new(reader, entry.size))?;
    }
    let mut writer = builder.into_inner()?.finish()?;
    writer.flush()
}

/// Hands what is written to the channel in chunks of [`CHUNK`] bytes.
struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: BytesMut,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        let chunk = self.buf.split().freeze();
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() { Ok(()) } else { self.send() }
    }
}

/// Reads exactly `size` bytes from `inner` (the size the tar header announced), failing if the
/// object turns out shorter or longer, so the archive is never silently corrupt.
struct Exact<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Exact<R> {
    fn new(inner: R, size: u64) -> Self {
        Self { inner, remaining: size }
    }
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other("an artifact grew while it was archived")),
            };
        }
        let want = usize::try_from(self.remaining).unwrap_or(usize::MAX).min(buf.len());
        let read = self.inner.read(&mut buf[..want])?;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "an artifact shrank while it was archived",
            ));
        }
        self.remaining -= read as u64;
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_reads_the_announced_size_or_fails() {
        let mut out = Vec::new();
        Exact::new(&b"hello"[..], 5).read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello");
        assert!(Exact::new(&b"hello"[..], 4).read_to_end(&mut Vec::new()).is_err());
        let short = Exact::new(&b"hi"[..], 5).read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(short.kind(), io::ErrorKind::UnexpectedEof);
    }
}
