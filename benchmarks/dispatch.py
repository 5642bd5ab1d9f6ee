"""Eager per-op time on small tensors: jtorch vs raw jax.numpy vs real torch, in one run.

    python benchmarks/dispatch.py

Prints microseconds per call and the ratios jtorch/jax and jtorch/torch. torch is
optional (its column is skipped when absent).
"""
from __future__ import annotations

import timeit

import jax
import jax.numpy as jnp
import numpy as np

import jtorch

try:
    import torch
except ImportError:
    torch = None


def per_call_us(fn, number=2000, repeat=7) -> float:
    fn()
    for _ in range(3):
        fn()
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def cases():
    a_np = np.random.default_rng(0).standard_normal((8, 8)).astype(np.float32)
    b_np = np.random.default_rng(1).standard_normal((8, 8)).astype(np.float32)
    ja, jb = jtorch.from_numpy(a_np), jtorch.from_numpy(b_np)
    xa, xb = jnp.asarray(a_np), jnp.asarray(b_np)
    out = [
        ("a + b", lambda: ja + jb, lambda: xa + xb),
        ("x.sum()", lambda: ja.sum(), lambda: xa.sum()),
        ("x[0]", lambda: ja[0], lambda: xa[0]),
        ("x.view(-1)", lambda: ja.view(-1), lambda: xa.reshape(-1)),
        ("torch.matmul", lambda: jtorch.matmul(ja, jb), lambda: jnp.matmul(xa, xb)),
    ]
    if torch is not None:
        ta, tb = torch.from_numpy(a_np), torch.from_numpy(b_np)
        torch_fns = [lambda: ta + tb, lambda: ta.sum(), lambda: ta[0], lambda: ta.view(-1),
                     lambda: torch.matmul(ta, tb)]
    else:
        torch_fns = [None] * len(out)
    return [(name, j, x, t) for (name, j, x), t in zip(out, torch_fns)]


def main():
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; "
          f"torch {torch.__version__ if torch else 'absent'}")
    print(f"{'op':<14}{'jtorch us':>11}{'jax us':>9}{'torch us':>10}{'jt/jax':>8}{'jt/torch':>10}")
    ratios = []
    for name, j, x, t in cases():
        # results must be ready: time dispatch plus the (tiny) computation, as a user sees it
        jt = per_call_us(lambda: j()._value.block_until_ready())
        jx = per_call_us(lambda: x().block_until_ready())
        tt = per_call_us(t) if t else float("nan")
        ratios.append(jt / jx)
        print(f"{name:<14}{jt:>11.2f}{jx:>9.2f}{tt:>10.2f}{jt / jx:>8.2f}{jt / tt:>10.2f}")
    print(f"geometric mean jtorch/jax: {float(np.exp(np.mean(np.log(ratios)))):.2f}")


if __name__ == "__main__":
    main()
