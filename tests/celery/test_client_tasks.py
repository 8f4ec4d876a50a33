"""Python Celery client -> our conformance worker: results, exceptions, ETA and expires, retries, revoke,
priorities, time limits and the RPC backend, on both brokers (amqp, redis).

    CELERY_CONFORMANCE_WORKER=target/debug/celery-conformance-worker \
        .venv/bin/python -m pytest tests/celery/test_client_tasks.py -v -p no:cacheprovider

With CELERY_INTEROP_WORKER=python the same tests run against Python Celery's worker (the baseline).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from celery.exceptions import (MaxRetriesExceededError, NotRegistered, SoftTimeLimitExceeded, TaskRevokedError,
                               TimeLimitExceeded)

from conftest import RESULT_TIMEOUT_S as T
from conftest import wait_until

# How early (seconds) a task may finish relative to its ETA: clock reads of two processes, nothing more.
CLOCK_SLACK = timedelta(seconds=0.2)


def now() -> datetime:
    return datetime.now(timezone.utc)


def done_at(result) -> datetime:
    """The result's `date_done` as an aware UTC datetime."""
    done = result.date_done
    assert done is not None, f"task {result.id} has no date_done: {result._get_task_meta()}"
    return done if done.tzinfo else done.replace(tzinfo=timezone.utc)


def test_results_of_add_mul_tsum_echo(broker, queue, client, target_worker):
    target_worker(broker, queue)
    assert client.send("tasks.add", 2, 3).get(timeout=T) == 5
    assert client.send("tasks.add", 1, 0.5).get(timeout=T) == 1.5
    assert client.send("tasks.mul", 4, 5).get(timeout=T) == 20
    assert client.send("tasks.tsum", [1, 2, 3, 4]).get(timeout=T) == 10
    echoed = client.send("tasks.echo", 1, "hé 💥", [3, None], kwargs={"k": {"nested": True}, "n": None})
    assert echoed.get(timeout=T) == {"args": [1, "hé 💥", [3, None]], "kwargs": {"k": {"nested": True}, "n": None}}
    assert echoed.state == "SUCCESS"
    assert echoed.successful()


def test_failure_carries_the_exception(broker, queue, client, target_worker):
    target_worker(broker, queue)
    result = client.send("tasks.fail", "boom 💥")
    with pytest.raises(ValueError, match="boom 💥"):
        result.get(timeout=T)
    assert result.state == "FAILURE"
    assert isinstance(result.result, ValueError) and result.result.args == ("boom 💥",)
    assert "ValueError" in (result.traceback or ""), f"no traceback: {result._get_task_meta()}"


def test_unknown_task_fails_with_not_registered(broker, queue, client, target_worker):
    target_worker(broker, queue)
    result = client.send("tasks.does_not_exist", 1)
    with pytest.raises(NotRegistered, match="tasks.does_not_exist"):
        result.get(timeout=T)
    assert result.state == "FAILURE"
    # The worker rejected that message and goes on.
    assert client.send("tasks.add", 1, 1).get(timeout=T) == 2


@pytest.mark.parametrize("how", ["countdown", "eta"])
def test_eta_is_honoured_without_blocking_other_tasks(broker, queue, client, target_worker, how):
    target_worker(broker, queue)
    delay = 4
    sent, started = now(), time.monotonic()
    when = {"countdown": delay} if how == "countdown" else {"eta": sent + timedelta(seconds=delay)}
    later = client.send("tasks.add", 1, 2, **when)
    plain = client.send("tasks.add", 2, 2)
    assert plain.get(timeout=T) == 4
    if time.monotonic() - started < delay - 1:
        assert later.state == "PENDING", "the ETA task ran early"
    assert later.get(timeout=T) == 3
    assert done_at(later) >= sent + timedelta(seconds=delay) - CLOCK_SLACK
    assert done_at(plain) < done_at(later), "the plain task waited for the ETA task"


def test_expired_task_is_revoked(broker, queue, client, target_worker):
    target_worker(broker, queue)
    past = client.send("tasks.add", 1, 1, expires=now() - timedelta(minutes=1))
    # Expires (1 s) before its countdown (3 s) is due.
    lapsing = client.send("tasks.add", 2, 2, countdown=3, expires=1)
    fresh = client.send("tasks.add", 3, 3, expires=60)
    for result in (past, lapsing):
        with pytest.raises(TaskRevokedError):
            result.get(timeout=T)
        assert result.state == "REVOKED"
    assert fresh.get(timeout=T) == 6


def test_retries_until_done(broker, queue, client, target_worker):
    target_worker(broker, queue)
    started = time.monotonic()
    assert client.send("tasks.flaky", 2).get(timeout=T) == 2
    assert time.monotonic() - started >= 1.8, "two retries with countdown 1 took under 2 s"


def test_max_retries_exceeded(broker, queue, client, our_worker):
    """Our worker's per-task max_retries (Celery's Task.max_retries): the third retry asked fails the task."""
    our_worker(broker, queue, extra=("--max-retries", "2"))
    result = client.send("tasks.flaky", 5)
    with pytest.raises(MaxRetriesExceededError, match="tasks.flaky"):
        result.get(timeout=T)
    assert result.state == "FAILURE"


def test_rate_limit_spaces_the_starts(broker, queue, client, our_worker):
    """tasks.add limited to 2/s on our worker: 5 adds, although 4 could run at once, take at least 2 s."""
    our_worker(broker, queue, concurrency=4, extra=("--rate-limit", "tasks.add=2/s"))
    results = [client.send("tasks.add", i, i) for i in range(5)]
    assert [r.get(timeout=T) for r in results] == [2 * i for i in range(5)]
    done = sorted(done_at(r) for r in results)
    assert (done[-1] - done[0]).total_seconds() >= 1.8, f"5 starts at 2/s finished within {done[-1] - done[0]}"
    assert client.send("tasks.mul", 3, 3).get(timeout=T) == 9


def test_revoke_of_a_waiting_task(broker, queue, client, target_worker):
    target_worker(broker, queue)
    result = client.send("tasks.add", 1, 1, countdown=3)
    client.app.control.revoke(result.id)
    with pytest.raises(TaskRevokedError):
        result.get(timeout=T)
    assert result.state == "REVOKED"


def test_revoke_terminate_stops_a_running_task(broker, queue, client, target_worker):
    worker = target_worker(broker, queue, concurrency=2)
    result = client.send("tasks.sleep", 30)
    inspect = client.app.control.inspect(destination=[worker.hostname], timeout=3)

    def running():
        active = (inspect.active() or {}).get(worker.hostname) or []
        return any(task.get("id") == result.id for task in active)

    wait_until(running, f"tasks.sleep to be active on {worker.hostname}")
    started = time.monotonic()
    client.app.control.revoke(result.id, terminate=True, signal="SIGTERM")
    with pytest.raises(TaskRevokedError):
        result.get(timeout=T)
    assert time.monotonic() - started < 10, "terminate did not stop the running task"
    assert result.state == "REVOKED"
    assert client.send("tasks.add", 2, 2).get(timeout=T) == 4


def test_priorities(broker, queue, make_client, target_worker):
    """On a priority queue filled while no worker runs, the urgent task (sent last) runs first.

    RabbitMQ: the queue has x-max-priority 10 (declared by the client, as Celery's task_queue_max_priority
    does) and higher is more urgent. Redis (kombu): priority 0 is the most urgent, 9 the least.
    """
    client = make_client(task_queue_max_priority=10)
    low, high = (0, 9) if broker.name == "amqp" else (9, 0)
    lows = [client.send("tasks.echo", "low", i, priority=low) for i in range(10)]
    urgent = client.send("tasks.echo", "high", priority=high)
    target_worker(broker, queue, concurrency=1, max_priority=10)
    assert urgent.get(timeout=T) == {"args": ["high"], "kwargs": {}}
    for i, result in enumerate(lows):
        assert result.get(timeout=T) == {"args": ["low", i], "kwargs": {}}
    first_low = min(done_at(r) for r in lows)
    assert done_at(urgent) < first_low, "the urgent task did not run before the low-priority ones"


def test_hard_time_limit(broker, queue, client, target_worker):
    target_worker(broker, queue, concurrency=2)
    started = time.monotonic()
    result = client.send("tasks.sleep", 10, time_limit=1)
    with pytest.raises(TimeLimitExceeded):
        result.get(timeout=T)
    assert time.monotonic() - started < 8
    assert result.state == "FAILURE"
    assert client.send("tasks.add", 2, 2).get(timeout=T) == 4


def test_soft_time_limit(broker, queue, client, target_worker):
    target_worker(broker, queue, concurrency=2)
    started = time.monotonic()
    result = client.send("tasks.sleep", 10, soft_time_limit=1)
    with pytest.raises(SoftTimeLimitExceeded):
        result.get(timeout=T)
    assert time.monotonic() - started < 8
    assert result.state == "FAILURE"


def test_rpc_backend(broker, queue, make_client, target_worker):
    client = make_client(backend="rpc://")
    target_worker(broker, queue, backend="rpc://")
    assert client.send("tasks.add", 20, 22).get(timeout=T) == 42
    with pytest.raises(ValueError, match="over rpc"):
        client.send("tasks.fail", "over rpc").get(timeout=T)
