#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Celery events and remote control of our worker, as Flower, `celery inspect` and
//! `celery events` see them.
//!
//! - `memory_*`: on `MemoryBus`, our own `control::call` and an events queue bound to `celeryev`;
//! - `python_*`: on RabbitMQ at `AMQP_URL` (default `amqp://guest:guest@127.0.0.1:5672/%2f`)
//!   against Python Celery (venv at `MYELIN_VENV`, default the workspace's `.venv`; missing → the test
//!   fails): `app.events.Receiver` sees worker-online/heartbeat and task-received/started/
//!   succeeded, `app.control.inspect(destination=[ours])` answers every inspect command,
//!   `app.control.shutdown` stops our worker.
//!
//! Each test uses its own worker hostname and queue. RabbitMQ's `celery.pidbox` is shared (as
//! Celery workers share it); if an old durable one is in the way it is deleted and redeclared.
//!
//! Run: `cargo test -p myelin-celery --test events_control`.

mod support;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use myelin_celery::{Producer, Task, TaskContext, TaskMessage, TaskOutcome, Worker, WorkerConfig, control, events};
use myelin_common::bus::amqp::{AmqpBus, AmqpSettings};
use myelin_common::bus::memory::MemoryBus;
use myelin_common::bus::{ConsumeOptions, Consumer, ExchangeKind, ExchangeSpec, QueueSpec, SharedBus};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(20);

fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

use support::python;

/// `evtest.add(a, b)` and `evtest.sleep(s)` (returns `s` after `s` seconds, or stops on revoke).
struct Add;
struct Sleep;

#[async_trait]
impl Task for Add {
    async fn run(&self, _ctx: TaskContext, msg: TaskMessage) -> TaskOutcome {
        TaskOutcome::Success(msg.args.iter().filter_map(Value::as_i64).sum::<i64>().into())
    }
}

#[async_trait]
impl Task for Sleep {
    async fn run(&self, ctx: TaskContext, msg: TaskMessage) -> TaskOutcome {
        let secs = msg.args.first().and_then(Value::as_f64).unwrap_or(1.0);
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs_f64(secs)) => TaskOutcome::Success(json!(secs)),
            () = ctx.cancel.cancelled() => TaskOutcome::Failure { exc_type: "Terminated".into(), message: "revoked".into() },
        }
    }
}

fn start_worker(
    bus: &SharedBus,
    hostname: &str,
    queue: &str,
    task_events: bool,
) -> JoinHandle<myelin_celery::Result<()>> {
    let config = WorkerConfig {
        hostname: hostname.into(),
        queues: vec![queue.into()],
        prefetch: 8,
        concurrency: 1,
    };
    let mut worker = Worker::new(bus.clone(), config)
        .with_task_events(task_events)
        .with_broker_url(&amqp_url());
    worker.register("evtest.add", Arc::new(Add));
    worker.register("evtest.sleep", Arc::new(Sleep));
    tokio::spawn(worker.run(CancellationToken::new()))
}

/// Calls `method` on our worker until it answers; returns its reply.
async fn call(bus: &SharedBus, host: &str, method: &str, args: Value) -> Value {
    let dest = [host.to_owned()];
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let replies = control::call(bus, method, &args, Some(&dest), Duration::from_millis(500))
            .await
            .unwrap();
        if let Some(reply) = replies.into_iter().find_map(|mut r| r.remove(host)) {
            return reply;
        }
        assert!(tokio::time::Instant::now() < deadline, "no reply to {method}");
    }
}

async fn next_event(consumer: &mut Consumer) -> Vec<Value> {
    let d = timeout(WAIT, consumer.next())
        .await
        .expect("no event")
        .unwrap()
        .unwrap();
    let body: Value = serde_json::from_slice(&d.body).unwrap();
    d.ack().await.unwrap();
    match body {
        Value::Array(items) => items,
        one => vec![one],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_inspect_events_and_shutdown() {
    let bus: SharedBus = Arc::new(MemoryBus::new());
    let (host, queue) = ("mem@evtest", "evq");
    events::EventDispatcher::declare(&bus).await.unwrap();
    bus.declare_queue(&QueueSpec::durable("spy")).await.unwrap();
    bus.bind_queue("spy", events::EVENT_EXCHANGE, "#").await.unwrap();
    let mut spy = bus.consume("spy", ConsumeOptions::default()).await.unwrap();
    let worker = start_worker(&bus, host, queue, false);

    assert_eq!(call(&bus, host, "ping", json!({})).await, json!({"ok": "pong"}));
    let online = next_event(&mut spy).await;
    assert_eq!(online[0]["type"], "worker-online");
    assert_eq!(online[0]["hostname"], host);

    // Task events are off until enabled remotely.
    let producer = Producer::new(bus.clone());
    producer
        .send(queue, &TaskMessage::new("evtest.add", vec![json!(1)], Map::new()))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while call(&bus, host, "stats", json!({})).await["total"]["evtest.add"] != 1
        || call(&bus, host, "active", json!({})).await != json!([])
    {
        assert!(tokio::time::Instant::now() < deadline, "the first task never ran");
    }
    assert_eq!(
        call(&bus, host, "enable_events", json!({})).await,
        json!({"ok": "task events enabled"})
    );
    let msg = TaskMessage::new("evtest.add", vec![json!(2), json!(3)], Map::new());
    producer.send(queue, &msg).await.unwrap();
    let mut types = Vec::new();
    while !types.contains(&"task-succeeded".to_owned()) {
        for e in next_event(&mut spy).await {
            if e["type"].as_str().unwrap().starts_with("task-") {
                assert_eq!(e["uuid"], json!(msg.id), "only the second task's events: {e}");
            }
            if e["type"] == "task-succeeded" {
                assert_eq!(e["result"], "5");
            }
            types.push(e["type"].as_str().unwrap().to_owned());
        }
    }
    let task_types: Vec<_> = types.iter().filter(|t| t.starts_with("task-")).collect();
    assert_eq!(task_types, ["task-received", "task-started", "task-succeeded"]);

    let stats = call(&bus, host, "stats", json!({})).await;
    assert_eq!(stats["total"], json!({"evtest.add": 2}));
    assert_eq!(stats["pool"]["max-concurrency"], 1);
    assert_eq!(stats["prefetch_count"], 8);
    assert_eq!(
        call(&bus, host, "registered", json!({})).await,
        json!(["evtest.add", "evtest.sleep"])
    );
    assert_eq!(call(&bus, host, "active_queues", json!({})).await[0]["name"], queue);

    let mut eta = TaskMessage::new("evtest.add", vec![], Map::new());
    eta.options.eta = Some(chrono::Utc::now() + chrono::TimeDelta::minutes(5));
    producer.send(queue, &eta).await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let scheduled = call(&bus, host, "scheduled", json!({})).await;
        if scheduled.as_array().is_some_and(|s| !s.is_empty()) {
            assert_eq!(scheduled[0]["request"]["id"], json!(eta.id));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the ETA task is never scheduled"
        );
    }
    let query = call(&bus, host, "query_task", json!({"ids": [eta.id]})).await;
    assert_eq!(query[&eta.id][0], "scheduled");
    call(&bus, host, "revoke", json!({"task_id": eta.id})).await;
    assert_eq!(call(&bus, host, "revoked", json!({})).await, json!([eta.id]));
    assert!(call(&bus, host, "nope", json!({})).await["error"].is_string());

    control::broadcast(&bus, "shutdown", &json!({})).await.unwrap();
    timeout(WAIT, worker)
        .await
        .expect("shutdown stops the worker")
        .unwrap()
        .unwrap();
    let mut last = Value::Null;
    while last["type"] != "worker-offline" {
        last = next_event(&mut spy).await.pop().unwrap();
    }
}

async fn rabbitmq_bus(name: &str) -> SharedBus {
    let settings = AmqpSettings {
        connection_name: name.to_owned(),
        ..AmqpSettings::default()
    };
    let url = amqp_url();
    let bus: SharedBus = match AmqpBus::connect(&url, settings).await {
        Ok(bus) => Arc::new(bus),
        Err(e) => panic!("RabbitMQ must be reachable at AMQP_URL ({url}): {e}"),
    };
    // An old durable `celery.pidbox` (left by an earlier Myelin) would refuse Celery's declaration.
    let pidbox = ExchangeSpec::transient(control::PIDBOX_EXCHANGE, ExchangeKind::Fanout);
    if bus.declare_exchange_spec(&pidbox).await.is_err() {
        bus.delete_exchange(control::PIDBOX_EXCHANGE).await.unwrap();
        bus.declare_exchange_spec(&pidbox).await.unwrap();
    }
    bus
}

const EVENTS_PY: &str = r#"
import json, os, sys, time
from celery import Celery
host, queue = sys.argv[1], sys.argv[2]
app = Celery(broker=os.environ.get('AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672//'))
seen, sent = [], {}
deadline = time.time() + 30
with app.connection() as conn:
    def on_event(event):
        if event.get('hostname') != host:
            return
        seen.append(event)
        if event['type'] == 'worker-online' and not sent:
            sent['id'] = app.send_task('evtest.add', args=[20, 22], queue=queue).id
        types = [e['type'] for e in seen]
        if ('task-succeeded' in types and 'worker-heartbeat' in types) or time.time() > deadline:
            recv.should_stop = True
    recv = app.events.Receiver(conn, handlers={'*': on_event})
    ready = recv.on_consume_ready
    def on_ready(*a, **kw):
        ready(*a, **kw)
        print('READY', flush=True)
    recv.on_consume_ready = on_ready
    recv.capture(limit=None, timeout=30, wakeup=False)
print(json.dumps({'sent': sent.get('id'), 'events': seen}, default=str))
"#;

const INSPECT_PY: &str = r#"
import json, os, sys, time
from celery import Celery
host, queue = sys.argv[1], sys.argv[2]
app = Celery(broker=os.environ.get('AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672//'))
out = {'ping': app.control.ping(destination=[host], timeout=2)}
sleep = app.send_task('evtest.sleep', args=[3], queue=queue)
waiting = app.send_task('evtest.add', args=[5, 5], queue=queue)
eta = app.send_task('evtest.add', args=[1, 2], queue=queue, countdown=300)
i = app.control.inspect(destination=[host], timeout=2)
deadline = time.time() + 15
while time.time() < deadline:
    if (i.active() or {}).get(host) and (i.scheduled() or {}).get(host):
        break
    time.sleep(0.1)
for m in ['stats', 'active_queues', 'registered', 'active', 'reserved', 'scheduled', 'conf', 'report']:
    out[m] = getattr(i, m)()
out['query'] = i.query_task([sleep.id])
app.control.revoke(eta.id)
out['revoked'] = i.revoked()
out['ids'] = {'sleep': sleep.id, 'waiting': waiting.id, 'eta': eta.id}
print(json.dumps(out, default=str))
"#;

const SHUTDOWN_PY: &str = r#"
import os, sys
from celery import Celery
app = Celery(broker=os.environ.get('AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672//'))
app.control.shutdown(destination=[sys.argv[1]])
"#;

async fn run_python(script: &str, args: &[&str]) -> Value {
    let out = timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(python())
            .arg("-c")
            .arg(script)
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("python timed out")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or("null")).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sees_our_events_inspects_and_shuts_down_our_worker() {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (host, queue) = (
        format!("myelin-evtest-{id}@test"),
        format!("myelin-test.celery.events.{id}"),
    );
    let bus = rabbitmq_bus(&host).await;

    // 1. A Python event receiver listens first, then our worker comes online.
    let mut receiver = tokio::process::Command::new(python())
        .arg("-c")
        .arg(EVENTS_PY)
        .args([&host, &queue])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(receiver.stdout.take().unwrap()).lines();
    let first = timeout(WAIT, lines.next_line())
        .await
        .expect("receiver not ready")
        .unwrap();
    assert_eq!(first.as_deref(), Some("READY"), "the receiver did not start");
    let worker = start_worker(&bus, &host, &queue, true);
    let last = timeout(Duration::from_secs(40), async {
        let mut last = String::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            last = line;
        }
        last
    })
    .await
    .expect("the receiver did not finish");
    assert!(receiver.wait().await.unwrap().success(), "receiver failed: {last}");
    let captured: Value = serde_json::from_str(&last).unwrap();
    let sent = captured["sent"]
        .as_str()
        .expect("the receiver never saw worker-online")
        .to_owned();
    let events = captured["events"].as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(
        types.contains(&"worker-online") && types.contains(&"worker-heartbeat"),
        "{types:?}"
    );
    let of_task: Vec<&Value> = events.iter().filter(|e| e["uuid"] == json!(sent)).collect();
    let task_types: Vec<&str> = of_task.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(task_types, ["task-received", "task-started", "task-succeeded"]);
    assert_eq!(of_task[0]["name"], "evtest.add");
    assert_eq!(of_task[0]["args"], "[20, 22]");
    assert_eq!(of_task[2]["result"], "42");
    let heartbeat = events.iter().find(|e| e["type"] == "worker-heartbeat").unwrap();
    assert_eq!(heartbeat["freq"], 2.0);
    assert_eq!(heartbeat["sw_ident"], "myelin-celery");

    // 2. Every inspect command, from Python.
    let out = run_python(INSPECT_PY, &[&host, &queue]).await;
    let of = |m: &str| out[m][&host].clone();
    assert_eq!(out["ping"], json!([{ host.clone(): {"ok": "pong"} }]));
    let ids = &out["ids"];
    let stats = of("stats");
    assert_eq!(stats["pool"]["max-concurrency"], 1, "{stats}");
    assert_eq!(stats["prefetch_count"], 8);
    assert_eq!(stats["total"]["evtest.add"], 1);
    assert_eq!(stats["broker"]["transport"], "amqp");
    assert!(stats["uptime"].is_u64() && stats["pid"].is_u64());
    let queues = of("active_queues");
    assert_eq!(queues[0]["name"], json!(queue));
    assert_eq!(queues[0]["exchange"]["type"], "direct");
    assert_eq!(of("registered"), json!(["evtest.add", "evtest.sleep"]));
    let active = of("active");
    assert_eq!(active[0]["id"], ids["sleep"], "{out}");
    assert_eq!(active[0]["name"], "evtest.sleep");
    assert_eq!(active[0]["hostname"], json!(host));
    assert_eq!(active[0]["delivery_info"]["routing_key"], json!(queue));
    assert!(active[0]["time_start"].is_f64());
    assert_eq!(of("reserved")[0]["id"], ids["waiting"], "{out}");
    let scheduled = of("scheduled");
    assert_eq!(scheduled[0]["request"]["id"], ids["eta"], "{out}");
    assert!(scheduled[0]["eta"].is_string());
    assert_eq!(of("conf")["worker_concurrency"], 1);
    assert!(of("report")["ok"].as_str().unwrap().contains("myelin-celery"));
    assert_eq!(of("query")[ids["sleep"].as_str().unwrap()][0], "active");
    assert!(of("revoked").as_array().unwrap().contains(&ids["eta"]), "{out}");

    // 3. Shutdown from Python stops our worker gracefully (the running sleep finishes).
    run_python(SHUTDOWN_PY, &[&host]).await;
    timeout(WAIT, worker)
        .await
        .expect("shutdown did not stop our worker")
        .unwrap()
        .unwrap();
    bus.delete_queue(&queue).await.unwrap();
    bus.delete_exchange(&queue).await.unwrap();
}
