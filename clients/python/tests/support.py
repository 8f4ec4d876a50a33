"""Shared test fixtures: a started fake server and an environment without MYELIN_*/POLYAXON_* variables."""

from __future__ import annotations

import os
import unittest
from unittest import mock

from fakeserver import SRC, FakeMyelin  # noqa: F401 - SRC is re-exported for subprocess tests

import myelin


class ServerTest(unittest.TestCase):
    """Each test gets a fresh :class:`FakeMyelin` (``self.fake``) and a clean environment."""

    def setUp(self) -> None:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("MYELIN_", "POLYAXON_"))}
        patcher = mock.patch.dict(os.environ, clean, clear=True)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.fake = FakeMyelin().start()
        self.addCleanup(self.fake.stop)
        self.runs = []

    def tearDown(self) -> None:
        for run in self.runs:
            if not run.ended:
                try:
                    run.end()
                except Exception:  # noqa: BLE001 - the test already checked what it wanted
                    pass

    def new_run(self, **kwargs) -> myelin.Run:
        kwargs.setdefault("host", self.fake.url)
        kwargs.setdefault("project", "demo")
        kwargs.setdefault("backoff", 0.01)
        run = myelin.Run(**kwargs)
        self.runs.append(run)
        return run
