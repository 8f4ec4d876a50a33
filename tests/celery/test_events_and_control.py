"""Python Celery client -> our conformance worker: events on `celeryev` seen by a Python
`app.events.Receiver`, and remote control on `celery.pidbox` (ping, inspect, enable_events), on both brokers.

    CELERY_CONFORMANCE_WORKER=target/debug/celery-conformance-worker \
        .venv/bin/python -m pytest tests/celery/test_events_and_control.py -v -p no:cacheprovider
"""

from __future__ import annotations

from conftest import RESULT_TIMEOUT_S as T
from conftest import TASK_NAMES, wait_until


def of(kind: str, **fields):
    """A predicate: an event of type `kind` whose fields include `fields`."""
    return lambda e: e.get("type") == kind and all(e.get(k) == v for k, v in fields.items())


def test_worker_and_task_events(broker, queue, client, events, target_worker):
    worker = target_worker(broker, queue, events=True)
    host = worker.hostname
    events.find(of("worker-online", hostname=host))
    # Celery workers beat every 2 s.
    heartbeat = events.find(of("worker-heartbeat", hostname=host), timeout=10)
    assert isinstance(heartbeat.get("timestamp"), (int, float)), heartbeat

    ok = client.send("tasks.add", 2, 3)
    assert ok.get(timeout=T) == 5
    received = events.find(of("task-received", uuid=ok.id, hostname=host))
    assert received.get("name") == "tasks.add", received
    events.find(of("task-started", uuid=ok.id, hostname=host))
    succeeded = events.find(of("task-succeeded", uuid=ok.id, hostname=host))
    assert str(succeeded.get("result")) == "5", succeeded
    assert isinstance(succeeded.get("runtime"), (int, float)), succeeded

    bad = client.send("tasks.fail", "evented failure")
    bad.get(timeout=T, propagate=False)
    failed = events.find(of("task-failed", uuid=bad.id, hostname=host))
    assert "evented failure" in str(failed.get("exception")), failed


def test_enable_events_by_remote_control(broker, queue, client, events, target_worker):
    worker = target_worker(broker, queue, events=False)
    host = worker.hostname
    quiet = client.send("tasks.add", 1, 1)
    assert quiet.get(timeout=T) == 2
    events.barrier()
    assert events.find(lambda e: e.get("uuid") == quiet.id, timeout=0, fail=False) is None, (
        "task events were sent although events are off"
    )

    replies = client.app.control.enable_events(destination=[host], reply=True, timeout=5)
    assert any(host in reply for reply in replies), replies
    loud = client.send("tasks.add", 2, 2)
    assert loud.get(timeout=T) == 4
    events.find(of("task-succeeded", uuid=loud.id, hostname=host))


def test_ping_and_inspect(broker, queue, client, target_worker):
    worker = target_worker(broker, queue)
    host = worker.hostname
    assert client.send("tasks.add", 2, 3).get(timeout=T) == 5
    control = client.app.control
    assert control.ping(destination=[host], timeout=5) == [{host: {"ok": "pong"}}]
    inspect = control.inspect(destination=[host], timeout=5)

    assert inspect.ping() == {host: {"ok": "pong"}}
    stats = (inspect.stats() or {}).get(host)
    assert isinstance(stats, dict), stats
    assert isinstance(stats.get("pid"), int), stats
    assert stats.get("total", {}).get("tasks.add", 0) >= 1, stats

    registered = (inspect.registered() or {}).get(host)
    assert registered is not None
    # Python lists "name [option=value ...]"; the bare names must all be there.
    assert set(TASK_NAMES) <= {entry.split()[0] for entry in registered}, registered

    active_queues = (inspect.active_queues() or {}).get(host)
    assert active_queues is not None
    assert queue in [q.get("name") for q in active_queues], active_queues

    assert (inspect.active() or {}).get(host) == []
    assert isinstance((inspect.reserved() or {}).get(host), list)
    assert isinstance((inspect.conf() or {}).get(host), dict)


def test_inspect_scheduled_and_revoked(broker, queue, client, target_worker):
    worker = target_worker(broker, queue)
    host = worker.hostname
    inspect = client.app.control.inspect(destination=[host], timeout=5)
    later = client.send("tasks.add", 1, 1, countdown=60)

    def scheduled():
        entries = (inspect.scheduled() or {}).get(host) or []
        return [e for e in entries if (e.get("request") or {}).get("id") == later.id]

    entry = wait_until(scheduled, f"{later.id} in inspect().scheduled()")[0]
    assert entry.get("eta"), entry

    client.app.control.revoke(later.id)
    wait_until(lambda: later.id in ((inspect.revoked() or {}).get(host) or []), f"{later.id} in revoked()")
