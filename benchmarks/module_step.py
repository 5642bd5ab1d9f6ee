"""What nn.Module costs: one eager training step of the same MLP written as an nn.Sequential
and with torch.nn.functional, in jtorch and in real torch, measured in one run.

    python benchmarks/module_step.py [--sizes tiny,mlp] [--repeats N] [--torch-threads N]

tiny: batch 4, 8->8->8->1 (the step is all per-call overhead); mlp: batch 64,
256->512->512->1. Step: forward, MSE loss, `model.zero_grad()`, `backward()`, SGD under
`no_grad`. Both libraries start from the same numpy weights and their losses are checked to
agree. Medians over repeats of back-to-back steps.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import jtorch

try:
    import torch
except ImportError:
    torch = None

SIZES = {"tiny": (4, [8, 8, 8, 1]), "mlp": (64, [256, 512, 512, 1])}
LR = 0.01


def build(tt, widths, weights):
    nn = tt.nn
    layers = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    model.load_state_dict({k: tt.tensor(v) for k, v in weights.items()})
    return model


def module_step(tt, model, x, y):
    loss = tt.nn.functional.mse_loss(model(x), y)
    model.zero_grad()
    loss.backward()
    with tt.no_grad():
        for p in model.parameters():
            p -= LR * p.grad
    return loss


def functional_step(tt, params, x, y):
    F = tt.nn.functional
    h = x
    for i in range(0, len(params), 2):
        h = F.linear(h, params[i], params[i + 1])
        if i < len(params) - 2:
            h = F.relu(h)
    loss = F.mse_loss(h, y)
    loss.backward()
    with tt.no_grad():
        for p in params:
            p -= LR * p.grad
            p.grad = None
    return loss


def timed(step, repeats, inner=20):
    for _ in range(3):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            loss = step()
        float(loss)
        times.append((time.perf_counter() - start) / inner)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="tiny,mlp")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--torch-threads", type=int, default=2)
    args = parser.parse_args()
    if torch is not None:
        torch.set_num_threads(args.torch_threads)
    rng = np.random.default_rng(0)
    for size in args.sizes.split(","):
        batch, widths = SIZES[size]
        weights = {}
        for i in range(len(widths) - 1):
            bound = 1 / np.sqrt(widths[i])
            weights[f"{2 * i}.weight"] = rng.uniform(-bound, bound, (widths[i + 1], widths[i])
                                                     ).astype(np.float32)
            weights[f"{2 * i}.bias"] = rng.uniform(-bound, bound, widths[i + 1]
                                                   ).astype(np.float32)
        x_np = rng.standard_normal((batch, widths[0])).astype(np.float32)
        y_np = rng.standard_normal((batch, 1)).astype(np.float32)
        row = {}
        losses = {}
        for name, tt in (("jtorch", jtorch), ("torch", torch)):
            if tt is None:
                continue
            x, y = tt.tensor(x_np), tt.tensor(y_np)
            model = build(tt, widths, weights)
            params = [tt.tensor(v).requires_grad_() for v in weights.values()]
            losses[name] = float(module_step(tt, build(tt, widths, weights), x, y))
            row[f"{name} module"] = timed(lambda: module_step(tt, model, x, y), args.repeats)
            row[f"{name} functional"] = timed(lambda: functional_step(tt, params, x, y),
                                              args.repeats)
        if "torch" in losses:
            assert abs(losses["torch"] - losses["jtorch"]) < 1e-4 * max(1, abs(losses["torch"]))
        cells = "  ".join(f"{k} {v * 1e3:.3f} ms" for k, v in row.items())
        ratio = row["jtorch module"] / row["jtorch functional"]
        print(f"{size}: {cells}  | jtorch module/functional {ratio:.2f}"
              + (f", jtorch/torch (module) {row['jtorch module'] / row['torch module']:.2f}"
                 if "torch module" in row else ""))


if __name__ == "__main__":
    main()
