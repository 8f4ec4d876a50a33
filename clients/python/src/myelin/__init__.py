"""Myelin's Python client: track a run's metrics, params, outputs, tags and artifacts.

Standard library only. Module-level functions act on the run :func:`init` made::

    import myelin

    myelin.init(project="mnist")            # or, in a run Myelin launched, just myelin.init()
    myelin.log_params(lr=0.01, batch=32)
    for step in range(100):
        myelin.log_metrics(step=step, loss=1 / (step + 1))
    myelin.log_outputs(accuracy=0.97)
    myelin.log_artifact("model.pt")
    # at exit: queued points are flushed and a run created here is marked succeeded (failed after
    # an uncaught exception).

Use :class:`Run` directly for several runs at once.
"""

from __future__ import annotations

__version__ = "0.1.0"

import threading  # noqa: E402
from typing import Any, Iterable, Optional  # noqa: E402

from .errors import MyelinError  # noqa: E402
from .run import Run  # noqa: E402

__all__ = [
    "MyelinError",
    "Run",
    "end",
    "flush",
    "get_run",
    "init",
    "log_artifact",
    "log_code_ref",
    "log_event",
    "log_inputs",
    "log_metric",
    "log_metrics",
    "log_outputs",
    "log_params",
    "log_tags",
    "log_text",
]

_lock = threading.Lock()
_run: Optional[Run] = None


def init(
    project: Optional[str] = None,
    owner: Optional[str] = None,
    name: Optional[str] = None,
    host: Optional[str] = None,
    token: Optional[str] = None,
    run_uuid: Optional[str] = None,
    tags: Optional[Iterable[str]] = None,
    description: Optional[str] = None,
    is_new: Optional[bool] = None,
    **options: Any,
) -> Run:
    """Starts tracking and makes the run the default of the module-level functions.

    Inside a run Myelin launched (``MYELIN_RUN_UUID``, ``MYELIN_HOST``, ``MYELIN_TOKEN`` and
    ``POLYAXON_RUN_INSTANCE`` set by the executor) it attaches to that run; otherwise (or with
    ``is_new=True``) it creates an unmanaged run in ``owner/project`` (owner ``default`` unless given
    or ``MYELIN_OWNER``; project from the argument or ``MYELIN_PROJECT``; the project is created if
    missing) and marks it running. ``options`` are :class:`Run`'s tuning keywords. A previous default
    run is ended first.
    """
    global _run
    with _lock:
        previous, _run = _run, None
    if previous is not None:
        previous.end()
    run = Run(project, owner, name, host, token, run_uuid, tags, description, is_new, **options)
    with _lock:
        _run = run
    return run


def get_run() -> Optional[Run]:
    """The default run, if :func:`init` was called."""
    return _run


def _current() -> Run:
    run = _run
    if run is None:
        raise RuntimeError("myelin: call myelin.init() first")
    return run


def log_metrics(step: Optional[int] = None, timestamp: Any = None, **values: Any) -> None:
    """Queues ``name=value`` metric points (finite numbers) at ``step``; sent in the background."""
    _current().log_metrics(step, timestamp, **values)


def log_metric(name: str, value: Any, step: Optional[int] = None, timestamp: Any = None) -> None:
    """Queues one metric point; for names that are not identifiers (``val/loss``)."""
    _current().log_metric(name, value, step, timestamp)


def log_event(kind: str, name: str, data: Any, step: Optional[int] = None, timestamp: Any = None) -> None:
    """Queues one event of ``kind`` with traceml's ``data`` for it."""
    _current().log_event(kind, name, data, step, timestamp)


def log_text(name: str, text: str, step: Optional[int] = None, timestamp: Any = None) -> None:
    """Queues a text event."""
    _current().log_text(name, text, step, timestamp)


def log_params(**params: Any) -> None:
    """Merges params into the run's inputs (sent at once)."""
    _current().log_params(**params)


log_inputs = log_params


def log_outputs(**outputs: Any) -> None:
    """Merges values into the run's outputs (sent at once)."""
    _current().log_outputs(**outputs)


def log_tags(*tags: str) -> None:
    """Adds tags to the run (sent at once)."""
    _current().log_tags(*tags)


def log_artifact(
    path: str, name: Optional[str] = None, kind: Optional[str] = None, dest: Optional[str] = None,
    is_input: bool = False,
) -> dict:
    """Uploads a file or directory and registers it in the run's lineage; returns the lineage entry."""
    return _current().log_artifact(path, name, kind, dest, is_input)


def log_code_ref(code_ref: Optional[dict] = None, path: Optional[str] = None) -> Optional[dict]:
    """Registers the run's code reference (git commit, branch, url) in its lineage; see
    :meth:`Run.log_code_ref`."""
    return _current().log_code_ref(code_ref, path)


def flush(timeout: Optional[float] = None) -> bool:
    """Blocks until everything queued is sent; raises the first background error since the last flush."""
    return _current().flush(timeout)


def end(status: str = "succeeded", message: Optional[str] = None, force: bool = False) -> None:
    """Flushes and ends the default run (posting ``status`` if it was created here, or ``force``)."""
    global _run
    run = _current()
    with _lock:
        if _run is run:
            _run = None
    run.end(status, message, force)
