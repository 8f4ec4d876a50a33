"""Local validation of what is logged, so a bad value fails at the call that made it instead of
making the server reject a whole batch: metric and event names (the tracker's rules), finite
numeric values, integer steps, and timestamps turned into RFC 3339 UTC text.
"""

from __future__ import annotations

import json
import math
import numbers
import operator
from datetime import datetime, timezone
from typing import Any, Optional

MAX_NAME_BYTES = 256
_I64 = (-(2**63), 2**63 - 1)


def check_name(name: Any, what: str = "metric") -> str:
    """``name`` if the tracker accepts it: non-empty, at most 256 bytes, no whitespace or control
    characters, no ``..`` path segment; else ``ValueError``."""
    if not isinstance(name, str):
        raise ValueError(f"invalid {what} name {name!r}: must be a string")
    problem = None
    if not name:
        problem = "it is empty"
    elif len(name.encode("utf-8")) > MAX_NAME_BYTES:
        problem = f"it is longer than {MAX_NAME_BYTES} bytes"
    elif any(c.isspace() for c in name):
        problem = "it contains whitespace"
    elif any(ord(c) < 32 or 127 <= ord(c) < 160 for c in name):
        problem = "it contains control characters"
    elif ".." in name.split("/"):
        problem = "it contains a `..` segment"
    if problem:
        raise ValueError(f"invalid {what} name {name!r}: {problem}")
    return name


def metric_value(name: str, value: Any) -> float:
    """``value`` as a finite float; bools, strings, NaN and infinities raise ``ValueError`` naming the metric."""
    if isinstance(value, (bool, str, bytes)) or type(value).__name__ == "bool_":
        raise ValueError(f"metric {name!r}: {value!r} is not a number")
    if not isinstance(value, numbers.Real) and not hasattr(type(value), "__float__"):
        raise ValueError(f"metric {name!r}: {value!r} ({type(value).__name__}) is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"metric {name!r}: {value!r} is not a number ({err})") from err
    if not math.isfinite(number):
        raise ValueError(f"metric {name!r}: {number} is not a finite number (NaN and infinities are refused)")
    return number


def step_value(step: Any) -> Optional[int]:
    """``step`` as an int (None stays None); bools, floats and values outside i64 raise ``ValueError``."""
    if step is None:
        return None
    if isinstance(step, bool):
        raise ValueError(f"step {step!r} is not an integer")
    try:
        number = operator.index(step)
    except TypeError as err:
        raise ValueError(f"step {step!r} is not an integer") from err
    if not _I64[0] <= number <= _I64[1]:
        raise ValueError(f"step {step} is out of range")
    return number


def now() -> str:
    """The current time in RFC 3339 UTC."""
    return _format(datetime.now(timezone.utc))


def timestamp_value(ts: Any) -> str:
    """``ts`` (datetime, epoch seconds or ISO 8601 text) in RFC 3339 UTC; a naive datetime is local time."""
    if ts is None:
        return now()
    if isinstance(ts, datetime):
        return _format(ts)
    if isinstance(ts, (int, float)) and not isinstance(ts, bool):
        if not math.isfinite(ts):
            raise ValueError(f"timestamp {ts!r} is not a finite number")
        return _format(datetime.fromtimestamp(ts, timezone.utc))
    if isinstance(ts, str):
        text = ts.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as err:
            raise ValueError(f"timestamp {ts!r} is not ISO 8601") from err
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)  # text without an offset is taken as UTC
        return _format(parsed)
    raise ValueError(f"timestamp {ts!r} must be a datetime, epoch seconds or ISO 8601 text")


def _format(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def json_object(field: str, values: dict) -> dict:
    """``values`` if it is JSON (no NaN/inf); else ``ValueError`` naming the key."""
    for key, value in values.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{field} {key!r}: {value!r} cannot be sent as JSON ({err})") from err
    return dict(values)
