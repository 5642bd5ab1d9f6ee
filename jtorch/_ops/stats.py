"""Statistics: unique, histograms, bincount, cov, corrcoef."""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .registry import register, _type_name
from ._util import torch_dtype, wrap_dim, promote, to_float
from .. import _dtype
from .reduction import refuse


# -- unique ------------------------------------------------------------------------------------

def _unique_result(values, inverse, counts, return_inverse, return_counts):
    out = [jnp.asarray(values)]
    if return_inverse:
        out.append(jnp.asarray(inverse.astype(np.int64)))
    if return_counts:
        out.append(jnp.asarray(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


@register(jit=False)
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """Mirrors `torch.unique`. Results are always sorted (torch's CPU kernel sorts too);
    NaNs are each their own value, as in torch."""
    refuse("unique", input, complex=True, exc=NotImplementedError)
    x = np.asarray(input)
    if dim is None:
        values, inverse, counts = np.unique(x.reshape(-1), return_inverse=True,
                                            return_counts=True, equal_nan=False)
        inverse = inverse.reshape(x.shape)
    else:
        d = wrap_dim(dim, x.ndim)
        if x.shape[d] == 0:
            values, inverse, counts = x, np.zeros(0, np.int64), np.zeros(0, np.int64)
        else:
            values, inverse, counts = np.unique(x, return_inverse=True, return_counts=True,
                                                axis=d, equal_nan=False)
            inverse = inverse.reshape(-1)
    return _unique_result(values.astype(x.dtype), inverse, counts, return_inverse,
                          return_counts)


@register(jit=False)
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Mirrors `torch.unique_consecutive`."""
    refuse("unique", input, complex=True, exc=NotImplementedError)
    x = np.asarray(input)
    if dim is None:
        flat = x.reshape(-1)
        if flat.size == 0:
            starts = np.zeros(0, bool)
        else:
            starts = np.concatenate([[True], flat[1:] != flat[:-1]])
        values = flat[starts]
        inverse = (np.cumsum(starts) - 1).reshape(x.shape)
    else:
        d = wrap_dim(dim, x.ndim)
        moved = np.moveaxis(x, d, 0).reshape(x.shape[d], -1)
        if moved.shape[0] == 0:
            starts = np.zeros(0, bool)
        else:
            starts = np.concatenate([[True], np.any(moved[1:] != moved[:-1], axis=1)])
        values = np.compress(starts, x, axis=d)
        inverse = np.cumsum(starts) - 1
    counts = np.diff(np.append(np.flatnonzero(starts), starts.size))
    return _unique_result(values, inverse, counts, return_inverse, return_counts)


# -- counting ----------------------------------------------------------------------------------

def _check_bincount(input, weights=None, minlength=0):
    x = np.asarray(input)
    if x.ndim != 1 or x.dtype.kind not in "iub" or (x.size and x.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is not None and (weights.ndim != 1 or weights.shape[0] != x.shape[0]):
        raise RuntimeError("weights should be 1-d and have the same length as input")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")


@register(jit=False, check=_check_bincount)
def bincount(input, weights=None, minlength=0):
    """Mirrors `torch.bincount`."""
    x = np.asarray(input).astype(np.int64)
    length = max(minlength, int(x.max()) + 1) if x.size else minlength
    if weights is None:
        return jnp.zeros(length, np.int64).at[x].add(1)
    wd = torch_dtype(weights)
    out = wd if wd.is_floating_point else _dtype.float64
    return jnp.zeros(length, out._np).at[x].add(weights.astype(out._np))


def _bin_indices(x, edges):
    """The bin of each value (-1 when outside); the last edge belongs to the last bin."""
    n = edges.shape[0] - 1
    pos = jnp.searchsorted(edges, x, side="right") - 1
    pos = jnp.where(x == edges[-1], n - 1, pos)
    inside = (x >= edges[0]) & (x <= edges[-1])
    return jnp.where(inside, pos, -1)


def _edges(x, bins, lo, hi):
    if lo is None:
        lo, hi = (jnp.min(x), jnp.max(x)) if x.size else (jnp.zeros((), x.dtype),) * 2
    lo, hi = jnp.asarray(lo, x.dtype), jnp.asarray(hi, x.dtype)
    same = lo == hi
    lo, hi = jnp.where(same, lo - 0.5, lo), jnp.where(same, hi + 0.5, hi)
    steps = jnp.arange(bins + 1, dtype=x.dtype)
    step = (hi - lo) / bins
    # torch's linspace: the first half counts up from lo, the second half down from hi
    return jnp.where(steps < (bins + 1) // 2, lo + step * steps, hi - step * (bins - steps))


@register(returns=("hist", "bin_edges"), out=True)
def histogram(input, bins, *, range=None, weight=None, density=False):
    """Mirrors `torch.histogram`."""
    hist, edges = _histogramdd(input.reshape(-1, 1), [bins], range, weight, density,
                               "histogram")
    return hist, edges[0]


@register(returns=("hist", "bin_edges"), method=False)
def histogramdd(input, bins, *, range=None, weight=None, density=False):
    """Mirrors `torch.histogramdd`."""
    k = input.shape[-1]
    if isinstance(bins, int):
        bins = [bins] * k
    if len(bins) != k:
        raise RuntimeError(f"histogramdd: The size of bins must be equal to the innermost "
                           f"dimension of the input. Got {len(bins)} bins for {k} dimensions")
    hist, edges = _histogramdd(input.reshape(-1, k), list(bins), range, weight, density,
                               "histogramdd")
    return hist, tuple(edges)


def _histogramdd(x, bins, range_, weight, density, name):
    if not torch_dtype(x).is_floating_point:
        raise RuntimeError(f"torch.{name}: input tensor and bins tensors should have the same "
                           f"dtype, and be floating point")
    k = x.shape[-1]
    edges = []
    for i, b in enumerate(bins):
        if hasattr(b, "shape"):
            edges.append(b.astype(x.dtype))
        else:
            lo, hi = (None, None) if range_ is None else (range_[2 * i], range_[2 * i + 1])
            edges.append(_edges(x[:, i], int(b), lo, hi))
    nbins = [e.shape[0] - 1 for e in edges]
    flat = jnp.zeros(x.shape[0], np.int64)
    ok = jnp.ones(x.shape[0], bool)
    for i, e in enumerate(edges):
        pos = _bin_indices(x[:, i], e)
        ok = ok & (pos >= 0)
        flat = flat * nbins[i] + jnp.maximum(pos, 0)
    w = jnp.ones(x.shape[0], x.dtype) if weight is None else weight.reshape(-1).astype(x.dtype)
    total = int(np.prod(nbins))
    hist = jnp.zeros(total, x.dtype).at[flat].add(jnp.where(ok, w, 0)).reshape(nbins)
    if density:
        hist = hist / jnp.sum(hist)
        for i, e in enumerate(edges):
            shape = [1] * k
            shape[i] = nbins[i]
            hist = hist / jnp.diff(e).reshape(shape)
    return hist, edges


def _check_histc(input, bins=100, min=0, max=0):
    lo, hi = float(min), float(max)
    if lo == hi and input.size:
        lo, hi = float(np.min(np.asarray(input))), float(np.max(np.asarray(input)))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo}, {hi}] is not finite")
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")


@register(out=True, check=_check_histc)
def histc(input, bins=100, min=0, max=0):
    """Mirrors `torch.histc`."""
    d = torch_dtype(input)
    if not d.is_floating_point:
        raise NotImplementedError(f'"histogram_cpu" not implemented for {d}')
    if bins <= 0:
        raise RuntimeError("torch.histc: bins must be > 0")
    x = input.reshape(-1)
    if min == max and x.size:
        lo, hi = jnp.min(x), jnp.max(x)
    else:
        lo, hi = jnp.asarray(min, x.dtype), jnp.asarray(max, x.dtype)
    same = lo == hi
    lo, hi = jnp.where(same, lo - 1, lo).astype(x.dtype), jnp.where(same, hi + 1, hi).astype(
        x.dtype)
    pos = jnp.floor((x - lo) * bins / (hi - lo)).astype(np.int64)
    pos = jnp.where(x == hi, bins - 1, pos)
    inside = (x >= lo) & (x <= hi)
    return jnp.zeros(bins, x.dtype).at[jnp.where(inside, pos, 0)].add(
        jnp.where(inside, 1, 0).astype(x.dtype))


# -- covariance --------------------------------------------------------------------------------

def _check_cov_weights(input, *, correction=1, fweights=None, aweights=None):
    for name, w in (("fweights", fweights), ("aweights", aweights)):
        if w is not None and w.size and bool(jnp.any(w < 0)):
            raise RuntimeError(f"cov(): {name} cannot be negative")


@register(check=_check_cov_weights)
def cov(input, *, correction=1, fweights=None, aweights=None):
    """Mirrors `torch.cov`."""
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {input.ndim} dimensions")
    refuse("cov", input, bool=True)
    x = to_float(input)
    x = x.reshape(1, -1) if x.ndim < 2 else x
    n = x.shape[1]
    for name, w, kind, category in (("fweights", fweights, "integral", 1),
                                    ("aweights", aweights, "floating point", 2)):
        if w is None:
            continue
        if w.ndim > 1:
            raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got "
                               f"{name} with {w.ndim} dimensions")
        d = torch_dtype(w)
        if d._category != category:
            raise RuntimeError(f"cov(): expected {name} to have {kind} dtype but got {name} "
                               f"with {_type_name(d)} dtype")
        if w.size != n:
            raise RuntimeError(f"cov(): expected {name} to have the same numel as there are "
                               f"observations in the input but got {w.size} != {n}")
    w = None
    if fweights is not None:
        w = fweights
    if aweights is not None:
        w = aweights if w is None else w * aweights
    if w is None:
        avg = jnp.mean(x, axis=1)
        w_sum = jnp.asarray(n, x.dtype)
        fact = w_sum - correction
    else:
        (x, w), _ = promote(x, w)
        w_sum = jnp.sum(w)
        avg = jnp.sum(x * w, axis=1) / w_sum
        if aweights is None:
            fact = w_sum - correction
        else:
            fact = w_sum - correction * jnp.sum(w * aweights) / w_sum
    fact = jnp.maximum(fact, 0).astype(x.dtype)
    dev = x - avg[:, None]
    weighted = dev if w is None else dev * w
    c = weighted @ jnp.conj(dev).T / fact
    return jnp.squeeze(c) if input.ndim < 2 or x.shape[0] == 1 else c


@register()
def corrcoef(input):
    """Mirrors `torch.corrcoef`."""
    c = cov._op.impl(input)
    if c.ndim == 0:
        return c / c
    d = jnp.diagonal(c)
    std = jnp.sqrt(d)
    c = c / std[:, None] / std[None, :]
    return jnp.clip(c, -1, 1) if not jnp.iscomplexobj(c) else c
