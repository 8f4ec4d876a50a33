"""Background batching of metric points and events.

Points wait in memory until ``batch_size`` of them are pending or the oldest has waited
``interval`` seconds; a daemon thread then sends them in one request. A batch that finally fails is
dropped with a warning giving the count, and its error is re-raised by the next :meth:`Batcher.flush`.
When ``max_pending`` points wait (the server is slow or down) producers block until there is room,
so memory stays bounded and nothing is thrown away while the sender still tries.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections import deque
from typing import Callable, Iterable, List, Optional

logger = logging.getLogger("myelin")

Send = Callable[[List[dict], List[dict]], None]

_LIVE: "weakref.WeakSet[Batcher]" = weakref.WeakSet()


class Batcher:
    """Queues points and events for one run and sends them from a background thread with ``send(metrics, events)``."""

    def __init__(
        self,
        send: Send,
        batch_size: int = 5000,
        interval: float = 1.0,
        max_pending: int = 1_000_000,
        label: str = "run",
    ) -> None:
        if batch_size < 1 or max_pending < batch_size:
            raise ValueError("batch_size must be >= 1 and max_pending >= batch_size")
        self._send = send
        self.batch_size = batch_size
        self.interval = interval
        self.max_pending = max_pending
        self.label = label
        self._reset()
        _LIVE.add(self)

    def _reset(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._metrics: deque = deque()
        self._events: deque = deque()
        self._oldest: Optional[float] = None  # monotonic time the oldest pending point was queued
        self._queued = 0  # points ever queued
        self._finished = 0  # points sent or given up
        self._flushing = 0  # flush() calls waiting
        self._closed = False
        self._errors: List[BaseException] = []
        self._thread: Optional[threading.Thread] = None
        self.sent = 0
        self.dropped = 0

    @property
    def pending(self) -> int:
        """Points queued and not yet taken by the sender."""
        return len(self._metrics) + len(self._events)

    @property
    def unsent(self) -> int:
        """Points queued and neither sent nor given up yet (pending or in flight)."""
        with self._cond:
            return self._queued - self._finished

    def put(self, metrics: Iterable[dict] = (), events: Iterable[dict] = ()) -> None:
        """Queues points (already validated); blocks while ``max_pending`` points wait."""
        metrics, events = list(metrics), list(events)
        count = len(metrics) + len(events)
        if not count:
            return
        with self._cond:
            if self._closed:
                raise RuntimeError(f"myelin: {self.label} has ended; nothing more can be logged")
            self._ensure_thread()
            self._cond.wait_for(lambda: self._closed or self.pending + count <= self.max_pending or not self.pending)
            if self._closed:
                raise RuntimeError(f"myelin: {self.label} has ended; nothing more can be logged")
            self._metrics.extend(metrics)
            self._events.extend(events)
            self._queued += count
            if self._oldest is None:
                self._oldest = time.monotonic()
            if self.pending >= self.batch_size:
                self._cond.notify_all()

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Waits until every point queued so far is sent (True) or ``timeout`` passes (False).

        Raises the first error the sender met since the last flush (its points were dropped).
        """
        with self._cond:
            target = self._queued
            self._flushing += 1
            self._cond.notify_all()
            try:
                done = self._cond.wait_for(lambda: self._finished >= target, timeout)
            finally:
                self._flushing -= 1
            errors, self._errors = self._errors, []
        if errors:
            raise errors[0]
        return done

    def close(self, timeout: Optional[float] = None) -> bool:
        """Flushes, then stops the sender; later :meth:`put` calls raise ``RuntimeError``."""
        try:
            return self.flush(timeout)
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()
                thread = self._thread
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name=f"myelin-batcher-{self.label}", daemon=True)
            self._thread.start()

    def _take(self) -> "tuple[list, list]":
        """Waits for a batch to be due and takes it (lock held)."""
        while True:
            n = self.pending
            if n and (n >= self.batch_size or self._flushing or self._closed):
                break
            if not n:
                if self._closed:
                    return [], []
                self._cond.wait()
                continue
            left = (self._oldest or 0.0) + self.interval - time.monotonic()
            if left <= 0:
                break
            self._cond.wait(left)
        room = self.batch_size
        metrics = [self._metrics.popleft() for _ in range(min(room, len(self._metrics)))]
        room -= len(metrics)
        events = [self._events.popleft() for _ in range(min(room, len(self._events)))]
        if not self.pending:
            self._oldest = None
        self._cond.notify_all()  # room for blocked producers
        return metrics, events

    def _loop(self) -> None:
        while True:
            with self._cond:
                metrics, events = self._take()
            count = len(metrics) + len(events)
            if not count:
                return
            failure: Optional[BaseException] = None
            try:
                self._send(metrics, events)
            except Exception as err:  # noqa: BLE001 - kept and re-raised by flush()
                failure = err
                logger.warning(
                    "myelin: gave up sending %d metric points and %d events of %s: %s",
                    len(metrics), len(events), self.label, err,
                )
            with self._cond:
                if failure is None:
                    self.sent += count
                else:
                    self.dropped += count
                    self._errors.append(failure)
                self._finished += count
                self._cond.notify_all()


def _after_fork_in_child() -> None:
    # The child gets copies of the parent's queues (the parent sends those) and locks that may be
    # held by a thread that does not exist here: start over empty.
    for batcher in list(_LIVE):
        batcher._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
