"""Train a tiny softmax classifier on shipped data, written as a PyTorch user would.

    python examples/train_tiny.py [--steps N]

Until jtorch's autograd lands (the next issue), the gradient of the cross-entropy is
written out by hand; everything else is plain torch API on `import jtorch as torch`.
"""
from __future__ import annotations

import argparse
import pathlib

import jtorch as torch

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
    n, classes = x.shape[0], int(y.max()) + 1
    w = torch.randn(2, classes) * 0.01
    b = torch.zeros(classes)
    onehot = (y.unsqueeze(1) == torch.arange(classes)).float()

    for step in range(args.steps + 1):
        logits = x @ w + b
        probs = torch.softmax(logits, dim=1)
        loss = -(onehot * torch.log_softmax(logits, dim=1)).sum() / n
        # d loss / d logits of mean cross-entropy
        grad_logits = (probs - onehot) / n
        w -= args.lr * (x.T @ grad_logits)
        b -= args.lr * grad_logits.sum(0)
        if step % 50 == 0:
            acc = (logits.argmax(1) == y).float().mean().item()
            print(f"step {step:4d}  loss {loss.item():.4f}  accuracy {acc:.3f}")
    return acc


if __name__ == "__main__":
    main()
