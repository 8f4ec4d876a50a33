"""Our producer (`celery-send`) -> a Python Celery worker (solo pool, tasks of pyworker.py): plain,
failing, countdown/expires, and chain/group/chord built in Rust, on both brokers; results read by Python.

    CELERY_SEND=target/debug/celery-send .venv/bin/python -m pytest tests/celery/test_our_producer.py -v

`--chain` is read as the steps AFTER the task given by --name/--args (each gets the previous result);
`ids` lists every task id created, in order (chain steps, group members).
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from celery.exceptions import TaskRevokedError

from conftest import RESULT_TIMEOUT_S as T

CLOCK_SLACK = timedelta(seconds=0.2)


def send(celery_send, broker, queue, name, args, *extra):
    return celery_send(broker, "--queue", queue, "--name", name, "--args", json.dumps(args), *extra)


def test_plain_task(broker, queue, client, py_worker, celery_send):
    worker = py_worker(broker, queue)
    out = send(celery_send, broker, queue, "tasks.add", [2, 3])
    result = client.result(out["id"])
    assert result.get(timeout=T) == 5
    # result_extended (pyworker): what the Python worker decoded from our message.
    assert result.name == "tasks.add"
    assert result.args == [2, 3]
    assert result.worker == worker.hostname

    out = send(celery_send, broker, queue, "tasks.echo", [1, "hé 💥"], "--kwargs", json.dumps({"k": [1, None]}))
    assert client.result(out["id"]).get(timeout=T) == {"args": [1, "hé 💥"], "kwargs": {"k": [1, None]}}


def test_failing_task(broker, queue, client, py_worker, celery_send):
    py_worker(broker, queue)
    out = send(celery_send, broker, queue, "tasks.fail", ["from rust"])
    result = client.result(out["id"])
    with pytest.raises(ValueError, match="from rust"):
        result.get(timeout=T)
    assert result.state == "FAILURE"


def test_countdown(broker, queue, client, py_worker, celery_send):
    py_worker(broker, queue)
    sent, started = datetime.now(timezone.utc), time.monotonic()
    out = send(celery_send, broker, queue, "tasks.add", [1, 2], "--countdown", "3")
    result = client.result(out["id"])
    if time.monotonic() - started < 2:
        assert result.state == "PENDING", "the countdown task ran early"
    assert result.get(timeout=T) == 3
    done = result.date_done if result.date_done.tzinfo else result.date_done.replace(tzinfo=timezone.utc)
    assert done >= sent + timedelta(seconds=3) - CLOCK_SLACK


def test_expires(broker, queue, client, py_worker, celery_send):
    py_worker(broker, queue)
    lapsed = send(celery_send, broker, queue, "tasks.add", [1, 1], "--countdown", "3", "--expires", "1")
    fresh = send(celery_send, broker, queue, "tasks.add", [2, 2], "--expires", "60")
    with pytest.raises(TaskRevokedError):
        client.result(lapsed["id"]).get(timeout=T)
    assert client.result(lapsed["id"]).state == "REVOKED"
    assert client.result(fresh["id"]).get(timeout=T) == 4


def test_chain(broker, queue, client, py_worker, celery_send):
    py_worker(broker, queue)
    steps = [["tasks.mul", [3]], ["tasks.add", [1]]]
    out = send(celery_send, broker, queue, "tasks.add", [2, 2], "--chain", json.dumps(steps))
    ids = out["ids"]
    assert len(ids) == 3, out
    assert out["id"] in ids, out
    assert [client.result(i).get(timeout=T) for i in ids] == [4, 12, 13]
    # Each step is a child of the previous one.
    assert client.result(ids[1])._get_task_meta().get("parent_id") == ids[0]


def test_group(broker, queue, client, py_worker, celery_send):
    py_worker(broker, queue)
    out = send(celery_send, broker, queue, "tasks.add", [2, 3], "--group", "3")
    ids, group_id = out["ids"], out["group_id"]
    assert len(set(ids)) == 3 and group_id, out
    for task_id in ids:
        result = client.result(task_id)
        assert result.get(timeout=T) == 5
        assert result._get_task_meta().get("group_id") == group_id


def test_chord(broker, queue, client, py_worker, celery_send):
    py_worker(broker, queue)
    out = send(celery_send, broker, queue, "tasks.add", [2, 3], "--group", "3", "--chord-body", "tasks.tsum")
    assert len(out["ids"]) == 3 and out["group_id"] and out["body_id"], out
    assert client.result(out["body_id"]).get(timeout=T) == 15
    for task_id in out["ids"]:
        assert client.result(task_id).get(timeout=T) == 5


def test_sent_events(broker, queue, client, events, py_worker, celery_send):
    """--sent-events: a Python event receiver sees our `task-sent` (Celery's task_send_sent_event)."""
    py_worker(broker, queue)
    out = send(celery_send, broker, queue, "tasks.add", [4, 5], "--sent-events")
    sent = events.find(lambda e: e.get("type") == "task-sent" and e.get("uuid") == out["id"])
    assert sent["name"] == "tasks.add"
    assert sent["queue"] == queue
    assert client.result(out["id"]).get(timeout=T) == 9
