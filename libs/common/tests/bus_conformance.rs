#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The bus conformance suite: every case is written once against `SharedBus` and run on both
//! adapters, the in-process `MemoryBus` (module `memory`) and RabbitMQ through `AmqpBus` (module
//! `rabbitmq`, broker at `AMQP_URL`, default `amqp://guest:guest@127.0.0.1:5672/%2f`; an
//! unreachable broker fails the tests). Each case uses names under its own unique prefix and
//! deletes what it declared. `rabbitmq::reconnect_after_connection_loss` force-closes only its own
//! connections with `rabbitmqctl` (must be on PATH; the tests run as root).
//!
//! Run: `cargo test -p myelin-common --test bus_conformance`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use myelin_common::bus::amqp::{AmqpBus, AmqpSettings};
use myelin_common::bus::memory::MemoryBus;
use myelin_common::bus::{
    ConsumeOptions, Consumer, Delivery, Error, ExchangeKind, ExchangeSpec, OutgoingMessage, Properties, QueueSpec,
    SharedBus,
};
use serde_json::{Value, json};
use tokio::time::timeout;

/// Longest wait for anything that should happen.
const WAIT: Duration = Duration::from_secs(10);
/// How long nothing must arrive when a case checks that nothing arrives.
const QUIET: Duration = Duration::from_millis(400);

fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

fn unique_prefix(case: &str) -> String {
    format!("myelin-test.{case}.{}", uuid::Uuid::new_v4().simple())
}

async fn memory_bus(_prefix: &str) -> SharedBus {
    Arc::new(MemoryBus::new())
}

async fn rabbitmq_bus(prefix: &str) -> SharedBus {
    let settings = AmqpSettings {
        connection_name: prefix.to_owned(),
        ..AmqpSettings::default()
    };
    let url = amqp_url();
    match AmqpBus::connect(&url, settings).await {
        Ok(bus) => Arc::new(bus),
        Err(e) => panic!("RabbitMQ must be reachable at AMQP_URL ({url}): {e}"),
    }
}

fn msg(body: &str) -> OutgoingMessage {
    OutgoingMessage::new(body.as_bytes().to_vec())
}

fn with_priority(body: &str, priority: Option<u8>) -> OutgoingMessage {
    let mut m = msg(body);
    m.properties.priority = priority;
    m
}

fn text(delivery: &Delivery) -> String {
    String::from_utf8(delivery.body.to_vec()).unwrap()
}

async fn next(consumer: &mut Consumer) -> Delivery {
    match timeout(WAIT, consumer.next()).await {
        Ok(Some(Ok(delivery))) => delivery,
        Ok(Some(Err(e))) => panic!("consumer failed: {e}"),
        Ok(None) => panic!("consumer ended"),
        Err(_) => panic!("no delivery within {WAIT:?}"),
    }
}

async fn assert_quiet(consumer: &mut Consumer, what: &str) {
    if let Ok(item) = timeout(QUIET, consumer.next()).await {
        let got = item.map(|r| r.map(|d| text(&d)));
        panic!("{what}: expected nothing, got {got:?}");
    }
}

/// Receives `n` deliveries, acks them and returns their bodies.
async fn take(consumer: &mut Consumer, n: usize) -> Vec<String> {
    let mut bodies = Vec::new();
    for _ in 0..n {
        let d = next(consumer).await;
        bodies.push(text(&d));
        d.ack().await.unwrap();
    }
    bodies
}

async fn queue(bus: &SharedBus, name: &str) {
    bus.declare_queue(&QueueSpec::durable(name)).await.unwrap();
}

async fn consume(bus: &SharedBus, queue: &str, prefetch: u16) -> Consumer {
    bus.consume(queue, ConsumeOptions { prefetch }).await.unwrap()
}

async fn cleanup(bus: &SharedBus, queues: &[&str], exchanges: &[&str]) {
    for q in queues {
        bus.delete_queue(q).await.unwrap();
    }
    for ex in exchanges {
        bus.delete_exchange(ex).await.unwrap();
    }
}

mod cases {
    use super::*;

    /// Topic wildcards, a queue matched by two bindings gets one copy, unmatched keys are dropped.
    pub async fn topic_routing(bus: SharedBus, p: &str) {
        let ex = format!("{p}.events");
        let [one, many, suffix, exact, twice] = ["one", "many", "suffix", "exact", "twice"].map(|q| format!("{p}.{q}"));
        bus.declare_exchange(&ex, ExchangeKind::Topic).await.unwrap();
        for (q, keys) in [
            (&one, &["run.*"][..]),
            (&many, &["run.#"]),
            (&suffix, &["#.changed"]),
            (&exact, &["project.created"]),
            (&twice, &["run.*", "#"]),
        ] {
            queue(&bus, q).await;
            for key in keys {
                bus.bind_queue(q, &ex, key).await.unwrap();
            }
        }
        for key in ["run.created", "run.status.changed", "project.created", "job.done.nope"] {
            bus.publish(&ex, key, msg(key)).await.unwrap();
        }
        let expected: [(&String, &[&str]); 5] = [
            (&one, &["run.created"]),
            (&many, &["run.created", "run.status.changed"]),
            (&suffix, &["run.status.changed"]),
            (&exact, &["project.created"]),
            (
                &twice,
                &["run.created", "run.status.changed", "project.created", "job.done.nope"],
            ),
        ];
        for (q, bodies) in expected {
            let mut c = consume(&bus, q, 10).await;
            let first = next(&mut c).await;
            assert_eq!(
                (first.exchange.as_str(), first.routing_key.as_str()),
                (ex.as_str(), bodies[0])
            );
            assert!(!first.redelivered);
            first.ack().await.unwrap();
            let rest = take(&mut c, bodies.len() - 1).await;
            assert_eq!(rest, bodies[1..], "queue {q}");
            assert_quiet(&mut c, q).await;
        }
        cleanup(&bus, &[&one, &many, &suffix, &exact, &twice], &[&ex]).await;
    }

    /// Direct exchanges match keys exactly, fanout ignores them, `""` routes by queue name.
    pub async fn direct_fanout_and_default_exchange(bus: SharedBus, p: &str) {
        let (direct, fanout) = (format!("{p}.direct"), format!("{p}.fanout"));
        let (q1, q2) = (format!("{p}.q1"), format!("{p}.q2"));
        bus.declare_exchange(&direct, ExchangeKind::Direct).await.unwrap();
        bus.declare_exchange(&fanout, ExchangeKind::Fanout).await.unwrap();
        bus.declare_exchange(&direct, ExchangeKind::Direct).await.unwrap();
        queue(&bus, &q1).await;
        queue(&bus, &q2).await;
        queue(&bus, &q2).await;
        bus.bind_queue(&q1, &direct, "k1").await.unwrap();
        bus.bind_queue(&q2, &direct, "k2").await.unwrap();
        bus.bind_queue(&q1, &fanout, "").await.unwrap();
        bus.bind_queue(&q2, &fanout, "ignored").await.unwrap();

        bus.publish(&direct, "k1", msg("direct k1")).await.unwrap();
        bus.publish(&direct, "k1.x", msg("direct k1.x")).await.unwrap();
        bus.publish("", &q2, msg("default q2")).await.unwrap();
        bus.publish("", &format!("{p}.nobody"), msg("default nobody"))
            .await
            .unwrap();
        bus.publish(&fanout, "whatever", msg("fanout")).await.unwrap();

        let mut c1 = consume(&bus, &q1, 10).await;
        assert_eq!(take(&mut c1, 2).await, ["direct k1", "fanout"]);
        assert_quiet(&mut c1, &q1).await;
        let mut c2 = consume(&bus, &q2, 10).await;
        let d = next(&mut c2).await;
        assert_eq!(
            (d.exchange.as_str(), d.routing_key.as_str(), text(&d).as_str()),
            ("", q2.as_str(), "default q2")
        );
        d.ack().await.unwrap();
        assert_eq!(take(&mut c2, 1).await, ["fanout"]);
        assert_quiet(&mut c2, &q2).await;
        cleanup(&bus, &[&q1, &q2], &[&direct, &fanout]).await;
    }

    /// An acked message is gone for good, also for later consumers.
    pub async fn ack_removes(bus: SharedBus, p: &str) {
        let q = format!("{p}.q");
        queue(&bus, &q).await;
        bus.publish("", &q, msg("once")).await.unwrap();
        let mut c = consume(&bus, &q, 10).await;
        assert_eq!(take(&mut c, 1).await, ["once"]);
        drop(c);
        let mut again = consume(&bus, &q, 10).await;
        assert_quiet(&mut again, "acked message").await;
        cleanup(&bus, &[&q], &[]).await;
    }

    /// A nack with requeue redelivers the same message, flagged redelivered.
    pub async fn nack_requeue_redelivers(bus: SharedBus, p: &str) {
        let q = format!("{p}.q");
        queue(&bus, &q).await;
        bus.publish("", &q, msg("again")).await.unwrap();
        bus.publish("", &q, msg("second")).await.unwrap();
        let mut c = consume(&bus, &q, 1).await;
        let d = next(&mut c).await;
        assert_eq!((text(&d).as_str(), d.redelivered), ("again", false));
        d.nack(true).await.unwrap();
        let d = next(&mut c).await;
        assert_eq!(
            (text(&d).as_str(), d.redelivered),
            ("again", true),
            "requeued at the head"
        );
        d.ack().await.unwrap();
        let d = next(&mut c).await;
        assert_eq!((text(&d).as_str(), d.redelivered), ("second", false));
        d.ack().await.unwrap();
        assert_quiet(&mut c, &q).await;
        cleanup(&bus, &[&q], &[]).await;
    }

    /// A nack without requeue dead-letters (with `x-death`) or, without a DLX, drops.
    pub async fn nack_without_requeue_dead_letters(bus: SharedBus, p: &str) {
        let (dlx, dead, work, plain) = (
            format!("{p}.dlx"),
            format!("{p}.dead"),
            format!("{p}.work"),
            format!("{p}.plain"),
        );
        bus.declare_exchange(&dlx, ExchangeKind::Fanout).await.unwrap();
        queue(&bus, &dead).await;
        bus.bind_queue(&dead, &dlx, "").await.unwrap();
        bus.declare_queue(&QueueSpec {
            dead_letter_exchange: Some(dlx.clone()),
            ..QueueSpec::durable(&work)
        })
        .await
        .unwrap();
        queue(&bus, &plain).await;

        bus.publish("", &work, msg("poison")).await.unwrap();
        bus.publish("", &plain, msg("dropped")).await.unwrap();
        let mut cw = consume(&bus, &work, 10).await;
        next(&mut cw).await.nack(false).await.unwrap();
        let mut cp = consume(&bus, &plain, 10).await;
        next(&mut cp).await.nack(false).await.unwrap();

        let mut cd = consume(&bus, &dead, 10).await;
        let d = next(&mut cd).await;
        assert_eq!(text(&d), "poison");
        assert_eq!(
            (d.exchange.as_str(), d.routing_key.as_str()),
            (dlx.as_str(), work.as_str())
        );
        let death = &d.properties.headers["x-death"][0];
        assert_eq!(death["reason"], "rejected", "x-death: {death}");
        assert_eq!(death["queue"], Value::String(work.clone()));
        assert_eq!(death["count"], 1);
        assert_eq!(death["routing-keys"], json!([work]));
        d.ack().await.unwrap();
        assert_quiet(&mut cw, "rejected message is not requeued").await;
        assert_quiet(&mut cp, "rejected message without a DLX is dropped").await;
        cleanup(&bus, &[&work, &plain, &dead], &[&dlx]).await;
    }

    /// Unsettled deliveries (even dropped `Delivery` values) go back to the queue, flagged
    /// redelivered, when their consumer goes away, and only then.
    pub async fn consumer_death_redelivers(bus: SharedBus, p: &str) {
        let q = format!("{p}.q");
        queue(&bus, &q).await;
        for body in ["a", "b", "c"] {
            bus.publish("", &q, msg(body)).await.unwrap();
        }
        let mut c1 = consume(&bus, &q, 10).await;
        let a = next(&mut c1).await;
        assert_eq!(text(&a), "a");
        a.ack().await.unwrap();
        let b = next(&mut c1).await;
        assert_eq!(text(&b), "b");
        drop(b);
        let c = next(&mut c1).await;
        assert_eq!(text(&c), "c");
        assert_quiet(&mut c1, "a dropped delivery stays unacked").await;
        drop(c1);
        let mut c2 = consume(&bus, &q, 10).await;
        for body in ["b", "c"] {
            let d = next(&mut c2).await;
            assert_eq!((text(&d).as_str(), d.redelivered), (body, true));
            d.ack().await.unwrap();
        }
        drop(c);
        assert_quiet(&mut c2, &q).await;
        cleanup(&bus, &[&q], &[]).await;
    }

    /// With prefetch 2 only two deliveries are in flight until one is acked.
    pub async fn prefetch_limits_in_flight(bus: SharedBus, p: &str) {
        let q = format!("{p}.q");
        queue(&bus, &q).await;
        for i in 1..=5 {
            bus.publish("", &q, msg(&format!("m{i}"))).await.unwrap();
        }
        let mut c = consume(&bus, &q, 2).await;
        let m1 = next(&mut c).await;
        let m2 = next(&mut c).await;
        assert_eq!([text(&m1), text(&m2)], ["m1", "m2"]);
        assert_quiet(&mut c, "prefetch 2 with two unacked").await;
        m2.ack().await.unwrap();
        let m3 = next(&mut c).await;
        assert_eq!(text(&m3), "m3");
        assert_quiet(&mut c, "prefetch 2 with two unacked again").await;
        m1.ack().await.unwrap();
        m3.ack().await.unwrap();
        assert_eq!(take(&mut c, 2).await, ["m4", "m5"]);
        cleanup(&bus, &[&q], &[]).await;
    }

    /// A priority queue delivers the highest priority first, FIFO within one priority.
    pub async fn priorities(bus: SharedBus, p: &str) {
        let q = format!("{p}.q");
        bus.declare_queue(&QueueSpec {
            max_priority: Some(10),
            ..QueueSpec::durable(&q)
        })
        .await
        .unwrap();
        for (body, priority) in [
            ("none", None),
            ("low", Some(1)),
            ("high-1", Some(9)),
            ("mid", Some(5)),
            ("high-2", Some(9)),
            ("max", Some(200)),
        ] {
            bus.publish("", &q, with_priority(body, priority)).await.unwrap();
        }
        let mut c = consume(&bus, &q, 1).await;
        assert_eq!(take(&mut c, 6).await, ["max", "high-1", "high-2", "mid", "low", "none"]);
        cleanup(&bus, &[&q], &[]).await;
    }

    /// `publish` returns once the message is on the queue; an unknown exchange is an error, not
    /// a hang, and publishing works again afterwards.
    pub async fn publisher_confirms(bus: SharedBus, p: &str) {
        let q = format!("{p}.q");
        queue(&bus, &q).await;
        bus.publish("", &q, msg("confirmed")).await.unwrap();
        let mut c = consume(&bus, &q, 10).await;
        assert_eq!(take(&mut c, 1).await, ["confirmed"]);

        let missing = format!("{p}.missing");
        let result = timeout(WAIT, bus.publish(&missing, "k", msg("lost")))
            .await
            .expect("publish must not hang");
        assert!(
            matches!(result, Err(Error::NotFound(_))),
            "publish to a missing exchange: {result:?}"
        );

        bus.publish("", &q, msg("after")).await.unwrap();
        assert_eq!(take(&mut c, 1).await, ["after"]);
        cleanup(&bus, &[&q], &[]).await;
    }

    /// Every property survives the trip, headers with nested arrays and tables included.
    pub async fn properties_round_trip(bus: SharedBus, p: &str) {
        let q = format!("{p}.q");
        bus.declare_queue(&QueueSpec {
            max_priority: Some(9),
            ..QueueSpec::durable(&q)
        })
        .await
        .unwrap();
        let Value::Object(headers) = json!({
            "id": "b1f7", "task": "myelin.execute_run", "retries": 0, "eta": null, "big": -9_007_199_254_740_993_i64,
            "ratio": 0.25, "ok": true,
            "argsrepr": [1, "two", [3.5, false], {"k": null}],
            "nested": {"a": {"b": [{"c": "d"}]}, "empty": {}, "list": []}
        }) else {
            unreachable!()
        };
        let properties = Properties {
            content_type: Some("application/json".into()),
            content_encoding: Some("utf-8".into()),
            headers,
            priority: Some(3),
            correlation_id: Some(format!("{p}.corr")),
            reply_to: Some(format!("{p}.reply")),
            message_id: Some("m-1".into()),
            expiration: Some(Duration::from_secs(60)),
            persistent: true,
        };
        let sent = OutgoingMessage {
            body: "{\"x\":1}".into(),
            properties: properties.clone(),
        };
        bus.publish("", &q, sent).await.unwrap();
        let mut c = consume(&bus, &q, 10).await;
        let d = next(&mut c).await;
        assert_eq!(d.properties, properties);
        assert_eq!(&d.body[..], b"{\"x\":1}");
        d.ack().await.unwrap();

        let json = OutgoingMessage::json(&json!({"n": 1})).unwrap();
        bus.publish("", &q, json).await.unwrap();
        let d = next(&mut c).await;
        assert_eq!(d.properties.content_type.as_deref(), Some("application/json"));
        assert!(d.properties.persistent && d.properties.headers.is_empty() && d.properties.expiration.is_none());
        d.ack().await.unwrap();
        cleanup(&bus, &[&q], &[]).await;
    }

    /// Two consumers of one queue share the work; no message is delivered twice.
    pub async fn competing_consumers(bus: SharedBus, p: &str) {
        let q = format!("{p}.q");
        queue(&bus, &q).await;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut workers = Vec::new();
        for worker in 0..2 {
            let mut c = consume(&bus, &q, 2).await;
            let tx = tx.clone();
            workers.push(tokio::spawn(async move {
                while let Some(Ok(d)) = c.next().await {
                    let body = text(&d);
                    d.ack().await.unwrap();
                    if tx.send((worker, body)).is_err() {
                        break;
                    }
                }
            }));
        }
        for i in 0..40 {
            bus.publish("", &q, msg(&format!("job-{i}"))).await.unwrap();
        }
        let mut seen = HashSet::new();
        let mut per_worker = [0; 2];
        for _ in 0..40 {
            let (worker, body) = timeout(WAIT, rx.recv())
                .await
                .expect("all jobs within the deadline")
                .unwrap();
            assert!(seen.insert(body.clone()), "{body} delivered twice");
            per_worker[worker] += 1;
        }
        assert!(timeout(QUIET, rx.recv()).await.is_err(), "no duplicate after all jobs");
        assert!(
            per_worker.iter().all(|&n| n > 0),
            "both consumers got work: {per_worker:?}"
        );
        workers.iter().for_each(tokio::task::JoinHandle::abort);
        cleanup(&bus, &[&q], &[]).await;
    }

    /// Expired messages are not delivered; fresh ones are.
    pub async fn message_expiration(bus: SharedBus, p: &str) {
        let q = format!("{p}.q");
        queue(&bus, &q).await;
        let mut short = msg("short-lived");
        short.properties.expiration = Some(Duration::from_millis(50));
        bus.publish("", &q, short).await.unwrap();
        bus.publish("", &q, msg("fresh")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut c = consume(&bus, &q, 10).await;
        assert_eq!(take(&mut c, 1).await, ["fresh"]);
        assert_quiet(&mut c, "expired message").await;
        cleanup(&bus, &[&q], &[]).await;
    }

    /// Deleting a queue ends its consumers with `NotFound`; deleting it again is fine; an
    /// auto-delete queue goes away with its last consumer; consuming a missing queue fails.
    pub async fn queue_deletion(bus: SharedBus, p: &str) {
        let (q, auto) = (format!("{p}.q"), format!("{p}.auto"));
        queue(&bus, &q).await;
        let mut c = consume(&bus, &q, 10).await;
        bus.delete_queue(&q).await.unwrap();
        match timeout(WAIT, c.next()).await.expect("the consumer must end") {
            Some(Err(Error::NotFound(_))) => {}
            other => panic!("expected NotFound, got {:?}", other.map(|r| r.map(|d| text(&d)))),
        }
        assert!(timeout(WAIT, c.next()).await.unwrap().is_none());
        bus.delete_queue(&q).await.unwrap();
        assert!(matches!(
            bus.consume(&q, ConsumeOptions::default()).await,
            Err(Error::NotFound(_))
        ));

        bus.declare_queue(&QueueSpec {
            auto_delete: true,
            durable: false,
            ..QueueSpec::durable(&auto)
        })
        .await
        .unwrap();
        drop(consume(&bus, &auto, 10).await);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match bus.consume(&auto, ConsumeOptions::default()).await {
                Err(Error::NotFound(_)) => break,
                Err(e) => panic!("unexpected error: {e}"),
                Ok(c) => drop(c),
            }
            assert!(tokio::time::Instant::now() < deadline, "auto-delete queue still there");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        cleanup(&bus, &[&auto], &[]).await;
    }
    /// Transient and auto-delete exchanges: redeclaring one with the same spec is fine, with
    /// another durability it fails (as Celery's redeclare of `celery.pidbox` would); it routes like
    /// any other; an auto-delete exchange goes away with its last binding.
    pub async fn exchange_durability(bus: SharedBus, p: &str) {
        let (transient, auto, q) = (format!("{p}.transient"), format!("{p}.auto"), format!("{p}.q"));
        let spec = ExchangeSpec::transient(&transient, ExchangeKind::Fanout);
        bus.declare_exchange_spec(&spec).await.unwrap();
        bus.declare_exchange_spec(&spec).await.unwrap();
        match bus.declare_exchange(&transient, ExchangeKind::Fanout).await {
            Err(Error::Channel(e)) => assert!(e.contains("durable"), "unexpected refusal: {e}"),
            other => panic!("redeclaring a transient exchange as durable must fail, got {other:?}"),
        }
        let durable = ExchangeSpec::durable(&transient, ExchangeKind::Fanout);
        assert!(matches!(
            bus.declare_exchange_spec(&durable).await,
            Err(Error::Channel(_))
        ));
        queue(&bus, &q).await;
        bus.bind_queue(&q, &transient, "").await.unwrap();
        let mut c = consume(&bus, &q, 10).await;
        bus.publish(&transient, "any", msg("via transient")).await.unwrap();
        assert_eq!(take(&mut c, 1).await, vec!["via transient".to_owned()]);
        drop(c);

        let auto_spec = ExchangeSpec {
            auto_delete: true,
            ..ExchangeSpec::transient(&auto, ExchangeKind::Direct)
        };
        bus.declare_exchange_spec(&auto_spec).await.unwrap();
        bus.bind_queue(&q, &auto, "k").await.unwrap();
        bus.publish(&auto, "k", msg("via auto")).await.unwrap();
        bus.delete_queue(&q).await.unwrap();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match bus.publish(&auto, "k", msg("gone?")).await {
                Err(Error::NotFound(_)) => break,
                Err(e) => panic!("unexpected error: {e}"),
                Ok(()) => {}
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "auto-delete exchange still there"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        cleanup(&bus, &[], &[&transient, &auto]).await;
    }
}

/// Instantiates every case for one adapter.
macro_rules! suite {
    ($adapter:ident, $make:path) => {
        mod $adapter {
            use super::*;
            suite!(@cases $make;
                topic_routing, direct_fanout_and_default_exchange, ack_removes, nack_requeue_redelivers,
                nack_without_requeue_dead_letters, consumer_death_redelivers, prefetch_limits_in_flight,
                priorities, publisher_confirms, properties_round_trip, competing_consumers,
                message_expiration, queue_deletion, exchange_durability);
        }
    };
    (@cases $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                myelin_common::install_crypto_provider();
                let prefix = unique_prefix(stringify!($case));
                let bus = $make(&prefix).await;
                cases::$case(bus, &prefix).await;
            }
        )*
    };
}

suite!(memory, memory_bus);
suite!(rabbitmq, rabbitmq_bus);

/// RabbitMQ only: the bus survives its connections being closed by the broker (what a broker
/// restart does), without restarting the broker the other tests share.
mod rabbitmq_reconnect {
    use super::*;

    /// Messages published while the connections are being closed.
    const DURING: usize = 60;

    /// `rabbitmqctl` with `args`; fails the test if the tool is missing or fails.
    async fn rabbitmqctl(args: &[&str]) -> String {
        let output = match tokio::process::Command::new("rabbitmqctl").args(args).output().await {
            Ok(output) => output,
            Err(e) => panic!("this test needs rabbitmqctl on PATH (run as root on the broker's host): {e}"),
        };
        assert!(
            output.status.success(),
            "rabbitmqctl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Erlang pids of the connections whose client properties contain `name`.
    async fn connection_pids(name: &str) -> Vec<String> {
        let listing = rabbitmqctl(&[
            "-q",
            "list_connections",
            "--no-table-headers",
            "pid",
            "client_properties",
        ])
        .await;
        listing
            .lines()
            .filter(|line| line.contains(name))
            .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reconnect_after_connection_loss() {
        myelin_common::install_crypto_provider();
        let _ = tracing_subscriber::fmt().with_test_writer().try_init();
        let prefix = unique_prefix("reconnect");
        let bus = rabbitmq_bus(&prefix).await;
        let q = format!("{prefix}.q");
        queue(&bus, &q).await;
        let mut c = consume(&bus, &q, 10).await;
        bus.publish("", &q, msg("before")).await.unwrap();
        assert_eq!(take(&mut c, 1).await, ["before"]);

        let before = connection_pids(&prefix).await;
        assert!(
            before.len() >= 2,
            "expected the home and a publishing connection, got {before:?}"
        );
        // Keep publishing while the broker closes every connection of this bus.
        let publisher = {
            let (bus, q) = (bus.clone(), q.clone());
            tokio::spawn(async move {
                for i in 0..DURING {
                    bus.publish("", &q, msg(&format!("during-{i}"))).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        for pid in &before {
            rabbitmqctl(&["close_connection", pid, "myelin conformance: simulated broker restart"]).await;
        }
        timeout(WAIT * 3, publisher)
            .await
            .expect("publishing must recover")
            .unwrap();
        // At least once: every message arrives, duplicates are allowed (a lost confirm is retried,
        // an ack lost with its channel is redelivered).
        let mut missing: HashSet<String> = (0..DURING).map(|i| format!("during-{i}")).collect();
        while !missing.is_empty() {
            let d = next(&mut c).await;
            missing.remove(&text(&d));
            let _ = d.ack().await;
        }

        for i in 0..3 {
            let body = format!("after-{i}");
            timeout(WAIT * 3, bus.publish("", &q, msg(&body)))
                .await
                .expect("publish must not hang")
                .unwrap();
            let mut d = next(&mut c).await;
            while text(&d).starts_with("during-") {
                d = next(&mut c).await;
            }
            assert_eq!(text(&d), body, "the consumer started before keeps receiving");
            d.ack().await.unwrap();
        }
        assert!(bus.is_healthy().await);
        let after = connection_pids(&prefix).await;
        assert!(
            !after.is_empty() && after.iter().all(|pid| !before.contains(pid)),
            "{before:?} -> {after:?}"
        );
        drop(c);
        cleanup(&bus, &[&q], &[]).await;
    }

    /// A TCP proxy in front of the broker that can simulate an outage: while down it cuts every
    /// open connection and hangs up on new ones, as a restarting broker does.
    struct Proxy {
        port: u16,
        up: Arc<std::sync::atomic::AtomicBool>,
        links: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
        accept: tokio::task::JoinHandle<()>,
    }

    impl Proxy {
        async fn start(upstream: String) -> Self {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
            let links = Arc::new(std::sync::Mutex::new(Vec::new()));
            let accept = {
                let (up, links) = (up.clone(), links.clone());
                tokio::spawn(async move {
                    while let Ok((mut client, _)) = listener.accept().await {
                        if !up.load(std::sync::atomic::Ordering::SeqCst) {
                            continue;
                        }
                        let upstream = upstream.clone();
                        links.lock().unwrap().push(tokio::spawn(async move {
                            if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            }
                        }));
                    }
                })
            };
            Self {
                port,
                up,
                links,
                accept,
            }
        }

        fn set_up(&self, up: bool) {
            self.up.store(up, std::sync::atomic::Ordering::SeqCst);
            if !up {
                self.links.lock().unwrap().drain(..).for_each(|link| link.abort());
            }
        }
    }

    impl Drop for Proxy {
        fn drop(&mut self) {
            self.set_up(false);
            self.accept.abort();
        }
    }

    /// `url` with its host and port replaced by 127.0.0.1:`port`, and the original `host:port`.
    fn via_proxy(url: &str, port: u16) -> (String, String) {
        let (scheme, rest) = url.split_once("://").expect("AMQP_URL has a scheme");
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        let (userinfo, hostport) = authority.rsplit_once('@').map_or(("", authority), |(u, h)| (u, h));
        let hostport = if hostport.contains(':') {
            hostport.to_owned()
        } else {
            format!("{hostport}:5672")
        };
        let userinfo = if userinfo.is_empty() {
            String::new()
        } else {
            format!("{userinfo}@")
        };
        (format!("{scheme}://{userinfo}127.0.0.1:{port}/{path}"), hostport)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reconnect_after_broker_outage() {
        myelin_common::install_crypto_provider();
        let _ = tracing_subscriber::fmt().with_test_writer().try_init();
        let prefix = unique_prefix("outage");
        let (_, upstream) = via_proxy(&amqp_url(), 0);
        let proxy = Proxy::start(upstream).await;
        let (url, _) = via_proxy(&amqp_url(), proxy.port);
        let settings = AmqpSettings {
            connection_name: prefix.clone(),
            ..AmqpSettings::default()
        };
        let bus: SharedBus = Arc::new(
            AmqpBus::connect(&url, settings)
                .await
                .expect("RabbitMQ through the proxy"),
        );
        let q = format!("{prefix}.q");
        queue(&bus, &q).await;
        let mut c = consume(&bus, &q, 10).await;
        bus.publish("", &q, msg("before")).await.unwrap();
        assert_eq!(take(&mut c, 1).await, ["before"]);

        proxy.set_up(false);
        let deadline = tokio::time::Instant::now() + WAIT;
        while bus.is_healthy().await {
            assert!(tokio::time::Instant::now() < deadline, "the bus must notice the outage");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The broker comes back while a publish is retrying.
        let publish = {
            let (bus, q) = (bus.clone(), q.clone());
            tokio::spawn(async move { bus.publish("", &q, msg("during")).await })
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!publish.is_finished(), "publish waits for the broker");
        proxy.set_up(true);
        timeout(WAIT * 3, publish)
            .await
            .expect("publish must recover")
            .unwrap()
            .unwrap();
        // An ack in flight when the connection dropped is lost with it: the broker then redelivers
        // "before" (flagged redelivered), which at-least-once delivery allows.
        let mut d = next(&mut c).await;
        while text(&d) == "before" && d.redelivered {
            d.ack().await.unwrap();
            d = next(&mut c).await;
        }
        assert_eq!(text(&d), "during", "the consumer started before keeps receiving");
        d.ack().await.unwrap();
        bus.publish("", &q, msg("after")).await.unwrap();
        let d = next(&mut c).await;
        let body = text(&d);
        d.ack().await.unwrap();
        let body = if body == "during" {
            take(&mut c, 1).await.remove(0)
        } else {
            body
        };
        assert_eq!(body, "after");
        assert!(bus.is_healthy().await);
        drop(c);
        cleanup(&bus, &[&q], &[]).await;
    }
}
