"""Sorting and selection: sort, argsort, msort, topk, kthvalue, median, mode, quantile."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .registry import register
from ._util import torch_dtype, wrap_dim
from .reduction import overloaded, check_nonempty, one_dim, refuse
from . import sort_ties


def _sort_dim(input, dim):
    return wrap_dim(dim, input.ndim) if input.ndim else None


def _argsort(x, axis, descending):
    """Stable argsort with torch's order: NaN above everything, -0.0 equal to 0.0."""
    refuse("sort", x, complex=True)
    iota = jax.lax.broadcasted_iota(np.int64, x.shape, axis)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        if descending:
            return jnp.argsort(x, axis=axis, stable=True, descending=True).astype(np.int64)
        return jax.lax.sort((x, iota), dimension=axis, is_stable=True, num_keys=1)[1]
    nan = jnp.isnan(x)
    value = jnp.where(nan | (x == 0), jnp.zeros((), x.dtype), x)
    flag = nan.astype(np.int8)
    if descending:
        flag, value = -flag, -value
    return jax.lax.sort((flag, value, iota), dimension=axis, is_stable=True, num_keys=2)[2]


@register(returns=("values", "indices"), out=True)
def sort(input, dim=-1, descending=False, stable=False):
    """Mirrors `torch.sort` (always stable, as torch's CPU sort is)."""
    if isinstance(dim, bool) and not isinstance(descending, bool):   # sort(input, stable, ...)
        raise TypeError("sort(): argument 'dim' must be int, not bool")
    d = _sort_dim(input, dim)
    if d is None:
        return input, jnp.zeros((), np.int64)
    idx = _argsort(input, d, descending)
    return jnp.take_along_axis(input, idx, axis=d), idx


@register(out=True)
def argsort(input, dim=-1, descending=False, stable=False):
    """Mirrors `torch.argsort` (always stable)."""
    d = _sort_dim(input, dim)
    if d is None:
        return jnp.zeros((), np.int64)
    return _argsort(input, d, descending)


@register(out=True)
def msort(input):
    """Mirrors `torch.msort`."""
    refuse("sort", input, complex=True)
    if input.ndim == 0:
        return input
    return jnp.take_along_axis(input, _argsort(input, 0, False), axis=0)


# Python-level tie emulation is skipped above this many elements (then: first index wins)
_EMULATE_LIMIT = 1 << 20


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _topk_first_index(input, k, d, largest):
    idx = jax.lax.slice_in_dim(_argsort(input, d, largest), 0, k, axis=d)
    return jnp.take_along_axis(input, idx, axis=d), idx


@register(returns=("values", "indices"), out=True, jit=False)
def topk(input, k, dim=-1, largest=True, sorted=True):
    """Mirrors `torch.topk`, including which of equal values torch's CPU kernel picks (under
    tracing: the first index among equals)."""
    refuse("topk", input, complex=True, bool=True)
    d = _sort_dim(input, dim)
    size = input.shape[d] if d is not None else 1
    if not 0 <= k <= size:
        raise RuntimeError("selected index k out of range")
    if d is None:
        return input, jnp.zeros((), np.int64)
    values, indices = _topk_first_index(input, k, d, largest)
    if k == 0 or not sort_ties.concrete(input) or input.size > _EMULATE_LIMIT:
        return values, indices
    x, back = sort_ties.rows(np.asarray(input), d)
    fix = range(x.shape[0]) if not sorted else sort_ties.rows_with_ties(x)
    if not len(fix):
        return values, indices
    v, _ = sort_ties.rows(np.array(values), d)
    i, _ = sort_ties.rows(np.array(indices), d)
    for r in fix:
        v[r], i[r] = sort_ties.topk_row(x[r], k, largest, sorted)
    return jnp.asarray(back(v)), jnp.asarray(back(i))


@functools.partial(jax.jit, static_argnums=(1, 2))
def _kth_first_index(input, k, d):
    i = jax.lax.slice_in_dim(_argsort(input, d, False), k, k + 1, axis=d)
    return jnp.take_along_axis(input, i, axis=d), i


@register(returns=("values", "indices"), out=True, jit=False)
def kthvalue(input, k, dim=-1, keepdim=False):
    """Mirrors `torch.kthvalue`, including which of equal values torch's CPU kernel picks
    (under tracing: the first index among equals)."""
    refuse("kthvalue", input, complex=True, bool=True, exc=NotImplementedError)
    d = _sort_dim(input, dim)
    size = input.shape[d] if d is not None else 1
    if size == 0:
        raise IndexError(f"kthvalue(): Expected reduction dim {d} to have non-zero size.")
    if not 1 <= k <= size:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {dim}")
    if d is None:
        return input, jnp.zeros((), np.int64)
    v, i = _kth_first_index(input, k - 1, d)
    if sort_ties.concrete(input) and input.size <= _EMULATE_LIMIT:
        x, back = sort_ties.rows(np.asarray(input), d)
        vr, _ = sort_ties.rows(np.asarray(v), d)
        ir, _ = sort_ties.rows(np.array(i), d)
        same = (x == vr) | (np.isnan(x) & np.isnan(vr)) if x.dtype.kind == "f" else x == vr
        for r in np.flatnonzero(same.sum(axis=1) > 1):
            items = sort_ties.quickselect(list(zip(x[r].tolist(), range(x.shape[1]))), k - 1)
            ir[r, 0] = items[k - 1][1]
        i = jnp.asarray(back(ir))
    if not keepdim:
        v, i = jnp.squeeze(v, d), jnp.squeeze(i, d)
    return v, i


def _median(name, input, dim, keepdim, ignore_nan):
    refuse(name, input, complex=True, bool=True, exc=NotImplementedError)
    floating = torch_dtype(input).is_floating_point
    if dim is None:
        if input.size == 0 and floating:
            return jnp.full((), jnp.nan, input.dtype)
        check_nonempty(name, input, (), False)
        flat = input.reshape(-1)
        v, _ = _median_along(flat, 0, ignore_nan and floating)
        return v
    d = one_dim(dim, input.ndim)
    if d is None:
        return input, jnp.zeros((), np.int64)
    check_nonempty(name, input, (d,), True)
    v, i = _median_along(input, d, ignore_nan and floating)
    if keepdim:
        v, i = jnp.expand_dims(v, d), jnp.expand_dims(i, d)
    return v, i


def _median_along(x, d, ignore_nan):
    idx = _argsort(x, d, False)
    n = x.shape[d]
    if ignore_nan:
        count = jnp.sum(~jnp.isnan(x), axis=d, keepdims=True)
        k = jnp.maximum((count - 1) // 2, 0)
    elif jnp.issubdtype(x.dtype, jnp.floating):
        # any NaN makes the median NaN: pick the first NaN in sorted order (its first index)
        nans = jnp.sum(jnp.isnan(x), axis=d, keepdims=True)
        k = jnp.where(nans > 0, n - nans, (n - 1) // 2)
    else:
        k = jnp.full([1 if a == d else s for a, s in enumerate(x.shape)], (n - 1) // 2)
    i = jnp.take_along_axis(idx, k.astype(np.int64), axis=d)
    v = jnp.take_along_axis(x, i, axis=d)
    return jnp.squeeze(v, d), jnp.squeeze(i, d)


@overloaded("median", ("values", "indices"))
def median(input, dim=None, keepdim=False):
    """Mirrors `torch.median` (the lower of the two middle values)."""
    return _median("median", input, dim, keepdim, False)


@overloaded("nanmedian", ("values", "indices"))
def nanmedian(input, dim=None, keepdim=False):
    """Mirrors `torch.nanmedian`."""
    return _median("nanmedian", input, dim, keepdim, True)


@functools.partial(jax.jit, static_argnums=(1,))
def _mode_stable(input, d):
    """torch's mode when its sort is stable (rows of at most 16, no NaN): the smallest most
    frequent value, at its last index. Runs of equal values in a stable sort give counts."""
    idx = jnp.moveaxis(_argsort(input, d, False), d, -1)
    s = jnp.take_along_axis(jnp.moveaxis(input, d, -1), idx, axis=-1)
    n = s.shape[-1]
    pos = jnp.arange(n)
    differs = s[..., 1:] != s[..., :-1]                 # NaN differs from everything
    starts = jnp.concatenate([jnp.ones(s.shape[:-1] + (1,), bool), differs], axis=-1)
    ends = jnp.concatenate([differs, jnp.ones(s.shape[:-1] + (1,), bool)], axis=-1)
    run_start = jax.lax.cummax(jnp.where(starts, pos, 0), axis=s.ndim - 1)
    count = jnp.where(ends, pos - run_start + 1, 0)
    end = jnp.argmax(count, axis=-1, keepdims=True)      # first (smallest) longest run
    value = jnp.take_along_axis(s, end, axis=-1)[..., 0]
    return value, jnp.take_along_axis(idx, end, axis=-1)[..., 0]


@register(returns=("values", "indices"), out=True, jit=False)
def mode(input, dim=-1, keepdim=False):
    """Mirrors `torch.mode`, including which index torch's CPU kernel reports (under tracing,
    or for rows longer than 16 beyond the emulation limit, the last index of the smallest
    most frequent value)."""
    refuse("mode", input, complex=True, exc=NotImplementedError)
    d = _sort_dim(input, dim)
    if d is None:
        return input, jnp.zeros((), np.int64)
    check_nonempty("mode", input, (d,), True)
    value, index = _mode_stable(input, d)
    if sort_ties.concrete(input) and input.size <= _EMULATE_LIMIT:
        x, _ = sort_ties.rows(np.asarray(input), d)
        floating = x.dtype.kind == "f"
        fix = [r for r in range(x.shape[0])
               if x.shape[1] > 16 or (floating and np.isnan(x[r]).any())]
        if fix:
            shape = value.shape
            v, i = np.array(value).reshape(-1), np.array(index).reshape(-1)
            for r in fix:
                v[r], i[r] = sort_ties.mode_row(x[r])
            value, index = jnp.asarray(v.reshape(shape)), jnp.asarray(i.reshape(shape))
    if keepdim:
        return jnp.expand_dims(value, d), jnp.expand_dims(index, d)
    return value, index


def _quantile(name, input, q, dim, keepdim, interpolation, ignore_nan):
    if input.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise ValueError(f"{name}() interpolation must be one of linear, lower, higher, "
                         f"midpoint or nearest. Got {interpolation}")
    scalar_q = not hasattr(q, "shape")
    qa = jnp.asarray(q, input.dtype).reshape(-1)
    if hasattr(q, "shape") and q.ndim > 1:
        raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
    if dim is None:
        x = input.reshape(-1)
        ax = 0
    else:
        ax = wrap_dim(dim, input.ndim)
        x = input if input.ndim else input.reshape(1)
    if input.size == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    x = jnp.moveaxis(x, ax, -1)
    s = jnp.take_along_axis(x, _argsort(x, x.ndim - 1, False), axis=-1)     # NaN last
    n = s.shape[-1]
    nan_count = jnp.sum(jnp.isnan(s), axis=-1, keepdims=True)
    valid = n - nan_count if ignore_nan else jnp.full(nan_count.shape, n)
    rank = qa * (valid - 1).astype(qa.dtype)        # (..., nq)
    lo = jnp.floor(rank)
    hi = jnp.ceil(rank)
    if interpolation == "lower":
        rank = lo
    elif interpolation == "higher":
        rank = hi
    elif interpolation == "nearest":
        rank = jnp.round(rank)                     # half to even, as torch
    lo_i = jnp.clip(jnp.floor(rank), 0, n - 1).astype(np.int64)
    hi_i = jnp.clip(jnp.ceil(rank), 0, n - 1).astype(np.int64)
    a = jnp.take_along_axis(s, lo_i, axis=-1)
    b = jnp.take_along_axis(s, hi_i, axis=-1)
    if interpolation == "midpoint":
        out = a + (b - a) * jnp.where(lo_i == hi_i, 0.0, 0.5).astype(s.dtype)
    else:
        w = (rank - jnp.floor(rank)).astype(s.dtype)
        out = jnp.where(w >= 0.5, b - (b - a) * (1 - w), a + (b - a) * w)
    bad = (valid == 0) if ignore_nan else (nan_count > 0)
    out = jnp.where(bad, jnp.nan, out)
    out = jnp.moveaxis(out, -1, 0)                  # (nq, ...)
    if keepdim:
        if dim is None:
            out = out.reshape((out.shape[0],) + (1,) * input.ndim)
        elif input.ndim:
            out = jnp.expand_dims(out, ax + 1)
        else:
            out = out.reshape(out.shape[0])
    return out[0] if scalar_q else out


def _check_q(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    if hasattr(q, "shape") and q.dtype != input.dtype:
        raise RuntimeError("quantile() q must be same dtype as the input tensor")
    qv = np.asarray(q)
    if np.any((qv < 0) | (qv > 1)):
        raise RuntimeError("quantile() q values must be in the range [0, 1]")


@register(out=True, scalars=("input",), check=_check_q)
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """Mirrors `torch.quantile`."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


@register(out=True, scalars=("input",), check=_check_q)
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """Mirrors `torch.nanquantile`."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


from . import stats  # noqa: E402,F401
