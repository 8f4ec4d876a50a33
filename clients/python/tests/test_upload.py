"""Artifact uploads: multipart streamed from disk with bounded memory, directories file by file,
lineage registration, retries and path checks."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import tracemalloc
import unittest

from support import ServerTest

from fakeserver import Recorded


def parse(rec: Recorded) -> dict:
    """The parts of a small multipart upload (the fake keeps the first 4 KiB of each body)."""
    boundary = re.search(r"boundary=(\w+)", rec.headers["content-type"])[1].encode()
    assert rec.size == len(rec.head), "only for bodies under 4 KiB"
    parts = {}
    for chunk in rec.head.split(b"--" + boundary)[1:-1]:
        headers, _, content = chunk.partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]+)"', headers)[1].decode()
        filename = re.search(rb'filename="([^"]+)"', headers)
        parts[name] = (filename[1].decode() if filename else None, content[:-2])  # drop the \r\n
    return parts


class UploadTest(ServerTest):
    def setUp(self) -> None:
        super().setUp()
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = tmp.name

    def write(self, rel: str, data: bytes) -> str:
        path = os.path.join(self.tmp, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_a_file_is_uploaded_and_registered(self) -> None:
        run = self.new_run()
        path = self.write("model.pt", b"weights\x00\x01")
        entry = run.log_artifact(path)
        self.assertEqual(entry, {"name": "model.pt", "kind": "file", "path": "model.pt", "is_input": False})
        (up,) = self.fake.seen("POST", "/artifact$")
        self.assertEqual(up.path, f"/streams/v1/default/default/demo/runs/{run.uuid}/artifact")
        self.assertEqual(up.query, {})
        self.assertTrue(up.headers["content-type"].startswith("multipart/form-data; boundary="))
        self.assertEqual(parse(up)["upload_file"], ("model.pt", b"weights\x00\x01"))
        (lineage,) = self.fake.seen("POST", "/lineage/artifacts$")
        self.assertEqual(lineage.json, {"artifacts": [entry]})

        run.log_artifact(path, name="best", kind="model", dest="checkpoints/best.pt")
        up = self.fake.seen("POST", "/artifact$")[-1]
        self.assertEqual(up.query, {"path": "checkpoints"})
        self.assertEqual(parse(up)["upload_file"][0], "best.pt")
        self.assertEqual(self.fake.seen("POST", "/lineage/artifacts$")[-1].json["artifacts"][0],
                         {"name": "best", "kind": "model", "path": "checkpoints/best.pt", "is_input": False})

    def test_a_directory_is_uploaded_file_by_file_keeping_relative_paths(self) -> None:
        run = self.new_run()
        self.write("out/b.txt", b"b")
        self.write("out/sub/c.bin", b"cc")
        self.write("out/sub/deeper/d.json", b"{}")
        entry = run.log_artifact(os.path.join(self.tmp, "out") + os.sep)
        self.assertEqual(entry, {"name": "out", "kind": "dir", "path": "out", "is_input": False})
        uploads = [(r.query.get("path"), *parse(r)["upload_file"]) for r in self.fake.seen("POST", "/artifact$")]
        self.assertEqual(uploads, [
            ("out", "b.txt", b"b"), ("out/sub", "c.bin", b"cc"), ("out/sub/deeper", "d.json", b"{}"),
        ])
        run.log_artifact(os.path.join(self.tmp, "out"), dest="results")
        paths = [r.query.get("path") for r in self.fake.seen("POST", "/artifact$")[3:]]
        self.assertEqual(paths, ["results", "results/sub", "results/sub/deeper"])

    def test_a_50_mb_file_is_streamed_with_bounded_memory(self) -> None:
        run = self.new_run()
        path = os.path.join(self.tmp, "big.bin")
        digest = hashlib.sha256()
        with open(path, "wb") as f:
            block = os.urandom(1 << 20)
            for i in range(50):
                data = bytes([i]) + block[1:]
                digest.update(data)
                f.write(data)
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            run.log_artifact(path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertLess(peak, 10 << 20, f"peak {peak / 2**20:.1f} MiB while uploading 50 MiB")
        (up,) = self.fake.seen("POST", "/artifact$")
        boundary = re.search(r"boundary=(\w+)", up.headers["content-type"])[1].encode()
        head = up.head[: up.head.index(b"\r\n\r\n") + 4]
        tail = up.tail[up.tail.rindex(b"\r\n--" + boundary + b"\r\nContent-Disposition"):]
        self.assertEqual(up.size, len(head) + (50 << 20) + len(tail))
        whole = hashlib.sha256(head)
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                whole.update(chunk)
        whole.update(tail)
        self.assertEqual(up.sha256, whole.hexdigest(), "the server got exactly head + file + tail")
        self.assertIn(b'filename="big.bin"', head)

    def test_a_failed_upload_is_sent_again_whole(self) -> None:
        run = self.new_run()
        path = self.write("a.txt", b"hello")
        self.fake.fail("POST", "/artifact$", 502, {"code": "gateway.bad_gateway", "message": "x"})
        run.log_artifact(path)
        first, second = self.fake.seen("POST", "/artifact$")
        self.assertEqual(parse(second)["upload_file"], ("a.txt", b"hello"))
        self.assertEqual(first.size, second.size)

    def test_bad_paths_are_refused_before_anything_is_sent(self) -> None:
        run = self.new_run()
        path = self.write("a.txt", b"x")
        for dest in ("../escape", "a/../../b", "/abs", "back\\slash", "nul\x00"):
            with self.assertRaises(ValueError):
                run.log_artifact(path, dest=dest)
        with self.assertRaises(FileNotFoundError):
            run.log_artifact(os.path.join(self.tmp, "missing"))
        self.assertEqual(self.fake.seen("POST", "/artifact$"), [])


if __name__ == "__main__":
    unittest.main()


class CodeRefTest(ServerTest):
    def test_the_git_commit_is_registered_as_a_coderef(self) -> None:
        import subprocess

        with tempfile.TemporaryDirectory() as repo:
            git = ["git", "-C", repo, "-c", "user.email=t@example.com", "-c", "user.name=t"]
            subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True)
            subprocess.run(git[:3] + ["remote", "add", "origin", "https://example.com/acme/repo.git"], check=True)
            with open(os.path.join(repo, "train.py"), "w") as f:
                f.write("print(1)\n")
            subprocess.run(git + ["add", "train.py"], check=True)
            subprocess.run(git + ["commit", "-q", "-m", "first"], check=True)
            commit = subprocess.run(git[:3] + ["rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
            run = self.new_run()
            entry = run.log_code_ref(path=repo)
        self.assertEqual(entry["name"], commit)
        self.assertEqual(entry["kind"], "coderef")
        self.assertTrue(entry["is_input"])
        self.assertEqual(
            entry["summary"],
            {"commit": commit, "branch": "main", "url": "https://example.com/acme/repo.git", "is_dirty": False},
        )
        (lineage,) = self.fake.seen("POST", "/lineage/artifacts$")
        self.assertEqual(lineage.json, {"artifacts": [entry]})

    def test_outside_a_repository_nothing_is_sent(self) -> None:
        run = self.new_run()
        with tempfile.TemporaryDirectory() as empty:
            self.assertIsNone(run.log_code_ref(path=empty))
        self.assertEqual(self.fake.seen("POST", "/lineage/artifacts$"), [])
