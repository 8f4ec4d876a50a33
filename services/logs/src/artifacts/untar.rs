//! Unpacking an uploaded archive (`.tar.gz`, or a plain `.tar`) into a run directory, while it
//! streams in.
//!
//! A blocking task reads the body (bridged to `std::io::Read`) through `flate2` and `tar`; each
//! regular file is piped to `Blob::put_stream` as it is read, under `<dir>/<entry path>` with every
//! entry path checked like any artifact path (no `..`, no absolute path). Directories, links and
//! special files are skipped. When anything fails (a bad entry, a corrupt archive, more than
//! `max_unpacked_bytes`, a body cut short), the files this upload wrote are deleted again.

use std::io::{self, BufRead, BufReader, Read};

use bytes::Bytes;
use flate2::read::MultiGzDecoder;
use futures::StreamExt;
use myelin_common::blob::{ByteStream, SharedBlob};
use myelin_contracts::RunUuid;
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::Error;
use super::path::{ArtifactPath, entry_path};

/// Bytes read from an entry at once.
const CHUNK: usize = 64 * 1024;

/// What an unpacked archive wrote: each file (path relative to the run) with its size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unpacked {
    pub files: Vec<(ArtifactPath, u64)>,
}

impl Unpacked {
    /// Bytes written in all.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|(_, size)| size).sum()
    }
}

/// Unpacks the archive `body` under `dir` of `run`. With `overwrite` false, files that exist are
/// left as they are (and not counted).
pub async fn unpack(
    blob: SharedBlob,
    run: RunUuid,
    dir: ArtifactPath,
    body: ByteStream,
    overwrite: bool,
    max_unpacked: u64,
) -> Result<Unpacked, Error> {
    let handle = Handle::current();
    let task_blob = blob.clone();
    let (unpacked, result) = tokio::task::spawn_blocking(move || {
        let mut unpacked = Unpacked::default();
        let job = Job {
            handle: &handle,
            blob: &task_blob,
            run: &run,
            dir: &dir,
            overwrite,
            max_unpacked,
        };
        let result = job.run(body, &mut unpacked);
        (unpacked, result)
    })
    .await
    .map_err(|e| Error::Internal(format!("the unpacking task failed: {e}")))?;
    if let Err(err) = result {
        for (path, _) in &unpacked.files {
            if let Err(cleanup) = blob.delete(&path.key(&run)).await {
                tracing::warn!(error = %cleanup, path = path.as_str(), "cannot remove a file of a failed upload");
            }
        }
        return Err(err);
    }
    Ok(unpacked)
}

struct Job<'a> {
    handle: &'a Handle,
    blob: &'a SharedBlob,
    run: &'a RunUuid,
    dir: &'a ArtifactPath,
    overwrite: bool,
    max_unpacked: u64,
}

impl Job<'_> {
    fn run(&self, body: ByteStream, unpacked: &mut Unpacked) -> Result<(), Error> {
        let bridge = SyncIoBridge::new_with_handle(StreamReader::new(body), self.handle.clone());
        let mut reader = BufReader::with_capacity(CHUNK, bridge);
        let gzipped = reader.fill_buf().map_err(body_error)?.starts_with(&[0x1f, 0x8b]);
        let source: Box<dyn Read> = if gzipped {
            Box::new(MultiGzDecoder::new(reader))
        } else {
            Box::new(reader)
        };
        let mut archive = tar::Archive::new(source);
        let mut total = 0u64;
        for entry in archive.entries().map_err(body_error)? {
            let mut entry = entry.map_err(body_error)?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let path = self.dir.join(&entry_path(&raw)?)?;
            total = total.saturating_add(entry.size());
            if total > self.max_unpacked {
                return Err(Error::UnpackedTooLarge {
                    limit: self.max_unpacked,
                });
            }
            let key = path.key(self.run);
            if !self.overwrite && self.handle.block_on(self.blob.exists(&key))? {
                continue;
            }
            let size = self.put(&key, &mut entry)?;
            unpacked.files.push((path, size));
        }
        Ok(())
    }

    /// Pipes `reader` into `put_stream(key)`; returns the bytes stored.
    fn put(&self, key: &str, reader: &mut impl Read) -> Result<u64, Error> {
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(4);
        let blob = self.blob.clone();
        let owned_key = key.to_owned();
        let put = self
            .handle
            .spawn(async move { blob.put_stream(&owned_key, ReceiverStream::new(rx).boxed()).await });
        let mut buf = vec![0u8; CHUNK];
        let read = loop {
            match reader.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    if tx.blocking_send(Ok(Bytes::copy_from_slice(&buf[..n]))).is_err() {
                        break Ok(()); // the store stopped reading: its answer says why
                    }
                }
                Err(err) => {
                    let _ = tx.blocking_send(Err(io::Error::new(err.kind(), err.to_string())));
                    break Err(err);
                }
            }
        };
        drop(tx);
        let stored = self
            .handle
            .block_on(put)
            .map_err(|e| Error::Internal(format!("the store task failed: {e}")))?;
        read.map_err(body_error)?;
        Ok(stored?)
    }
}

/// A read error while unpacking: the archive is corrupt (or the body was cut, in which case the
/// upload's own error takes precedence).
fn body_error(err: io::Error) -> Error {
    Error::InvalidArchive(err.to_string())
}
