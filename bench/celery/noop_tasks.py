"""The Python side of the Celery throughput benchmark: a Celery app with one task, `tasks.noop` → None.

Started by `throughput.py` as `python -m celery -A noop_tasks worker ...`; configured from the
environment so that every run gets the same settings as our worker:

    BENCH_BROKER     broker URL (required)
    BENCH_BACKEND    result backend URL, or `disabled` (no backend, results ignored)
    BENCH_ACKS_LATE  `1` for `task_acks_late=True` (ack after the task ran), else Celery's default (early)

Everything else is Celery 5.7's default (prefetch multiplier 4, JSON, no events).
"""

from __future__ import annotations

import os

from celery import Celery

_backend = os.environ.get("BENCH_BACKEND", "disabled")

app = Celery("noop_tasks", broker=os.environ["BENCH_BROKER"], backend=None if _backend == "disabled" else _backend)
app.conf.update(
    broker_connection_retry_on_startup=True,
    task_acks_late=os.environ.get("BENCH_ACKS_LATE") == "1",
    # Without a backend nothing is stored anyway; saying so skips the (no-op) store call too.
    task_ignore_result=_backend == "disabled",
    enable_utc=True,
)


@app.task(name="tasks.noop")
def noop():
    return None
