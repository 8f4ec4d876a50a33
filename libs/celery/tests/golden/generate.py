"""Regenerates the golden files of libs/celery from real Celery (the oracle).

Every message is built by Celery's own code (`app.amqp.as_task_v2` / `as_task_v1`,
`app.control.revoke`), published by kombu on a real RabbitMQ and read back with `basic_get`, so
the files hold what actually travels on the wire: AMQP properties, headers and the exact body.

    python3 -m venv /tmp/celery-venv && /tmp/celery-venv/bin/pip install celery
    AMQP_URL=amqp://guest:guest@127.0.0.1:5672// /tmp/celery-venv/bin/python generate.py
"""
import datetime
import json
import os
import time
import uuid

import celery
import kombu
from celery import Celery
from celery.utils.saferepr import saferepr
from kombu import Connection

HERE = os.path.dirname(os.path.abspath(__file__))
URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
UTC = datetime.timezone.utc
SOURCE = f"celery {celery.__version__}, kombu {kombu.__version__}"


def capture(conn, queue):
    """Reads one message from `queue` as it came off the wire."""
    ch = conn.default_channel
    for _ in range(100):  # publishes from other connections are not confirmed: poll
        m = ch.basic_get(queue, no_ack=True)
        if m is not None:
            break
        time.sleep(0.05)
    assert m is not None, "nothing arrived"
    props = dict(m.properties)
    headers = props.pop("application_headers", {})
    return {
        "exchange": m.delivery_info["exchange"],
        "routing_key": m.delivery_info["routing_key"],
        "properties": props,
        "headers": headers,
        "body": m.body.decode("utf-8") if isinstance(m.body, bytes) else m.body,
    }


def send(app, conn, message, name, **options):
    queue = "golden-" + uuid.uuid4().hex  # fresh: kombu caches what it declared
    with app.producer_or_acquire() as producer:
        app.amqp.send_task_message(producer, name, message, queue=queue, **options)
    out = capture(conn, queue)
    conn.default_channel.queue_delete(queue)
    conn.default_channel.exchange_delete(queue)
    out["routing_key"] = "celery-q"  # the queue name, fixed for the golden file
    return out


def write(name, doc):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")


def main():
    app = Celery("oracle", broker=URL)
    q = "golden-" + uuid.uuid4().hex
    with Connection(URL) as conn:
        # v2, every option our TaskOptions carries set.
        full = app.amqp.as_task_v2(
            "0b9a5d2e-6c1f-4c7e-9d3a-8f2e1b4c5d6e", "myelin.execute_run",
            args=(1, "two", None, True, 2.5),  # a tuple, as task.delay(...) sends
            # Keys in sorted order at every level: Myelin writes serde_json maps sorted, Python in
            # insertion order; with sorted input both are byte-identical.
            kwargs={"run": {"attempt": 2, "command": ["sh", "-c", "echo 'hi'"], "uuid": "8a4f"}, "z": "ünïcode"},
            eta=datetime.datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
            expires=datetime.datetime(2025, 1, 2, 4, 4, 5, tzinfo=UTC),
            group_id="7c1e0d54-1111-4222-8333-444455556666", retries=3,
            time_limit=60.0, soft_time_limit=30.0,
            root_id="11111111-2222-4333-8444-555555555555",
            parent_id="66666666-7777-4888-9999-000000000000",
            reply_to="c3a0c7e8-5b7f-3c6e-9b56-2f3c8e1f0a11", origin="gen4242@myelin-host",
        )
        doc = send(app, conn, full, "myelin.execute_run", priority=5)
        doc["source"] = f"{SOURCE}: app.amqp.as_task_v2 + send_task_message(priority=5)"
        write("v2_full.json", doc)

        # v2 with Celery's defaults (what `send_task(name)` of a bare client looks like).
        minimal = app.amqp.as_task_v2(
            "5f0c9a8e-0000-4000-8000-00000000abcd", "myelin.noop", origin="gen1@host",
        )
        doc = send(app, conn, minimal, "myelin.noop")
        doc["source"] = f"{SOURCE}: app.amqp.as_task_v2 with defaults + send_task_message"
        write("v2_minimal.json", doc)

        # v1 (task_protocol = 1): everything in the body.
        v1 = app.amqp.as_task_v1(
            "a5c3e0f1-2b4d-4e6f-8a9b-0c1d2e3f4a5b", "tasks.add", args=(2, 3), kwargs={"debug": False},
            eta=datetime.datetime(2025, 6, 7, 8, 9, 10, tzinfo=UTC),
            expires=datetime.datetime(2025, 6, 7, 9, 9, 10, tzinfo=UTC),
            retries=1, group_id="b0b0b0b0-0000-4000-8000-000000000001", time_limit=10, soft_time_limit=5,
        )
        doc = send(app, conn, v1, "tasks.add")
        doc["source"] = f"{SOURCE}: app.amqp.as_task_v1 + send_task_message"
        write("v1.json", doc)

        # Remote control: app.control.revoke, on a private control exchange (same message shape
        # as on `celery.pidbox`; the shared exchange is left alone).
        ns = "golden-control-" + uuid.uuid4().hex
        capp = Celery("oracle", broker=URL)
        capp.conf.control_exchange = ns
        ch = conn.default_channel
        ch.exchange_declare(f"{ns}.pidbox", "fanout", durable=False, auto_delete=False)
        ch.queue_declare(q, durable=False, auto_delete=False)
        ch.queue_bind(q, f"{ns}.pidbox", "")
        capp.control.revoke(["0b9a5d2e-6c1f-4c7e-9d3a-8f2e1b4c5d6e", "x-2"], terminate=True, signal="SIGKILL")
        doc = capture(conn, q)
        doc["source"] = f"{SOURCE}: app.control.revoke([...], terminate=True, signal='SIGKILL')"
        doc["exchange"] = doc["exchange"].replace(ns, "celery")
        write("control_revoke.json", doc)
        ch.queue_delete(q)
        ch.exchange_delete(f"{ns}.pidbox")

    # saferepr (argsrepr/kwargsrepr) on JSON values (objects with sorted keys, see above), with Celery's limits (1024 chars, 3 levels).
    cases = [
        [], {}, [1, "two", None, True, False, 2.5, -0.0, 1e100, 1e-7, 123456789012345678],
        ["it's", 'say "hi"', "tab\there", "new\nline", "back\\slash", "ünï €"],
        [{"a": {"b": {"c": {"d": 1}}}}, [[[["deep"]]]]],
        {"n": 1.0, "run": {"spec": {"inputs": {"lr": 0.1}}, "uuid": "8a4f"}},
        ["x" * 2000], ["word " * 300], list(range(600)),
        {f"k{i:02d}": "v" * 50 for i in range(40)},
        [{"k": ["a" * 1010, "b"]}, 3],
    ]
    write("saferepr.json", {
        "source": f"{SOURCE}: celery.utils.saferepr.saferepr(value, 1024, maxlevels=3)",
        "cases": [{"value": v, "repr": saferepr(v, 1024, maxlevels=3)} for v in cases],
    })


if __name__ == "__main__":
    main()
