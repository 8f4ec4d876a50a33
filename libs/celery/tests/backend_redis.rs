#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The Redis result backend against a real Redis (`REDIS_URL`, default `redis://127.0.0.1:6379`)
//! and against Python Celery (the venv at `MYELIN_VENV`, default the workspace's `.venv`): Python reads what
//! we store and we read what Python stores, chords included. A missing Redis or Python fails.

mod support;

use std::sync::Arc;
use std::time::Duration;

use myelin_celery::backend::{
    ChordProgress, ExceptionInfo, ExtendedMeta, RedisBackend, ResultBackend, TaskMeta, TaskState, backend_from_url,
};
use serde_json::{Value, json};

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn backend() -> RedisBackend {
    let url = redis_url();
    match RedisBackend::connect(&url).await {
        Ok(b) => b,
        Err(e) => panic!("Redis must be reachable at REDIS_URL ({url}): {e}"),
    }
}

async fn python(script: &str, args: &[&str]) -> String {
    support::run_python(script, args).await
}

#[tokio::test]
async fn store_get_round_trip_and_forget() {
    let b = backend().await;
    let id = uid();
    assert_eq!(b.get(&id).await.unwrap(), None);
    let meta = TaskMeta::success(&id, json!({"a": [1, 2.5, "x"]}))
        .with_ids(Some(uid()), Some(uid()))
        .with_extended(ExtendedMeta {
            name: Some("tasks.add".into()),
            args: Some(json!([1, 2])),
            kwargs: Some(json!({})),
            worker: Some("w@h".into()),
            retries: Some(0),
            queue: Some("celery".into()),
        });
    b.store(&meta, None).await.unwrap();
    assert_eq!(b.get(&id).await.unwrap(), Some(meta));
    b.forget(&id).await.unwrap();
    assert_eq!(b.get(&id).await.unwrap(), None);
}

#[tokio::test]
async fn success_is_never_overwritten_and_expiry_is_set() {
    let b = backend().await;
    let id = uid();
    b.store(&TaskMeta::started(&id, 1, "w@h"), None).await.unwrap();
    assert_eq!(b.get(&id).await.unwrap().unwrap().status, TaskState::Started);
    b.store(&TaskMeta::success(&id, json!(1)), None).await.unwrap();
    let failure = TaskMeta::failure(&id, &ExceptionInfo::builtin("ValueError", "late"), None);
    b.store(&failure, None).await.unwrap();
    let stored = b.get(&id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.result), (TaskState::Success, json!(1)));
    let mut conn = redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let ttl: i64 = redis::cmd("TTL")
        .arg(RedisBackend::task_key(&id))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((86_000..=86_400).contains(&ttl), "ttl {ttl}");
}

#[tokio::test]
async fn wait_wakes_on_publish() {
    let b = Arc::new(backend().await);
    let id = uid();
    let waiter = tokio::spawn({
        let (b, id) = (b.clone(), id.clone());
        async move { b.wait(&id, Duration::from_secs(20)).await }
    });
    // Store only once the waiter is subscribed, so the value must come through the PUBLISH.
    let mut conn = redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let subs: (String, i64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(RedisBackend::task_key(&id))
            .query_async(&mut conn)
            .await
            .unwrap();
        if subs.1 == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "waiter never subscribed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    b.store(&TaskMeta::started(&id, 1, "w@h"), None).await.unwrap();
    b.store(&TaskMeta::success(&id, json!("done")), None).await.unwrap();
    let meta = waiter.await.unwrap().unwrap();
    assert_eq!((meta.status, meta.result), (TaskState::Success, json!("done")));
    let err = b.wait(&uid(), Duration::from_millis(200)).await.unwrap_err();
    assert!(err.to_string().contains("not ready"), "{err}");
}

#[tokio::test]
async fn chord_completes_once_in_order_under_concurrency() {
    let b = Arc::new(backend().await);
    let gid = uid();
    let n = 12;
    b.set_chord_size(&gid, n).await.unwrap();
    let mut parts = tokio::task::JoinSet::new();
    for i in (0..n).rev() {
        let (b, gid) = (b.clone(), gid.clone());
        parts.spawn(async move {
            let meta = TaskMeta::success(uid(), json!(i * 10));
            b.chord_part_return(&gid, Some(i), &meta).await.unwrap()
        });
    }
    let mut complete = vec![];
    while let Some(progress) = parts.join_next().await {
        if let ChordProgress::Complete { results, claim } = progress.unwrap() {
            complete.push((results, claim));
        }
    }
    assert_eq!(complete.len(), 1, "exactly one part completes the chord");
    let (results, claim) = complete.pop().unwrap();
    assert_eq!(results, (0..n).map(|i| json!(i * 10)).collect::<Vec<_>>());
    b.chord_done(&claim).await.unwrap();
    // A late duplicate after cleanup neither recreates the chord nor completes it again.
    let late = b
        .chord_part_return(&gid, Some(0), &TaskMeta::success(uid(), json!(0)))
        .await;
    assert_eq!(late.unwrap(), ChordProgress::Waiting);
}

#[tokio::test]
async fn chord_with_a_failed_part_fails_with_celerys_message() {
    let b = backend().await;
    let gid = uid();
    b.set_chord_size(&gid, 2).await.unwrap();
    let ok = TaskMeta::success(uid(), json!(1));
    assert_eq!(
        b.chord_part_return(&gid, Some(0), &ok).await.unwrap(),
        ChordProgress::Waiting
    );
    let failed_id = uid();
    let failed = TaskMeta::failure(&failed_id, &ExceptionInfo::builtin("ValueError", "boom"), None);
    match b.chord_part_return(&gid, Some(1), &failed).await.unwrap() {
        ChordProgress::Failed {
            task_id,
            error,
            message,
        } => {
            assert_eq!(task_id, failed_id);
            assert_eq!(error, ExceptionInfo::builtin("ValueError", "boom"));
            assert_eq!(message, format!("Dependency {failed_id} raised ValueError('boom')"));
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[tokio::test]
async fn groups_save_and_restore_and_url_selection() {
    let b = backend_from_url(&format!("{}/0", redis_url()), None)
        .await
        .unwrap()
        .unwrap();
    let gid = uid();
    let ids = vec![uid(), uid()];
    b.save_group(&gid, &ids).await.unwrap();
    assert_eq!(b.restore_group(&gid).await.unwrap(), Some(ids.clone()));
    let py = r#"
import sys
from celery import Celery
from celery.result import GroupResult
app = Celery(backend=sys.argv[1])
print(",".join(r.id for r in GroupResult.restore(sys.argv[2], app=app).results))
"#;
    let out = python(py, &[&format!("{}/0", redis_url()), &gid]).await;
    assert_eq!(out.trim(), ids.join(","));
    assert!(backend_from_url("disabled", None).await.unwrap().is_none());
    assert!(backend_from_url("", None).await.unwrap().is_none());
    assert!(backend_from_url("rpc://", None).await.is_err(), "rpc:// needs a bus");
    assert!(backend_from_url("mongodb://x", None).await.is_err());
}

const PY_READ_WRITE: &str = r#"
import json, sys
from celery import Celery
from celery.app.task import Context
from celery.result import AsyncResult
url, ok_id, fail_id, py_ok, py_fail = sys.argv[1:6]
app = Celery(backend=url)
app.conf.result_extended = True
print(json.dumps(AsyncResult(ok_id, app=app).get(timeout=10)))
try:
    AsyncResult(fail_id, app=app).get(timeout=10)
    print("NO EXCEPTION")
except ValueError as e:
    print("ValueError " + json.dumps(list(e.args)))
req = Context(id=py_ok, task="tasks.add", args=[2, 3], kwargs={}, hostname="py@h", retries=0,
              delivery_info={"routing_key": "celery"}, group="g1", children=[])
app.backend.store_result(py_ok, {"sum": 5}, "SUCCESS", request=req)
app.backend.store_result(py_fail, KeyError("k"), "FAILURE", traceback="Traceback ...")
"#;

#[tokio::test]
async fn python_celery_reads_ours_and_we_read_pythons() {
    let b = backend().await;
    let (ok_id, fail_id, py_ok, py_fail) = (uid(), uid(), uid(), uid());
    b.store(&TaskMeta::success(&ok_id, json!({"x": [1, "é"]})), None)
        .await
        .unwrap();
    let failure = TaskMeta::failure(
        &fail_id,
        &ExceptionInfo::builtin("ValueError", "boom"),
        Some("tb".into()),
    );
    b.store(&failure, None).await.unwrap();
    let out = python(PY_READ_WRITE, &[&redis_url(), &ok_id, &fail_id, &py_ok, &py_fail]).await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(serde_json::from_str::<Value>(lines[0]).unwrap(), json!({"x": [1, "é"]}));
    assert_eq!(lines[1], r#"ValueError ["boom"]"#);

    let ok = b.get(&py_ok).await.unwrap().expect("python stored a result");
    assert_eq!((ok.status, &ok.result), (TaskState::Success, &json!({"sum": 5})));
    assert_eq!(ok.group_id.as_deref(), Some("g1"));
    let ext = ok.extended.expect("result_extended fields");
    assert_eq!(
        (ext.name.as_deref(), ext.args, ext.queue.as_deref()),
        (Some("tasks.add"), Some(json!([2, 3])), Some("celery"))
    );
    assert!(ok.date_done.is_some());
    let fail = b.get(&py_fail).await.unwrap().unwrap();
    assert_eq!(fail.status, TaskState::Failure);
    assert_eq!(fail.exception(), Some(ExceptionInfo::builtin("KeyError", "k")));
    assert_eq!(fail.traceback.as_deref(), Some("Traceback ..."));
}

/// Python's `RedisBackend.on_chord_part_return` for one header part; the body's publish is
/// replaced by printing the results it would be called with.
const PY_CHORD_PART: &str = r#"
import json, sys
from celery import Celery
from celery.app.task import Context
url, gid, index, tid, value = sys.argv[1:6]
app = Celery(backend=url, broker="memory://")
app.amqp._retry_publish = lambda fun, resl: print("BODY " + json.dumps(resl))
req = Context(id=tid, group=gid, group_index=int(index),
              chord={"task": "body", "args": [], "kwargs": {}, "options": {}, "subtask_type": None, "immutable": False})
app.backend.on_chord_part_return(req, "SUCCESS", json.loads(value))
print("PART DONE")
"#;

#[tokio::test]
async fn chord_shared_with_python_workers() {
    let b = backend().await;
    let url = redis_url();
    // Python parts first, ours completes: we read Python's parts.
    let gid = uid();
    b.set_chord_size(&gid, 3).await.unwrap();
    for (i, v) in [(0, "\"py0\""), (2, "{\"py\": 2}")] {
        let out = python(PY_CHORD_PART, &[&url, &gid, &i.to_string(), &uid(), v]).await;
        assert_eq!(out.trim(), "PART DONE");
    }
    match b
        .chord_part_return(&gid, Some(1), &TaskMeta::success(uid(), json!(1)))
        .await
        .unwrap()
    {
        ChordProgress::Complete { results, claim } => {
            assert_eq!(results, vec![json!("py0"), json!(1), json!({"py": 2})]);
            b.chord_done(&claim).await.unwrap();
        }
        other => panic!("expected Complete, got {other:?}"),
    }
    // Our parts first, Python's completes: Python reads ours and calls the body.
    let gid = uid();
    b.set_chord_size(&gid, 3).await.unwrap();
    for i in [2, 0] {
        let part = b
            .chord_part_return(&gid, Some(i), &TaskMeta::success(uid(), json!(i)))
            .await;
        assert_eq!(part.unwrap(), ChordProgress::Waiting);
    }
    let out = python(PY_CHORD_PART, &[&url, &gid, "1", &uid(), "\"py1\""]).await;
    assert_eq!(out.lines().next(), Some(r#"BODY [0, "py1", 2]"#), "{out}");
}
