"""Errors raised by the Myelin client.

Every error the server answers carries the body ``{code, message, request_id, details}``; it becomes a
:class:`MyelinError` with the same fields plus the HTTP ``status``. Failures that never reached an
answer (connection refused, timeout) are a ``MyelinError`` with ``status=None`` and code
``client.unreachable``.
"""

from __future__ import annotations

import json
from typing import Any, Optional


class MyelinError(Exception):
    """An error answered by the server (``status`` is the HTTP status) or met on the way to it.

    ``code`` is the server's stable dotted code (``tracker.run_not_found``), ``message`` its
    human-readable text, ``details`` its machine-readable extras (``{"index": 3, "name": "loss"}``).
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: Optional[int] = None,
        request_id: Optional[str] = None,
        details: Any = None,
    ) -> None:
        super().__init__(code, message, status)
        self.code = code
        self.message = message
        self.status = status
        self.request_id = request_id
        self.details = details

    def __str__(self) -> str:
        where = f"HTTP {self.status} " if self.status is not None else ""
        text = f"{where}{self.code}: {self.message}"
        if self.details:
            text += f" (details: {json.dumps(self.details, default=str)})"
        if self.request_id:
            text += f" [request {self.request_id}]"
        return text

    @property
    def retryable(self) -> bool:
        """True for failures worth another try: no answer at all, 429 and 5xx."""
        return self.status is None or self.status == 429 or self.status >= 500

    @classmethod
    def from_response(cls, status: int, body: bytes, reason: str = "") -> "MyelinError":
        """Parses an error answer; a body that is not the JSON envelope keeps its text as the message."""
        text = body.decode("utf-8", errors="replace")
        try:
            parsed = json.loads(text) if text.strip() else None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("code"), str):
            return cls(
                code=parsed["code"],
                message=str(parsed.get("message") or reason or ""),
                status=status,
                request_id=parsed.get("request_id"),
                details=parsed.get("details"),
            )
        message = text.strip()[:500] or reason or "no message"
        return cls(code=f"http.{status}", message=message, status=status)

    @classmethod
    def unreachable(cls, url: str, cause: BaseException) -> "MyelinError":
        """No answer from ``url`` (connection refused, reset, timed out...)."""
        return cls(code="client.unreachable", message=f"cannot reach {url}: {cause}", status=None)
