#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! One conformance suite for the blob store port, run against [`LocalBlob`] (a temp directory) and
//! [`S3Blob`] talking real HTTP to an in-process S3 server (s3s-fs on 127.0.0.1, port 0) whose
//! bucket each case creates through `create_bucket`. The S3 store uses a key prefix, so listing
//! also checks the prefix is stripped.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use myelin_common::blob::{Blob, ByteStream, Error, LocalBlob, S3Blob, S3Settings, SharedBlob};
use secrecy::SecretString;

const MIB: usize = 1024 * 1024;

fn b(text: &str) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}

/// Byte `i` of the large test object: a pattern that catches reordered or dropped chunks.
fn pattern(i: usize) -> u8 {
    ((i * 31 + i / 4093) % 251) as u8
}

/// `total` bytes of [`pattern`] in chunks of `chunk` bytes, generated lazily.
fn generated(total: usize, chunk: usize) -> ByteStream {
    futures::stream::iter((0..total).step_by(chunk))
        .map(move |start| {
            let end = (start + chunk).min(total);
            Ok(Bytes::from((start..end).map(pattern).collect::<Vec<u8>>()))
        })
        .boxed()
}

/// A body that yields `good` bytes then fails.
fn failing(good: usize) -> ByteStream {
    generated(good, 64 * 1024)
        .chain(futures::stream::once(async {
            Err(std::io::Error::other("the producer died"))
        }))
        .boxed()
}

// ---------------------------------------------------------------- cases

async fn put_get_overwrite(blob: SharedBlob) {
    blob.put("runs/a/file.txt", b("hello")).await.unwrap();
    assert!(blob.exists("runs/a/file.txt").await.unwrap());
    assert_eq!(blob.get_bytes("runs/a/file.txt").await.unwrap(), Some(b("hello")));
    blob.put("runs/a/file.txt", b("replaced")).await.unwrap();
    assert_eq!(blob.get_bytes("runs/a/file.txt").await.unwrap(), Some(b("replaced")));
    blob.put("empty", Bytes::new()).await.unwrap();
    assert_eq!(blob.get_bytes("empty").await.unwrap(), Some(Bytes::new()));
    let binary = Bytes::from_static(&[0, 159, 146, 150, 255, b'\n']);
    blob.put("bin/x", binary.clone()).await.unwrap();
    assert_eq!(blob.get_bytes("bin/x").await.unwrap(), Some(binary));
    let size = blob.put_stream("streamed/small", generated(1000, 7)).await.unwrap();
    assert_eq!(size, 1000);
    let back = blob.get_bytes("streamed/small").await.unwrap().unwrap();
    assert_eq!(back, (0..1000).map(pattern).collect::<Vec<u8>>());
}

async fn missing_keys(blob: SharedBlob) {
    assert!(blob.get("nope/none").await.unwrap().is_none());
    assert_eq!(blob.get_bytes("nope").await.unwrap(), None);
    assert!(!blob.exists("nope").await.unwrap());
    blob.delete("nope/none").await.unwrap();
    assert_eq!(blob.delete_prefix("nope/").await.unwrap(), 0);
    // A path through an object is no object either.
    blob.put("dir/child", b("x")).await.unwrap();
    assert!(blob.get("dir/child/deeper").await.unwrap().is_none());
    assert!(!blob.exists("dir/child/deeper").await.unwrap());
}

async fn list_is_recursive_sorted_and_by_string_prefix(blob: SharedBlob) {
    for (key, body) in [
        ("p/b/c", "ccc"),
        ("p/a", "a"),
        ("p/bc", "bc"),
        ("q/x", "x"),
        ("p2", "22"),
    ] {
        blob.put(key, b(body)).await.unwrap();
    }
    let keys = |list: Vec<myelin_common::blob::ObjectInfo>| list.into_iter().map(|o| o.key).collect::<Vec<_>>();
    let listed = blob.list("p/").await.unwrap();
    assert_eq!(keys(listed.clone()), ["p/a", "p/b/c", "p/bc"]);
    assert_eq!(listed.iter().map(|o| o.size).collect::<Vec<_>>(), [1, 3, 2]);
    assert!(listed.iter().all(|o| o.last_modified.is_some()));
    assert_eq!(keys(blob.list("p/b").await.unwrap()), ["p/b/c", "p/bc"]);
    assert_eq!(keys(blob.list("p").await.unwrap()), ["p/a", "p/b/c", "p/bc", "p2"]);
    assert_eq!(
        keys(blob.list("").await.unwrap()),
        ["p/a", "p/b/c", "p/bc", "p2", "q/x"]
    );
    assert_eq!(keys(blob.list("p/b/c").await.unwrap()), ["p/b/c"]);
    assert!(blob.list("zzz/").await.unwrap().is_empty());
    assert!(blob.list("p/a/").await.unwrap().is_empty());
}

async fn delete_and_delete_prefix(blob: SharedBlob) {
    for key in ["run/plxlogs/1", "run/plxlogs/2", "run/outputs/x", "run2/plxlogs/1"] {
        blob.put(key, b(key)).await.unwrap();
    }
    blob.delete("run/plxlogs/1").await.unwrap();
    assert!(!blob.exists("run/plxlogs/1").await.unwrap());
    let keys: Vec<_> = blob.list("run").await.unwrap().into_iter().map(|o| o.key).collect();
    assert_eq!(keys, ["run/outputs/x", "run/plxlogs/2", "run2/plxlogs/1"]);
    assert_eq!(blob.delete_prefix("run/").await.unwrap(), 2);
    assert!(blob.list("run/").await.unwrap().is_empty());
    assert!(
        blob.exists("run2/plxlogs/1").await.unwrap(),
        "a sibling prefix is untouched"
    );
    assert!(matches!(blob.delete_prefix("").await, Err(Error::InvalidKey { .. })));
    assert!(blob.exists("run2/plxlogs/1").await.unwrap());
}

async fn large_object_streams_both_ways(blob: SharedBlob) {
    let total = 20 * MIB + 12_345;
    let size = blob
        .put_stream("big/object", generated(total, 64 * 1024))
        .await
        .unwrap();
    assert_eq!(size, total as u64);
    let listed = blob.list("big/").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].size, total as u64);
    // Read it back chunk by chunk, comparing against the generator (never the whole object at once).
    let mut body = blob.get("big/object").await.unwrap().unwrap();
    let (mut offset, mut chunks, mut largest) = (0usize, 0usize, 0usize);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        for (i, byte) in chunk.iter().enumerate() {
            assert_eq!(*byte, pattern(offset + i), "byte {} differs", offset + i);
        }
        offset += chunk.len();
        chunks += 1;
        largest = largest.max(chunk.len());
    }
    assert_eq!(offset, total);
    assert!(
        chunks > 1 && largest < 16 * MIB,
        "{chunks} chunks, largest {largest} bytes: not streamed"
    );
}

async fn failed_body_stores_nothing(blob: SharedBlob) {
    // Small failure (before any part would be uploaded) and large failure (mid multipart upload).
    for (key, good) in [("failed/small", 1000), ("failed/large", 12 * MIB)] {
        let err = blob.put_stream(key, failing(good)).await.unwrap_err();
        assert!(matches!(err, Error::Body { .. }), "{err}");
        assert!(!blob.exists(key).await.unwrap(), "{key} must not exist");
    }
    blob.put("failed/kept", b("previous")).await.unwrap();
    assert!(blob.put_stream("failed/kept", failing(10)).await.is_err());
    assert_eq!(blob.get_bytes("failed/kept").await.unwrap(), Some(b("previous")));
    let keys: Vec<_> = blob.list("failed/").await.unwrap().into_iter().map(|o| o.key).collect();
    assert_eq!(keys, ["failed/kept"]);
}

async fn bad_keys_are_refused(blob: SharedBlob) {
    for key in ["", "/abs", "a/../b", "..", "a//b", "dir/", "a\\b", "new\nline", "./x"] {
        let refused = |r: Result<(), Error>| matches!(r, Err(Error::InvalidKey { .. }));
        assert!(refused(blob.put(key, b("x")).await), "put {key:?}");
        assert!(
            refused(blob.put_stream(key, generated(10, 5)).await.map(|_| ())),
            "put_stream {key:?}"
        );
        assert!(refused(blob.get(key).await.map(|_| ())), "get {key:?}");
        assert!(refused(blob.exists(key).await.map(|_| ())), "exists {key:?}");
        assert!(refused(blob.delete(key).await), "delete {key:?}");
    }
    for prefix in ["../", "/", "a/../"] {
        assert!(
            matches!(blob.list(prefix).await, Err(Error::InvalidKey { .. })),
            "{prefix:?}"
        );
        assert!(
            matches!(blob.delete_prefix(prefix).await, Err(Error::InvalidKey { .. })),
            "{prefix:?}"
        );
    }
    assert!(blob.list("").await.unwrap().is_empty(), "nothing was written");
}

/// Local only: s3s-fs (the test S3 server) is not atomic under concurrent writes to one key, S3 is.
async fn concurrent_writers_leave_a_whole_object(blob: SharedBlob) {
    let writers = (0..8).map(|i| {
        let blob = blob.clone();
        async move { blob.put("race/key", Bytes::from(vec![b'a' + i; 100_000])).await }
    });
    for result in futures::future::join_all(writers).await {
        result.unwrap();
    }
    let body = blob.get_bytes("race/key").await.unwrap().unwrap();
    assert_eq!(body.len(), 100_000);
    assert!(
        body.iter().all(|byte| *byte == body[0]),
        "bytes of two writes got mixed"
    );
}

// ---------------------------------------------------------------- adapters

async fn on_local<F, Fut>(case: F)
where
    F: FnOnce(SharedBlob) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    case(Arc::new(LocalBlob::new(dir.path().join("store")).unwrap())).await;
}

/// Serves an s3s-fs store over HTTP on 127.0.0.1 (an ephemeral port) until the runtime stops.
async fn s3_server(root: &std::path::Path, access_key: &str, secret_key: &str) -> std::net::SocketAddr {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder;
    use s3s::auth::SimpleAuth;
    use s3s::service::S3ServiceBuilder;

    let mut builder = S3ServiceBuilder::new(s3s_fs::FileSystem::new(root).unwrap());
    builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let service = service.clone();
            tokio::spawn(async move {
                let _ = Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    addr
}

async fn on_s3<F, Fut>(case: F)
where
    F: FnOnce(SharedBlob) -> Fut,
    Fut: Future<Output = ()>,
{
    myelin_common::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let addr = s3_server(dir.path(), "conformance-access", "conformance-secret").await;
    let settings = S3Settings {
        endpoint: Some(format!("http://{addr}")),
        bucket: "conformance".into(),
        access_key: "conformance-access".into(),
        secret_key: SecretString::from("conformance-secret"),
        prefix: "myelin/".into(),
        create_bucket: true,
        ..S3Settings::default()
    };
    let blob = S3Blob::connect(settings).await.unwrap();
    case(Arc::new(blob)).await;
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::on_local(super::$case).await;
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::on_s3(super::$case).await;
                }
            )*
        }
    };
}

conformance!(
    put_get_overwrite,
    missing_keys,
    list_is_recursive_sorted_and_by_string_prefix,
    delete_and_delete_prefix,
    large_object_streams_both_ways,
    failed_body_stores_nothing,
    bad_keys_are_refused,
);

// ---------------------------------------------------------------- adapter-specific

#[tokio::test]
async fn s3_with_wrong_credentials_fails_at_connect() {
    let dir = tempfile::tempdir().unwrap();
    let addr = s3_server(dir.path(), "right", "right-secret").await;
    let settings = S3Settings {
        endpoint: Some(format!("http://{addr}")),
        access_key: "right".into(),
        secret_key: SecretString::from("wrong-secret"),
        create_bucket: true,
        ..S3Settings::default()
    };
    let err = S3Blob::connect(settings).await.unwrap_err();
    assert!(matches!(err, Error::Backend(_)), "{err}");
}

#[tokio::test]
async fn s3_without_bucket_fails_at_connect_unless_asked_to_create_it() {
    let dir = tempfile::tempdir().unwrap();
    let addr = s3_server(dir.path(), "k", "s").await;
    let settings = S3Settings {
        endpoint: Some(format!("http://{addr}")),
        bucket: "absent".into(),
        access_key: "k".into(),
        secret_key: SecretString::from("s"),
        ..S3Settings::default()
    };
    assert!(S3Blob::connect(settings.clone()).await.is_err());
    let created = S3Blob::connect(S3Settings {
        create_bucket: true,
        ..settings.clone()
    })
    .await
    .unwrap();
    created.put("k", b("v")).await.unwrap();
    let again = S3Blob::connect(settings).await.unwrap();
    assert_eq!(again.get_bytes("k").await.unwrap(), Some(b("v")));
}

#[tokio::test]
async fn s3_unreachable_endpoint_is_a_connection_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let settings = S3Settings {
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        access_key: "k".into(),
        secret_key: SecretString::from("s"),
        ..S3Settings::default()
    };
    let err = S3Blob::connect(settings).await.unwrap_err();
    assert!(matches!(err, Error::Connection(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_concurrent_writers_leave_a_whole_object() {
    on_local(concurrent_writers_leave_a_whole_object).await;
}

/// Filesystem specifics: a "directory" of objects is no object, and once its objects are deleted
/// its name can hold an object (s3s-fs, being a filesystem too, answers 500 to both).
#[tokio::test]
async fn local_directories_are_not_objects_and_are_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let blob = LocalBlob::new(dir.path()).unwrap();
    blob.put("dir/child", b("x")).await.unwrap();
    assert!(blob.get("dir").await.unwrap().is_none());
    assert!(!blob.exists("dir").await.unwrap());
    assert_eq!(blob.delete_prefix("dir/").await.unwrap(), 1);
    blob.put("dir", b("now a file")).await.unwrap();
    assert_eq!(blob.get_bytes("dir").await.unwrap(), Some(b("now a file")));
}

#[tokio::test]
async fn local_reserves_its_temp_directory_and_writes_where_the_key_says() {
    let dir = tempfile::tempdir().unwrap();
    let blob = LocalBlob::new(dir.path()).unwrap();
    assert!(matches!(
        blob.put(".myelin-tmp/x", b("x")).await,
        Err(Error::InvalidKey { .. })
    ));
    blob.put("run/plxlogs/00000001", b("line\n")).await.unwrap();
    let on_disk = std::fs::read(dir.path().join("run/plxlogs/00000001")).unwrap();
    assert_eq!(on_disk, b"line\n");
    let leftovers = std::fs::read_dir(dir.path().join(".myelin-tmp")).unwrap().count();
    assert_eq!(leftovers, 0, "temp files are renamed or removed");
    blob.delete("run/plxlogs/00000001").await.unwrap();
    assert!(!dir.path().join("run").exists(), "emptied directories are pruned");
}
