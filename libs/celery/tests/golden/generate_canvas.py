"""Regenerates the canvas golden files of libs/celery from real Celery (the oracle).

Client side: `chain(...).apply_async()`, `apply_async(link=, link_error=)`, `group(...)` and
`chord(...)` of a Celery app whose tasks are registered (as a Python client's are), published by
kombu on a real RabbitMQ (to a fresh default queue) with the Redis result backend, read back with
`basic_get`. Worker side: Celery's own tracer (`celery.app.trace.build_tracer`, what a worker runs
for each task) is run in this process on requests carrying a chain, callbacks, errbacks and a
chord, and the messages it publishes (next chain step, callbacks, errbacks, chord body) are
captured the same way. Ids are fixed with `.set(task_id=...)` / `task_id=` so the files are
stable; `reply_to` (Celery's per-thread `app.thread_oid`) and `origin` differ per run and are
normalised by the Rust test.

    AMQP_URL=amqp://guest:guest@127.0.0.1:5672// REDIS_URL=redis://127.0.0.1:6379 \
        /work/venv/bin/python generate_canvas.py
"""
import json
import os
import time
import uuid

import celery
import kombu
from celery import Celery, chain, chord, group
from celery.app.trace import build_tracer
from kombu import Connection

from generate import SOURCE, write

URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
ORIGIN = "gen1@host"
ORACLE_OID = "0ac1e000-0000-4000-8000-000000000000"  # stands for app.thread_oid (reply_to)


def drain(conn, queue, n, oid):
    """Reads `n` messages from `queue` as they came off the wire."""
    ch = conn.default_channel
    out = []
    deadline = time.time() + 10
    while len(out) < n and time.time() < deadline:
        m = ch.basic_get(queue, no_ack=True)
        if m is None:
            time.sleep(0.05)
            continue
        props = dict(m.properties)
        headers = props.pop("application_headers", {})
        out.append({
            "routing_key": m.delivery_info["routing_key"],
            "properties": props,
            "headers": headers,
            "body": m.body.decode("utf-8") if isinstance(m.body, bytes) else m.body,
        })
    assert len(out) == n, f"expected {n} messages, got {len(out)}"
    assert ch.basic_get(queue, no_ack=True) is None, "more messages than expected"
    for m in out:
        m["routing_key"] = "celery-q" if m["routing_key"] == queue else m["routing_key"]
        # Per-process values, fixed for the golden file: the sender's node name and thread oid.
        assert m["headers"]["origin"].startswith("gen"), m["headers"]["origin"]
        m["headers"]["origin"] = ORIGIN
        m["body"] = m["body"].replace(oid, ORACLE_OID)
        if m["properties"].get("reply_to") == oid:
            m["properties"]["reply_to"] = ORACLE_OID
    return out


def make_app(queue):
    app = Celery("oracle", broker=URL, backend=REDIS)
    app.conf.task_default_queue = queue

    @app.task(name="tasks.add")
    def add(a, b):
        return a + b

    @app.task(name="tasks.mul")
    def mul(a, b):
        return a * b

    @app.task(name="tasks.tsum")
    def tsum(xs):
        return sum(xs)

    @app.task(name="tasks.fail")
    def fail(msg):
        raise ValueError(msg)

    @app.task(name="tasks.on_error")
    def on_error(task_id):
        return task_id

    return app, add, mul, tsum, fail, on_error


def trace(app, task, task_id, args, request):
    """Runs `task` as a worker would (Celery's tracer), so it publishes what follows it."""
    req = {
        "id": task_id, "task": task.name, "args": args, "kwargs": {}, "root_id": request.pop("root_id", task_id),
        "parent_id": None, "group": None, "group_index": None, "delivery_info": {"priority": 0},
        "origin": ORIGIN, "hostname": "w@h", "is_eager": False, "reply_to": "", "correlation_id": task_id,
    }
    req.update(request)
    tracer = build_tracer(task.name, task, app=app, hostname="w@h")
    return tracer(task_id, args, {}, req)


def main():
    q = "golden-" + uuid.uuid4().hex
    app, add, mul, tsum, fail, on_error = make_app(q)
    docs = {}
    with Connection(URL) as conn:
        ch = conn.default_channel
        ch.queue_declare(q, durable=True, auto_delete=False)

        # chain(add(2, 2), mul(3), mul(4)): the first message carries the rest, reversed.
        c = chain(
            add.s(2, 2).set(task_id="c0000000-0000-4000-8000-000000000001"),
            mul.s(3).set(task_id="c0000000-0000-4000-8000-000000000002"),
            mul.s(4).set(task_id="c0000000-0000-4000-8000-000000000003"),
        )
        c.apply_async()
        docs["chain"] = {"source": f"{SOURCE}: chain(add.s(2, 2), mul.s(3), mul.s(4)).apply_async()",
                         "messages": drain(conn, q, 1, app.thread_oid)}

        # link / link_error on a single task.
        add.apply_async((2, 3), task_id="a0000000-0000-4000-8000-000000000001", 
                        link=[mul.s(10), tsum.si([1, 2])], link_error=on_error.s())
        docs["link"] = {"source": f"{SOURCE}: add.apply_async((2, 3), link=[mul.s(10), tsum.si([1, 2])], "
                                  "link_error=on_error.s())",
                        "messages": drain(conn, q, 1, app.thread_oid)}

        # group of two.
        group(add.s(1, 1).set(task_id="b0000000-0000-4000-8000-000000000001"),
              mul.s(2, 3).set(task_id="b0000000-0000-4000-8000-000000000002"),
              ).apply_async(task_id="b0000000-0000-4000-8000-0000000000ff")
        docs["group"] = {"source": f"{SOURCE}: group(add.s(1, 1), mul.s(2, 3)).apply_async()",
                         "messages": drain(conn, q, 2, app.thread_oid)}

        # chord on the Redis backend: the header members carry the frozen body.
        gid = "d0000000-0000-4000-8000-0000000000ff"
        chord([add.s(1, 1).set(task_id="d0000000-0000-4000-8000-000000000001"),
               add.s(2, 2).set(task_id="d0000000-0000-4000-8000-000000000002")],
              tsum.s(), task_id=gid).apply_async(task_id="d0000000-0000-4000-8000-0000000000bb")
        docs["chord"] = {"source": f"{SOURCE}: chord([add.s(1, 1), add.s(2, 2)], tsum.s()).apply_async() "
                                   "on the Redis backend",
                         "messages": drain(conn, q, 2, app.thread_oid)}

        # Worker side: what Celery's tracer publishes after the chain's first task succeeded.
        first = json.loads(docs["chain"]["messages"][0]["body"])
        trace(app, add, "c0000000-0000-4000-8000-000000000001", [2, 2], {"chain": first[2]["chain"]})
        docs["after_chain"] = {"source": f"{SOURCE}: build_tracer(add) on the chain's first message (result 4)",
                               "result": 4, "messages": drain(conn, q, 1, app.thread_oid)}

        # ... after a task with one callback succeeded (a single callback is applied as is).
        linked = json.loads(docs["link"]["messages"][0]["body"])
        trace(app, add, "a0000000-0000-4000-8000-000000000001", [2, 3],
              {"callbacks": linked[2]["callbacks"][:1], "errbacks": linked[2]["errbacks"]})
        docs["after_callback"] = {"source": f"{SOURCE}: build_tracer(add) with link=mul.s(10) (result 5)",
                                  "result": 5, "messages": drain(conn, q, 1, app.thread_oid)}

        # ... after a task with two callbacks succeeded (sent as a group).
        trace(app, add, "a0000000-0000-4000-8000-000000000001", [2, 3],
              {"callbacks": linked[2]["callbacks"], "errbacks": linked[2]["errbacks"]})
        docs["after_callbacks"] = {"source": f"{SOURCE}: build_tracer(add) with link=[mul.s(10), tsum.si([1, 2])]",
                                   "result": 5, "messages": drain(conn, q, 2, app.thread_oid)}

        # ... after a task failed with an errback taking the task id (old-style, as a group).
        trace(app, fail, "e0000000-0000-4000-8000-000000000001", ["boom"],
              {"errbacks": linked[2]["errbacks"]})
        docs["after_failure"] = {"source": f"{SOURCE}: build_tracer(fail) with link_error=on_error.s()",
                                 "messages": drain(conn, q, 1, app.thread_oid)}

        # ... the chord body, published by the worker that finished the last header task.
        for m, result_args in zip(docs["chord"]["messages"], ([1, 1], [2, 2])):
            body = json.loads(m["body"])
            h = m["headers"]
            trace(app, add, h["id"], result_args, {
                "group": h["group"], "group_index": h["group_index"], "chord": body[2]["chord"],
            })
        docs["chord_body"] = {"source": f"{SOURCE}: build_tracer(add) on both chord header messages "
                                        "(Redis backend; results 2 and 4)",
                              "results": [2, 4], "messages": drain(conn, q, 1, app.thread_oid)}
        ch.queue_delete(q)

    # Leave no result keys behind on the shared Redis.
    client = app.backend.client
    for key in client.keys("*[abcde]0000000-0000-4000-8000-*"):
        client.delete(key)

    for name, doc in docs.items():
        write(f"canvas_{name}.json", doc)


if __name__ == "__main__":
    main()
