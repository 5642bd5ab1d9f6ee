"""Orthogonal polynomials of torch.special: P_n(x) for tensors (or numbers) x and n.

torch truncates n to an integer (n < 0 gives 0), takes closed forms at the interval's end
points and, for high degree inside it, trigonometric forms; otherwise it runs the three-term
recurrence, stopping early once a value is nan. This file does the same, vectorised: the
recurrence runs as a while loop until every element has reached its own degree. Values are
computed in the input's own precision, as torch does, so overflow happens where torch's does.
"""
from __future__ import annotations

import jax.numpy as jnp
from jax import lax

from .special import pointwise, special_alias, tensor_operand


def _degree(n):
    """n as an int64 degree as torch's static_cast gives it (nan, inf, huge: negative)."""
    ok = jnp.isfinite(n) & (jnp.abs(n) < 2.0 ** 62)
    return jnp.where(ok, jnp.trunc(jnp.where(ok, n, 0.0)), -1.0).astype(jnp.int64)


def _recurrence(n, active, p, q, step, stop_on_nan: bool):
    """Run q_{j+1} = step(j, p_j, q_j) for j = 1 .. n-1 where `active`; returns the last q."""
    def going(j, q):
        live = active & (j < n)
        return live & ~jnp.isnan(q) if stop_on_nan else live

    def more(state):
        j, _, q = state
        return jnp.any(going(j, q))

    def body(state):
        j, p, q = state
        live = going(j, q)
        r = step(j, p, q)
        return j + 1, jnp.where(live, q, p), jnp.where(live, r, q)

    _, _, q = lax.while_loop(more, body, (jnp.int64(1), p, q))
    return q


def _evaluate(x, n, *, q0, step, edges=(), stop_on_nan=True, limit=None):
    """P_n(x) with the recurrence from (1, q0); `edges` are (mask, value) pairs, first wins."""
    x, n = jnp.broadcast_arrays(x, n)
    k = _degree(n)
    one = jnp.ones_like(x)
    q_start = q0 * one
    rest = jnp.zeros(x.shape, bool)
    for mask, _ in edges:
        rest = rest | mask
    run = ~rest & (k >= 2)
    if limit is not None:
        run = run & (k <= limit)
    value = _recurrence(k, run, one, q_start, step, stop_on_nan)
    value = jnp.where(k == 1, q_start, jnp.where(k == 0, one, value))
    if limit is not None:
        value = jnp.where(k > limit, jnp.nan, value)
    for mask, edge in reversed(edges):
        value = jnp.where(mask, edge, value)
    return jnp.where(k < 0, 0.0, value)


def _parity(k, even, odd):
    return jnp.where(k % 2 == 0, even, odd)


def _safe(mask, x, fill=0.5):
    return jnp.where(mask, x, fill)


def _ratio(ok, numerator, denominator, fallback):
    """numerator / denominator where `ok`, else `fallback` (no nan in the untaken branch)."""
    return jnp.where(ok, numerator / jnp.where(ok, denominator, 1.0), fallback)


def _chebyshev(kind: str, shifted: bool):
    """T, U, V or W (shifted to [0, 1] when `shifted`)."""
    def fn(x, n):
        x, n = jnp.broadcast_arrays(x, n)
        k = _degree(n)
        kf = k.astype(x.dtype)
        t = x + x - 1.0 if shifted else x
        top = (x == 1.0) if shifted else (jnp.abs(x) == 1.0) & (x > 0)
        bottom = (x == 0.0) if shifted else (jnp.abs(x) == 1.0) & (x < 0)
        inside = jnp.abs(t) < 1.0
        threshold = {"t": 6, "u": 8, "v": 8, "w": 8}[kind]
        if shifted:
            threshold = 4 if kind == "w" else 6
        trig = (k > threshold) & inside & ~top & ~bottom
        theta = jnp.arccos(_safe(trig, t))
        odd_sign = _parity(k, 1.0, -1.0)
        if kind == "t":
            q0, at_top, at_bottom = t, 1.0, odd_sign
            closed = jnp.cos(kf * theta)
        elif kind == "u":
            q0, at_top, at_bottom = t + t, kf + 1.0, odd_sign * (kf + 1.0)
            s = jnp.sin(theta)
            closed = _ratio(s != 0, jnp.sin((kf + 1.0) * theta), s,
                            (kf + 1.0) * jnp.cos((kf + 1.0) * theta) / _safe(s == 0, t, 1.0))
        elif kind == "v":
            q0, at_top, at_bottom = t + t - 1.0, 1.0, odd_sign * (kf + kf + 1.0)
            closed = _ratio(jnp.sin(theta / 2.0) != 1.0, jnp.cos((kf + 0.5) * theta),
                            jnp.cos(theta / 2.0), odd_sign * (kf + kf + 1.0))
        else:
            q0, at_top, at_bottom = t + t + 1.0, kf + kf + 1.0, odd_sign
            fallback = odd_sign if shifted else jnp.where(t > 0, kf + kf + 1.0, odd_sign)
            closed = _ratio(jnp.cos(theta / 2.0) != 1.0, jnp.sin((kf + 0.5) * theta),
                            jnp.sin(theta / 2.0), fallback)
        edges = ((top, at_top), (bottom, at_bottom), (trig, closed))
        return _evaluate(x, n, q0=q0, step=lambda j, p, q: (t + t) * q - p, edges=edges)
    return fn


def _hermite_h(x, n):
    limit = 128 if x.dtype == jnp.float32 else 512
    return _evaluate(x, n, q0=x + x, step=lambda j, p, q: (x + x) * q - (2 * j).astype(x.dtype) * p,
                     stop_on_nan=False, limit=limit)


def _hermite_he(x, n):
    limit = 128 if x.dtype == jnp.float32 else 512
    return _evaluate(x, n, q0=x, step=lambda j, p, q: x * q - j.astype(x.dtype) * p,
                     stop_on_nan=False, limit=limit)


def _laguerre(x, n):
    x, n = jnp.broadcast_arrays(x, n)

    def step(j, p, q):
        jf = j.astype(x.dtype)
        return ((jf + jf + (1.0 - x)) * q - jf * p) / (jf + 1.0)
    return _evaluate(x, n, q0=1.0 - x, step=step, edges=((x == 0, 1.0),))


def _legendre(x, n):
    x, n = jnp.broadcast_arrays(x, n)
    k = _degree(n)

    def step(j, p, q):
        jf = j.astype(x.dtype)
        return ((jf + jf + 1.0) * x * q - jf * p) / (jf + 1.0)
    end = jnp.abs(x) == 1.0
    at_end = jnp.where((x > 0) | (k % 2 == 0), 1.0, -1.0)
    return _evaluate(x, n, q0=x, step=step, edges=((end, at_end),))


_TABLE = {
    "chebyshev_polynomial_t": _chebyshev("t", False),
    "chebyshev_polynomial_u": _chebyshev("u", False),
    "chebyshev_polynomial_v": _chebyshev("v", False),
    "chebyshev_polynomial_w": _chebyshev("w", False),
    "shifted_chebyshev_polynomial_t": _chebyshev("t", True),
    "shifted_chebyshev_polynomial_u": _chebyshev("u", True),
    "shifted_chebyshev_polynomial_v": _chebyshev("v", True),
    "shifted_chebyshev_polynomial_w": _chebyshev("w", True),
    "hermite_polynomial_h": _hermite_h,
    "hermite_polynomial_he": _hermite_he,
    "laguerre_polynomial_l": _laguerre,
    "legendre_polynomial_p": _legendre,
}


def _make(name, fn):
    def impl(input, n):
        return pointwise(fn, input, n)
    impl.__name__ = name
    impl.__doc__ = f"Mirrors `torch.special.{name}`."
    return special_alias(name, impl, scalars=("input", "n"),
                         check=tensor_operand(f"special_{name}"))


for _name, _fn in _TABLE.items():
    _make(_name, _fn)
