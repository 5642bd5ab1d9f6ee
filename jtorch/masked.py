"""torch.masked: reductions and normalizations over the elements a boolean mask selects.

Mirrors torch.masked's functions on strided tensors (no MaskedTensor, no sparse masks):
masked-out elements are replaced by the operation's identity before reducing.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from . import _dtype
from ._ops.registry import register
from ._ops._util import torch_dtype, wrap_dim, promote
from ._ops.reduction import vector_norm
from ._ops.sort import _median_along

_NS = "torch.masked"
_SMALL_INTS = ("uint8", "bool", "int8", "int16", "int32")


def _dims(dim, ndim):
    """All dims for None or (), else the wrapped dims, sorted (torch.masked's canonical dim)."""
    if dim is None or dim == () or dim == []:
        return tuple(range(ndim))
    n = max(ndim, 1)
    out = []
    for d in (dim if isinstance(dim, (tuple, list)) else (dim,)):
        if not -n <= d < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, "
                             f"{n - 1}], but got {d})")
        if d % n in out:
            raise RuntimeError(f"dim={d} appears multiple times in the list of dims")
        out.append(d % n)
    return tuple(sorted(a for a in out if a < ndim))


def _mask(input, mask):
    if mask is None:
        return None
    if mask.ndim > input.ndim:
        raise IndexError("_input_mask expected broadcastable mask (got mask dimensionality "
                         "higher than of the input)")
    return jnp.broadcast_to(mask, input.shape).astype(bool)


def _identity(op, x, ord=2.0):
    d = torch_dtype(x)
    if op in ("sum", "norm"):
        return jnp.asarray(jnp.inf if (op == "norm" and ord == -jnp.inf) else 0, x.dtype)
    if op == "prod":
        return jnp.asarray(1, x.dtype)
    if op in ("amax", "amin"):
        if d.is_floating_point:
            return jnp.asarray(-jnp.inf if op == "amax" else jnp.inf, x.dtype)
        if d is _dtype.bool_:
            return jnp.asarray(op == "amin")
        info = jnp.iinfo(x.dtype)
        return jnp.asarray(info.min if op == "amax" else info.max, x.dtype)
    raise NotImplementedError(f"identity of {op} on {d} input")


def _fill(op, input, mask, ord=2.0):
    m = _mask(input, mask)
    return input if m is None else jnp.where(m, input, _identity(op, input, ord))


def _sum_dtype(input, dtype):
    if dtype is not None:
        return dtype
    d = torch_dtype(input)
    return _dtype.int64 if d._name in _SMALL_INTS else d


@register(namespace=_NS, method=False)
def sum(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Mirrors `torch.masked.sum`."""
    x = _fill("sum", input, mask).astype(_sum_dtype(input, dtype)._np)
    return jnp.sum(x, axis=_dims(dim, input.ndim), keepdims=keepdim)


@register(namespace=_NS, method=False)
def prod(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Mirrors `torch.masked.prod`."""
    x = _fill("prod", input, mask).astype(_sum_dtype(input, dtype)._np)
    return jnp.prod(x, axis=_dims(dim, input.ndim), keepdims=keepdim)


def _scan(op, fn, input, dim, dtype, mask):
    d = dtype or torch_dtype(input)
    x = _fill(op, input, mask)
    x = x.astype(np.int64 if torch_dtype(x)._category <= 1 else x.dtype)   # as torch.cumsum
    axis = _dims(dim, input.ndim)
    return (fn(x, axis=axis[0]) if axis else x).astype(d._np)


@register(namespace=_NS, method=False)
def cumsum(input, dim, *, dtype=None, mask=None):
    """Mirrors `torch.masked.cumsum`."""
    return _scan("sum", jnp.cumsum, input, dim, dtype, mask)


@register(namespace=_NS, method=False)
def cumprod(input, dim, *, dtype=None, mask=None):
    """Mirrors `torch.masked.cumprod`."""
    return _scan("prod", jnp.cumprod, input, dim, dtype, mask)


def _extreme(op, fn, input, dim, keepdim, dtype, mask):
    x = _fill(op, input, mask)
    axis = _dims(dim, input.ndim)
    if x.size == 0:
        raise RuntimeError(f"{op}(): Expected reduction dim to be specified for input.numel() "
                           f"== 0.")
    return fn(x, axis=axis, keepdims=keepdim).astype((dtype or torch_dtype(input))._np)


@register(namespace=_NS, method=False)
def amax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Mirrors `torch.masked.amax`."""
    return _extreme("amax", jnp.max, input, dim, keepdim, dtype, mask)


@register(namespace=_NS, method=False)
def amin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Mirrors `torch.masked.amin`."""
    return _extreme("amin", jnp.min, input, dim, keepdim, dtype, mask)


def _arg(op, fn, input, dim, keepdim, dtype, mask):
    x = _fill(op, input, mask)
    out_np = (dtype or torch_dtype(input))._np      # torch casts the indices to the input dtype
    if dim is None:
        i = fn(x.reshape(-1))
        return (i.reshape((1,) * x.ndim) if keepdim else i).astype(out_np)
    d = wrap_dim(dim, x.ndim)
    if x.ndim == 0:
        return jnp.zeros((), out_np)
    return fn(x, axis=d, keepdims=keepdim).astype(out_np)


@register(namespace=_NS, method=False)
def argmax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Mirrors `torch.masked.argmax` (returns indices in `dtype`, default the input's)."""
    return _arg("amax", jnp.argmax, input, dim, keepdim, dtype, mask)


@register(namespace=_NS, method=False)
def argmin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Mirrors `torch.masked.argmin` (returns indices in `dtype`, default the input's)."""
    return _arg("amin", jnp.argmin, input, dim, keepdim, dtype, mask)


def _count(input, mask, axis, keepdim):
    m = _mask(input, mask)
    if m is None:
        m = jnp.ones(input.shape, bool)
    return jnp.sum(m, axis=axis, keepdims=keepdim, dtype=np.int64)


@register(namespace=_NS, method=False)
def mean(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Mirrors `torch.masked.mean` (fully masked-out rows give NaN)."""
    d = dtype or torch_dtype(input)
    if not (d.is_floating_point or d.is_complex):
        raise RuntimeError(f"mean(): Could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {d}")
    axis = _dims(dim, input.ndim)
    total = jnp.sum(_fill("sum", input, mask).astype(d._np), axis=axis, keepdims=keepdim)
    return total / _count(input, mask, axis, keepdim).astype(d._np)


@register(namespace=_NS, method=False)
def median(input, dim=-1, *, keepdim=False, dtype=None, mask=None):
    """Mirrors `torch.masked.median` (fully masked-out rows give NaN)."""
    d = dtype or torch_dtype(input)
    x = input if torch_dtype(input).is_floating_point else input.astype(np.float32)
    m = _mask(x, mask)
    if m is not None:
        x = jnp.where(m, x, jnp.asarray(jnp.nan, x.dtype))
    axis = _dims(dim, x.ndim)
    if not axis:
        out = x
    else:
        out = _median_along(x, axis[0], True)[0]
        if keepdim:
            out = jnp.expand_dims(out, axis[0])
    return out if torch_dtype(input).is_floating_point else out.astype(d._np)


@register(namespace=_NS, method=False)
def logsumexp(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Mirrors `torch.masked.logsumexp`."""
    from ._ops.reduction import logsumexp as full
    x = _fill("amax", input, mask)
    return full._op.impl(x, _dims(dim, input.ndim), keepdim).astype(
        (dtype or torch_dtype(input))._np)


@register(namespace=_NS, method=False)
def logaddexp(input, other, *, dtype=None, input_mask=None, other_mask=None):
    """Mirrors `torch.masked.logaddexp`."""
    a = _fill("amax", input, input_mask)
    b = _fill("amax", other, other_mask)
    (a, b), d = promote(a, b)
    return jnp.logaddexp(a, b).astype((dtype or torch_dtype(input))._np)


@register(namespace=_NS, method=False)
def norm(input, ord=2.0, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Mirrors `torch.masked.norm`."""
    x = _fill("norm", input, mask, ord).astype((dtype or torch_dtype(input))._np)
    return vector_norm(x, ord, _dims(dim, input.ndim), keepdim).astype(jnp.real(x).dtype)


def _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, sqrt):
    if unbiased is not None and correction is not None:
        raise RuntimeError("Only one of unbiased and correction may be given")
    c = 1.0 if unbiased is None else float(bool(unbiased))
    if correction is not None:
        c = float(correction)
    d = dtype or torch_dtype(input)
    if not (d.is_floating_point or d.is_complex):
        d = _dtype.float32
    axis = _dims(dim, input.ndim)
    count = _count(input, mask, axis, True)
    total = jnp.sum(_fill("sum", input, mask).astype(d._np), axis=axis, keepdims=True)
    (x, mu), _ = promote(input, total / count.astype(d._np))
    dev = x - mu
    sq = jnp.real(dev * jnp.conj(dev)) if d.is_complex else dev * dev
    total = jnp.sum(_fill("sum", sq, mask).astype(d._np), axis=axis, keepdims=keepdim)
    count = count.reshape(total.shape).astype(total.dtype)
    if c != 0:
        count = jnp.maximum(count - c, 0)
    out = (total / count).astype(d._np)
    return jnp.sqrt(out) if sqrt else out


@register(namespace=_NS, method=False)
def var(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None,
        mask=None):
    """Mirrors `torch.masked.var` (fully masked-out rows give NaN)."""
    return _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, False)


@register(namespace=_NS, method=False)
def std(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None,
        mask=None):
    """Mirrors `torch.masked.std` (fully masked-out rows give NaN)."""
    return _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, True)


def _softmax(op, fn, input, dim, dtype, mask):
    x = _fill(op, input, mask)
    if dtype is not None:
        x = x.astype(dtype._np)
    axis = _dims(dim, input.ndim)
    return fn(x, axis=axis[0]) if axis else fn(x.reshape(1), axis=0).reshape(())


@register(namespace=_NS, method=False)
def softmax(input, dim, *, dtype=None, mask=None):
    """Mirrors `torch.masked.softmax`."""
    return _softmax("amax", jax.nn.softmax, input, dim, dtype, mask)


@register(namespace=_NS, method=False)
def log_softmax(input, dim, *, dtype=None, mask=None):
    """Mirrors `torch.masked.log_softmax`."""
    return _softmax("amax", jax.nn.log_softmax, input, dim, dtype, mask)


@register(namespace=_NS, method=False)
def softmin(input, dim, *, dtype=None, mask=None):
    """Mirrors `torch.masked.softmin`."""
    return _softmax("amin", lambda x, axis: jax.nn.softmax(-x, axis=axis), input, dim, dtype,
                    mask)


@register(namespace=_NS, method=False)
def normalize(input, ord, dim, *, eps=1e-12, dtype=None, mask=None):
    """Mirrors `torch.masked.normalize`."""
    x = _fill("sum", input, mask)
    nrm = norm._op.impl(input, ord, dim, keepdim=True, dtype=dtype, mask=mask)
    denom = jnp.maximum(nrm, jnp.asarray(eps, nrm.dtype))
    return x / denom



def __getattr__(name: str):
    # MaskedTensor and sparse masks are not here: say so, as jtorch does for missing names
    from jtorch._missing import missing_attribute
    return missing_attribute(__name__, name)
