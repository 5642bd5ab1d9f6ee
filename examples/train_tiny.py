"""Train a small two-layer classifier on shipped data, written as a PyTorch user would.

    python examples/train_tiny.py [--steps N]

Plain torch API on `import jtorch as torch`: parameters that require grad, a forward pass
in `torch.nn.functional`, `loss.backward()` and an SGD update under `torch.no_grad()`.
(`nn.Module` and `torch.optim` arrive with their issues.)
"""
from __future__ import annotations

import argparse
import pathlib

import jtorch as torch
import jtorch.nn.functional as F

DATA = pathlib.Path(__file__).parent / "data" / "blobs.csv"


def load():
    rows = [line.split(",") for line in DATA.read_text().splitlines()[1:]]
    x = torch.tensor([[float(a), float(b)] for a, b, _ in rows])
    y = torch.tensor([int(c) for _, _, c in rows])
    return x, y


def main(argv=None) -> float:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--lr", type=float, default=0.5)
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    x, y = load()
    classes, hidden = int(y.max()) + 1, 16
    w1 = (torch.randn(hidden, 2) * 0.5).requires_grad_()
    b1 = torch.zeros(hidden, requires_grad=True)
    w2 = (torch.randn(classes, hidden) * 0.5).requires_grad_()
    b2 = torch.zeros(classes, requires_grad=True)
    params = [w1, b1, w2, b2]

    for step in range(args.steps + 1):
        logits = F.linear(F.relu(F.linear(x, w1, b1)), w2, b2)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= args.lr * p.grad
                p.grad = None
        if step % 50 == 0:
            acc = (logits.argmax(1) == y).float().mean().item()
            print(f"step {step:4d}  loss {loss.item():.4f}  accuracy {acc:.3f}")
    return acc


if __name__ == "__main__":
    main()
