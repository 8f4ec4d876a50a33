"""Python Celery client -> our conformance worker: canvas (chain, group, chord) and link/link_error
callbacks, built with Python's canvas on task names and run by our worker, on both brokers.

    CELERY_CONFORMANCE_WORKER=target/debug/celery-conformance-worker \
        .venv/bin/python -m pytest tests/celery/test_client_canvas.py -v -p no:cacheprovider
"""

from __future__ import annotations

import pytest
from celery import chain, chord, group

from conftest import RESULT_TIMEOUT_S as T


def test_chain(broker, queue, client, target_worker):
    target_worker(broker, queue)
    result = chain(client.sig("tasks.add", 2, 2), client.sig("tasks.mul", 3)).apply_async()
    assert result.get(timeout=T) == 12
    assert result.parent.get(timeout=T) == 4
    # Three links, the last one an echo of the running value.
    longer = chain(client.sig("tasks.add", 1, 1), client.sig("tasks.mul", 5), client.sig("tasks.echo", "x"))
    assert longer.apply_async().get(timeout=T) == {"args": [10, "x"], "kwargs": {}}


def test_chain_stops_at_a_failure(broker, queue, client, target_worker):
    target_worker(broker, queue)
    tail = client.sig("tasks.add", 1)
    result = chain(client.sig("tasks.fail", "broken link"), tail).apply_async()
    with pytest.raises(ValueError, match="broken link"):
        result.parent.get(timeout=T)
    # The step after the failure never runs: Celery marks it failed with the same exception.
    client.state_becomes(result.id, "FAILURE")
    assert isinstance(result.result, ValueError) and result.result.args == ("broken link",)


def test_group(broker, queue, client, target_worker):
    target_worker(broker, queue)
    result = group(client.sig("tasks.add", i, i) for i in range(5)).apply_async()
    assert result.get(timeout=T) == [0, 2, 4, 6, 8]
    for child in result.results:
        assert child._get_task_meta().get("group_id") == result.id, child._get_task_meta()


def test_chord(broker, queue, client, target_worker):
    target_worker(broker, queue)
    result = chord([client.sig("tasks.add", i, i) for i in range(5)], client.sig("tasks.tsum")).apply_async()
    assert result.get(timeout=T) == 20
    assert result.state == "SUCCESS"


def test_link_callback(broker, queue, client, target_worker):
    target_worker(broker, queue)
    callback = client.sig("tasks.echo", "cb")
    callback_id = callback.freeze().id
    parent = client.send("tasks.add", 2, 3, link=callback)
    assert parent.get(timeout=T) == 5
    # The callback gets the parent's result prepended to its own arguments.
    assert client.result(callback_id).get(timeout=T) == {"args": [5, "cb"], "kwargs": {}}


def test_link_error_callback(broker, queue, client, target_worker):
    """An errback taking one argument is called with the failed task's id (Celery >= 4 calling convention);
    tasks.fail(id) then fails with that id as its message, which is what this test reads back."""
    target_worker(broker, queue)
    errback = client.sig("tasks.fail")
    errback_id = errback.freeze().id
    unused = client.sig("tasks.echo", "not called")
    unused_id = unused.freeze().id
    failed = client.send("tasks.fail", "boom", link_error=errback, link=unused)
    with pytest.raises(ValueError, match="boom"):
        failed.get(timeout=T)
    with pytest.raises(ValueError) as err:
        client.result(errback_id).get(timeout=T)
    assert err.value.args == (failed.id,)
    assert client.result(unused_id).state == "PENDING", "the success callback ran for a failed task"
