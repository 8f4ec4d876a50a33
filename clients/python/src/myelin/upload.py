"""Artifact uploads: a file, or a directory file by file with its relative paths kept, streamed as
``multipart/form-data`` (field ``upload_file``) to
``POST /streams/v1/{ns}/{owner}/{project}/runs/{uuid}/artifact?path=<dir>`` and then registered in
the run's lineage (``POST /api/v1/.../runs/{uuid}/lineage/artifacts``).

Files are read from disk in 1 MiB chunks while they are sent, with an exact ``Content-Length``, so an
upload of any size uses a bounded amount of memory.
"""

from __future__ import annotations

import json
import mimetypes
import os
import posixpath
import uuid
from typing import Callable, Iterator, List, Optional, Tuple

from .api import Api

CHUNK = 1 << 20


class ArtifactReadError(RuntimeError):
    """A local file could not be read (or changed size) while it was being uploaded."""


def clean_dest(dest: str) -> str:
    """A relative artifact path with ``/`` separators; ``..``, absolute paths, NUL and backslashes refused."""
    if "\x00" in dest or "\\" in dest:
        raise ValueError(f"invalid artifact path {dest!r}: NUL and backslashes are not allowed")
    if dest.startswith("/"):
        raise ValueError(f"invalid artifact path {dest!r}: must be relative to the run's artifacts")
    parts = [p for p in dest.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"invalid artifact path {dest!r}: `..` is not allowed")
    return "/".join(parts)


def multipart(path: str, filename: str, dest_dir: str) -> Tuple[str, int, Callable[[], Iterator[bytes]]]:
    """``(content type, length, body)`` of a multipart upload of ``path``; ``body()`` streams it from disk."""
    boundary = uuid.uuid4().hex
    safe_name = filename.replace("\\", "_").replace('"', "%22").replace("\r", "").replace("\n", "")
    ctype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="upload_file"; filename="{safe_name}"\r\n'
        f"Content-Type: {ctype}\r\n\r\n"
    ).encode("utf-8")
    # Polyaxon's client sends these options in a `json` field; Myelin reads the query string instead.
    options = json.dumps({"untar": False, "path": dest_dir, "overwrite": True})
    tail = (
        f"\r\n--{boundary}\r\n"
        f'Content-Disposition: form-data; name="json"\r\n\r\n{options}\r\n'
        f"--{boundary}--\r\n"
    ).encode("utf-8")
    try:
        size = os.path.getsize(path)
    except OSError as err:
        raise ArtifactReadError(f"cannot read {path}: {err}") from err

    def body() -> Iterator[bytes]:
        yield head
        sent = 0
        try:
            with open(path, "rb") as f:
                while sent < size:
                    chunk = f.read(min(CHUNK, size - sent))
                    if not chunk:
                        break
                    sent += len(chunk)
                    yield chunk
        except OSError as err:
            raise ArtifactReadError(f"cannot read {path}: {err}") from err
        if sent != size:
            raise ArtifactReadError(f"{path} shrank from {size} to {sent} bytes while it was uploaded")
        yield tail

    return f"multipart/form-data; boundary={boundary}", len(head) + size + len(tail), body


def upload_file(api: Api, stream_path: str, local: str, dest: str) -> int:
    """Uploads the file ``local`` to the run's artifact path ``dest``; returns its size."""
    dest_dir, filename = posixpath.split(dest)
    ctype, length, body = multipart(local, filename, dest_dir)
    api.stream("POST", stream_path, body, length, ctype, query={"path": dest_dir or None})
    return os.path.getsize(local)


def files_of(root: str) -> List[Tuple[str, str]]:
    """``(local path, path relative to root with / separators)`` of every file under ``root``, sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            local = os.path.join(dirpath, name)
            if os.path.isfile(local):  # follows symlinks; skips broken ones, sockets, fifos
                rel = os.path.relpath(local, root).replace(os.sep, "/")
                found.append((local, rel))
    return found


def upload(
    api: Api,
    stream_path: str,
    lineage_path: str,
    local: str,
    name: Optional[str] = None,
    kind: Optional[str] = None,
    dest: Optional[str] = None,
    is_input: bool = False,
) -> dict:
    """Uploads ``local`` (a file or a directory) to ``dest`` (default: its base name) and registers it.

    Returns the lineage entry posted: ``{"name", "kind", "path", "is_input"}``.
    """
    local = os.fspath(local)
    if not os.path.exists(local):
        raise FileNotFoundError(f"no such file or directory: {local}")
    base = os.path.basename(os.path.normpath(os.path.abspath(local)))
    target = clean_dest(dest if dest is not None else base)
    if not target:
        raise ValueError("the artifact path must not be empty")
    if os.path.isdir(local):
        for path, rel in files_of(local):
            upload_file(api, stream_path, path, f"{target}/{rel}")
        default_kind = "dir"
    else:
        upload_file(api, stream_path, local, target)
        default_kind = "file"
    entry = {
        "name": name or posixpath.basename(target),
        "kind": kind or default_kind,
        "path": target,
        "is_input": is_input,
    }
    api.request("POST", lineage_path, {"artifacts": [entry]})
    return entry
