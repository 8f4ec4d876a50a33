#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Canvas golden tests: `tests/golden/canvas_*.json` were captured from Celery 5.7 on RabbitMQ
//! and Redis by `tests/golden/generate_canvas.py` (client-side `chain`/`link`/`group`/`chord`,
//! and worker-side messages published by Celery's own tracer). Our builders and worker-side
//! functions must produce the same headers, properties and body bytes, up to per-process values
//! (`reply_to` = the sender's thread oid, `origin`) and ids Celery draws at random.
//!
//! Run: `cargo test -p myelin-celery --test canvas`.

mod support;

use myelin_celery::TaskMessage;
use myelin_celery::canvas::{self, Freeze, Routed};
use myelin_celery::protocol::Signature;
use myelin_common::bus::Properties;
use serde_json::{Map, Value, json};

const ORACLE_OID: &str = "0ac1e000-0000-4000-8000-000000000000";

fn golden(name: &str) -> Value {
    let path = format!("{}/tests/golden/canvas_{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn messages(g: &Value) -> Vec<Value> {
    g["messages"].as_array().unwrap().clone()
}

/// A golden message decoded by our decoder.
fn decode(m: &Value) -> TaskMessage {
    let p = &m["properties"];
    let props = Properties {
        content_type: p["content_type"].as_str().map(str::to_owned),
        content_encoding: p["content_encoding"].as_str().map(str::to_owned),
        headers: m["headers"].as_object().cloned().unwrap(),
        priority: p["priority"].as_u64().map(|n| n as u8),
        correlation_id: p["correlation_id"].as_str().map(str::to_owned),
        reply_to: p["reply_to"].as_str().map(str::to_owned),
        ..Properties::default()
    };
    TaskMessage::decode(&props, m["body"].as_str().unwrap().as_bytes()).unwrap()
}

/// What our decoder read from Celery's message equals what we built (ids, group, links).
fn assert_same_links(theirs: &TaskMessage, ours: &TaskMessage) {
    let key = |m: &TaskMessage| {
        let o = &m.options;
        (
            m.id.clone(),
            m.task.clone(),
            m.args.clone(),
            o.group_id.clone(),
            o.group_index,
            o.reply_to.clone(),
        )
    };
    assert_eq!(key(theirs), key(ours));
    let links = |m: &TaskMessage| {
        let o = m.options.clone();
        (o.callbacks, o.errbacks, o.chain, o.chord)
    };
    assert_eq!(links(theirs), links(ours));
}

fn freeze() -> Freeze {
    Freeze {
        reply_to: ORACLE_OID.into(),
    }
}

/// Our message on the wire equals Celery's, after replacing `subs` (ours → theirs: random ids,
/// this process's oid) and the per-process `origin`.
fn assert_wire(ours: &Routed, g: &Value, subs: &[(String, String)]) {
    assert_eq!(ours.0, "celery", "queue");
    let out = ours.1.to_message().unwrap();
    let fix = |s: &str| {
        let mut s = s.replace(canvas::process_oid(), ORACLE_OID);
        for (a, b) in subs {
            s = s.replace(a.as_str(), b);
        }
        s
    };
    let mut headers: Value =
        serde_json::from_str(&fix(&serde_json::to_string(&out.properties.headers).unwrap())).unwrap();
    assert!(headers["origin"].as_str().unwrap().starts_with("gen"));
    headers["origin"] = json!("gen1@host");
    assert_eq!(headers, g["headers"], "headers");
    assert_eq!(
        fix(std::str::from_utf8(&out.body).unwrap()),
        g["body"].as_str().unwrap(),
        "body bytes"
    );
    let p = &g["properties"];
    assert_eq!(out.properties.priority, p["priority"].as_u64().map(|n| n as u8));
    assert_eq!(
        fix(out.properties.reply_to.as_deref().unwrap()),
        p["reply_to"].as_str().unwrap()
    );
    assert_eq!(out.properties.correlation_id, Some(ours.1.id.clone()));
}

fn id(n: &str, prefix: char) -> String {
    format!("{prefix}0000000-0000-4000-8000-{n:0>12}")
}

fn add(a: i64, b: i64) -> Signature {
    Signature::new("tasks.add", vec![json!(a), json!(b)], Map::new())
}

#[test]
fn chain_first_message_is_celerys() {
    let sigs = vec![
        add(2, 2).set_task_id(id("1", 'c')),
        Signature::new("tasks.mul", vec![json!(3)], Map::new()).set_task_id(id("2", 'c')),
        Signature::new("tasks.mul", vec![json!(4)], Map::new()).set_task_id(id("3", 'c')),
    ];
    let built = freeze().chain(sigs).unwrap();
    assert_eq!(built.ids, [id("1", 'c'), id("2", 'c'), id("3", 'c')]);
    assert_wire(&built.first, &messages(&golden("chain"))[0], &[]);
    // The chain's ids are fresh when not set, and the next task is the last element.
    let built = canvas::chain(vec![add(1, 1), add(0, 1), add(0, 2)]).unwrap();
    let rest = built.first.1.options.chain.as_ref().unwrap();
    assert_eq!(
        rest.iter().map(|s| s.task_id().unwrap()).collect::<Vec<_>>(),
        [&built.ids[2], &built.ids[1]]
    );
    assert!(canvas::chain(vec![]).is_err());
}

#[test]
fn link_and_link_error_are_celerys() {
    let g = &messages(&golden("link"))[0];
    let mut msg = add(2, 3).set_task_id(id("1", 'a')).to_message(None).unwrap();
    msg.options.reply_to = Some(ORACLE_OID.into());
    msg.options.callbacks = Some(vec![
        Signature::new("tasks.mul", vec![json!(10)], Map::new()),
        Signature::new("tasks.tsum", vec![json!([1, 2])], Map::new()).immutable(),
    ]);
    msg.options.errbacks = Some(vec![Signature::new("tasks.on_error", vec![], Map::new())]);
    assert_wire(&("celery".into(), msg.clone()), g, &[]);
    assert_same_links(&decode(g), &msg);
}

#[test]
fn group_members_are_celerys() {
    let gid = id("ff", 'b');
    let sigs = vec![
        add(1, 1).set_task_id(id("1", 'b')),
        Signature::new("tasks.mul", vec![json!(2), json!(3)], Map::new()).set_task_id(id("2", 'b')),
    ];
    let ours = freeze().group_with_id(&gid, sigs, None).unwrap();
    let g = messages(&golden("group"));
    assert_eq!(ours.len(), 2);
    for (o, g) in ours.iter().zip(&g) {
        assert_wire(o, g, &[]);
        assert_same_links(&decode(g), &o.1);
    }
    let (gid, msgs) = canvas::group(vec![add(1, 1), add(2, 2)]).unwrap();
    assert!(
        msgs.iter()
            .all(|(_, m)| m.options.group_id.as_deref() == Some(gid.as_str()))
    );
}

#[test]
fn chord_header_members_are_celerys() {
    let gid = id("ff", 'd');
    let header = vec![add(1, 1).set_task_id(id("1", 'd')), add(2, 2).set_task_id(id("2", 'd'))];
    let body = Signature::new("tasks.tsum", vec![], Map::new()).set_task_id(id("bb", 'd'));
    let ours = freeze().chord_with_id(&gid, header, body).unwrap();
    assert_eq!(
        (ours.chord_size, ours.body_id.as_str(), ours.group_id.as_str()),
        (2, &*id("bb", 'd'), &*gid)
    );
    for (o, g) in ours.header.iter().zip(&messages(&golden("chord"))) {
        assert_wire(o, g, &[]);
        assert_same_links(&decode(g), &o.1);
    }
}

#[test]
fn the_next_chain_step_is_what_celerys_worker_sends() {
    let first = decode(&messages(&golden("chain"))[0]);
    let g = golden("after_chain");
    let ours = canvas::on_success(&first, &g["result"]).unwrap();
    assert_eq!(ours.len(), 1);
    assert_wire(&ours[0], &messages(&g)[0], &[]);
    // The last step carries an empty chain and sends nothing more.
    let second = ours[0].1.clone();
    let third = canvas::on_success(&second, &json!(12)).unwrap();
    assert_eq!(third[0].1.options.chain, Some(vec![]));
    assert_eq!(third[0].1.args, [json!(12), json!(4)]);
    assert!(canvas::on_success(&third[0].1, &json!(48)).unwrap().is_empty());
}

fn subs_for(ours: &[Routed], g: &[Value]) -> Vec<(String, String)> {
    let mut subs = Vec::new();
    for (o, g) in ours.iter().zip(g) {
        subs.push((o.1.id.clone(), g["headers"]["id"].as_str().unwrap().to_owned()));
        if let (Some(a), Some(b)) = (&o.1.options.group_id, g["headers"]["group"].as_str()) {
            subs.push((a.clone(), b.to_owned()));
        }
    }
    subs
}

#[test]
fn callbacks_are_what_celerys_worker_sends() {
    let linked = decode(&messages(&golden("link"))[0]);
    // One callback: applied alone.
    let mut one = linked.clone();
    one.options.callbacks.as_mut().unwrap().truncate(1);
    let g = golden("after_callback");
    let ours = canvas::on_success(&one, &g["result"]).unwrap();
    assert_eq!(ours.len(), 1);
    assert_wire(&ours[0], &messages(&g)[0], &subs_for(&ours, &messages(&g)));
    // Two: as a group; the immutable one does not get the result.
    let g = golden("after_callbacks");
    let ours = canvas::on_success(&linked, &g["result"]).unwrap();
    assert_eq!(ours.len(), 2);
    let subs = subs_for(&ours, &messages(&g));
    for (o, g) in ours.iter().zip(&messages(&g)) {
        assert_wire(o, g, &subs);
    }
    assert_eq!(ours[0].1.options.group_id, ours[1].1.options.group_id);
}

#[test]
fn errbacks_are_what_celerys_worker_sends() {
    let linked = decode(&messages(&golden("link"))[0]);
    let mut failed = linked.clone();
    failed.id = id("1", 'e');
    failed.options.root_id = None;
    failed.task = "tasks.fail".into();
    let g = golden("after_failure");
    let ours = canvas::on_failure(&failed, &json!({"exc_type": "ValueError"})).unwrap();
    assert_eq!(ours.len(), 1);
    assert_wire(&ours[0], &messages(&g)[0], &subs_for(&ours, &messages(&g)));
    assert!(
        canvas::on_success(&failed, &json!(1)).unwrap().len() == 2,
        "callbacks only on success"
    );
    let plain = TaskMessage::new("t", vec![], Map::new());
    assert!(canvas::on_failure(&plain, &Value::Null).unwrap().is_empty());
}

#[test]
fn the_chord_body_is_what_celerys_worker_sends() {
    let header = messages(&golden("chord"));
    let last = decode(&header[1]);
    let g = golden("chord_body");
    let results = g["results"].as_array().unwrap().clone();
    let ours = canvas::chord_body(&last, results).unwrap().unwrap();
    assert_wire(&ours, &messages(&g)[0], &[]);
    assert_eq!(
        canvas::chord_body(&TaskMessage::new("t", vec![], Map::new()), vec![]).unwrap(),
        None
    );
}

#[test]
fn signatures_round_trip_pythons_json_exactly() {
    let g = messages(&golden("chain"))[0]["body"].as_str().unwrap().to_owned();
    let v: Value = serde_json::from_str(&g).unwrap();
    let raw = serde_json::to_string(&v[2]["chain"]).unwrap();
    let sigs: Vec<Signature> =
        serde_json::from_str(&g[g.find("[{").unwrap()..g.find("], \"chord\"").unwrap() + 1]).unwrap();
    assert_eq!(sigs.len(), 2);
    assert_eq!(
        serde_json::to_value(&sigs).unwrap(),
        serde_json::from_str::<Value>(&raw).unwrap()
    );
    let odd = r#"{"task": "t", "args": [1], "kwargs": {}, "options": {"z": 1, "a": {"b": 2}}, "subtask_type": null, "immutable": true, "chord_size": 3, "extra": "x"}"#;
    let sig: Signature = serde_json::from_str(odd).unwrap();
    assert_eq!((sig.immutable, sig.chord_size, sig.extra.len()), (true, Some(3), 1));
    let back = String::from_utf8(myelin_celery::protocol::json::to_vec(&sig).unwrap()).unwrap();
    assert_eq!(back, odd);
}

#[test]
fn to_message_reads_the_signatures_options() {
    let parent = TaskMessage::new("p", vec![], Map::new());
    let sig = add(1, 2)
        .set_queue("q1")
        .set("countdown", json!(10))
        .set("priority", json!(7))
        .set("expires", json!("2030-01-01T00:00:00+00:00"))
        .set("link", json!({"task": "tasks.mul", "args": [2], "kwargs": {}, "options": {}, "subtask_type": null, "immutable": false}));
    assert_eq!(sig.queue(), "q1");
    let m = sig.to_message(Some(&parent)).unwrap();
    assert_eq!(
        (
            m.options.priority,
            m.options.parent_id.as_deref(),
            m.options.root_id.as_deref()
        ),
        (Some(7), Some(parent.id.as_str()), Some(parent.id.as_str()))
    );
    let eta = m.options.eta.unwrap() - chrono::Utc::now();
    assert!(
        eta > chrono::Duration::seconds(8) && eta <= chrono::Duration::seconds(10),
        "{eta}"
    );
    assert_eq!(m.options.callbacks.unwrap()[0].task, "tasks.mul");
    assert!(add(1, 2).set("priority", json!("high")).to_message(None).is_err());
}

/// Python interop: Celery itself reads the chain we build (its `Signature.from_dict` accepts
/// our `chain` and the next step it would send equals ours).
#[test]
fn python_celery_reads_our_chain() {
    let python = support::python();
    let built = freeze()
        .chain(vec![
            add(2, 2),
            Signature::new("tasks.mul", vec![json!(3)], Map::new()).immutable(),
        ])
        .unwrap();
    let body = String::from_utf8(built.first.1.to_message().unwrap().body.to_vec()).unwrap();
    let script = r#"
import json, sys
from celery import Celery, signature
app = Celery("interop")
args, kwargs, embed = json.loads(sys.stdin.read())
nxt = signature(embed["chain"][-1], app=app)
args2, kwargs2, opts = nxt._merge((4,), {}, {})
print(json.dumps({"task": nxt.task, "args": list(args2), "task_id": opts["task_id"], "immutable": nxt.immutable}))
"#;
    let mut child = std::process::Command::new(&python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python failed");
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours = canvas::on_success(&built.first.1, &json!(4)).unwrap();
    assert_eq!(got["task"], json!(ours[0].1.task));
    assert_eq!(got["args"], json!(ours[0].1.args));
    assert_eq!(got["task_id"], json!(ours[0].1.id));
    assert_eq!(got["immutable"], json!(true));
}
