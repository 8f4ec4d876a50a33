"""The code reference of a run: the git commit, branch, remote url and whether the tree is dirty,
read with the `git` command (standard library only). Registered as a lineage artifact of kind
`coderef` named by the commit, as the polyaxon client does."""

from __future__ import annotations

import subprocess
from typing import Dict, Optional


def _git(*args: str, cwd: Optional[str] = None) -> Optional[str]:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def detect(path: Optional[str] = None) -> Optional[Dict[str, object]]:
    """`{commit, branch, url, is_dirty}` of the git repository at `path` (default: the working
    directory), or None outside a repository or without git."""
    commit = _git("rev-parse", "HEAD", cwd=path)
    if not commit:
        return None
    ref: Dict[str, object] = {"commit": commit}
    branch = _git("rev-parse", "--abbrev-ref", "HEAD", cwd=path)
    if branch and branch != "HEAD":
        ref["branch"] = branch
    url = _git("config", "--get", "remote.origin.url", cwd=path)
    if url:
        ref["url"] = url
    status = _git("status", "--porcelain", cwd=path)
    ref["is_dirty"] = bool(status)
    return ref


def lineage_entry(code_ref: Dict[str, object], is_input: bool = True) -> dict:
    """The lineage artifact for `code_ref`."""
    if "commit" not in code_ref:
        raise ValueError("a code reference needs a `commit`")
    return {"name": str(code_ref["commit"]), "kind": "coderef", "summary": dict(code_ref), "is_input": is_input}
