#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `KombuRedisBus` against a real Redis (`REDIS_URL`, default `redis://127.0.0.1:6379`; database
//! 10, and 11 for the visibility-timeout case) and against Python kombu/Celery from the venv at
//! `MYELIN_VENV` (default the workspace's `.venv`). A missing Redis or venv fails the tests. Every case uses
//! its own queue names, so the cases run in parallel.
//!
//! Run: `cargo test -p myelin-celery --test redis_broker`.

mod support;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use myelin_celery::broker::{KombuRedisBus, RedisBrokerOptions};
use myelin_celery::{Producer, Task, TaskContext, TaskMessage, TaskOutcome, Worker, WorkerConfig};
use myelin_common::bus::{
    Bus, ConsumeOptions, Consumer, Delivery, ExchangeKind, OutgoingMessage, QueueSpec, SharedBus,
};
use redis::AsyncCommands;
use serde_json::{Value, json};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(15);

/// `REDIS_URL` with its database replaced by `db`.
fn redis_url(db: u8) -> String {
    let base = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let root = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base.as_str(),
    };
    format!("{root}/{db}")
}

use support::run_python;

fn unique(case: &str) -> String {
    format!("myelin-test.redis.{case}.{}", uuid::Uuid::new_v4().simple())
}

async fn bus(db: u8) -> KombuRedisBus {
    KombuRedisBus::connect(&redis_url(db))
        .await
        .unwrap_or_else(|e| panic!("Redis at {} is not reachable: {e}", redis_url(db)))
}

async fn raw(db: u8) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(redis_url(db)).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

/// Declares `queue` as Celery does (direct exchange of the same name, bound with its name).
async fn celery_queue(bus: &KombuRedisBus, queue: &str) {
    bus.declare_exchange(queue, ExchangeKind::Direct).await.unwrap();
    bus.declare_queue(&QueueSpec::durable(queue)).await.unwrap();
    bus.bind_queue(queue, queue, queue).await.unwrap();
}

async fn next(consumer: &mut Consumer) -> Delivery {
    timeout(WAIT, consumer.next())
        .await
        .expect("no delivery in time")
        .expect("the consumer ended")
        .expect("the consumer failed")
}

fn text(msg: &str, priority: Option<u8>) -> OutgoingMessage {
    let mut m = OutgoingMessage::new(msg.as_bytes().to_vec());
    m.properties.priority = priority;
    m
}

async fn cleanup(bus: &KombuRedisBus, queue: &str) {
    bus.delete_queue(queue).await.unwrap();
    bus.delete_exchange(queue).await.unwrap();
}

#[tokio::test]
async fn publish_consume_ack_keeps_kombus_bookkeeping() {
    let bus = bus(10).await;
    let q = unique("ack");
    celery_queue(&bus, &q).await;
    let mut conn = raw(10).await;
    let members: Vec<String> = conn.smembers(format!("_kombu.binding.{q}")).await.unwrap();
    assert_eq!(members, [format!("{q}\x06\x16\x06\x16{q}")]);
    bus.publish(&q, &q, text("via-direct", None)).await.unwrap();
    bus.publish("", &q, text("via-default", None)).await.unwrap();
    assert_eq!(bus.queue_len(&q).await.unwrap(), 2);

    let mut consumer = bus.consume(&q, ConsumeOptions { prefetch: 4 }).await.unwrap();
    let first = next(&mut consumer).await;
    assert_eq!(&first.body[..], b"via-direct");
    assert_eq!(
        (first.exchange.as_str(), first.routing_key.as_str(), first.redelivered),
        (q.as_str(), q.as_str(), false)
    );
    let second = next(&mut consumer).await;
    assert_eq!(&second.body[..], b"via-default");
    assert_eq!(second.exchange, "");
    // Both are recorded as unacked: [message, exchange, routing_key] + a delivery time.
    let entries: Vec<(String, String)> = conn.hgetall("unacked").await.unwrap();
    let mine: Vec<Value> = entries
        .iter()
        .map(|(_, v)| serde_json::from_str::<Value>(v).unwrap())
        .filter(|v| v[2] == json!(q))
        .collect();
    assert_eq!(mine.len(), 2, "two unacked entries for {q}");
    assert!(mine.iter().any(|v| v[1] == json!(q)) && mine.iter().any(|v| v[1] == json!("")));
    let tags: Vec<String> = mine
        .iter()
        .map(|v| v[0]["properties"]["delivery_tag"].as_str().unwrap().to_owned())
        .collect();
    for tag in &tags {
        let score: Option<f64> = conn.zscore("unacked_index", tag).await.unwrap();
        assert!(score.is_some(), "{tag} is in unacked_index");
    }
    first.ack().await.unwrap();
    second.ack().await.unwrap();
    for tag in &tags {
        let entry: Option<String> = conn.hget("unacked", tag).await.unwrap();
        let score: Option<f64> = conn.zscore("unacked_index", tag).await.unwrap();
        assert!(
            entry.is_none() && score.is_none(),
            "ack removes {tag} from both indices"
        );
    }
    assert_eq!(bus.queue_len(&q).await.unwrap(), 0);
    assert!(bus.is_healthy().await);
    drop(consumer);
    cleanup(&bus, &q).await;
}

#[tokio::test]
async fn priorities_use_kombus_sub_queues_lowest_number_first() {
    let bus = bus(10).await;
    let q = unique("prio");
    celery_queue(&bus, &q).await;
    for (body, p) in [
        ("nine", Some(9)),
        ("none", None),
        ("five", Some(5)),
        ("zero", Some(0)),
        ("three", Some(3)),
    ] {
        bus.publish("", &q, text(body, p)).await.unwrap();
    }
    let mut conn = raw(10).await;
    for (suffix, len) in [("", 2usize), ("\x06\x163", 2), ("\x06\x166", 0), ("\x06\x169", 1)] {
        let n: usize = conn.llen(format!("{q}{suffix}")).await.unwrap();
        assert_eq!(n, len, "list {q}{suffix:?}");
    }
    let mut consumer = bus.consume(&q, ConsumeOptions { prefetch: 0 }).await.unwrap();
    let mut order = Vec::new();
    for _ in 0..5 {
        let d = next(&mut consumer).await;
        order.push(String::from_utf8(d.body.to_vec()).unwrap());
        d.ack().await.unwrap();
    }
    assert_eq!(order, ["none", "zero", "five", "three", "nine"]);
    drop(consumer);
    cleanup(&bus, &q).await;
}

#[tokio::test]
async fn nack_requeue_goes_to_the_tail_and_prefetch_is_honoured() {
    let bus = bus(10).await;
    let q = unique("nack");
    celery_queue(&bus, &q).await;
    for body in ["a", "b", "c"] {
        bus.publish("", &q, text(body, None)).await.unwrap();
    }
    let mut consumer = bus.consume(&q, ConsumeOptions { prefetch: 1 }).await.unwrap();
    let a = next(&mut consumer).await;
    assert_eq!(&a.body[..], b"a");
    // prefetch 1: nothing more while `a` is unsettled.
    assert!(timeout(Duration::from_millis(500), consumer.next()).await.is_err());
    a.nack(true).await.unwrap();
    let b = next(&mut consumer).await;
    assert_eq!((&b.body[..], b.redelivered), (&b"b"[..], false));
    b.nack(false).await.unwrap();
    let c = next(&mut consumer).await;
    assert_eq!(&c.body[..], b"c");
    c.ack().await.unwrap();
    let again = next(&mut consumer).await;
    assert_eq!((&again.body[..], again.redelivered), (&b"a"[..], true));
    again.ack().await.unwrap();
    assert!(
        timeout(Duration::from_millis(500), consumer.next()).await.is_err(),
        "b was dropped"
    );
    drop(consumer);
    cleanup(&bus, &q).await;
}

#[tokio::test]
async fn a_dropped_consumer_hands_its_deliveries_back() {
    let bus = bus(10).await;
    let q = unique("drop");
    celery_queue(&bus, &q).await;
    bus.publish("", &q, text("first", None)).await.unwrap();
    bus.publish("", &q, text("second", None)).await.unwrap();
    let mut consumer = bus.consume(&q, ConsumeOptions { prefetch: 1 }).await.unwrap();
    let held = next(&mut consumer).await;
    assert_eq!(&held.body[..], b"first");
    drop(consumer);
    // Restored at the head: consumed before "second", marked redelivered; the ack is refused.
    let mut consumer = bus.consume(&q, ConsumeOptions { prefetch: 1 }).await.unwrap();
    let again = next(&mut consumer).await;
    assert_eq!((&again.body[..], again.redelivered), (&b"first"[..], true));
    assert!(
        held.ack().await.is_err(),
        "a delivery of a dropped consumer cannot be acked"
    );
    again.ack().await.unwrap();
    let second = next(&mut consumer).await;
    assert_eq!((&second.body[..], second.redelivered), (&b"second"[..], false));
    second.ack().await.unwrap();
    drop(consumer);
    cleanup(&bus, &q).await;
}

#[tokio::test]
async fn visibility_timeout_restores_the_messages_of_a_killed_worker() {
    // Database 11 alone: a 1 s visibility timeout would restore other cases' unacked messages.
    let options = RedisBrokerOptions {
        visibility_timeout: Duration::from_secs(1),
        restore_interval: Duration::from_millis(200),
        polling_interval: Duration::from_millis(200),
        ..RedisBrokerOptions::default()
    };
    let bus = KombuRedisBus::connect_with(&redis_url(11), options).await.unwrap();
    let q = unique("visibility");
    celery_queue(&bus, &q).await;
    bus.publish("", &q, text("task", Some(5))).await.unwrap();
    // A worker that popped the message, recorded it as unacked as kombu does, then was killed.
    let mut conn = raw(11).await;
    let (_, payload): (String, String) = conn.brpop(format!("{q}\x06\x163"), 5.0).await.unwrap();
    let tag = serde_json::from_str::<Value>(&payload).unwrap()["properties"]["delivery_tag"]
        .as_str()
        .unwrap()
        .to_owned();
    let entry = serde_json::to_string(&json!([serde_json::from_str::<Value>(&payload).unwrap(), "", q])).unwrap();
    let delivered_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        - 5.0;
    let _: () = redis::pipe()
        .atomic()
        .zadd("unacked_index", &tag, delivered_at)
        .hset("unacked", &tag, entry)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(bus.queue_len(&q).await.unwrap(), 0);
    // Another process holding the mutex blocks the restore, as in kombu.
    let _: () = redis::cmd("SET")
        .arg("unacked_mutex")
        .arg("other")
        .arg("PX")
        .arg(60_000)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(bus.restore_visible().await.unwrap(), 0);
    let _: () = conn.del("unacked_mutex").await.unwrap();
    // Our consumer runs restore_visible itself and gets it back, redelivered, same priority.
    let mut consumer = bus.consume(&q, ConsumeOptions { prefetch: 1 }).await.unwrap();
    let d = next(&mut consumer).await;
    assert_eq!(
        (&d.body[..], d.redelivered, d.properties.priority),
        (&b"task"[..], true, Some(5))
    );
    d.ack().await.unwrap();
    let left: Option<String> = conn.hget("unacked", &tag).await.unwrap();
    assert!(left.is_none(), "acked after the restore");
    drop(consumer);
    cleanup(&bus, &q).await;
}

/// The envelope kombu 5.7 stores for `Producer.publish({'hello': 'world'}, exchange='',
/// routing_key=Q, headers={'h': 1}, priority=3, correlation_id='cid', reply_to='rt')`
/// (LRANGE of `Q\x06\x163`), delivery tag replaced by `TAG`.
const KOMBU_GOLDEN: &str = r#"{"body": "eyJoZWxsbyI6ICJ3b3JsZCJ9", "content-encoding": "utf-8", "content-type": "application/json", "headers": {"h": 1}, "properties": {"correlation_id": "cid", "reply_to": "rt", "delivery_mode": 2, "delivery_info": {"exchange": "", "routing_key": "QUEUE"}, "priority": 3, "body_encoding": "base64", "delivery_tag": "TAG"}}"#;

fn normalize_tag(payload: &str) -> String {
    let v: Value = serde_json::from_str(payload).unwrap();
    let tag = v["properties"]["delivery_tag"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(tag).is_ok(), "the delivery tag is a uuid: {tag}");
    payload.replace(tag, "TAG")
}

#[tokio::test]
async fn envelope_is_byte_for_byte_kombus() {
    let bus = bus(10).await;
    let ours = unique("golden-rust");
    let theirs = unique("golden-py");
    let mut msg = OutgoingMessage::json(&json!({"hello": "world"})).unwrap();
    msg.body = bytes::Bytes::from_static(br#"{"hello": "world"}"#);
    msg.properties.headers.insert("h".into(), json!(1));
    msg.properties.priority = Some(3);
    msg.properties.correlation_id = Some("cid".into());
    msg.properties.reply_to = Some("rt".into());
    bus.publish("", &ours, msg).await.unwrap();
    let script = r#"
import sys
from kombu import Connection
with Connection(sys.argv[1]) as c:
    c.Producer().publish({'hello': 'world'}, exchange='', routing_key=sys.argv[2], headers={'h': 1},
                         priority=3, correlation_id='cid', reply_to='rt')
"#;
    run_python(script, &[&redis_url(10), &theirs]).await;
    let mut conn = raw(10).await;
    let mine: Vec<String> = conn.lrange(format!("{ours}\x06\x163"), 0, -1).await.unwrap();
    let kombu: Vec<String> = conn.lrange(format!("{theirs}\x06\x163"), 0, -1).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(kombu.len(), 1);
    assert_eq!(normalize_tag(&mine[0]), KOMBU_GOLDEN.replace("QUEUE", &ours));
    assert_eq!(
        normalize_tag(&kombu[0]),
        KOMBU_GOLDEN.replace("QUEUE", &theirs),
        "the installed kombu still writes the golden"
    );
    for q in [&ours, &theirs] {
        bus.delete_queue(q).await.unwrap();
    }
}

#[tokio::test]
async fn python_send_task_is_consumed_and_decoded_by_us() {
    let bus = bus(10).await;
    let q = unique("py2rs");
    let script = r#"
import sys
from celery import Celery
app = Celery('interop', broker=sys.argv[1])
r = app.send_task('tasks.add', (2, 3), kwargs={'x': 'ü'}, queue=sys.argv[2], priority=6, countdown=30)
print(r.id)
"#;
    let id = run_python(script, &[&redis_url(10), &q]).await.trim().to_owned();
    let mut conn = raw(10).await;
    let members: Vec<String> = conn.smembers(format!("_kombu.binding.{q}")).await.unwrap();
    assert_eq!(
        members,
        [format!("{q}\x06\x16\x06\x16{q}")],
        "Celery declared the queue as we do"
    );
    celery_queue(&bus, &q).await;
    let mut consumer = bus.consume(&q, ConsumeOptions { prefetch: 1 }).await.unwrap();
    let d = next(&mut consumer).await;
    assert_eq!((d.exchange.as_str(), d.routing_key.as_str()), ("", q.as_str()));
    let msg = TaskMessage::from_delivery(&d).unwrap();
    assert_eq!((msg.id.as_str(), msg.task.as_str()), (id.as_str(), "tasks.add"));
    assert_eq!(msg.args, [json!(2), json!(3)]);
    assert_eq!(msg.kwargs.get("x"), Some(&json!("ü")));
    assert_eq!(msg.options.priority, Some(6));
    assert!(msg.options.eta.is_some(), "countdown became an eta");
    d.ack().await.unwrap();
    drop(consumer);
    cleanup(&bus, &q).await;
}

#[tokio::test]
async fn our_producer_feeds_a_python_kombu_consumer() {
    let bus = bus(10).await;
    let q = unique("rs2py");
    let producer = Producer::new(Arc::new(bus.clone()) as SharedBus);
    producer.declare_queue(&q).await.unwrap();
    let mut msg = TaskMessage::new("tasks.add", vec![json!(2), json!(3)], serde_json::Map::new());
    msg.options.priority = Some(9);
    producer.send(&q, &msg).await.unwrap();
    let script = r#"
import sys, json
from kombu import Connection, Exchange, Queue
url, qname = sys.argv[1], sys.argv[2]
out = {}
with Connection(url) as c:
    q = Queue(qname, Exchange(qname, type='direct'), routing_key=qname)
    def on(body, message):
        out.update(task=message.headers['task'], id=message.headers['id'], body=body,
                   priority=message.properties.get('priority'), info=message.delivery_info)
        message.ack()
    with c.Consumer(q, callbacks=[on], accept=['json']):
        while not out:
            c.drain_events(timeout=20)
print(json.dumps(out))
"#;
    let out: Value = serde_json::from_str(run_python(script, &[&redis_url(10), &q]).await.trim()).unwrap();
    assert_eq!(out["task"], json!("tasks.add"));
    assert_eq!(out["id"], json!(msg.id));
    assert_eq!(out["body"][0], json!([2, 3]));
    assert_eq!(out["priority"], json!(9));
    assert_eq!(out["info"]["routing_key"], json!(q));
    let mut conn = raw(10).await;
    let entries: Vec<(String, String)> = conn.hgetall("unacked").await.unwrap();
    assert!(!entries.iter().any(|(_, v)| v.contains(&msg.id)), "Python acked it");
    assert_eq!(bus.queue_len(&q).await.unwrap(), 0);
    cleanup(&bus, &q).await;
}

struct Add;

#[async_trait]
impl Task for Add {
    async fn run(&self, _ctx: TaskContext, msg: TaskMessage) -> TaskOutcome {
        TaskOutcome::Success(msg.args.iter().filter_map(Value::as_i64).sum::<i64>().into())
    }
}

#[tokio::test]
async fn python_control_ping_reaches_our_worker_over_redis_fanout() {
    let bus: SharedBus = Arc::new(bus(10).await);
    let q = unique("ping");
    let hostname = format!("myelin-{}@test", uuid::Uuid::new_v4().simple());
    let config = WorkerConfig {
        hostname: hostname.clone(),
        queues: vec![q.clone()],
        prefetch: 4,
        concurrency: 2,
    };
    let mut worker = Worker::new(bus.clone(), config);
    worker.register("tasks.add", Arc::new(Add));
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(worker.run(shutdown.clone()));
    let script = r#"
import sys, json, time
from celery import Celery
app = Celery('interop', broker=sys.argv[1])
deadline = time.time() + 20
while time.time() < deadline:
    replies = app.control.ping(destination=[sys.argv[2]], timeout=1.0)
    if replies:
        print(json.dumps(replies))
        break
"#;
    let out = run_python(script, &[&redis_url(10), &hostname]).await;
    let replies: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("no ping reply ({e}): {out:?}"));
    assert_eq!(replies, json!([{ hostname.clone(): {"ok": "pong"} }]));
    shutdown.cancel();
    timeout(WAIT, running).await.unwrap().unwrap().unwrap();
    bus.delete_queue(&q).await.unwrap();
    bus.delete_exchange(&q).await.unwrap();
}
