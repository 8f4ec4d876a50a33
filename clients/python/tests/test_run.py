"""Runs: created (unmanaged) or attached from the executor's environment, params/outputs/tags,
the module-level API, and what happens at exit (subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import unittest

from support import SRC, ServerTest

import myelin


class RunTest(ServerTest):
    def test_a_new_run_is_created_unmanaged_in_a_new_project_and_marked_running(self) -> None:
        run = self.new_run(project="fresh", name="exp-1", tags=["a", "b"], description="d")
        self.assertTrue(run.created)
        create = self.fake.seen("POST", "/runs$")
        self.assertEqual(len(create), 2, "404 project_not_found, then again after creating it")
        self.assertEqual(create[-1].json, {
            "is_managed": False, "managed_by": "user", "name": "exp-1", "description": "d", "tags": ["a", "b"],
        })
        (project,) = self.fake.seen("POST", "/projects/create$")
        self.assertEqual((project.path, project.json), ("/api/v1/default/projects/create", {"name": "fresh"}))
        (status,) = self.fake.seen("POST", "/statuses$")
        condition = status.json["condition"]
        self.assertEqual((condition["type"], condition["status"]), ("running", True))
        self.assertTrue(condition["last_transition_time"].endswith("Z"))
        run.end()
        self.assertEqual(self.fake.runs[run.uuid]["statuses"], ["running", "succeeded"])
        run.end()  # a second end does nothing
        self.assertEqual(len(self.fake.seen("POST", "/statuses$")), 2)

    def test_inside_a_launched_run_it_attaches_to_the_environment_run(self) -> None:
        uid = self.fake.add_run("acme", "vision", tags=["x"])
        os.environ.update({
            "MYELIN_RUN_UUID": uid,
            "MYELIN_HOST": self.fake.url,
            "MYELIN_TOKEN": "tok",
            "MYELIN_ARTIFACTS_PATH": "/tmp/nowhere",
            "POLYAXON_RUN_INSTANCE": f"acme.vision.runs.{uid}",
        })
        run = myelin.Run(project="ignored", tags=["y"], backoff=0.01)
        self.runs.append(run)
        self.assertEqual((run.owner, run.project, run.uuid, run.created), ("acme", "vision", uid, False))
        self.assertEqual(self.fake.seen("POST", "/runs$"), [])
        self.assertEqual(self.fake.seen()[0].headers["authorization"], "Bearer tok")
        self.assertEqual(run.tags, ["x", "y"])
        run.log_metrics(step=0, loss=1.0)
        run.end()
        self.assertEqual(self.fake.seen("POST", "/statuses$"), [], "the executor owns a launched run's status")
        self.assertEqual(len(self.fake.metric_points()), 1)

    def test_a_wrong_run_fails_at_init(self) -> None:
        with self.assertRaises(myelin.MyelinError) as ctx:
            self.new_run(run_uuid="0" * 32)
        self.assertEqual(ctx.exception.code, "tracker.run_not_found")
        with self.assertRaises(ValueError):
            self.new_run(is_new=False)
        with self.assertRaises(ValueError):
            myelin.Run(host=self.fake.url)  # no project anywhere

    def test_params_outputs_and_tags_are_merged(self) -> None:
        run = self.new_run(tags=["sdk"])
        run.log_params(lr=0.1, batch=32)
        run.log_inputs(optimizer="adam")
        run.log_outputs(accuracy=0.93)
        run.log_tags("extra", "sdk")
        run.log_tags(["more"])
        patches = [r.json for r in self.fake.seen("PATCH")]
        self.assertEqual(patches, [
            {"inputs": {"lr": 0.1, "batch": 32}, "merge": True},
            {"inputs": {"optimizer": "adam"}, "merge": True},
            {"outputs": {"accuracy": 0.93}, "merge": True},
            {"tags": ["sdk", "extra"], "merge": True},
            {"tags": ["sdk", "extra", "more"], "merge": True},
        ])
        stored = self.fake.runs[run.uuid]
        self.assertEqual(stored["inputs"], {"lr": 0.1, "batch": 32, "optimizer": "adam"})
        with self.assertRaises(ValueError):
            run.log_outputs(bad=float("nan"))
        with self.assertRaises(ValueError):
            run.log_params(obj=object())

    def test_module_level_functions_use_the_default_run(self) -> None:
        with self.assertRaises(RuntimeError):
            myelin.log_metrics(loss=1.0)
        run = myelin.init(project="demo", host=self.fake.url, backoff=0.01)
        self.runs.append(run)
        self.assertIs(myelin.get_run(), run)
        myelin.log_metrics(step=1, loss=0.5)
        myelin.log_metric("val/acc", 0.9, step=1)
        myelin.log_params(lr=0.1)
        myelin.log_outputs(acc=0.9)
        myelin.log_tags("t")
        myelin.log_text("note", "hi")
        self.assertTrue(myelin.flush(timeout=10))
        self.assertEqual(len(self.fake.metric_points()), 2)
        second = myelin.init(project="demo", host=self.fake.url, backoff=0.01)
        self.runs.append(second)
        self.assertTrue(run.ended, "a new init ends the previous default run")
        myelin.end("failed", "bad luck")
        self.assertIsNone(myelin.get_run())
        self.assertEqual(self.fake.runs[second.uuid]["statuses"], ["running", "failed"])

    def test_a_retried_batch_keeps_its_idempotency_key(self) -> None:
        run = self.new_run(project="demo")
        self.fake.fail("POST", "/events$", 503, {"code": "gateway.unavailable", "message": "busy"})
        run.log_metrics(step=1, loss=0.5)
        self.assertTrue(run.flush(timeout=10))
        run.log_metrics(step=2, loss=0.25)
        self.assertTrue(run.flush(timeout=10))
        keys = [rec.headers.get("idempotency-key") for rec in self.fake.seen("POST", "/events$")]
        self.assertEqual(len(keys), 3, "one failed attempt, its retry, the second batch")
        self.assertTrue(all(keys), keys)
        self.assertEqual(keys[0], keys[1], "a retry sends the batch's key again")
        self.assertNotEqual(keys[1], keys[2], "each batch has its own key")

    def test_context_manager_marks_failures(self) -> None:
        with self.assertRaises(KeyError):
            with self.new_run() as run:
                raise KeyError("x")
        self.assertEqual(self.fake.runs[run.uuid]["statuses"], ["running", "failed"])


class ExitTest(ServerTest):
    def script(self, body: str) -> subprocess.CompletedProcess:
        env = dict(os.environ, PYTHONPATH=SRC, MYELIN_HOST=self.fake.url)
        code = "import myelin\n" + textwrap.dedent(body)
        return subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
        )

    def test_queued_points_are_flushed_and_the_run_ended_at_exit(self) -> None:
        out = self.script("""
            run = myelin.init(project="demo", flush_interval=3600)
            for i in range(12345):
                myelin.log_metrics(step=i, loss=1.0 / (i + 1))
            print(run.uuid)
        """)
        self.assertEqual(out.returncode, 0, out.stderr)
        uid = out.stdout.strip()
        self.assertEqual(len(self.fake.metric_points()), 12345)
        self.assertEqual([len(r.json["metrics"]) for r in self.fake.seen("POST", "/events$")], [5000, 5000, 2345])
        self.assertEqual(self.fake.runs[uid]["statuses"], ["running", "succeeded"])

    def test_an_uncaught_exception_fails_the_run_after_flushing(self) -> None:
        out = self.script("""
            run = myelin.init(project="demo", flush_interval=3600)
            print(run.uuid, flush=True)
            myelin.log_metrics(step=0, loss=1.0)
            raise RuntimeError("diverged")
        """)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("RuntimeError: diverged", out.stderr)
        uid = out.stdout.strip()
        self.assertEqual(self.fake.runs[uid]["statuses"], ["running", "failed"])
        (final,) = [r for r in self.fake.seen("POST", "/statuses$") if r.json["condition"]["type"] == "failed"]
        self.assertEqual(final.json["condition"]["message"], "RuntimeError: diverged")
        self.assertEqual(len(self.fake.metric_points()), 1)

    def test_points_given_up_at_exit_are_counted_in_a_warning(self) -> None:
        self.fake.fail("POST", "/events$", 503, {"code": "unavailable", "message": "down"}, times=100)
        out = self.script("""
            myelin.init(project="demo", backoff=0.01)
            myelin.log_metrics(step=0, loss=1.0, acc=2.0)
        """)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("gave up sending 2 metric points", out.stderr)
        self.assertEqual(len(self.fake.seen("POST", "/events$")), 3)


if __name__ == "__main__":
    unittest.main()
