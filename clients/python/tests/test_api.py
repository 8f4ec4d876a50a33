"""The transport: retries with backoff, error bodies parsed, auth header."""

from __future__ import annotations

import socket
import unittest

from support import ServerTest

from myelin import MyelinError
from myelin.api import Api


class ApiTest(ServerTest):
    def api(self, prefix: str = "", **kwargs) -> Api:
        kwargs.setdefault("backoff", 0.01)
        api = Api(self.fake.url + prefix, **kwargs)
        self.addCleanup(api.close)
        return api

    def test_5xx_and_dropped_connections_are_retried(self) -> None:
        api = self.api()
        self.fake.fail("GET", "/runs/", 503, {"code": "gateway.unavailable", "message": "busy"})
        self.fake.fail("GET", "/runs/", -1)  # connection closed without an answer
        uid = self.fake.add_run("default", "demo", name="r")
        run = api.request("GET", f"/api/v1/default/demo/runs/{uid}")
        self.assertEqual(run["name"], "r")
        self.assertEqual(len(self.fake.seen("GET", "/runs/")), 3)

    def test_the_last_5xx_is_raised_after_three_attempts(self) -> None:
        api = self.api()
        self.fake.fail("POST", "/events$", 500, {"code": "internal", "message": "boom", "request_id": "r-9"}, times=5)
        uid = self.fake.add_run("default", "demo")
        with self.assertRaises(MyelinError) as ctx:
            api.request("POST", f"/api/v1/default/demo/runs/{uid}/events", {"metrics": []})
        err = ctx.exception
        self.assertEqual((err.status, err.code, err.message, err.request_id), (500, "internal", "boom", "r-9"))
        self.assertEqual(len(self.fake.seen("POST", "/events$")), 3)

    def test_4xx_is_raised_at_once_with_the_body_parsed(self) -> None:
        api = self.api()
        with self.assertRaises(MyelinError) as ctx:
            api.request("GET", "/api/v1/default/demo/runs/" + "0" * 32)
        err = ctx.exception
        self.assertEqual(
            (err.status, err.code, err.message, err.request_id), (404, "tracker.run_not_found", "no such run", "req-1")
        )
        self.assertIn("HTTP 404 tracker.run_not_found: no such run", str(err))
        self.assertFalse(err.retryable)
        self.assertEqual(len(self.fake.seen()), 1)

    def test_a_body_that_is_not_the_envelope_keeps_its_text(self) -> None:
        api = self.api()
        self.fake.fail("GET", "/x$", 413, b"payload too large")
        with self.assertRaises(MyelinError) as ctx:
            api.request("GET", "/x")
        self.assertEqual((ctx.exception.code, ctx.exception.message), ("http.413", "payload too large"))

    def test_an_unreachable_server_is_an_error_after_the_retries(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # closed again: nothing listens there
        api = Api(f"http://127.0.0.1:{port}", backoff=0.01)
        with self.assertRaises(MyelinError) as ctx:
            api.request("GET", "/healthz")
        self.assertEqual(ctx.exception.code, "client.unreachable")
        self.assertIsNone(ctx.exception.status)

    def test_bearer_token_and_path_prefix(self) -> None:
        api = self.api(token="s3cret")
        api.request("GET", f"/api/v1/default/demo/runs/{self.fake.add_run('default', 'demo')}")
        self.assertEqual(self.fake.seen()[-1].headers["authorization"], "Bearer s3cret")
        anonymous = self.api()
        anonymous.request("GET", f"/api/v1/default/demo/runs/{self.fake.add_run('default', 'demo')}")
        self.assertNotIn("authorization", self.fake.seen()[-1].headers)
        with self.assertRaises(MyelinError):
            self.api("/prefix").request("GET", "/healthz")
        self.assertEqual(self.fake.seen()[-1].path, "/prefix/healthz")

    def test_nan_is_never_sent(self) -> None:
        with self.assertRaises(ValueError):
            self.api().request("POST", "/x", {"v": float("nan")})
        self.assertEqual(self.fake.seen(), [])


if __name__ == "__main__":
    unittest.main()
