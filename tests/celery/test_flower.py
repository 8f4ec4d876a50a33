"""Flower (PyPI) on the same broker lists our conformance worker online and our tasks with their states,
on both brokers. Flower's API is read with FLOWER_UNAUTHENTICATED_API=true.

    CELERY_CONFORMANCE_WORKER=target/debug/celery-conformance-worker \
        .venv/bin/python -m pytest tests/celery/test_flower.py -v -p no:cacheprovider
"""

from __future__ import annotations

from conftest import RESULT_TIMEOUT_S as T
from conftest import TASK_NAMES, wait_until


def test_flower_sees_our_worker_and_tasks(broker, queue, client, flower, target_worker):
    fl = flower(broker)
    worker = target_worker(broker, queue, events=True)
    host = worker.hostname

    # Online, from the worker's events.
    wait_until(lambda: (fl.get("/api/workers?status=1")[1] or {}).get(host) is True, f"Flower to list {host} online")

    # Details, from Flower's inspect broadcast (stats, registered, active_queues, ...).
    def details():
        status, body = fl.get(f"/api/workers?refresh=1&workername={host}")
        return body.get(host) if status == 200 and isinstance(body, dict) else None

    info = wait_until(details, f"Flower's inspect of {host}", timeout=30, every=1)
    assert set(TASK_NAMES) <= {entry.split()[0] for entry in info.get("registered") or []}, info
    assert queue in [q.get("name") for q in info.get("active_queues") or []], info
    assert isinstance(info.get("stats"), dict) and info["stats"], info

    ok = client.send("tasks.add", 2, 3)
    bad = client.send("tasks.fail", "seen by flower")
    assert ok.get(timeout=T) == 5
    bad.get(timeout=T, propagate=False)

    def task(task_id: str, state: str):
        status, body = fl.get(f"/api/task/info/{task_id}")
        return body if status == 200 and isinstance(body, dict) and body.get("state") == state else None

    seen_ok = wait_until(lambda: task(ok.id, "SUCCESS"), f"Flower to show {ok.id} SUCCESS")
    assert seen_ok.get("name") == "tasks.add", seen_ok
    assert seen_ok.get("worker") == host, seen_ok
    assert str(seen_ok.get("result")) == "5", seen_ok
    seen_bad = wait_until(lambda: task(bad.id, "FAILURE"), f"Flower to show {bad.id} FAILURE")
    assert "seen by flower" in str(seen_bad.get("exception")), seen_bad

    status, listed = fl.get(f"/api/tasks?workername={host}")
    assert status == 200, listed
    assert {ok.id: "SUCCESS", bad.id: "FAILURE"} == {i: listed[i]["state"] for i in (ok.id, bad.id) if i in listed}
