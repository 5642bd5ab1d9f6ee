"""Pooling of torch.nn.functional: max/avg (with ceil_mode, indices), adaptive, unpool, lp."""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ._common import fn_register, TORCH_EXPORTS, OVERRIDES
from .conv import _tuple


def _spatial_input(input, n, name):
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{name}: Expected {n + 1}D or {n + 2}D (batch mode) tensor with "
                           f"optional 0 dim batch size for input, but got: {list(input.shape)}")
    # the channel dim counts as non-batch: only a batched input's first dim may be empty
    non_batch = input.shape[1:] if input.ndim == n + 2 else input.shape
    if any(s == 0 for s in non_batch):
        raise RuntimeError(f"{name}: Expected input's non-batch dimensions to have positive "
                           f"length, but input has a shape of {list(input.shape)}")


def _pool_geometry(shape, kernel, stride, padding, dilation, ceil_mode, name):
    """Output sizes and (low, high) padding per spatial dim, with torch's ceil_mode rule."""
    out, pads = [], []
    for size, k, s, p, d in zip(shape, kernel, stride, padding, dilation):
        if p > (d * (k - 1) + 1) // 2 if name.startswith("max") else p > k // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
        span = size + 2 * p - d * (k - 1) - 1
        o = (-(-span // s) if ceil_mode else span // s) + 1
        # torch: the last window must start inside the input or its left padding
        if ceil_mode and (o - 1) * s >= size + p:
            o -= 1
        if o <= 0:
            raise RuntimeError(f"Given input size: {tuple(shape)}. Calculated output size: "
                               f"{tuple(out + [o])}. Output size is too small")
        out.append(o)
        pads.append((p, max((o - 1) * s + d * (k - 1) + 1 - size - p, p)))
    return out, pads


def _params(n, kernel_size, stride, padding, dilation=1):
    kernel = _tuple(kernel_size, n, "kernel_size")
    stride = kernel if stride is None or stride == [] or stride == () else _tuple(stride, n)
    padding, dilation = _tuple(padding, n), _tuple(dilation, n)
    for label, values, least in (("kernel_size", kernel, 1), ("stride", stride, 1),
                                 ("pad", padding, 0), ("dilation", dilation, 1)):
        if any(v < least for v in values):
            bound = "be greater than zero" if least else "be non-negative"
            raise RuntimeError(f"{label} must {bound}, but got {label}: {list(values)}")
    return kernel, stride, padding, dilation


def _lowest(dtype):
    if jnp.issubdtype(dtype, jnp.floating):
        return -jnp.inf
    if dtype == jnp.bool_:
        return False
    return jnp.iinfo(dtype).min


def _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, n):
    name = f"max_pool{n}d"
    _spatial_input(input, n, name)
    kernel, stride, padding, dilation = _params(n, kernel_size, stride, padding, dilation)
    out_shape, pads = _pool_geometry(input.shape[-n:], kernel, stride, padding, dilation,
                                     ceil_mode, name)
    lead = input.ndim - n
    window = ((1,) * lead + kernel, (1,) * lead + stride, [(0, 0)] * lead + pads,
              (1,) * lead + dilation)
    if return_indices:
        # the values are read at the indices, so the gradient reaches the element torch picks
        positions = _window_argmax(input, n, *window)
        return _read_at(input, positions, n), positions
    if not jnp.issubdtype(input.dtype, jnp.inexact):
        return _window_max(input, *window)
    return _max_pool_values(input, n, window)


def _window_max(input, dims, strides, pads, dilation):
    low = np.asarray(_lowest(input.dtype), input.dtype)
    return lax.reduce_window(input, low, lax.max, dims, strides, pads,
                             window_dilation=dilation)


def _window_argmax(input, n, dims, strides, pads, dilation):
    """The flat spatial position of each window's maximum, as torch chooses it (a variadic
    reduce_window, which jax cannot differentiate: hence the stop_gradient)."""
    input = lax.stop_gradient(input)
    positions = jnp.arange(math.prod(input.shape[-n:]), dtype=jnp.int64)
    positions = jnp.broadcast_to(positions.reshape(input.shape[-n:]), input.shape)
    low = np.asarray(_lowest(input.dtype), input.dtype)
    no_position = np.asarray(np.iinfo(np.int64).max, np.int64)
    return lax.reduce_window((input, positions), (low, no_position), _max_with_position,
                             dims, strides, pads, window_dilation=dilation)[1]


def _read_at(input, positions, n):
    """input's values at flat spatial `positions` (one per output element)."""
    lead = input.shape[:-n]
    flat = input.reshape(lead + (-1,))
    picked = jnp.take_along_axis(flat, positions.reshape(lead + (-1,)), axis=-1, mode="clip")
    return picked.reshape(positions.shape)


@functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2))
def _max_pool_values(input, n, window):
    """The window maxima by a plain reduce_window; differentiated as torch does, through the
    argmax element (the first among ties, NaN last)."""
    return _window_max(input, *window)


@_max_pool_values.defjvp
def _max_pool_values_jvp(n, window, primals, tangents):
    (x,), (t,) = primals, tangents
    positions = _window_argmax(x, n, *window)
    return _max_pool_values(x, n, window), _read_at(t, positions, n)


def _max_with_position(a, b):
    """torch's window scan: the first maximum wins, except that a later NaN replaces anything."""
    (av, ai), (bv, bi) = a, b
    a_nan, b_nan = av != av, bv != bv
    take_b = jnp.where(a_nan | b_nan, b_nan & (~a_nan | (bi > ai)),
                       (bv > av) | ((bv == av) & (bi < ai)))
    return jnp.where(take_b, bv, av), jnp.where(take_b, bi, ai)


def _argmax_last(values, positions):
    """Max over the last axis with its position: ties go to the first, NaN to the last NaN."""
    if jnp.issubdtype(values.dtype, jnp.floating):
        key = jnp.where(jnp.isnan(values), jnp.inf, values)
        last = values.shape[-1] - 1
        nan_last = last - jnp.argmax(jnp.flip(jnp.isnan(values), -1), axis=-1)
        best = jnp.where(jnp.any(jnp.isnan(values), axis=-1), nan_last, jnp.argmax(key, axis=-1))
    else:
        best = jnp.argmax(values, axis=-1)
    best = best[..., None]
    pos = jnp.broadcast_to(positions, values.shape)
    return (jnp.take_along_axis(values, best, axis=-1)[..., 0],
            jnp.take_along_axis(pos, best, axis=-1)[..., 0])


def _max_pool_fn(n):
    def max_pool(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                 return_indices=False):
        return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode,
                         return_indices, n)
    max_pool.__doc__ = f"Mirrors `torch.nn.functional.max_pool{n}d`."
    public = fn_register(name=f"max_pool{n}d")(max_pool)
    TORCH_EXPORTS[f"max_pool{n}d"] = public
    def with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                     return_indices=True):
        return public(input, kernel_size, stride, padding, dilation, ceil_mode, True)
    with_indices.__name__ = with_indices.__qualname__ = f"max_pool{n}d_with_indices"
    with_indices.__doc__ = f"Mirrors `torch.nn.functional.max_pool{n}d_with_indices`."
    OVERRIDES[f"max_pool{n}d_with_indices"] = with_indices
    return public


max_pool1d, max_pool2d, max_pool3d = _max_pool_fn(1), _max_pool_fn(2), _max_pool_fn(3)


def _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, n):
    name = f"avg_pool{n}d"
    _spatial_input(input, n, name)
    kernel, stride, padding, _ = _params(n, kernel_size, stride, padding)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    out_shape, pads = _pool_geometry(input.shape[-n:], kernel, stride, padding, (1,) * n,
                                     ceil_mode, name)
    lead = input.ndim - n
    integer = not jnp.issubdtype(input.dtype, jnp.inexact)
    x = input.astype(jnp.int64) if integer else input
    window = dict(window_dimensions=(1,) * lead + kernel, window_strides=(1,) * lead + stride,
                  padding=[(0, 0)] * lead + pads)
    # a concrete init lets jax pick its differentiable window-sum primitive
    total = lax.reduce_window(x, np.zeros((), x.dtype), lax.add, **window)
    if divisor_override is not None:
        divisor = jnp.asarray(divisor_override, x.dtype)
    else:
        # torch counts the conv padding (not the ceil_mode overhang) when count_include_pad
        spatial = input.shape[-n:]
        ones = np.ones(spatial, np.int64)
        if count_include_pad:
            ones = np.pad(ones, [(p, p) for p in padding], constant_values=1)
            spatial_pads = [(0, hi - p) for (_, hi), p in zip(pads, padding)]
        else:
            spatial_pads = pads
        counts = lax.reduce_window(jnp.asarray(ones), np.zeros((), np.int64), lax.add, kernel,
                                   stride, spatial_pads)
        divisor = counts.astype(x.dtype)
    if integer:
        # integer pooling divides in C++ integer arithmetic (truncation)
        return lax.div(total, jnp.broadcast_to(divisor, total.shape)).astype(input.dtype)
    return total / divisor


def _avg_pool_fn(n):
    if n == 1:
        def avg_pool(input, kernel_size, stride=None, padding=0, ceil_mode=False,
                     count_include_pad=True):
            return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                             None, 1)
    else:
        def avg_pool(input, kernel_size, stride=None, padding=0, ceil_mode=False,
                     count_include_pad=True, divisor_override=None):
            return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                             divisor_override, n)
    avg_pool.__doc__ = f"Mirrors `torch.nn.functional.avg_pool{n}d`."
    public = fn_register(name=f"avg_pool{n}d")(avg_pool)
    if n == 1:
        TORCH_EXPORTS["avg_pool1d"] = public
    return public


avg_pool1d, avg_pool2d, avg_pool3d = _avg_pool_fn(1), _avg_pool_fn(2), _avg_pool_fn(3)


from .pooling_adaptive import *  # noqa: E402,F401,F403
