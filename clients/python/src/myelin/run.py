"""A tracked run: created here (an unmanaged run, as Polyaxon's SDK makes) or attached to the run
Myelin launched this process for (``MYELIN_RUN_UUID``), with the logging methods.

Metrics and text events are queued and sent in the background (:mod:`myelin.batching`); params,
outputs, tags and artifacts are sent at once, so their errors raise where they were logged. A run
created here is marked ``running`` and, at exit, ``succeeded`` (``failed`` after an uncaught
exception, ``stopped`` after Ctrl-C).
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import uuid
from typing import Any, Iterable, List, Optional, Tuple

from . import coderef, points, upload
from .api import Api, segment
from .batching import Batcher
from .errors import MyelinError

logger = logging.getLogger("myelin")

DEFAULT_HOST = "http://127.0.0.1:8000"
NAMESPACE = "default"  # the `{namespace}` of stream paths; the gateway accepts any
_uncaught: Optional[Tuple[str, str]] = None  # (status, message) after an uncaught exception
_hook_lock = threading.Lock()
_hook_installed = False


def _env(*names: str) -> Optional[str]:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def _instance() -> Optional[Tuple[str, str, str]]:
    """``(owner, project, uuid)`` from ``POLYAXON_RUN_INSTANCE`` (``owner.project.runs.uuid``)."""
    parts = (_env("POLYAXON_RUN_INSTANCE") or "").split(".")
    if len(parts) == 4 and parts[2] == "runs" and all(parts):
        return parts[0], parts[1], parts[3]
    return None


def _same_uuid(a: str, b: str) -> bool:
    return a.replace("-", "").lower() == b.replace("-", "").lower()


def _install_excepthook() -> None:
    global _hook_installed
    with _hook_lock:
        if _hook_installed:
            return
        previous = sys.excepthook

        def hook(kind, value, tb):  # type: ignore[no-untyped-def]
            global _uncaught
            if issubclass(kind, KeyboardInterrupt):
                _uncaught = ("stopped", "interrupted (KeyboardInterrupt)")
            else:
                _uncaught = ("failed", f"{kind.__name__}: {value}"[:1000])
            previous(kind, value, tb)

        sys.excepthook = hook
        _hook_installed = True


class Run:
    """One run being tracked. See :func:`myelin.init` for the arguments; the keyword-only ones tune
    the client: ``batch_size`` points per request (sent as soon as that many wait), ``flush_interval``
    seconds a point waits at most, ``max_pending`` points held before logging blocks, ``retries``
    attempts per request with ``backoff`` seconds doubling between them, ``timeout`` seconds per
    request, ``exit_timeout`` seconds the exit flush may take."""

    def __init__(
        self,
        project: Optional[str] = None,
        owner: Optional[str] = None,
        name: Optional[str] = None,
        host: Optional[str] = None,
        token: Optional[str] = None,
        run_uuid: Optional[str] = None,
        tags: Optional[Iterable[str]] = None,
        description: Optional[str] = None,
        is_new: Optional[bool] = None,
        *,
        batch_size: int = 5000,
        flush_interval: float = 1.0,
        max_pending: int = 1_000_000,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 30.0,
        exit_timeout: float = 120.0,
    ) -> None:
        self.host = host or _env("MYELIN_HOST", "POLYAXON_HOST") or DEFAULT_HOST
        self.api = Api(self.host, token or _env("MYELIN_TOKEN", "POLYAXON_AUTH_TOKEN"), timeout, retries, backoff)
        instance = _instance()
        uuid = None if is_new else run_uuid or _env("MYELIN_RUN_UUID") or (instance[2] if instance else None)
        if is_new is False and not uuid:
            raise ValueError("is_new=False needs a run: pass run_uuid or set MYELIN_RUN_UUID")
        if uuid and instance and _same_uuid(uuid, instance[2]):
            owner, project = instance[0], instance[1]
        self.owner = owner or _env("MYELIN_OWNER") or "default"
        project = project or _env("MYELIN_PROJECT")
        if not project:
            raise ValueError("no project: pass project=... or set MYELIN_PROJECT")
        self.project = project
        self.exit_timeout = exit_timeout
        self.created = uuid is None
        self.ended = False
        self._tags: List[str] = []
        self._names: set = set()  # metric names already checked
        try:
            if self.created:
                self.uuid = self._create(name, description, tags)
            else:
                self.uuid = str(uuid)
                self._attach(name, description, tags)
        except BaseException:
            self.api.close()
            raise
        self._batcher = Batcher(
            self._send, batch_size, flush_interval, max_pending, label=f"run {self.uuid}"
        )
        _install_excepthook()
        atexit.register(self._at_exit)

    # -- paths -------------------------------------------------------------------------------
    @property
    def _project_path(self) -> str:
        return f"/api/v1/{segment(self.owner)}/{segment(self.project)}"

    @property
    def _run_path(self) -> str:
        return f"{self._project_path}/runs/{segment(self.uuid)}"

    @property
    def _stream_path(self) -> str:
        ns, owner, project = segment(NAMESPACE), segment(self.owner), segment(self.project)
        return f"/streams/v1/{ns}/{owner}/{project}/runs/{segment(self.uuid)}/artifact"

    # -- lifecycle ---------------------------------------------------------------------------
    def _create(self, name: Optional[str], description: Optional[str], tags: Optional[Iterable[str]]) -> str:
        body: dict = {"is_managed": False, "managed_by": "user"}
        if name:
            body["name"] = name
        if description:
            body["description"] = description
        if tags:
            self._tags = _unique([], tags)
            body["tags"] = self._tags
        try:
            run = self.api.request("POST", f"{self._project_path}/runs", body)
        except MyelinError as err:
            if err.code != "tracker.project_not_found":
                raise
            self._create_project()
            run = self.api.request("POST", f"{self._project_path}/runs", body)
        uuid = str(run["uuid"])
        self.uuid = uuid
        self._post_status("running", "Run is running")
        return uuid

    def _create_project(self) -> None:
        try:
            self.api.request("POST", f"/api/v1/{segment(self.owner)}/projects/create", {"name": self.project})
        except MyelinError as err:
            if err.status != 409:  # created meanwhile by someone else: fine
                raise

    def _attach(self, name: Optional[str], description: Optional[str], tags: Optional[Iterable[str]]) -> None:
        run = self.api.request("GET", self._run_path)  # fails early (404) on a wrong run
        self._tags = list((run or {}).get("tags") or [])
        patch: dict = {}
        if name:
            patch["name"] = name
        if description:
            patch["description"] = description
        if tags:
            self._tags = _unique(self._tags, tags)
            patch["tags"] = self._tags
        if patch:
            self._patch(patch)

    def _post_status(self, status: str, message: Optional[str]) -> None:
        at = points.now()
        condition = {
            "type": status,
            "status": True,
            "reason": "MyelinClient",
            "message": message or f"Run is {status}",
            "last_update_time": at,
            "last_transition_time": at,
        }
        self.api.request("POST", f"{self._run_path}/statuses", {"condition": condition})

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Blocks until every queued point is sent (True) or ``timeout`` passes (False); raises the
        first background error since the last flush."""
        return self._batcher.flush(timeout)

    def end(
        self, status: str = "succeeded", message: Optional[str] = None, force: bool = False,
        timeout: Optional[float] = None,
    ) -> None:
        """Flushes, stops the sender and, for a run created here (or with ``force=True``), posts the
        final ``status``. Raises the first background error after the status is posted."""
        if self.ended:
            return
        self.ended = True
        atexit.unregister(self._at_exit)
        failure: Optional[BaseException] = None
        try:
            if not self._batcher.close(timeout):
                left = self._batcher.unsent
                logger.warning("myelin: %d points of run %s were not sent within %ss", left, self.uuid, timeout)
        except Exception as err:  # noqa: BLE001 - re-raised below, after the status
            failure = err
        try:
            if self.created or force:
                self._post_status(status, message)
        except Exception as err:  # noqa: BLE001 - the flush failure, if any, is reported first
            failure = failure or err
        finally:
            self.api.close()
        if failure is not None:
            raise failure

    def _at_exit(self) -> None:
        status, message = _uncaught or ("succeeded", None)
        try:
            self.end(status, message, timeout=self.exit_timeout)
        except Exception as err:  # noqa: BLE001 - nothing can be raised at exit
            logger.warning("myelin: while ending run %s at exit: %s", self.uuid, err)

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, kind, value, tb) -> None:  # type: ignore[no-untyped-def]
        if kind is None:
            self.end()
        elif issubclass(kind, KeyboardInterrupt):
            self.end("stopped", "interrupted (KeyboardInterrupt)")
        else:
            self.end("failed", f"{kind.__name__}: {value}"[:1000])

    # -- logging -----------------------------------------------------------------------------
    def log_metrics(self, step: Optional[int] = None, timestamp: Any = None, **values: Any) -> None:
        """Queues one point per ``name=value`` (all refused if any is not a finite number)."""
        at, step = points.timestamp_value(timestamp), points.step_value(step)
        batch = []
        for name, value in values.items():
            if name not in self._names:
                points.check_name(name)
                self._names.add(name)
            point = {"name": name, "value": points.metric_value(name, value), "timestamp": at}
            if step is not None:
                point["step"] = step
            batch.append(point)
        self._batcher.put(metrics=batch)

    def log_metric(self, name: str, value: Any, step: Optional[int] = None, timestamp: Any = None) -> None:
        """Queues one metric point (for names that are not Python identifiers, like ``val/loss``)."""
        self.log_metrics(step, timestamp, **{name: value})

    def log_event(self, kind: str, name: str, data: Any, step: Optional[int] = None, timestamp: Any = None) -> None:
        """Queues one event of ``kind`` (``text``, ``html``, ``chart``...) whose ``data`` is traceml's JSON for it."""
        event = {
            "kind": kind,
            "name": points.check_name(name, "event"),
            "data": points.json_object("event", {name: data})[name],
            "timestamp": points.timestamp_value(timestamp),
        }
        step = points.step_value(step)
        if step is not None:
            event["step"] = step
        self._batcher.put(events=[event])

    def log_text(self, name: str, text: str, step: Optional[int] = None, timestamp: Any = None) -> None:
        """Queues a ``text`` event (its data is the text, as traceml writes it)."""
        if not isinstance(text, str):
            raise ValueError(f"text {name!r}: {type(text).__name__} is not a string")
        self.log_event("text", name, text, step, timestamp)

    def log_params(self, **params: Any) -> None:
        """Merges ``params`` into the run's inputs."""
        self._patch({"inputs": points.json_object("param", params)})

    log_inputs = log_params

    def log_outputs(self, **outputs: Any) -> None:
        """Merges ``outputs`` into the run's outputs."""
        self._patch({"outputs": points.json_object("output", outputs)})

    def log_tags(self, *tags: str) -> None:
        """Adds tags (strings, or one list of them) to the run's."""
        if len(tags) == 1 and isinstance(tags[0], (list, tuple, set)):
            tags = tuple(tags[0])
        self._tags = _unique(self._tags, tags)
        self._patch({"tags": self._tags})

    @property
    def tags(self) -> List[str]:
        """The run's tags as known here."""
        return list(self._tags)

    def log_artifact(
        self, path: str, name: Optional[str] = None, kind: Optional[str] = None, dest: Optional[str] = None,
        is_input: bool = False,
    ) -> dict:
        """Uploads a file or a directory to the run's artifact path ``dest`` (default: its base name)
        and registers it in the lineage as ``name`` (default: the base name of ``dest``) of ``kind``
        (default ``file`` or ``dir``). Returns the lineage entry."""
        self._check_open()
        lineage = f"{self._run_path}/lineage/artifacts"
        return upload.upload(self.api, self._stream_path, lineage, path, name, kind, dest, is_input)

    def log_code_ref(self, code_ref: Optional[dict] = None, path: Optional[str] = None) -> Optional[dict]:
        """Registers the code the run comes from in its lineage (kind ``coderef``): ``code_ref``
        (``{commit, branch?, url?, is_dirty?}``) or, when not given, what ``git`` says about the
        repository at ``path`` (default: the working directory). Returns the entry, or None outside
        a git repository."""
        self._check_open()
        code_ref = code_ref or coderef.detect(path)
        if not code_ref:
            return None
        entry = coderef.lineage_entry(code_ref)
        self.api.request("POST", f"{self._run_path}/lineage/artifacts", {"artifacts": [entry]})
        return entry

    def _patch(self, body: dict) -> None:
        self._check_open()
        body["merge"] = True
        self.api.request("PATCH", self._run_path, body)

    def _send(self, metrics: list, events: list) -> None:
        # One key per batch, the same on every retry: a batch the server stored but whose answer
        # was lost (a timeout) is not stored twice.
        key = {"Idempotency-Key": uuid.uuid4().hex}
        self.api.request("POST", f"{self._run_path}/events", {"metrics": metrics, "events": events}, headers=key)

    def _check_open(self) -> None:
        if self.ended:
            raise RuntimeError(f"myelin: run {self.uuid} has ended; nothing more can be logged")

    def __repr__(self) -> str:
        return f"Run({self.owner}/{self.project}/{self.uuid}, created={self.created}, ended={self.ended})"


def _unique(current: List[str], more: Iterable[str]) -> List[str]:
    tags = list(current)
    for tag in more:
        if not isinstance(tag, str) or not tag:
            raise ValueError(f"tag {tag!r} must be a non-empty string")
        if tag not in tags:
            tags.append(tag)
    return tags
