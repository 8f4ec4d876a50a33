"""A tiny training loop (standard library only) that prints its progress and tracks it in Myelin.

It fits y = 3x + 1 with plain gradient descent so the loss really goes down. Params, a metric point
per epoch, the final outputs and a small model file are tracked with Myelin's Python client
(`clients/python`, standard library only; `pip install ./clients/python`, or found next to this
file when not installed). Inside a run Myelin starts, `myelin.init()` attaches to that run.
"""
import argparse
import json
import random
import sys
import time
from pathlib import Path

try:
    import myelin
except ImportError:  # not installed: use the copy in this repository
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "clients" / "python" / "src"))
    import myelin


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args()

    myelin.init()
    myelin.log_params(epochs=args.epochs, lr=args.lr)
    rng = random.Random(42)
    data = [(x, 3 * x + 1 + rng.gauss(0, 0.05)) for x in (rng.random() for _ in range(256))]
    w, b = 0.0, 0.0
    loss = 0.0
    for epoch in range(1, args.epochs + 1):
        grad_w = grad_b = loss = 0.0
        for x, y in data:
            err = w * x + b - y
            loss += err * err
            grad_w += 2 * err * x
            grad_b += 2 * err
        n = len(data)
        loss /= n
        w -= args.lr * grad_w / n
        b -= args.lr * grad_b / n
        myelin.log_metrics(step=epoch, loss=loss, w=w, b=b)
        print(f"epoch {epoch}/{args.epochs} loss={loss:.5f} w={w:.3f} b={b:.3f}", flush=True)
        time.sleep(0.1)
    Path("model.json").write_text(json.dumps({"w": w, "b": b}))
    myelin.log_artifact("model.json", kind="model")
    myelin.log_outputs(loss=loss, w=w, b=b)
    myelin.flush()
    print(f"done: w={w:.3f} b={b:.3f}", flush=True)


if __name__ == "__main__":
    main()
