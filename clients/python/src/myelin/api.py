"""The HTTP transport: one keep-alive connection per thread, JSON in and out, bearer auth, retries.

Connection failures, 429 and 5xx answers are tried again (``retries`` attempts in all, with an
exponential backoff starting at ``backoff`` seconds); any other 4xx raises :class:`MyelinError` at
once. Bodies are streamed when given as an iterable of bytes with a known length (artifact uploads).
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
import urllib.parse
from typing import Any, Callable, Iterable, Mapping, Optional

from . import __version__
from .errors import MyelinError

USER_AGENT = f"myelin-python/{__version__}"
# Errors that mean a kept-alive connection was closed by the server while idle: the request never
# reached it, so one immediate retry on a fresh connection is safe and does not count as an attempt.
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


def segment(value: str) -> str:
    """One URL path segment, percent-encoded."""
    return urllib.parse.quote(str(value), safe="")


class Api:
    """A client of one Myelin server (``host`` like ``http://127.0.0.1:8000``, optionally with a path prefix)."""

    def __init__(
        self,
        host: str,
        token: Optional[str] = None,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        parts = urllib.parse.urlsplit(host if "://" in host else f"http://{host}")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"invalid Myelin host {host!r}: expected http(s)://host[:port]")
        self.host = host
        self._https = parts.scheme == "https"
        self._netloc = parts.netloc
        self._prefix = parts.path.rstrip("/")
        self.token = token or None
        self.timeout = timeout
        self.retries = max(1, retries)
        self.backoff = backoff
        self._local = threading.local()
        self._open: "set[http.client.HTTPConnection]" = set()  # every thread's connection
        self._open_lock = threading.Lock()

    def url(self, path: str) -> str:
        """The full URL of ``path`` (for messages)."""
        return f"{'https' if self._https else 'http'}://{self._netloc}{self._prefix}{path}"

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Optional[Mapping[str, Any]] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Any:
        """Sends ``body`` as JSON (NaN/inf refused locally) and returns the parsed JSON answer (None when empty).
        ``headers`` go with every attempt, retries included."""
        data = None
        headers = {"Accept": "application/json", **(headers or {})}
        if body is not None:
            data = json.dumps(body, allow_nan=False, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
        target = self._target(path, query)
        return self._with_retries(lambda: self._once(method, target, lambda: data, headers))

    def stream(
        self,
        method: str,
        path: str,
        body: Callable[[], Iterable[bytes]],
        length: int,
        content_type: str,
        query: Optional[Mapping[str, Any]] = None,
    ) -> Any:
        """Sends the chunks ``body()`` yields (``length`` bytes in all) without holding them together.

        ``body`` is called again for each attempt, so it must start over (open the file anew).
        """
        headers = {"Accept": "application/json", "Content-Type": content_type, "Content-Length": str(length)}
        target = self._target(path, query)
        return self._with_retries(lambda: self._once(method, target, body, headers))

    def close(self) -> None:
        """Closes the connections of every thread (call it when no request is in flight)."""
        with self._open_lock:
            conns, self._open = self._open, set()
        for conn in conns:
            conn.close()

    def _target(self, path: str, query: Optional[Mapping[str, Any]]) -> str:
        target = self._prefix + path
        if query:
            pairs = {k: v for k, v in query.items() if v is not None}
            if pairs:
                target += "?" + urllib.parse.urlencode(pairs)
        return target

    def _with_retries(self, attempt: Callable[[], Any]) -> Any:
        for n in range(self.retries):
            try:
                return attempt()
            except MyelinError as err:
                if not err.retryable or n == self.retries - 1:
                    raise
            time.sleep(self.backoff * (2**n))
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, method: str, target: str, body: Callable[[], Any], headers: dict) -> Any:
        headers = dict(headers, **{"User-Agent": USER_AGENT})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        for fresh_retry in (True, False):
            conn, reused = self._conn()
            try:
                conn.request(method, target, body=body(), headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
            except _STALE as exc:
                self._drop()
                if reused and fresh_retry:
                    continue
                raise MyelinError.unreachable(self.url(target), exc) from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                raise MyelinError.unreachable(self.url(target), exc) from exc
            except BaseException:
                self._drop()  # e.g. the body could not be read: the connection is mid-request
                raise
            if resp.will_close:
                self._drop()
            if resp.status >= 400:
                raise MyelinError.from_response(resp.status, raw, resp.reason)
            if not raw.strip():
                return None
            try:
                return json.loads(raw)
            except ValueError:
                return raw.decode("utf-8", errors="replace")
        raise AssertionError("unreachable")  # pragma: no cover

    def _conn(self) -> "tuple[http.client.HTTPConnection, bool]":
        held = getattr(self._local, "conn", None)
        # A connection inherited through fork() belongs to the parent's socket: never reuse it.
        if held is not None and held[0] == os.getpid():
            return held[1], True
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = cls(self._netloc, timeout=self.timeout, blocksize=1 << 20)
        self._local.conn = (os.getpid(), conn)
        with self._open_lock:
            self._open.add(conn)
        return conn, False

    def _drop(self) -> None:
        held = getattr(self._local, "conn", None)
        self._local.conn = None
        if held is not None and held[0] == os.getpid():
            with self._open_lock:
                self._open.discard(held[1])
            held[1].close()
