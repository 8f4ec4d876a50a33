//! The local-directory blob adapter: the [`Blob`] port on a filesystem directory.
//!
//! A key maps to the file `<root>/<key>`. Writes go to a temp file under `<root>/.myelin-tmp/`
//! (same filesystem), are synced, then renamed over the destination, so readers see the old file or
//! the new one, never a partial one. Deletes prune the directories they leave empty. Keys whose first
//! segment is `.myelin-tmp` are reserved; temp files older than a day (left by a crash) are removed
//! when a store is opened.
//!
//! Unlike S3, a key cannot be both an object and a "directory" of others (`a/b` and `a/b/c`):
//! writing the second one fails with [`Error::Io`].

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

use super::{Blob, ByteStream, Error, ObjectInfo, Result, validate_key, validate_prefix};

/// The directory (under the root) holding writes in progress.
pub const TMP_DIR: &str = ".myelin-tmp";

/// Temp files older than this are left-overs of a crash.
const STALE_TMP: Duration = Duration::from_secs(24 * 3600);

/// Read buffer of a streamed `get`.
const READ_CHUNK: usize = 64 * 1024;

/// A blob store in a local directory. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LocalBlob {
    root: PathBuf,
}

impl LocalBlob {
    /// Opens (creating it when missing) the store rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        let tmp = root.join(TMP_DIR);
        std::fs::create_dir_all(&tmp).map_err(|source| Error::Io {
            key: tmp.display().to_string(),
            source,
        })?;
        remove_stale_temps(&tmp);
        Ok(Self { root })
    }

    /// The directory the store lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        validate_key(key)?;
        if key.split('/').next() == Some(TMP_DIR) {
            return Err(Error::InvalidKey {
                key: key.to_owned(),
                reason: "the `.myelin-tmp` directory is reserved",
            });
        }
        Ok(self.root.join(key))
    }

    async fn write_atomic(&self, key: &str, mut body: ByteStream) -> Result<u64> {
        let dest = self.path(key)?;
        let io = |source| Error::Io {
            key: key.to_owned(),
            source,
        };
        let tmp = TempFile(self.root.join(TMP_DIR).join(uuid::Uuid::new_v4().simple().to_string()));
        let mut file = tokio::fs::File::create(&tmp.0).await.map_err(io)?;
        let mut size = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|source| Error::Body {
                key: key.to_owned(),
                source,
            })?;
            file.write_all(&chunk).await.map_err(io)?;
            size += chunk.len() as u64;
        }
        file.sync_all().await.map_err(io)?;
        drop(file);
        // A concurrent delete may prune the parent between creating it and renaming: retry.
        let mut attempts = 0;
        loop {
            if let Some(parent) = dest.parent() {
                tokio::fs::create_dir_all(parent).await.map_err(io)?;
            }
            match tokio::fs::rename(&tmp.0, &dest).await {
                Ok(()) => break,
                Err(err) if err.kind() == ErrorKind::NotFound && attempts < 3 => attempts += 1,
                Err(err) => return Err(io(err)),
            }
        }
        tmp.disarm();
        Ok(size)
    }

    /// Removes the empty directories above `path`, up to (not including) the root.
    async fn prune_parents(&self, path: &Path) {
        let mut dir = path.parent();
        while let Some(current) = dir {
            if current == self.root || !current.starts_with(&self.root) {
                break;
            }
            if tokio::fs::remove_dir(current).await.is_err() {
                break;
            }
            dir = current.parent();
        }
    }
}

/// A temp file removed on drop unless disarmed (the write failed or was cancelled).
struct TempFile(PathBuf);

impl TempFile {
    fn disarm(self) {
        std::mem::forget(self);
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn remove_stale_temps(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .is_ok_and(|modified| now.duration_since(modified).is_ok_and(|age| age > STALE_TMP));
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn is_missing(err: &std::io::Error) -> bool {
    matches!(err.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory)
}

#[async_trait]
impl Blob for LocalBlob {
    async fn put(&self, key: &str, body: Bytes) -> Result<()> {
        self.write_atomic(key, futures::stream::once(async move { Ok(body) }).boxed())
            .await
            .map(|_| ())
    }

    async fn put_stream(&self, key: &str, body: ByteStream) -> Result<u64> {
        self.write_atomic(key, body).await
    }

    async fn get(&self, key: &str) -> Result<Option<ByteStream>> {
        let path = self.path(key)?;
        let io = |source| Error::Io {
            key: key.to_owned(),
            source,
        };
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(err) if is_missing(&err) => return Ok(None),
            Err(err) => return Err(io(err)),
        };
        if !file.metadata().await.map_err(io)?.is_file() {
            return Ok(None);
        }
        Ok(Some(ReaderStream::with_capacity(file, READ_CHUNK).boxed()))
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        let path = self.path(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(meta) => Ok(meta.is_file()),
            Err(err) if is_missing(&err) => Ok(false),
            Err(source) => Err(Error::Io {
                key: key.to_owned(),
                source,
            }),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        validate_prefix(prefix)?;
        // Walk only the deepest directory the prefix names.
        let base = prefix.rfind('/').map_or("", |at| &prefix[..at]);
        let mut pending = vec![(self.root.join(base), base.to_owned())];
        let mut objects = Vec::new();
        while let Some((dir, dir_key)) = pending.pop() {
            let mut entries = match tokio::fs::read_dir(&dir).await {
                Ok(entries) => entries,
                Err(err) if is_missing(&err) => continue,
                Err(source) => return Err(Error::Io { key: dir_key, source }),
            };
            let io = |source| Error::Io {
                key: dir_key.clone(),
                source,
            };
            while let Some(entry) = entries.next_entry().await.map_err(io)? {
                let Ok(name) = entry.file_name().into_string() else {
                    continue; // not a name this store ever writes
                };
                if dir_key.is_empty() && name == TMP_DIR {
                    continue;
                }
                let key = if dir_key.is_empty() {
                    name
                } else {
                    format!("{dir_key}/{name}")
                };
                let file_type = entry.file_type().await.map_err(io)?;
                if file_type.is_dir() {
                    if key.starts_with(prefix) || prefix.starts_with(&format!("{key}/")) {
                        pending.push((entry.path(), key));
                    }
                } else if file_type.is_file() && key.starts_with(prefix) {
                    let meta = match entry.metadata().await {
                        Ok(meta) => meta,
                        Err(err) if is_missing(&err) => continue, // deleted meanwhile
                        Err(err) => return Err(io(err)),
                    };
                    objects.push(ObjectInfo {
                        key,
                        size: meta.len(),
                        last_modified: meta.modified().ok().map(DateTime::<Utc>::from),
                    });
                }
            }
        }
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {
                self.prune_parents(&path).await;
                Ok(())
            }
            Err(err) if is_missing(&err) => Ok(()),
            Err(source) => Err(Error::Io {
                key: key.to_owned(),
                source,
            }),
        }
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        if prefix.is_empty() {
            return Err(Error::InvalidKey {
                key: String::new(),
                reason: "refusing to delete every object (empty prefix)",
            });
        }
        let mut deleted = 0;
        for object in self.list(prefix).await? {
            let path = self.root.join(&object.key);
            match tokio::fs::remove_file(&path).await {
                Ok(()) => {
                    deleted += 1;
                    self.prune_parents(&path).await;
                }
                Err(err) if is_missing(&err) => {}
                Err(source) => {
                    return Err(Error::Io {
                        key: object.key,
                        source,
                    });
                }
            }
        }
        Ok(deleted)
    }
}
