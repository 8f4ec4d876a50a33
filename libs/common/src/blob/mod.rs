//! The blob store port: named objects (artifacts, log chunks) read and written as byte streams.
//!
//! Two adapters implement [`Blob`]: [`local::LocalBlob`] (a directory, atomic writes through a temp
//! file and a rename) and [`s3::S3Blob`] (any S3 API through aws-sdk-s3, path-style for MinIO and
//! friends). Both pass the one conformance suite in `tests/blob_conformance.rs`.
//!
//! Semantics we rely on (and therefore test):
//! - Keys are relative `/`-separated paths (`<run uuid>/plxlogs/00000001`); see [`validate_key`].
//!   A bad key is [`Error::InvalidKey`] before anything is touched.
//! - A reader sees the previous object or the new one, never a partly written one.
//! - Bodies stream both ways: neither [`Blob::put_stream`] nor [`Blob::get`] holds a whole object in
//!   memory, so objects may be larger than memory.
//! - [`Blob::list`] is recursive (every object whose key starts with the prefix, as S3 lists without
//!   a delimiter) and sorted by key. The prefix is a plain string prefix: `a/b` matches `a/bc/d`.
//! - Deleting a missing object is not an error.

pub mod local;
pub mod s3;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

pub use self::local::LocalBlob;
pub use self::s3::{S3Blob, S3Settings};

/// A shared handle to whichever blob store the process uses.
pub type SharedBlob = Arc<dyn Blob>;

/// An object body: chunks of bytes, or the I/O error that ended the stream.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// Longest key accepted (S3's limit, in bytes).
pub const MAX_KEY_LEN: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The key (or prefix) breaks the rules of [`validate_key`].
    #[error("invalid blob key {key:?}: {reason}")]
    InvalidKey { key: String, reason: &'static str },
    /// The local filesystem failed.
    #[error("blob store I/O error at {key:?}: {source}")]
    Io {
        key: String,
        #[source]
        source: std::io::Error,
    },
    /// The body stream given to `put_stream` failed; nothing was stored.
    #[error("the body of {key:?} could not be read: {source}")]
    Body {
        key: String,
        #[source]
        source: std::io::Error,
    },
    /// The remote store refused or failed the operation.
    #[error("blob store error: {0}")]
    Backend(String),
    /// The store cannot be reached or configured.
    #[error("cannot reach the blob store: {0}")]
    Connection(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What [`Blob::list`] reports about one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The full key (without the adapter's own prefix).
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// When the object was last written, when the store says.
    pub last_modified: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait Blob: Send + Sync + 'static {
    /// Stores `body` at `key`, replacing any object there.
    async fn put(&self, key: &str, body: Bytes) -> Result<()>;

    /// Stores the bytes `body` yields at `key`, replacing any object there, without holding the
    /// whole object in memory. Returns the number of bytes stored. When `body` fails, nothing is
    /// stored (the previous object, if any, stays) and the error is [`Error::Body`].
    async fn put_stream(&self, key: &str, body: ByteStream) -> Result<u64>;

    /// The object's body as a stream, or None when there is no object at `key`.
    async fn get(&self, key: &str) -> Result<Option<ByteStream>>;

    /// Whether an object exists at `key`.
    async fn exists(&self, key: &str) -> Result<bool>;

    /// Every object whose key starts with `prefix` (`""` for all), sorted by key.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>>;

    /// Deletes the object at `key`; a missing object is not an error.
    async fn delete(&self, key: &str) -> Result<()>;

    /// Deletes every object whose key starts with `prefix` and returns how many there were.
    /// An empty prefix is refused ([`Error::InvalidKey`]): it would empty the store.
    async fn delete_prefix(&self, prefix: &str) -> Result<u64>;

    /// The whole object in memory (for small objects such as log chunks), or None when missing.
    async fn get_bytes(&self, key: &str) -> Result<Option<Bytes>> {
        let Some(stream) = self.get(key).await? else {
            return Ok(None);
        };
        let io = |source| Error::Io {
            key: key.to_owned(),
            source,
        };
        let buf = stream
            .try_fold(BytesMut::new(), |mut buf, chunk| {
                buf.extend_from_slice(&chunk);
                futures::future::ready(Ok(buf))
            })
            .await
            .map_err(io)?;
        Ok(Some(buf.freeze()))
    }
}

/// Which blob store a service uses (the `blob` section of its settings).
///
/// `kind = "local"` with `root`, or `kind = "s3"` with the [`S3Settings`] fields, e.g.
/// `MYELIN_LOGS__BLOB__KIND=s3 MYELIN_LOGS__BLOB__BUCKET=myelin`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BlobSettings {
    /// A local directory (created when missing; a leading `~` is the home directory).
    Local { root: PathBuf },
    /// An S3 bucket.
    S3(S3Settings),
}

impl BlobSettings {
    /// Opens the store these settings describe.
    pub async fn connect(&self) -> Result<SharedBlob> {
        Ok(match self {
            BlobSettings::Local { root } => Arc::new(LocalBlob::new(expand_home(root))?),
            BlobSettings::S3(settings) => Arc::new(S3Blob::connect(settings.clone()).await?),
        })
    }
}

/// `path` with a leading `~` replaced by `$HOME` (unchanged without one).
fn expand_home(path: &std::path::Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

/// Checks a key: 1..=1024 bytes, relative, `/`-separated segments that are neither empty, `.` nor
/// `..`, no backslash and no control character.
pub fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(invalid(key, "a key cannot be empty"));
    }
    if key.ends_with('/') {
        return Err(invalid(key, "a key cannot end with `/`"));
    }
    validate_prefix(key)
}

/// Checks a list/delete prefix: like a key, but it may be empty and may end with `/`.
pub fn validate_prefix(prefix: &str) -> Result<()> {
    if prefix.len() > MAX_KEY_LEN {
        return Err(invalid(prefix, "longer than 1024 bytes"));
    }
    if prefix.starts_with('/') {
        return Err(invalid(prefix, "must be relative (no leading `/`)"));
    }
    if prefix.contains('\\') {
        return Err(invalid(prefix, "cannot contain `\\`"));
    }
    if prefix.chars().any(char::is_control) {
        return Err(invalid(prefix, "cannot contain control characters"));
    }
    let body = prefix.strip_suffix('/').unwrap_or(prefix);
    if body.is_empty() {
        return Ok(());
    }
    for segment in body.split('/') {
        match segment {
            "" => return Err(invalid(prefix, "cannot contain an empty segment (`//`)")),
            "." | ".." => return Err(invalid(prefix, "cannot contain `.` or `..` segments")),
            _ => {}
        }
    }
    Ok(())
}

fn invalid(key: &str, reason: &'static str) -> Error {
    Error::InvalidKey {
        key: key.chars().take(200).collect(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        for good in ["a", "a/b", "run/plxlogs/00000001", "a.b/c..d/.hidden", "ü/ß"] {
            assert!(validate_key(good).is_ok(), "{good}");
        }
        for bad in [
            "", "/a", "a/", "a//b", "../a", "a/../b", "a/./b", ".", "..", "a\\b", "a\nb", "a\0b",
        ] {
            assert!(matches!(validate_key(bad), Err(Error::InvalidKey { .. })), "{bad:?}");
        }
        assert!(validate_key(&"k".repeat(MAX_KEY_LEN + 1)).is_err());
        for good in ["", "a/", "a/b", "a/b/"] {
            assert!(validate_prefix(good).is_ok(), "{good}");
        }
        for bad in ["/", "../", "a//", "a/../"] {
            assert!(validate_prefix(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn settings_pick_the_adapter_by_kind() {
        let local: BlobSettings = serde_json::from_str(r#"{"kind":"local","root":"/tmp/x"}"#).unwrap();
        assert!(matches!(local, BlobSettings::Local { root } if root == std::path::Path::new("/tmp/x")));
        let s3: BlobSettings =
            serde_json::from_str(r#"{"kind":"s3","bucket":"b","endpoint":"http://h:9000"}"#).unwrap();
        let BlobSettings::S3(s3) = s3 else { panic!("not s3") };
        assert_eq!(s3.bucket, "b");
        assert!(s3.force_path_style);
    }
}
