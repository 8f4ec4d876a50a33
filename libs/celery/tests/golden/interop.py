"""Checks Myelin's Celery peer against real Celery on RabbitMQ, both ways (run by hand).

Python Celery client -> Myelin worker (`examples/interop.rs`): send_task v2, countdown (ETA),
protocol v1, control.revoke(terminate=True) cancelling a running task, control.ping.
Myelin producer/control -> Python Celery worker: a task with args/kwargs runs, revoke(terminate)
terminates a running task.

    cargo build -p myelin-celery --example interop
    /tmp/celery-venv/bin/python libs/celery/tests/golden/interop.py

Known limitation (see the README): Myelin's bus declares `celery.pidbox` durable while Celery
declares it transient; this script makes Celery agree (durable) so both can share the broker.
"""
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../../../.."))
EXAMPLE = os.path.join(ROOT, "target/debug/examples/interop")
URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
PY_URL = URL.replace("/%2f", "//")

APP = '''
import json, os, time
import kombu.pidbox
from celery import Celery

_exchange = kombu.pidbox.Mailbox._get_exchange
def _durable(self, namespace, type):
    ex = _exchange(self, namespace, type)
    ex.durable = True  # Myelin's bus declares celery.pidbox durable (see libs/celery README)
    return ex
kombu.pidbox.Mailbox._get_exchange = _durable

app = Celery("interop", broker=os.environ["PY_URL"])
OUT = os.environ["INTEROP_OUT"]

def _write(doc):
    with open(OUT, "a") as f:
        f.write(json.dumps(doc) + "\\n")

@app.task(name="myelin.record")
def record(*args, **kwargs):
    _write({"args": list(args), "kwargs": kwargs})

@app.task(name="myelin.slow")
def slow():
    _write({"slow": "started"})
    time.sleep(20)
    _write({"slow": "finished"})
'''


def lines_of(proc):
    q = queue.Queue()
    def pump():
        for line in proc.stdout:
            q.put(line)
    threading.Thread(target=pump, daemon=True).start()
    return q


def expect(q, pred, what, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            line = q.get(timeout=max(0.01, deadline - time.time()))
        except queue.Empty:
            break
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if pred(doc):
            print("  ok:", what, "->", line.strip()[:160])
            return doc
    sys.exit(f"FAILED: {what}")


def wait_file(path, pred, what, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path):
            for line in open(path):
                doc = json.loads(line)
                if pred(doc):
                    print("  ok:", what, "->", line.strip())
                    return doc
        time.sleep(0.1)
    sys.exit(f"FAILED: {what}")


def main():
    tmp = tempfile.mkdtemp()
    with open(os.path.join(tmp, "interop_app.py"), "w") as f:
        f.write(APP)
    env = dict(os.environ, AMQP_URL=URL, PY_URL=PY_URL, INTEROP_OUT=os.path.join(tmp, "out.jsonl"),
               PYTHONPATH=tmp)
    os.environ.update(env)
    sys.path.insert(0, tmp)
    from interop_app import app  # noqa: E402  (patched mailbox)
    from celery import Celery

    tag = uuid.uuid4().hex[:12]
    q1, host = f"interop-{tag}-rust", f"rust@interop-{tag}"
    print("Python Celery client -> Myelin worker")
    rust = subprocess.Popen([EXAMPLE, "worker", q1, host], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=env)
    out = lines_of(rust)
    expect(out, lambda d: d.get("ready"), "worker started")
    time.sleep(1.0)  # the worker declares its queues and control queue after printing ready
    r = app.send_task("myelin.echo", args=(1, "x"), kwargs={"a": {"b": 2}}, queue=q1)
    expect(out, lambda d: d.get("id") == r.id and d["args"] == [1, "x"] and d["kwargs"] == {"a": {"b": 2}},
           "send_task v2 runs with its args and kwargs")
    t0 = time.time()
    r = app.send_task("myelin.echo", countdown=1.5, queue=q1)
    expect(out, lambda d: d.get("id") == r.id and d["eta"] is not None, "countdown arrives with an ETA")
    assert time.time() - t0 >= 1.4, "ran before its ETA"
    print("  ok: held until its ETA")
    v1 = Celery("interop-v1", broker=PY_URL)
    v1.conf.task_protocol = 1
    r = v1.send_task("myelin.echo", args=(5,), kwargs={"v": 1}, queue=q1)
    expect(out, lambda d: d.get("id") == r.id and d["args"] == [5] and d["kwargs"] == {"v": 1}, "protocol v1 runs")
    r = app.send_task("myelin.wait", queue=q1)
    expect(out, lambda d: d.get("id") == r.id and d.get("started"), "long task started")
    app.control.revoke(r.id, terminate=True)
    expect(out, lambda d: d.get("id") == r.id and d.get("cancelled") is True,
           "control.revoke(terminate=True) cancels it")
    replies = app.control.ping(destination=[host], timeout=2)
    assert replies == [{host: {"ok": "pong"}}], replies
    print("  ok: control.ping ->", replies)
    rust.stdin.close()
    assert rust.wait(timeout=15) == 0, "worker exit status"
    print("  ok: graceful stop")

    print("Myelin producer/control -> Python Celery worker")
    q2, pyhost = f"interop-{tag}-py", f"py@interop-{tag}"
    log = open(os.path.join(tmp, "worker.log"), "w+")
    py = subprocess.Popen([sys.executable, "-m", "celery", "-A", "interop_app", "worker", "-Q", q2, "-n", pyhost,
                           "-c", "1", "--without-gossip", "--without-mingle", "-l", "info"],
                          cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while "ready." not in open(log.name).read():
            assert time.time() < deadline and py.poll() is None, open(log.name).read()
            time.sleep(0.2)
        run = lambda *a: subprocess.run([EXAMPLE, *a], env=env, check=True, capture_output=True, text=True).stdout
        run("send", q2, "myelin.record", '[1, "two"]', '{"k": {"n": 1.5}}')
        wait_file(env["INTEROP_OUT"], lambda d: d.get("args") == [1, "two"] and d["kwargs"] == {"k": {"n": 1.5}},
                  "Python worker ran our task with its args and kwargs")
        sent = json.loads(run("send", q2, "myelin.slow", "[]", "{}"))
        wait_file(env["INTEROP_OUT"], lambda d: d.get("slow") == "started", "slow task started")
        run("revoke", sent["id"])
        deadline = time.time() + 10
        while f"Terminating {sent['id']}" not in open(log.name).read():
            assert time.time() < deadline, "the Python worker did not terminate the task:\n" + open(log.name).read()
            time.sleep(0.2)
        print("  ok: our revoke(terminate) made the Python worker terminate", sent["id"])
    finally:
        py.terminate()
        py.wait(timeout=30)
        with app.connection() as conn:
            ch = conn.default_channel
            for q in (q1, q2):
                ch.queue_delete(q)
                ch.exchange_delete(q)
    print("all interop checks passed")


if __name__ == "__main__":
    main()
