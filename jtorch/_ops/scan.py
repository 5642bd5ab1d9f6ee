"""Scans and differences: cumsum/cumprod/cummax/cummin/logcumsumexp, diff, gradient, trapezoid."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .registry import register
from ._util import torch_dtype, wrap_dim, wrap_dims, promote, to_float
from .reduction import sum_dtype, refuse


def _scan_dim(dim, x):
    d = wrap_dim(dim, x.ndim)
    return d if x.ndim else None


@register(inplace=True, out=True)
def cumsum(input, dim, *, dtype=None):
    """Mirrors `torch.cumsum`."""
    x = input.astype(sum_dtype(input, dtype)._np)
    d = _scan_dim(dim, x)
    return x if d is None else jnp.cumsum(x, axis=d)


@register(inplace=True, out=True)
def cumprod(input, dim, *, dtype=None):
    """Mirrors `torch.cumprod`."""
    x = input.astype(sum_dtype(input, dtype)._np)
    d = _scan_dim(dim, x)
    return x if d is None else jnp.cumprod(x, axis=d)


def _cum_extreme(input, dim, better):
    refuse("cummax/cummin", input, complex=True, exc=NotImplementedError)
    d = _scan_dim(dim, input)
    if d is None:
        return input, jnp.zeros((), np.int64)
    x = jnp.moveaxis(input, d, 0)
    floating = torch_dtype(input).is_floating_point

    def step(carry, item):
        value, index = carry
        xi, i = item
        # torch takes the newest element on ties, and any NaN (which then sticks)
        take = better(xi, value) | (xi == value)
        if floating:
            take = (take & ~jnp.isnan(value)) | jnp.isnan(xi)
        value = jnp.where(take, xi, value)
        index = jnp.where(take, i, index)
        return (value, index), (value, index)

    if x.shape[0] == 0:
        return input, jnp.zeros(input.shape, np.int64)
    first = (x[0], jnp.zeros(x.shape[1:], np.int64))
    idx = jnp.arange(x.shape[0], dtype=np.int64)
    _, (values, indices) = jax.lax.scan(step, first, (x, idx))
    return jnp.moveaxis(values, 0, d), jnp.moveaxis(indices, 0, d)


@register(out=True, returns=("values", "indices"))
def cummax(input, dim):
    """Mirrors `torch.cummax`."""
    return _cum_extreme(input, dim, jnp.greater)


@register(out=True, returns=("values", "indices"))
def cummin(input, dim):
    """Mirrors `torch.cummin`."""
    return _cum_extreme(input, dim, jnp.less)


@register(out=True)
def logcumsumexp(input, dim):
    """Mirrors `torch.logcumsumexp`."""
    refuse("logcumsumexp", input, bool=True, integral=True, exc=NotImplementedError)
    x = to_float(input)
    d = _scan_dim(dim, x)
    if d is None:
        return x
    if jnp.iscomplexobj(x):
        return jax.lax.cumlogsumexp(x, axis=d)
    return _logcumsumexp_real(x, d)


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def _logcumsumexp_real(x, axis):
    return jax.lax.cumlogsumexp(x, axis=axis)


def _logcumsumexp_fwd(x, axis):
    out = _logcumsumexp_real(x, axis)
    return out, (x, out)


def _logcumsumexp_bwd(axis, saved, grad):
    # torch's formula: the positive and negative parts of the cotangent, each through a
    # reversed log-cumsum-exp in log space (inputs near 1e4 cancel against `x` here, so
    # the roundings must be torch's too)
    x, out = saved
    lowest = jnp.finfo(grad.dtype).min
    log_abs = jnp.log(jnp.abs(grad))

    def part(mask):
        logs = jnp.where(mask, log_abs, lowest) - out
        # torch's CPU kernel accumulates in double and rounds each output once
        wide = jax.lax.cumlogsumexp(logs.astype(jnp.float64), axis=axis, reverse=True)
        return jnp.exp(wide.astype(x.dtype) + x)
    return (part(grad > 0) - part(grad < 0),)


_logcumsumexp_real.defvjp(_logcumsumexp_fwd, _logcumsumexp_bwd)


@register(out=True)
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """Mirrors `torch.diff`."""
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = wrap_dim(dim, input.ndim)
    parts = [p if p.ndim else jnp.broadcast_to(p, _edge_shape(input, d)) for p in (prepend,)
             if p is not None]
    parts.append(input)
    if append is not None:
        parts.append(append if append.ndim else jnp.broadcast_to(append, _edge_shape(input, d)))
    if len(parts) > 1:
        (*parts,), _ = promote(*parts)
        x = jnp.concatenate(parts, axis=d)
    else:
        x = input
    for _ in range(n):
        if x.shape[d] == 0:
            break
        a = jax.lax.slice_in_dim(x, 1, x.shape[d], axis=d)
        b = jax.lax.slice_in_dim(x, 0, x.shape[d] - 1, axis=d)
        x = (a ^ b) if x.dtype == np.bool_ else a - b
    return x


def _edge_shape(x, d):
    return x.shape[:d] + (1,) + x.shape[d + 1:]


@register(method=False)
def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """Mirrors `torch.gradient`."""
    if input.dtype in (np.uint8, np.bool_):
        raise RuntimeError(f"torch.gradient does not support {input.dtype} input.")
    x = to_float(input)
    dims = tuple(range(x.ndim)) if dim is None else wrap_dims(dim, x.ndim)
    if spacing is None:
        spacing = 1
    if not isinstance(spacing, (tuple, list)):
        spacing = (spacing,) * len(dims)
    if len(spacing) != len(dims):   # a one-element list is not broadcast over the dims
        raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or it's "
                           f"spacing and dim arguments to have the same length, but got a "
                           f"spacing argument of length {len(spacing)} and a dim argument of "
                           f"length {len(dims)}.")
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    for d in dims:
        if x.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least "
                               "edge_order+1")
    return tuple(_gradient_1d(x, s, d, edge_order) for s, d in zip(spacing, dims))


def _gradient_1d(x, h, d, edge_order):
    x = jnp.moveaxis(x, d, -1)
    if hasattr(h, "shape") and h.ndim == 1:            # coordinates
        coords = h.astype(x.dtype)
        dx = jnp.diff(coords)
        hl, hr = dx[:-1], dx[1:]
        interior = (hl ** 2 * x[..., 2:] - hr ** 2 * x[..., :-2]
                    + (hr ** 2 - hl ** 2) * x[..., 1:-1]) / (hl * hr * (hl + hr))
        if edge_order == 1:
            first = (x[..., 1:2] - x[..., 0:1]) / dx[0]
            last = (x[..., -1:] - x[..., -2:-1]) / dx[-1]
        else:
            a, b = dx[0], dx[1]
            first = (-(2 * a + b) / (a * (a + b)) * x[..., 0:1] + (a + b) / (a * b) * x[..., 1:2]
                     - a / (b * (a + b)) * x[..., 2:3])
            a, b = dx[-1], dx[-2]
            last = ((2 * a + b) / (a * (a + b)) * x[..., -1:] - (a + b) / (a * b) * x[..., -2:-1]
                    + a / (b * (a + b)) * x[..., -3:-2])
    else:
        h = jnp.asarray(h, x.dtype)
        interior = (x[..., 2:] - x[..., :-2]) / (2 * h)
        if edge_order == 1:
            first = (x[..., 1:2] - x[..., 0:1]) / h
            last = (x[..., -1:] - x[..., -2:-1]) / h
        else:
            first = (-1.5 * x[..., 0:1] + 2 * x[..., 1:2] - 0.5 * x[..., 2:3]) / h
            last = (0.5 * x[..., -3:-2] - 2 * x[..., -2:-1] + 1.5 * x[..., -1:]) / h
    out = jnp.concatenate([first, interior, last], axis=-1)
    return jnp.moveaxis(out, -1, d)


def _trapezoid_parts(y, x, dx, dim):
    refuse("trapezoid", y, bool=True)
    d = wrap_dim(dim, y.ndim)
    n = y.shape[d]
    left = jax.lax.slice_in_dim(y, 0, max(n - 1, 0), axis=d)
    right = jax.lax.slice_in_dim(y, min(1, n), n, axis=d)
    mid = to_float(left + right) / 2     # torch adds neighbours in the input dtype
    if x is None:
        step = 1 if dx is None else dx
        return mid * jnp.asarray(step, mid.dtype), d
    xf = to_float(x)
    if xf.ndim == 1:
        widths = jnp.diff(xf)
        shape = [1] * y.ndim
        shape[d] = widths.shape[0]
        widths = widths.reshape(shape)
    else:
        xd = d - y.ndim + xf.ndim if xf.ndim < y.ndim else d
        widths = jnp.diff(xf, axis=xd)
    (mid, widths), _ = promote(mid, widths)
    return mid * widths, d



def _trapezoid(y, x, dx, dim):
    if x is not None:
        parts, d = _trapezoid_parts(y, x, dx, dim)
        return jnp.sum(parts, axis=d)
    refuse("trapezoid", y, bool=True)
    d = wrap_dim(dim, y.ndim)
    n = y.shape[d]
    if n == 0:
        return jnp.sum(to_float(y), axis=d)
    # torch: (sum - (first + last) / 2) * dx, the end pair added in the input dtype
    total = to_float(jnp.sum(y.astype(sum_dtype(y, None)._np), axis=d))
    ends = to_float(jnp.take(y, 0, axis=d) + jnp.take(y, n - 1, axis=d))
    return (total - ends * 0.5) * jnp.asarray(1 if dx is None else dx, total.dtype)


@register(method=False)
def trapezoid(y, x=None, *, dx=None, dim=-1):
    """Mirrors `torch.trapezoid`."""
    return _trapezoid(y, x, dx, dim)


@register(method=False)
def trapz(y, x=None, *, dx=None, dim=-1):
    """Mirrors `torch.trapz`."""
    return _trapezoid(y, x, dx, dim)


@register(method=False)
def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """Mirrors `torch.cumulative_trapezoid`."""
    parts, d = _trapezoid_parts(y, x, dx, dim)
    return jnp.cumsum(parts, axis=d)
