"""Metric batching: thresholds, interval, validation, background errors, backpressure."""

from __future__ import annotations

import re
import threading
import time
import unittest

from support import ServerTest

from myelin import MyelinError
from myelin.batching import Batcher

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


class BatchingTest(ServerTest):
    def test_a_full_batch_is_sent_without_waiting_for_the_interval(self) -> None:
        run = self.new_run(batch_size=5000, flush_interval=3600)
        for i in range(5000):
            run.log_metrics(step=i, loss=1.0 / (i + 1))
        self.fake.wait_for(lambda: len(self.fake.seen("POST", "/events$")) == 1)
        (sent,) = self.fake.seen("POST", "/events$")
        self.assertEqual(len(sent.json["metrics"]), 5000)
        self.assertEqual(sent.json["events"], [])
        first = sent.json["metrics"][0]
        self.assertEqual((first["name"], first["value"], first["step"]), ("loss", 1.0, 0))
        self.assertRegex(first["timestamp"], RFC3339_UTC)

        for i in range(4999):
            run.log_metrics(step=5000 + i, loss=0.5)
        time.sleep(0.3)  # below the threshold and far from the interval: nothing more goes out
        self.assertEqual(len(self.fake.seen("POST", "/events$")), 1)
        self.assertTrue(run.flush(timeout=10))
        self.assertEqual(len(self.fake.seen("POST", "/events$")), 2)
        steps = [p["step"] for p in self.fake.metric_points()]
        self.assertEqual(steps, list(range(9999)))

    def test_points_go_out_after_the_interval(self) -> None:
        run = self.new_run(flush_interval=0.2)
        started = time.monotonic()
        run.log_metrics(step=1, loss=0.5, acc=0.7)
        run.log_metric("val/loss", 0.25, step=1)
        self.fake.wait_for(lambda: len(self.fake.metric_points()) == 3, timeout=5)
        self.assertLess(time.monotonic() - started, 3)
        names = sorted(p["name"] for p in self.fake.metric_points())
        self.assertEqual(names, ["acc", "loss", "val/loss"])

    def test_bad_values_are_refused_locally_and_nothing_of_the_call_is_sent(self) -> None:
        run = self.new_run()
        for bad in (float("nan"), float("inf"), -float("inf"), "1.0", True, None, [1.0], 1 + 2j):
            with self.assertRaises(ValueError) as ctx:
                run.log_metrics(step=1, good=1.0, loss=bad)
            self.assertIn("'loss'", str(ctx.exception))
        for name in ("with space", "", "a/../b", "tab\there", "x" * 257):
            with self.assertRaises(ValueError):
                run.log_metric(name, 1.0)
        for step in (1.5, "3", True):
            with self.assertRaises(ValueError):
                run.log_metrics(step=step, loss=1.0)
        run.log_metrics(step=2, loss=3)  # ints are fine
        run.flush(timeout=10)
        self.assertEqual([(p["name"], p["value"]) for p in self.fake.metric_points()], [("loss", 3.0)])

    def test_timestamps_are_rfc3339_utc(self) -> None:
        from datetime import datetime, timedelta, timezone

        run = self.new_run()
        paris = timezone(timedelta(hours=2))
        run.log_metrics(timestamp=datetime(2026, 1, 2, 12, 0, tzinfo=paris), a=1)
        run.log_metrics(timestamp=0, b=1)
        run.log_metrics(timestamp="2026-01-02T10:00:00Z", c=1)
        run.flush(timeout=10)
        stamps = {p["name"]: p["timestamp"] for p in self.fake.metric_points()}
        self.assertEqual(stamps["a"], "2026-01-02T10:00:00.000000Z")
        self.assertEqual(stamps["b"], "1970-01-01T00:00:00.000000Z")
        self.assertEqual(stamps["c"], "2026-01-02T10:00:00.000000Z")
        self.assertNotIn("step", self.fake.metric_points()[0])

    def test_a_rejected_batch_is_reported_by_the_next_flush_with_a_warning(self) -> None:
        run = self.new_run()
        self.fake.fail("POST", "/events$", 400, {
            "code": "tracker.invalid_metric", "message": "bad", "details": {"index": 0, "name": "loss"},
        })
        run.log_metrics(step=0, loss=1.0, acc=0.5)
        with self.assertLogs("myelin", "WARNING") as logs:
            with self.assertRaises(MyelinError) as ctx:
                run.flush(timeout=10)
        self.assertEqual(ctx.exception.code, "tracker.invalid_metric")
        self.assertEqual(ctx.exception.status, 400)
        self.assertEqual(ctx.exception.details, {"index": 0, "name": "loss"})
        self.assertIn("2 metric points", "\n".join(logs.output))
        # The error is reported once; later points still go out.
        run.log_metrics(step=1, loss=0.5)
        self.assertTrue(run.flush(timeout=10))
        self.assertEqual(len(self.fake.seen("POST", "/events$")), 2)

    def test_text_events(self) -> None:
        run = self.new_run()
        run.log_text("notes", "hello <b>world</b>", step=3)
        run.log_event("html", "report", "<div>1</div>")
        run.flush(timeout=10)
        (sent,) = self.fake.seen("POST", "/events$")
        events = sent.json["events"]
        self.assertEqual([(e["kind"], e["name"], e["data"]) for e in events],
                         [("text", "notes", "hello <b>world</b>"), ("html", "report", "<div>1</div>")])
        self.assertEqual(events[0]["step"], 3)
        with self.assertRaises(ValueError):
            run.log_text("notes", 42)

    def test_nothing_can_be_logged_after_the_end(self) -> None:
        run = self.new_run()
        run.end()
        with self.assertRaises(RuntimeError):
            run.log_metrics(loss=1.0)
        with self.assertRaises(RuntimeError):
            run.log_params(a=1)


class BatcherTest(unittest.TestCase):
    def test_producers_block_when_max_pending_points_wait(self) -> None:
        gate, sent = threading.Event(), []

        def send(metrics, events):
            gate.wait(10)
            sent.extend(metrics)

        batcher = Batcher(send, batch_size=10, interval=0.01, max_pending=20)
        batcher.put(metrics=[{"i": i} for i in range(10)])  # taken by the sender, which blocks
        batcher.put(metrics=[{"i": i} for i in range(10, 30)])  # fills the queue
        done = threading.Event()

        def produce():
            batcher.put(metrics=[{"i": 30}])
            done.set()

        threading.Thread(target=produce, daemon=True).start()
        self.assertFalse(done.wait(0.3), "put() should block while the queue is full")
        gate.set()
        self.assertTrue(done.wait(10))
        self.assertTrue(batcher.close(timeout=10))
        self.assertEqual([p["i"] for p in sent], list(range(31)))
        self.assertEqual((batcher.sent, batcher.dropped, batcher.unsent), (31, 0, 0))

    def test_flush_times_out_and_reports_what_is_left(self) -> None:
        gate = threading.Event()
        batcher = Batcher(lambda m, e: gate.wait(10), batch_size=5, interval=0.01)
        batcher.put(metrics=[{}] * 7)
        self.assertFalse(batcher.flush(timeout=0.1))
        self.assertGreater(batcher.unsent, 0)
        gate.set()
        self.assertTrue(batcher.flush(timeout=10))
        self.assertEqual(batcher.unsent, 0)


if __name__ == "__main__":
    unittest.main()
