#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The `rpc://` result backend on RabbitMQ (`AMQP_URL`, default
//! `amqp://guest:guest@127.0.0.1:5672/%2f`) against Python Celery (venv at `MYELIN_VENV`, default
//! `/work/venv`): our reply message equals the one Celery's `RPCBackend.store_result` publishes,
//! a Python client's `AsyncResult.get()` receives our states, and our `wait` receives Python's.

mod support;

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use myelin_celery::backend::{ExceptionInfo, ReplyTarget, ResultBackend, RpcBackend, TaskMeta, TaskState};
use myelin_common::bus::amqp::{AmqpBus, AmqpSettings};
use myelin_common::bus::{ConsumeOptions, Delivery, QueueSpec, SharedBus};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

fn uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn bus() -> SharedBus {
    myelin_common::install_crypto_provider();
    let url = amqp_url();
    let settings = AmqpSettings {
        connection_name: "backend_rpc".into(),
        ..AmqpSettings::default()
    };
    match AmqpBus::connect(&url, settings).await {
        Ok(bus) => Arc::new(bus),
        Err(e) => panic!("RabbitMQ must be reachable at AMQP_URL ({url}): {e}"),
    }
}

fn python_cmd() -> tokio::process::Command {
    tokio::process::Command::new(support::python())
}

async fn python(script: &str, args: &[&str]) -> String {
    support::run_python(script, args).await
}

async fn next_delivery(bus: &SharedBus, queue: &str) -> Delivery {
    let mut consumer = bus.consume(queue, ConsumeOptions::default()).await.unwrap();
    let d = tokio::time::timeout(Duration::from_secs(20), consumer.next())
        .await
        .expect("no reply message");
    d.unwrap().unwrap()
}

const PY_STORE: &str = r#"
import sys
from celery import Celery
from celery.app.task import Context
url, queue, tid = sys.argv[1:4]
app = Celery(broker=url, backend="rpc://")
app.backend.store_result(tid, 42, "SUCCESS", request=Context(id=tid, reply_to=queue, correlation_id=tid))
"#;

#[tokio::test]
async fn our_reply_message_equals_celerys() {
    let bus = bus().await;
    let (py_q, our_q) = (format!("rpc-test-py-{}", uid()), format!("rpc-test-rs-{}", uid()));
    for q in [&py_q, &our_q] {
        bus.declare_queue(&QueueSpec::durable(q)).await.unwrap();
    }
    let (py_id, our_id) = (uid(), uid());
    python(PY_STORE, &[&amqp_url(), &py_q, &py_id]).await;
    let backend = RpcBackend::new(bus.clone());
    let reply = ReplyTarget {
        reply_to: our_q.clone(),
        correlation_id: our_id.clone(),
    };
    backend
        .store(&TaskMeta::success(&our_id, json!(42)), Some(&reply))
        .await
        .unwrap();

    let (py, ours) = (next_delivery(&bus, &py_q).await, next_delivery(&bus, &our_q).await);
    assert_eq!(py.properties.correlation_id.as_deref(), Some(py_id.as_str()));
    assert_eq!(ours.properties.correlation_id.as_deref(), Some(our_id.as_str()));
    let strip = |p: &myelin_common::bus::Properties| {
        let mut p = p.clone();
        p.correlation_id = None;
        p
    };
    assert_eq!(strip(&ours.properties), strip(&py.properties));
    assert_eq!((py.exchange.as_str(), ours.exchange.as_str()), ("", ""));
    let mut py_body: Value = serde_json::from_slice(&py.body).unwrap();
    let mut our_body: Value = serde_json::from_slice(&ours.body).unwrap();
    for (body, id) in [(&mut py_body, &py_id), (&mut our_body, &our_id)] {
        assert!(body["date_done"].as_str().unwrap().ends_with("+00:00"));
        assert_eq!(body["task_id"], json!(id));
        body["date_done"] = Value::Null;
        body["task_id"] = Value::Null;
    }
    assert_eq!(our_body, py_body);
    // The consumers are gone (deliveries back in their queues): deleting the queues drops them.
    for q in [&py_q, &our_q] {
        bus.delete_queue(q).await.unwrap();
    }
}

/// A Python client: declares its reply queue, prints its name, reads two task ids from stdin and
/// prints what `AsyncResult.get()` returns or raises for each.
const PY_CLIENT: &str = r#"
import json, sys
from celery import Celery
from celery.result import AsyncResult
app = Celery(broker=sys.argv[1], backend="rpc://")
with app.connection_for_write() as conn:
    app.backend.binding(conn.default_channel).declare()
print(app.backend.oid, flush=True)
ok_id, fail_id = sys.stdin.readline().split()
print(json.dumps(AsyncResult(ok_id, app=app).get(timeout=20)), flush=True)
try:
    AsyncResult(fail_id, app=app).get(timeout=20)
    print("NO EXCEPTION")
except ValueError as e:
    print("ValueError " + json.dumps(list(e.args)))
"#;

#[tokio::test]
async fn python_client_gets_our_results() {
    let backend = RpcBackend::new(bus().await);
    let mut child = python_cmd()
        .arg("-c")
        .arg(PY_CLIENT)
        .arg(amqp_url())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let read = async |lines: &mut tokio::io::Lines<_>| {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
        line.expect("python client too slow")
            .unwrap()
            .expect("python client ended early")
    };
    let oid: String = read(&mut lines).await;
    let (ok_id, fail_id) = (uid(), uid());
    let target = |id: &str| ReplyTarget {
        reply_to: oid.clone(),
        correlation_id: id.to_owned(),
    };
    backend
        .store(&TaskMeta::started(&ok_id, 7, "w@h"), Some(&target(&ok_id)))
        .await
        .unwrap();
    backend
        .store(&TaskMeta::success(&ok_id, json!({"v": [1, 2]})), Some(&target(&ok_id)))
        .await
        .unwrap();
    let failure = TaskMeta::failure(&fail_id, &ExceptionInfo::builtin("ValueError", "boom"), None);
    backend.store(&failure, Some(&target(&fail_id))).await.unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{ok_id} {fail_id}\n").as_bytes())
        .await
        .unwrap();
    stdin.flush().await.unwrap();
    let got: Value = serde_json::from_str(&read(&mut lines).await).unwrap();
    assert_eq!(got, json!({"v": [1, 2]}));
    assert_eq!(read(&mut lines).await, r#"ValueError ["boom"]"#);
    assert!(child.wait().await.unwrap().success());
}

#[tokio::test]
async fn we_wait_for_ours_and_pythons_results() {
    let backend = RpcBackend::new(bus().await);
    backend.declare_reply_queue().await.unwrap();
    let (ours, theirs, pending) = (uid(), uid(), uid());
    let reply = ReplyTarget {
        reply_to: backend.reply_to().to_owned(),
        correlation_id: ours.clone(),
    };
    backend
        .store(&TaskMeta::success(&ours, json!("mine")), Some(&reply))
        .await
        .unwrap();
    python(PY_STORE, &[&amqp_url(), backend.reply_to(), &theirs]).await;
    let meta = backend.wait(&theirs, Duration::from_secs(20)).await.unwrap();
    assert_eq!((meta.status, meta.result), (TaskState::Success, json!(42)));
    let meta = backend.wait(&ours, Duration::from_secs(20)).await.unwrap();
    assert_eq!((meta.status, meta.result), (TaskState::Success, json!("mine")));
    let err = backend.wait(&pending, Duration::from_millis(300)).await.unwrap_err();
    assert!(err.to_string().contains("not ready"), "{err}");
    // No reply_to: nothing is published, as in Celery.
    backend
        .store(&TaskMeta::success(&pending, json!(1)), None)
        .await
        .unwrap();
    assert!(backend.save_group("g", &[]).await.is_err());
}
