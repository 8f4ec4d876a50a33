#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Run artifacts through the logs service's router, on a local blob directory AND on the S3 adapter
//! talking to an in-process S3 server (s3s-fs): uploads (direct, staged as the polyaxon client
//! sends them, unpacked archives), downloads of a file and of a directory as tar.gz, the tree,
//! deletes, bad paths, size limits that leave nothing stored, and `.plx` uploads published as
//! `run.events.collected`. One test serves the binary's stack on a port to check that uploads get
//! their own body limit.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use futures::StreamExt;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use myelin_common::blob::{LocalBlob, S3Blob, S3Settings, SharedBlob};
use myelin_common::bus::memory::MemoryBus;
use myelin_common::bus::{ConsumeOptions, Consumer, QueueSpec, SharedBus};
use myelin_common::coord::memory::MemoryCoord;
use myelin_contracts::RunUuid;
use myelin_contracts::events::{EVENTS_EXCHANGE, Envelope};
use myelin_contracts::tracking::{EventKind, RUN_EVENTS_COLLECTED, SeriesCollected};
use myelin_logs::artifacts::upload::STAGING_PREFIX;
use myelin_logs::{App, Deps, Settings};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::time::Instant;
use tower::ServiceExt;

const MIB: usize = 1024 * 1024;
const DEADLINE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------- harness

#[derive(Clone, Copy, Debug)]
enum Backend {
    Local,
    S3,
}

struct Env {
    app: App,
    blob: SharedBlob,
    bus: SharedBus,
    run: RunUuid,
    /// The local store's root (None on S3).
    root: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

fn settings() -> Settings {
    let mut settings = Settings::default();
    settings.artifacts.max_upload_bytes = 16 * MIB as u64;
    settings
}

async fn env(backend: Backend, settings: Settings) -> Env {
    myelin_common::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let (blob, root): (SharedBlob, _) = match backend {
        Backend::Local => {
            let root = dir.path().join("store");
            (Arc::new(LocalBlob::new(&root).unwrap()), Some(root))
        }
        Backend::S3 => {
            let addr = s3_server(dir.path(), "artifacts-access", "artifacts-secret").await;
            let s3 = S3Settings {
                endpoint: Some(format!("http://{addr}")),
                bucket: "artifacts".into(),
                access_key: "artifacts-access".into(),
                secret_key: SecretString::from("artifacts-secret"),
                prefix: "myelin/".into(),
                part_size_bytes: 5 * MIB,
                create_bucket: true,
                ..S3Settings::default()
            };
            (Arc::new(S3Blob::connect(s3).await.unwrap()), None)
        }
    };
    let bus: SharedBus = Arc::new(MemoryBus::new());
    let deps = Deps {
        bus: bus.clone(),
        coord: Arc::new(MemoryCoord::new()),
        blob: blob.clone(),
    };
    let app = App::build(settings, deps).await.unwrap();
    Env {
        app,
        blob,
        bus,
        run: RunUuid::new(),
        root,
        _dir: dir,
    }
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

/// Byte `i` of generated content: a pattern that catches reordered or dropped chunks.
fn pattern(i: usize) -> u8 {
    ((i * 31 + i / 4093) % 251) as u8
}

fn generated(len: usize) -> Vec<u8> {
    (0..len).map(pattern).collect()
}

/// Incompressible bytes (xorshift).
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// One multipart field: `upload_file` (with a file name) or `json`.
enum Part<'a> {
    File(&'a str, &'a [u8]),
    Json(Value),
}

const BOUNDARY: &str = "myelin-test-boundary-7e818d59";

/// A multipart body streamed in 64 KiB frames as a network delivers them: a frame is ready only
/// once a producer task has sent it, one at a time (the first is there from the start).
fn multipart(parts: &[Part<'_>]) -> Body {
    let mut frames = frames(parts).into_iter();
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    if let Some(first) = frames.next() {
        tx.try_send(first).unwrap();
    }
    tokio::spawn(async move {
        for frame in frames {
            if tx.send(frame).await.is_err() {
                break;
            }
        }
    });
    Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// The same body with every frame ready at once (a reader may take it all in one go).
fn greedy(parts: &[Part<'_>]) -> Body {
    Body::from_stream(futures::stream::iter(frames(parts)))
}

fn frames(parts: &[Part<'_>]) -> Vec<Result<Bytes, std::io::Error>> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match part {
            Part::File(name, content) => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"upload_file\"; filename=\"{name}\"\r\nContent-Type: text/plain\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(content);
            }
            Part::Json(value) => {
                body.extend_from_slice(b"Content-Disposition: form-data; name=\"json\"\r\n\r\n");
                body.extend_from_slice(value.to_string().as_bytes());
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body.chunks(64 * 1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect()
}

impl Env {
    fn url(&self, tail: &str) -> String {
        format!("/streams/v1/polyaxon/acme/demo/runs/{}/{tail}", self.run)
    }

    async fn call(&self, request: Request<Body>) -> http::Response<Body> {
        self.app.router().oneshot(request).await.unwrap()
    }

    async fn send(&self, method: &str, tail: &str) -> http::Response<Body> {
        let request = Request::builder()
            .method(method)
            .uri(self.url(tail))
            .body(Body::empty())
            .unwrap();
        self.call(request).await
    }

    async fn json(&self, method: &str, tail: &str) -> (StatusCode, Value) {
        json_of(self.send(method, tail).await).await
    }

    async fn upload(&self, tail: &str, parts: &[Part<'_>]) -> (StatusCode, Value) {
        self.upload_body(tail, multipart(parts)).await
    }

    async fn upload_body(&self, tail: &str, body: Body) -> (StatusCode, Value) {
        let request = Request::post(self.url(tail))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body)
            .unwrap();
        json_of(self.call(request).await).await
    }

    async fn download(&self, tail: &str) -> (http::response::Parts, Vec<u8>, usize) {
        let response = self.send("GET", tail).await;
        let (parts, body) = response.into_parts();
        let mut frames = body.into_data_stream();
        let (mut content, mut count) = (Vec::new(), 0);
        while let Some(frame) = frames.next().await {
            content.extend_from_slice(&frame.unwrap());
            count += 1;
        }
        (parts, content, count)
    }

    /// Every key the store holds (for this run and the staging area).
    async fn keys(&self) -> Vec<String> {
        self.blob.list("").await.unwrap().into_iter().map(|o| o.key).collect()
    }

    /// Local only: write-in-progress files left behind.
    fn temp_files(&self) -> usize {
        self.root
            .as_ref()
            .map_or(0, |root| std::fs::read_dir(root.join(".myelin-tmp")).unwrap().count())
    }

    async fn expect_nothing_stored(&self, what: &str) {
        let start = Instant::now();
        loop {
            let keys = self.keys().await;
            if keys.is_empty() && self.temp_files() == 0 {
                return;
            }
            assert!(start.elapsed() < DEADLINE, "{what}: still stored: {keys:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn json_of(response: http::Response<Body>) -> (StatusCode, Value) {
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, value)
}

fn untar(gz: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gz));
    let mut files = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        files.insert(name, content);
    }
    files
}

/// A `.tar.gz` of `files`; names are written raw (so `../x` and `/x` can be tested).
fn targz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for (name, content) in files {
        let mut header = tar::Header::new_gnu();
        header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, *content).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

async fn collected_events(env: &Env) -> Consumer {
    let queue = format!("test.collected.{}", env.run);
    env.bus.declare_queue(&QueueSpec::durable(&queue)).await.unwrap();
    env.bus
        .bind_queue(&queue, EVENTS_EXCHANGE, RUN_EVENTS_COLLECTED)
        .await
        .unwrap();
    env.bus.consume(&queue, ConsumeOptions { prefetch: 16 }).await.unwrap()
}

async fn next_series(consumer: &mut Consumer) -> SeriesCollected {
    let delivery = tokio::time::timeout(DEADLINE, consumer.next())
        .await
        .expect("no run.events.collected in time")
        .unwrap()
        .unwrap();
    assert_eq!(delivery.routing_key, RUN_EVENTS_COLLECTED);
    let envelope: Envelope = serde_json::from_slice(&delivery.body).unwrap();
    assert_eq!(envelope.type_, RUN_EVENTS_COLLECTED);
    delivery.ack().await.unwrap();
    envelope.payload_as().unwrap()
}

// ---------------------------------------------------------------- cases

async fn a_multi_mb_file_round_trips(backend: Backend) {
    let env = env(backend, settings()).await;
    let content = generated(6 * MIB + 12_345);
    let (status, body) = env
        .upload(
            "artifact?path=outputs",
            &[Part::File("/home/me/run/model.bin", &content)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"path": "outputs/model.bin", "files": 1, "bytes": content.len()})
    );

    let (parts, back, frames) = env.download("artifact?path=outputs/model.bin").await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(back.len(), content.len());
    assert!(back == content, "the downloaded bytes differ");
    assert!(frames > 1, "the file came back in one piece: not streamed");
    assert_eq!(
        parts.headers[header::CONTENT_LENGTH],
        content.len().to_string().as_str()
    );
    assert_eq!(parts.headers[header::CONTENT_TYPE], "application/octet-stream");
    let disposition = parts.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"model.bin\""),
        "{disposition}"
    );

    // The polyaxon client's shape: no query, the `json` field after the file (staged, then moved).
    let plx = b"step|timestamp|metric\n0|2026-12-04 20:21:06.458805+00:00|1.0\n";
    let options = json!({"untar": false, "path": "resources/metric", "overwrite": true});
    let (status, body) = env
        .upload(
            "artifact",
            &[
                Part::File("/home/me/x/resources/metric/cpu.plx", plx),
                Part::Json(options),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["path"], "resources/metric/cpu.plx");
    // `json` first, then the file.
    let options = json!({"path": "notes"});
    let (status, body) = env
        .upload("artifact", &[Part::Json(options), Part::File("a.txt", b"first")])
        .await;
    assert_eq!((status, body["path"].as_str()), (StatusCode::OK, Some("notes/a.txt")));
    // overwrite=false keeps what is there.
    let (status, body) = env
        .upload("artifact?path=notes&overwrite=false", &[Part::File("a.txt", b"second")])
        .await;
    assert_eq!((status, body["files"].as_u64()), (StatusCode::OK, Some(0)));
    let (parts, back, _) = env.download("artifact?path=notes/a.txt&stream=true").await;
    assert_eq!(back, b"first");
    assert_eq!(parts.headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
    assert!(
        parts.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("inline;")
    );
    assert_eq!(parts.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let (parts, back, _) = env.download("artifact?path=resources/metric/cpu.plx").await;
    assert_eq!((parts.status, back.as_slice()), (StatusCode::OK, &plx[..]));
    assert!(backend_eventually_clean(&env).await, "a staged upload was left behind");

    let (status, body) = env.json("GET", "artifact?path=outputs/missing.bin").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "logs.artifact_not_found");
    assert_eq!(body["details"]["path"], "outputs/missing.bin");
    let (status, body) = env.json("GET", "artifact?path=outputs").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("logs.artifact_not_found"))
    );
}

/// Staged uploads are removed in the background: waits until none is left.
async fn backend_eventually_clean(env: &Env) -> bool {
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        if !env.keys().await.iter().any(|k| k.starts_with(STAGING_PREFIX)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

async fn a_directory_downloads_as_tar_gz(backend: Backend) {
    let env = env(backend, settings()).await;
    // Over tar's 100-byte name field.
    let long = format!(
        "{}/{}/deep.txt",
        "very-long-directory-name".repeat(3),
        "another-segment".repeat(3)
    );
    assert!(long.len() > 100);
    let big = generated(2 * MIB + 7);
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("data/a.txt".into(), b"alpha".to_vec()),
        ("data/sub/b.json".into(), b"{\"b\": 1}".to_vec()),
        ("data/big.bin".into(), big),
        ("data/empty".into(), Vec::new()),
        ("other/c.txt".into(), b"not in data".to_vec()),
    ];
    if matches!(backend, Backend::Local) {
        // s3s-fs keeps each object's metadata in one file named after the whole key: no long keys.
        files.push((format!("data/{long}"), b"long name".to_vec()));
    }
    for (path, content) in &files {
        let (dir, name) = path.rsplit_once('/').unwrap();
        let (status, body) = env
            .upload(&format!("artifact?path={dir}"), &[Part::File(name, content)])
            .await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let (parts, gz, _) = env.download("artifacts?path=data").await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(parts.headers[header::CONTENT_TYPE], "application/gzip");
    assert!(
        parts.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("data.tar.gz")
    );
    let expected: BTreeMap<String, Vec<u8>> = files
        .iter()
        .filter_map(|(path, content)| Some((path.strip_prefix("data/")?.to_owned(), content.clone())))
        .collect();
    assert_eq!(untar(&gz), expected);

    let (_, gz, _) = env.download("artifacts").await;
    let everything: BTreeMap<String, Vec<u8>> = files.into_iter().collect();
    assert_eq!(untar(&gz), everything, "the run's root");
    let (status, body) = env.json("GET", "artifacts?path=nothing/here").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("logs.artifact_not_found"))
    );
}

async fn the_tree_lists_one_level_and_deletes_remove(backend: Backend) {
    let env = env(backend, settings()).await;
    let (status, body) = env.json("GET", "artifacts/tree").await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"files": {}, "dirs": []})),
        "an empty run"
    );
    for (dir, name, content) in [
        ("", "top.txt", &b"12345"[..]),
        ("outputs", "model.bin", &b"0123456789"[..]),
        ("outputs/ckpt", "1.pt", &b"x"[..]),
        ("outputs/logs", "l.txt", &b"yy"[..]),
        ("events/metric", "loss.plx", &b"timestamp|step|metric\n"[..]),
    ] {
        let (status, _) = env
            .upload(&format!("artifact?path={dir}"), &[Part::File(name, content)])
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, tree) = env.json("GET", "artifacts/tree").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tree, json!({"files": {"top.txt": 5}, "dirs": ["events", "outputs"]}));
    let (_, tree) = env.json("GET", "artifacts/tree?path=outputs").await;
    assert_eq!(tree, json!({"files": {"model.bin": 10}, "dirs": ["ckpt", "logs"]}));
    let (_, tree) = env.json("GET", "artifacts/tree?path=outputs/").await;
    assert_eq!(tree["dirs"], json!(["ckpt", "logs"]), "a trailing slash is accepted");
    let (status, body) = env.json("GET", "artifacts/tree?path=missing").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("logs.artifact_not_found"))
    );

    assert_eq!(
        env.send("DELETE", "artifact?path=outputs/model.bin").await.status(),
        StatusCode::NO_CONTENT
    );
    let (status, body) = env.json("DELETE", "artifact?path=outputs/model.bin").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("logs.artifact_not_found"))
    );
    let (_, tree) = env.json("GET", "artifacts/tree?path=outputs").await;
    assert_eq!(tree, json!({"files": {}, "dirs": ["ckpt", "logs"]}));
    assert_eq!(
        env.send("DELETE", "artifacts?path=outputs").await.status(),
        StatusCode::NO_CONTENT
    );
    let (status, _) = env.json("GET", "artifacts/tree?path=outputs").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = env.json("DELETE", "artifacts?path=outputs").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, tree) = env.json("GET", "artifacts/tree").await;
    assert_eq!(
        tree,
        json!({"files": {"top.txt": 5}, "dirs": ["events"]}),
        "siblings are untouched"
    );
    assert_eq!(env.send("DELETE", "artifacts").await.status(), StatusCode::NO_CONTENT);
    env.expect_nothing_stored("after deleting the root").await;
    let request = Request::get("/internal/openapi.json").body(Body::empty()).unwrap();
    let (_, doc) = json_of(env.call(request).await).await;
    let tree = &doc["paths"]["/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/artifacts/tree"]["get"];
    assert_eq!(
        tree["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ArtifactTree"
    );
}

async fn bad_paths_are_refused(backend: Backend) {
    let env = env(backend, settings()).await;
    let bad = [
        ("..%2Fx", "../x"),
        ("a%2F..%2Fb", "a/../b"),
        ("%2Fetc%2Fpasswd", "/etc/passwd"),
        ("a%2F%2Fb", "a//b"),
        ("a%5Cb", "a\\b"),
        ("a%00b", "a\0b"),
        (".", "."),
    ];
    for (encoded, path) in bad {
        for (method, tail) in [
            ("GET", "artifact"),
            ("DELETE", "artifact"),
            ("GET", "artifacts"),
            ("DELETE", "artifacts"),
            ("GET", "artifacts/tree"),
        ] {
            let (status, body) = env.json(method, &format!("{tail}?path={encoded}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {tail} {path:?}: {body}");
            assert_eq!(body["code"], "logs.invalid_artifact_path", "{method} {tail} {path:?}");
            assert_eq!(body["details"]["path"], path, "{method} {tail}");
        }
        let (status, body) = env
            .upload(&format!("artifact?path={encoded}"), &[Part::File("f.txt", b"x")])
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("logs.invalid_artifact_path"))
        );
        let options = json!({"path": path});
        let (status, body) = env
            .upload("artifact", &[Part::File("f.txt", b"x"), Part::Json(options)])
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("logs.invalid_artifact_path")),
            "json path {path:?}"
        );
    }
    let (status, body) = env.json("GET", "artifact").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("logs.invalid_artifact_path"))
    );
    let (status, body) = env.upload("artifact?path=ok", &[Part::File("dir/..", b"x")]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("logs.invalid_artifact_path"))
    );
    for entry in ["../evil.txt", "/abs.txt", "ok/../../evil.txt"] {
        let archive = targz(&[("fine.txt", b"fine"), (entry, b"evil")]);
        let (status, body) = env
            .upload("artifacts/upload?path=data", &[Part::File("a.tar.gz", &archive)])
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{entry}: {body}");
        assert_eq!(body["code"], "logs.invalid_artifact_path");
        assert_eq!(body["details"]["path"], entry);
    }
    let (status, body) = env
        .upload("artifacts/upload", &[Part::File("a.tar.gz", b"not an archive at all")])
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("logs.invalid_archive")),
        "{body}"
    );
    let (status, body) = env.upload("artifact", &[Part::Json(json!({"path": "x"}))]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("logs.invalid_upload"))
    );
    let bad_run = "/streams/v1/polyaxon/acme/demo/runs/not-a-uuid/artifact?path=a";
    let (status, body) = json_of(env.call(Request::get(bad_run).body(Body::empty()).unwrap()).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("logs.invalid_uuid"))
    );
    env.expect_nothing_stored("after refused requests").await;
}

async fn oversized_uploads_store_nothing(backend: Backend) {
    let mut small = settings();
    small.artifacts.max_upload_bytes = MIB as u64;
    small.artifacts.max_unpacked_bytes = 2 * MIB as u64;
    let env = env(backend, small).await;
    let content = generated(3 * MIB);
    let too_large = |(status, body): (StatusCode, Value)| {
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert_eq!(body["code"], "logs.artifact_too_large");
        assert_eq!(body["details"]["limit_bytes"], MIB, "{body}");
    };
    too_large(
        env.upload("artifact?path=outputs", &[Part::File("big.bin", &content)])
            .await,
    );
    env.expect_nothing_stored("a direct upload").await;
    // Staged (the polyaxon client's order): the staging write fails the same way.
    let options = json!({"path": "outputs"});
    too_large(
        env.upload("artifact", &[Part::File("big.bin", &content), Part::Json(options)])
            .await,
    );
    env.expect_nothing_stored("a staged upload").await;
    // An archive over the upload limit.
    let incompressible = targz(&[("x.bin", &noise(3 * MIB / 2))]);
    assert!(incompressible.len() > 5 * MIB / 4);
    too_large(
        env.upload("artifacts/upload?path=d", &[Part::File("a.tar.gz", &incompressible)])
            .await,
    );
    env.expect_nothing_stored("an archive").await;
    // An archive within the upload limit that unpacks to more than allowed: what it wrote is removed.
    let zeros = vec![0u8; 900 * 1024];
    let bomb = targz(&[("1.bin", &zeros), ("2.bin", &zeros), ("3.bin", &zeros)]);
    assert!(bomb.len() < MIB);
    let (status, body) = env
        .upload("artifacts/upload?path=d", &[Part::File("a.tar.gz", &bomb)])
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("logs.artifact_too_large"))
    );
    env.expect_nothing_stored("an archive bomb").await;
    // A body read greedily (every frame ready at once) meets the route's body limit first: same answer.
    let (status, body) = env
        .upload_body("artifact?path=outputs", greedy(&[Part::File("big.bin", &content)]))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("logs.artifact_too_large"))
    );
    env.expect_nothing_stored("a greedy upload").await;
    // Within the limits, it works.
    let (status, body) = env
        .upload("artifact?path=outputs", &[Part::File("ok.bin", &content[..MIB])])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn archives_unpack_into_a_directory(backend: Backend) {
    let env = env(backend, settings()).await;
    let big = generated(MIB + 3);
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    let mut add = |name: &str, kind: tar::EntryType, content: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        if kind == tar::EntryType::Symlink {
            header.set_link_name("a.txt").unwrap();
        }
        builder.append_data(&mut header, name, content).unwrap();
    };
    add("./sub/", tar::EntryType::Directory, b"");
    add("./a.txt", tar::EntryType::Regular, b"alpha");
    add("sub/b.bin", tar::EntryType::Regular, &big);
    add("link", tar::EntryType::Symlink, b"");
    add(
        "events/metric/acc.plx",
        tar::EntryType::Regular,
        b"timestamp|step|metric\n2018-12-11T10:24:57|1|0.5\n",
    );
    let archive = builder.into_inner().unwrap().finish().unwrap();
    let mut consumer = collected_events(&env).await;

    let (status, body) = env
        .upload(
            "artifacts/upload?path=data&untar=true",
            &[Part::File("data.tar.gz", &archive)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["path"], "data");
    assert_eq!(body["files"], 3, "directories and links are skipped");
    let (_, tree) = env.json("GET", "artifacts/tree?path=data").await;
    assert_eq!(tree, json!({"files": {"a.txt": 5}, "dirs": ["events", "sub"]}));
    let (_, back, _) = env.download("artifact?path=data/sub/b.bin").await;
    assert!(back == big);
    // `ops push`: `POST .../artifacts` with the options after the archive, unpacked at the root.
    let (status, body) = env
        .upload(
            "artifacts",
            &[Part::File("run.tar.gz", &archive), Part::Json(json!({"untar": true}))],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["path"], "");
    let series = next_series(&mut consumer).await;
    assert_eq!((series.kind, series.name.as_str()), (EventKind::Metric, "acc"));
    assert_eq!(series.points.len(), 1);
    assert_eq!(series.points[0].value, json!(0.5));
    let (_, back, _) = env.download("artifact?path=a.txt").await;
    assert_eq!(back, b"alpha");
    // Plain (not gzipped) tar is accepted too.
    let mut plain = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(3);
    header.set_mode(0o644);
    plain.append_data(&mut header, "p.txt", &b"tar"[..]).unwrap();
    let plain = plain.into_inner().unwrap();
    let (status, body) = env
        .upload("artifacts/upload?path=plain", &[Part::File("p.tar", &plain)])
        .await;
    assert_eq!((status, body["files"].as_u64()), (StatusCode::OK, Some(1)), "{body}");
}

async fn plx_uploads_are_published_as_collected_series(backend: Backend) {
    let env = env(backend, settings()).await;
    let mut consumer = collected_events(&env).await;
    // A resource usage file is published as the `sys/<name>` metric.
    let (status, _) = env
        .upload(
            "artifact?path=resources/metric",
            &[Part::File(
                "cpu.plx",
                b"step|timestamp|metric\n|2026-12-04 20:21:06.450507+00:00|12.5\n",
            )],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let cpu = next_series(&mut consumer).await;
    assert_eq!((cpu.kind, cpu.name.as_str()), (EventKind::Metric, "sys/cpu"));
    assert_eq!(cpu.points.len(), 1);
    // Not an event file: nothing is published for it (the next message is the event file's).
    let (status, _) = env
        .upload(
            "artifact?path=outputs",
            &[Part::File("notes.plx", b"timestamp|step|metric\n")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let loss = "step|timestamp|metric\n0|2026-12-04 20:21:06.458805+00:00|1.0\n1|2026-12-04 20:21:06.459008+00:00|0.5\n2|2026-12-04 20:21:06.459112+00:00|nan\n3|2026-12-04 20:21:06.459272+00:00|0.25\n";
    let options = json!({"untar": false, "path": "events/metric", "overwrite": true});
    let file = "/home/user/plx/artifacts/run/events/metric/loss.plx";
    let (status, body) = env
        .upload("artifact", &[Part::File(file, loss.as_bytes()), Part::Json(options)])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["path"], "events/metric/loss.plx");
    let series = next_series(&mut consumer).await;
    assert_eq!((series.owner.as_str(), series.project.as_str()), ("acme", "demo"));
    assert_eq!(
        (series.run, series.kind, series.name.as_str()),
        (env.run, EventKind::Metric, "loss")
    );
    let points: Vec<(Option<i64>, Value)> = series.points.iter().map(|p| (p.step, p.value.clone())).collect();
    assert_eq!(
        points,
        [(Some(0), json!(1.0)), (Some(1), json!(0.5)), (Some(3), json!(0.25))]
    );
    let first = series.points[0].timestamp.unwrap();
    assert_eq!(first.to_rfc3339(), "2026-12-04T20:21:06.458805+00:00");

    // Another kind, query path, JSON lines.
    let span = "{\"timestamp\": \"2018-12-11T10:24:57\", \"span\": \"{\\\"name\\\":\\\"s1\\\"}\"}\n";
    let (status, _) = env
        .upload("artifact?path=events/span", &[Part::File("trace.plx", span.as_bytes())])
        .await;
    assert_eq!(status, StatusCode::OK);
    let series = next_series(&mut consumer).await;
    assert_eq!((series.kind, series.name.as_str()), (EventKind::Span, "trace"));
    assert_eq!(series.points[0].value, json!({"name": "s1"}));
    assert_eq!(series.points[0].step, None);
    // A file that does not parse is stored all the same, and publishes nothing.
    let (status, _) = env
        .upload(
            "artifact?path=events/metric",
            &[Part::File("bad.plx", b"timestamp|step|image\n")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, back, _) = env.download("artifact?path=events/metric/bad.plx").await;
    assert_eq!(back, b"timestamp|step|image\n");
    let (status, _) = env
        .upload(
            "artifact?path=events/metric",
            &[Part::File(
                "last.plx",
                b"timestamp|step|metric\n2018-12-11T10:24:57|1|2\n",
            )],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        next_series(&mut consumer).await.name,
        "last",
        "nothing came for bad.plx"
    );
}

macro_rules! both_backends {
    ($($case:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Backend::Local).await;
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Backend::S3).await;
                }
            )*
        }
    };
}

both_backends!(
    a_multi_mb_file_round_trips,
    a_directory_downloads_as_tar_gz,
    the_tree_lists_one_level_and_deletes_remove,
    bad_paths_are_refused,
    archives_unpack_into_a_directory,
    plx_uploads_are_published_as_collected_series,
);

/// On a single-threaded runtime the multipart reader takes one frame at a time, so the service's own
/// byte count (not the route's body limit) refuses the upload, and says what the limit is.
#[tokio::test]
async fn local_oversized_uploads_store_nothing() {
    oversized_uploads_store_nothing(Backend::Local).await;
}

#[tokio::test]
async fn s3_oversized_uploads_store_nothing() {
    oversized_uploads_store_nothing(Backend::S3).await;
}

// ---------------------------------------------------------------- the served stack

/// `App::serve` gives uploads their own body limit: an upload far above the common `http` body
/// limit goes through, streamed over a real connection; one above `max_upload_bytes` is refused
/// and stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_uploads_have_their_own_body_limit() {
    let mut limits = settings();
    limits.http.body_limit_bytes = 256 * 1024;
    limits.artifacts.max_upload_bytes = 4 * MIB as u64;
    let env = env(Backend::Local, limits).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let served = tokio::spawn(env.app.clone().serve(listener, shutdown.clone()));
    let client = reqwest::Client::new();
    let url = |tail: &str| format!("http://{addr}{}", env.url(tail));
    let post = |tail: String, content: Vec<u8>| {
        let body = multipart(&[Part::File("big.bin", &content)]);
        client
            .post(url(&tail))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(reqwest::Body::wrap_stream(body.into_data_stream()))
            .send()
    };
    let content = generated(3 * MIB);
    let answer = post("artifact?path=up".into(), content.clone()).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text().await.unwrap());
    let back = client.get(url("artifact?path=up/big.bin")).send().await.unwrap();
    assert_eq!(back.status(), StatusCode::OK);
    assert!(back.bytes().await.unwrap() == content);

    // Just over the limit (the service reads what is left of the body, up to its body limit, so
    // the client gets the answer rather than a reset connection).
    let answer = post("artifact?path=up2".into(), generated(4 * MIB + 300 * 1024))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["code"], "logs.artifact_too_large");
    assert!(env.blob.list(&format!("{}/up2", env.run)).await.unwrap().is_empty());
    shutdown.cancel();
    served.await.unwrap().unwrap();
}
