#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Golden tests: the files in `tests/golden/` were captured from real Celery 5.7 on RabbitMQ by
//! `tests/golden/generate.py` (Celery's own `as_task_v2`/`as_task_v1`/`control.revoke` and
//! `saferepr`). Our encoder must produce the same headers, properties and body bytes; our
//! decoder must read what Celery sends.
//!
//! Run: `cargo test -p myelin-celery --test protocol_golden`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures::StreamExt;
use myelin_celery::protocol::repr;
use myelin_celery::{TaskMessage, TaskOptions, control};
use myelin_common::bus::memory::MemoryBus;
use myelin_common::bus::{ConsumeOptions, OutgoingMessage, Properties, QueueSpec, SharedBus};
use serde_json::{Map, Value, json};

fn golden(name: &str) -> Value {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn object(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

/// The AMQP properties of a golden file, as the bus port carries them.
fn golden_properties(g: &Value) -> Properties {
    let p = &g["properties"];
    let s = |k: &str| p[k].as_str().map(str::to_owned);
    Properties {
        content_type: s("content_type"),
        content_encoding: s("content_encoding"),
        headers: object(&g["headers"]),
        priority: p["priority"].as_u64().map(|n| u8::try_from(n).unwrap()),
        correlation_id: s("correlation_id"),
        reply_to: s("reply_to"),
        message_id: None,
        expiration: None,
        persistent: p["delivery_mode"] == json!(2),
    }
}

fn assert_same_wire(ours: &OutgoingMessage, g: &Value) {
    assert_eq!(Value::Object(ours.properties.headers.clone()), g["headers"], "headers");
    assert_eq!(ours.properties, golden_properties(g), "properties");
    assert_eq!(
        std::str::from_utf8(&ours.body).unwrap(),
        g["body"].as_str().unwrap(),
        "body bytes"
    );
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn full_message() -> TaskMessage {
    let kwargs = json!({"run": {"attempt": 2, "command": ["sh", "-c", "echo 'hi'"], "uuid": "8a4f"}, "z": "ünïcode"});
    TaskMessage {
        id: "0b9a5d2e-6c1f-4c7e-9d3a-8f2e1b4c5d6e".into(),
        task: "myelin.execute_run".into(),
        args: vec![json!(1), json!("two"), Value::Null, json!(true), json!(2.5)],
        kwargs: object(&kwargs),
        options: TaskOptions {
            eta: Some(utc("2025-01-02T03:04:05.123456Z")),
            expires: Some(utc("2025-01-02T04:04:05Z")),
            retries: 3,
            priority: Some(5),
            root_id: Some("11111111-2222-4333-8444-555555555555".into()),
            parent_id: Some("66666666-7777-4888-9999-000000000000".into()),
            group_id: Some("7c1e0d54-1111-4222-8333-444455556666".into()),
            time_limit: (Some(60.0), Some(30.0)),
            reply_to: Some("c3a0c7e8-5b7f-3c6e-9b56-2f3c8e1f0a11".into()),
            origin: Some("gen4242@myelin-host".into()),
            ..TaskOptions::default()
        },
    }
}

#[test]
fn v2_with_every_option_is_byte_for_byte_celerys() {
    assert_same_wire(&full_message().to_message().unwrap(), &golden("v2_full.json"));
}

#[test]
fn v2_with_defaults_is_byte_for_byte_celerys() {
    let mut msg = TaskMessage::new("myelin.noop", vec![], Map::new()).with_id("5f0c9a8e-0000-4000-8000-00000000abcd");
    msg.options.origin = Some("gen1@host".into());
    assert_same_wire(&msg.to_message().unwrap(), &golden("v2_minimal.json"));
}

#[test]
fn default_origin_is_celerys_anonymous_nodename() {
    let out = TaskMessage::new("t", vec![], Map::new()).to_message().unwrap();
    let origin = out.properties.headers["origin"].as_str().unwrap().to_owned();
    assert_eq!(
        origin,
        format!("gen{}@{}", std::process::id(), myelin_celery::protocol::hostname())
    );
    assert_eq!(out.properties.headers["root_id"], out.properties.headers["id"]);
}

#[test]
fn decodes_celerys_v2_messages() {
    let g = golden("v2_full.json");
    let msg = TaskMessage::decode(&golden_properties(&g), g["body"].as_str().unwrap().as_bytes()).unwrap();
    assert_eq!(msg, full_message());
    let g = golden("v2_minimal.json");
    let msg = TaskMessage::decode(&golden_properties(&g), g["body"].as_str().unwrap().as_bytes()).unwrap();
    assert_eq!(
        (msg.task.as_str(), msg.args.len(), msg.kwargs.len()),
        ("myelin.noop", 0, 0)
    );
    assert_eq!(msg.options.root_id.as_deref(), Some(msg.id.as_str()));
    assert_eq!(
        (msg.options.priority, msg.options.reply_to, msg.options.retries),
        (Some(0), None, 0)
    );
}

#[test]
fn decodes_celerys_v1_messages() {
    let g = golden("v1.json");
    let msg = TaskMessage::decode(&golden_properties(&g), g["body"].as_str().unwrap().as_bytes()).unwrap();
    let expected = TaskMessage {
        id: "a5c3e0f1-2b4d-4e6f-8a9b-0c1d2e3f4a5b".into(),
        task: "tasks.add".into(),
        args: vec![json!(2), json!(3)],
        kwargs: object(&json!({"debug": false})),
        options: TaskOptions {
            eta: Some(Utc.with_ymd_and_hms(2025, 6, 7, 8, 9, 10).unwrap()),
            expires: Some(Utc.with_ymd_and_hms(2025, 6, 7, 9, 9, 10).unwrap()),
            retries: 1,
            priority: Some(0),
            group_id: Some("b0b0b0b0-0000-4000-8000-000000000001".into()),
            time_limit: (Some(10.0), Some(5.0)),
            ..TaskOptions::default()
        },
    };
    assert_eq!(msg, expected);
}

#[test]
fn decodes_the_hybrid_v1_body_with_v2_headers() {
    let g = golden("v1.json");
    let mut props = golden_properties(&g);
    props.headers.insert("task".into(), json!("tasks.add"));
    props.headers.insert("retries".into(), json!(4));
    let msg = TaskMessage::decode(&props, g["body"].as_str().unwrap().as_bytes()).unwrap();
    assert_eq!(
        (msg.task.as_str(), msg.args.len(), msg.options.retries),
        ("tasks.add", 2, 4)
    );
}

#[test]
fn round_trips_through_our_own_encoding() {
    let mut msg = full_message();
    let out = msg.to_message().unwrap();
    assert_eq!(TaskMessage::decode(&out.properties, &out.body).unwrap(), msg);
    msg.options = TaskOptions::default();
    let out = msg.to_message().unwrap();
    let back = TaskMessage::decode(&out.properties, &out.body).unwrap();
    assert_eq!(back.options.priority, Some(0), "Celery publishes priority 0 when unset");
    assert_eq!(
        (back.options.eta, back.options.reply_to, back.args),
        (None, None, msg.args)
    );
}

#[test]
fn rejects_what_is_not_a_celery_task() {
    let json_props = Properties {
        content_type: Some("application/json".into()),
        ..Properties::default()
    };
    let mut v2 = json_props.clone();
    v2.headers = object(&json!({"task": "t", "id": "i"}));
    let cases: [(&Properties, &[u8]); 7] = [
        (&json_props, b"not json"),
        (&json_props, br#"{"args": [], "kwargs": {}}"#),
        (&json_props, br#"[[], {}]"#),
        (&v2, br#"[1, {}, {}]"#),
        (&v2, br#"[[], [], {}]"#),
        (&v2, br#"[[]]"#),
        (
            &Properties {
                content_type: Some("application/x-python-serialize".into()),
                ..v2.clone()
            },
            br#"[[], {}, {}]"#,
        ),
    ];
    for (props, body) in cases {
        let err = TaskMessage::decode(props, body).unwrap_err();
        assert!(matches!(err, myelin_celery::Error::Malformed(_)), "{err}");
    }
    let mut bad_eta = v2.clone();
    bad_eta.headers.insert("eta".into(), json!("soon"));
    assert!(TaskMessage::decode(&bad_eta, br#"[[], {}, {}]"#).is_err());
}

#[test]
fn argsrepr_and_kwargsrepr_match_celerys_saferepr() {
    let g = golden("saferepr.json");
    for case in g["cases"].as_array().unwrap() {
        assert_eq!(
            repr::value_repr(&case["value"]),
            case["repr"].as_str().unwrap(),
            "{}",
            case["value"]
        );
    }
}

#[tokio::test]
async fn revoke_publishes_what_celerys_control_revoke_publishes() {
    let bus: SharedBus = Arc::new(MemoryBus::new());
    control::revoke(&bus, &[], false, "SIGTERM").await.unwrap(); // declares the exchange
    bus.declare_queue(&QueueSpec::durable("spy")).await.unwrap();
    bus.bind_queue("spy", control::PIDBOX_EXCHANGE, "").await.unwrap();
    let ids = ["0b9a5d2e-6c1f-4c7e-9d3a-8f2e1b4c5d6e".to_owned(), "x-2".to_owned()];
    control::revoke(&bus, &ids, true, "SIGKILL").await.unwrap();
    let mut consumer = bus.consume("spy", ConsumeOptions::default()).await.unwrap();
    let d = tokio::time::timeout(Duration::from_secs(5), consumer.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let g = golden("control_revoke.json");
    assert_eq!(std::str::from_utf8(&d.body).unwrap(), g["body"].as_str().unwrap());
    let mut props = d.properties.clone();
    let headers = std::mem::take(&mut props.headers);
    assert_eq!(
        props,
        Properties {
            headers: Map::new(),
            ..golden_properties(&g)
        }
    );
    assert!(headers["clock"].is_u64(), "{headers:?}");
    let now = Utc::now().timestamp() as f64;
    let expires = headers["expires"].as_f64().unwrap();
    assert!(
        expires > now && expires < now + 3.0,
        "expires = now + 1 s, got {expires}"
    );
    assert_eq!(headers.len(), 2);
}
