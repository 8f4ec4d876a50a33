"""The conformance tasks in Python Celery: the reference our `celery-conformance-worker` must match.

Same task names, same behaviour as the Rust conformance worker (docs/dev/issue-7.md). Started by the
suite's fixtures as `python -m celery -A pyworker worker ...`, with the broker and result backend read
from the environment:

    PYWORKER_BROKER        broker URL (default amqp://guest:guest@127.0.0.1:5672//)
    PYWORKER_BACKEND       result backend URL (default redis://127.0.0.1:6379/6)
    PYWORKER_MAX_PRIORITY  when set, queues are declared with x-max-priority (task_queue_max_priority)
"""

from __future__ import annotations

import os
import time

from celery import Celery

app = Celery(
    "pyworker",
    broker=os.environ.get("PYWORKER_BROKER", "amqp://guest:guest@127.0.0.1:5672//"),
    backend=os.environ.get("PYWORKER_BACKEND", "redis://127.0.0.1:6379/6"),
)
app.conf.update(
    broker_connection_retry_on_startup=True,
    # Results carry name, args, kwargs, worker, retries, queue and group_id: the tests read group_id.
    result_extended=True,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    enable_utc=True,
)
if os.environ.get("PYWORKER_MAX_PRIORITY"):
    app.conf.task_queue_max_priority = int(os.environ["PYWORKER_MAX_PRIORITY"])


@app.task(name="tasks.add")
def add(a, b):
    return a + b


@app.task(name="tasks.mul")
def mul(a, b):
    return a * b


@app.task(name="tasks.tsum")
def tsum(xs):
    return sum(xs)


@app.task(name="tasks.echo")
def echo(*args, **kwargs):
    return {"args": list(args), "kwargs": kwargs}


@app.task(name="tasks.fail")
def fail(msg):
    raise ValueError(msg)


@app.task(name="tasks.sleep")
def sleep(s):
    time.sleep(s)
    return s


@app.task(name="tasks.flaky", bind=True, max_retries=None)
def flaky(self, n):
    """Retries itself (countdown 1 s) until its retries count reaches `n`, then returns `n`."""
    if self.request.retries < n:
        raise self.retry(countdown=1)
    return n
