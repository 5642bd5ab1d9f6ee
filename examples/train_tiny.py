"""Train a small two-layer classifier on shipped data, written as a PyTorch user would.

    python examples/train_tiny.py [--steps N]

Plain torch API on `import jtorch as torch`: an `nn.Sequential` model, `nn.CrossEntropyLoss`,
`loss.backward()` and an SGD update under `torch.no_grad()` (`torch.optim` arrives with its
issue).
"""
from __future__ import annotations

import argparse
import pathlib

import jtorch as torch
import jtorch.nn as nn

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
    model = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, classes))
    loss_fn = nn.CrossEntropyLoss()

    for step in range(args.steps + 1):
        logits = model(x)
        loss = loss_fn(logits, y)
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= args.lr * p.grad
        if step % 50 == 0:
            acc = (logits.argmax(1) == y).float().mean().item()
            print(f"step {step:4d}  loss {loss.item():.4f}  accuracy {acc:.3f}")
    return acc


if __name__ == "__main__":
    main()
