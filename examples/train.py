"""A tiny training loop (standard library only) that prints its progress.

It fits y = 3x + 1 with plain gradient descent so the loss really goes down.
"""
import argparse
import random
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args()

    rng = random.Random(42)
    data = [(x, 3 * x + 1 + rng.gauss(0, 0.05)) for x in (rng.random() for _ in range(256))]
    w, b = 0.0, 0.0
    for epoch in range(1, args.epochs + 1):
        grad_w = grad_b = loss = 0.0
        for x, y in data:
            err = w * x + b - y
            loss += err * err
            grad_w += 2 * err * x
            grad_b += 2 * err
        n = len(data)
        w -= args.lr * grad_w / n
        b -= args.lr * grad_b / n
        print(f"epoch {epoch}/{args.epochs} loss={loss / n:.5f} w={w:.3f} b={b:.3f}", flush=True)
        time.sleep(0.1)
    print(f"done: w={w:.3f} b={b:.3f}", flush=True)


if __name__ == "__main__":
    main()
