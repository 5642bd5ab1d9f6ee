"""Optimizer.step() on a model of 100 parameter tensors (about 10M values): jtorch vs real
torch vs a hand-written jitted JAX Adam, in one run.

    python benchmarks/optim_step.py [--optimizers adam,sgd,...|all] [--repeats N]
                                    [--torch-threads N]

Every library starts from the same numpy parameters and gradients; after the timed steps the
parameters are checked to agree. Times are medians of back-to-back steps, results waited
for at the end of each repeat.
"""
from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

import jtorch

try:
    import torch
except ImportError:
    torch = None

# 100 tensors, about 10M values: 50 weight matrices and 50 vectors
SHAPES = [(448, 448) if i % 2 == 0 else (448,) for i in range(100)]
OPTIONS = {"adam": ("Adam", dict(lr=1e-3)), "sgd": ("SGD", dict(lr=1e-2, momentum=0.9)),
           "adamw": ("AdamW", dict(lr=1e-3)), "nadam": ("NAdam", dict(lr=1e-3)),
           "rmsprop": ("RMSprop", dict(lr=1e-3, momentum=0.9, centered=True)),
           "adagrad": ("Adagrad", dict(lr=1e-2)), "adafactor": ("Adafactor", dict(lr=1e-2))}


def jax_adam():
    def step(params, grads, m, v, count, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        count = count + 1
        m = [b1 * mi + (1 - b1) * g for mi, g in zip(m, grads)]
        v = [b2 * vi + (1 - b2) * g * g for vi, g in zip(v, grads)]
        c1 = 1 - b1 ** count
        c2 = jnp.sqrt(1 - b2 ** count)
        params = [p - (lr / c1) * mi / (jnp.sqrt(vi) / c2 + eps)
                  for p, mi, vi in zip(params, m, v)]
        return params, m, v, count
    return jax.jit(step, donate_argnums=(0, 2, 3))


def timed(step, sync, repeats, inner=5):
    step()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            step()
        sync()
        times.append((time.perf_counter() - start) / inner)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--optimizers", default="adam,sgd")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--torch-threads", type=int, default=2)
    args = parser.parse_args()
    if torch is not None:
        torch.set_num_threads(args.torch_threads)
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    grads = [rng.standard_normal(s).astype(np.float32) * 1e-2 for s in SHAPES]
    print(f"{len(SHAPES)} tensors, {sum(v.size for v in values) / 1e6:.1f}M values")
    keys = list(OPTIONS) if args.optimizers == "all" else args.optimizers.split(",")
    for key in keys:
        name, options = OPTIONS[key]
        row, finals = {}, {}
        for lib, tt in (("jtorch", jtorch), ("torch", torch)):
            if tt is None:
                continue
            params = [tt.nn.Parameter(tt.tensor(v)) for v in values]
            for p, g in zip(params, grads):
                p.grad = tt.tensor(g)
            opt = getattr(tt.optim, name)(params, **options)
            last = params[-1]
            row[lib] = timed(opt.step, lambda last=last: float(last.detach().sum()), args.repeats)
            finals[lib] = np.array(params[0].detach().numpy() if lib == "torch"
                                   else params[0].detach()._value)
        if key == "adam":
            p = [jnp.asarray(v) for v in values]
            g = [jnp.asarray(v) for v in grads]
            state = {"p": p, "m": [jnp.zeros_like(v) for v in p],
                     "v": [jnp.zeros_like(v) for v in p], "c": jnp.zeros((), jnp.float32)}
            fn = jax_adam()

            def jax_step():
                state["p"], state["m"], state["v"], state["c"] = fn(
                    state["p"], g, state["m"], state["v"], state["c"])
            row["jax"] = timed(jax_step, lambda: state["p"][-1].block_until_ready(),
                               args.repeats)
        if "torch" in finals:
            np.testing.assert_allclose(finals["jtorch"], finals["torch"], rtol=1e-4, atol=1e-5)
        cells = "  ".join(f"{k} {v * 1e3:.2f} ms" for k, v in row.items())
        ratio = f"  jtorch/torch {row['jtorch'] / row['torch']:.2f}" if "torch" in row else ""
        print(f"{name}.step(): {cells}{ratio}")


if __name__ == "__main__":
    main()
