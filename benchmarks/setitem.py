"""Scattered single-element writes into a big tensor: jtorch vs real torch vs hand-written jax.

    python benchmarks/setitem.py

`x[i] = v` for 1000 scattered i into a 10^6-element float32 base, in a Python loop, and the
same through a view (`row = base2d[k]; row[j] = v`) and with an in-place op on a view
(`x[i:i + 1].add_(1)`). JAX arrays are immutable, so a naive write copies the whole base
(4 MB) each time; jtorch reuses the base's buffer (jax donation) when nothing else holds it.
The jax column is the best hand-written equivalent: a jitted, donated `.at[i].set(v)`.
Prints milliseconds per 1000 writes and the ratios to torch and to jax.
"""
from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

import jtorch

try:
    import torch
except ImportError:
    torch = None

N = 10 ** 6
WRITES = 1000
POSITIONS = [int(p) for p in np.random.default_rng(0).permutation(N)[:WRITES]]


def best_ms(run, sync, repeat=5) -> float:
    run()       # compile and warm up
    sync()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    return min(times) * 1e3


def library_cases(lib, sync_of):
    """The three loops for jtorch or torch (`sync_of(tensor)` waits for its writes)."""
    x = lib.zeros(N)
    grid = lib.zeros(1000, 1000)

    def setitem():
        for k, p in enumerate(POSITIONS):
            x[p] = float(k)

    def through_view():
        for k, p in enumerate(POSITIONS):
            row = grid[p // 1000]
            row[p % 1000] = float(k)

    def inplace_view():
        for p in POSITIONS:
            x[p:p + 1].add_(1.0)

    return {"x[i] = v": (setitem, lambda: sync_of(x)),
            "row = g[r]; row[j] = v": (through_view, lambda: sync_of(grid)),
            "x[i:i+1].add_(1)": (inplace_view, lambda: sync_of(x))}


def jax_cases():
    state = {"x": jnp.zeros(N, jnp.float32), "g": jnp.zeros((1000, 1000), jnp.float32)}
    put = jax.jit(lambda a, i, v: a.at[i].set(v), donate_argnums=0)
    put2 = jax.jit(lambda a, r, c, v: a.at[r, c].set(v), donate_argnums=0)
    bump = jax.jit(lambda a, i: a.at[i].add(1.0), donate_argnums=0)

    def setitem():
        for k, p in enumerate(POSITIONS):
            state["x"] = put(state["x"], p, float(k))

    def through_view():
        for k, p in enumerate(POSITIONS):
            state["g"] = put2(state["g"], p // 1000, p % 1000, float(k))

    def inplace_view():
        for p in POSITIONS:
            state["x"] = bump(state["x"], p)

    return {"x[i] = v": (setitem, lambda: state["x"].block_until_ready()),
            "row = g[r]; row[j] = v": (through_view, lambda: state["g"].block_until_ready()),
            "x[i:i+1].add_(1)": (inplace_view, lambda: state["x"].block_until_ready())}


def main():
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; "
          f"torch {torch.__version__ if torch else 'absent'}; {WRITES} writes into {N} floats")
    print(f"{'case':<26}{'jtorch ms':>11}{'torch ms':>10}{'jax ms':>9}{'jt/torch':>10}"
          f"{'jt/jax':>8}")
    jt = library_cases(jtorch, lambda t: t._value.block_until_ready())
    tt = library_cases(torch, lambda t: None) if torch else {}
    jx = jax_cases()
    for name, (run, sync) in jt.items():
        j = best_ms(run, sync)
        x = best_ms(*jx[name])
        t = best_ms(*tt[name]) if name in tt else float("nan")
        print(f"{name:<26}{j:>11.1f}{t:>10.1f}{x:>9.1f}{j / t:>10.2f}{j / x:>8.2f}")


if __name__ == "__main__":
    main()
