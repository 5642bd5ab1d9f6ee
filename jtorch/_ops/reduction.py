"""Reductions: sum, prod, mean, max/min, arg-reductions, logical, norms, std/var."""
from __future__ import annotations

import builtins
import math

import jax.numpy as jnp
import numpy as np

from .registry import register, publish, write_out, _type_name
from .unary import require_tensors
from .._tensor import Tensor
from ._util import torch_dtype, wrap_dim, wrap_dims, float_dtype, promote
from .. import _dtype


# -- helpers shared by the reduction family (also imported by scan/sort/masked) ----------------

def axes(dim, ndim: int) -> tuple[int, ...]:
    """torch's `dim` (None, int, sequence; `()` means all) as a tuple of axes of an ndim array."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    # a 0-d tensor accepts dim 0/-1 but has no axis to reduce
    return tuple(d for d in wrap_dims(dim, ndim) if d < ndim)


def one_dim(dim: int, ndim: int) -> int | None:
    """A single wrapped dim, or None for a 0-d array (nothing to reduce)."""
    d = wrap_dim(dim, ndim)
    return d if ndim else None


def sum_dtype(x, dtype):
    """The accumulation dtype torch uses for sum/prod/cumsum: int and bool inputs give int64."""
    if dtype is not None:
        return dtype
    d = torch_dtype(x)
    return _dtype.int64 if d._category <= 1 else d


def check_nonempty(name, x, ax, dim_given: bool):
    """torch refuses max-like reductions of nothing."""
    if x.size == 0:
        if not dim_given:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                               "input.numel() == 0. Specify the reduction dim with the 'dim' "
                               "argument.")
        for a in ax:
            if x.shape[a] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {a} to have non-zero size.")


def overloaded(name: str, fields: tuple[str, ...], **options):
    """An op that returns a tensor or a named tuple by overload (max(x) vs max(x, dim))."""
    return register(name, returns=fields, out=True, **options)


def refuse(name, x, *, complex=False, bool=False, integral=False, exc=RuntimeError):
    """Raise torch's error for the dtypes its CPU kernel for `name` does not implement."""
    d = torch_dtype(x)
    if (complex and d.is_complex) or (bool and d is _dtype.bool_) or (
            integral and d._category <= 1):
        raise exc(f"{name}: not implemented for '{_type_name(d)}'")


def _is_array(x) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype")


# -- sums and products ---------------------------------------------------------------------------

@register(out=True)
def sum(input, dim=None, keepdim=False, *, dtype=None):
    """Mirrors `torch.sum`."""
    d = sum_dtype(input, dtype)
    return jnp.sum(input.astype(d._np), axis=axes(dim, input.ndim), keepdims=keepdim)


@register(out=True)
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """Mirrors `torch.nansum`."""
    refuse("nansum", input, complex=True)
    d = sum_dtype(input, dtype)
    x = input.astype(d._np)
    if d.is_floating_point or d.is_complex:
        x = jnp.where(jnp.isnan(x), jnp.zeros((), x.dtype), x)
    return jnp.sum(x, axis=axes(dim, input.ndim), keepdims=keepdim)


@register(out=True)
def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Mirrors `torch.prod`."""
    if isinstance(dim, (tuple, list)):
        raise TypeError("prod(): argument 'dim' must be int, not tuple")
    d = sum_dtype(input, dtype)
    return jnp.prod(input.astype(d._np), axis=axes(dim, input.ndim), keepdims=keepdim)


def _mean_dtype(name, input, dtype):
    d = dtype or torch_dtype(input)
    if not (d.is_floating_point or d.is_complex):
        raise RuntimeError(f"{name}(): could not infer output dtype. Input dtype must be either "
                           f"a floating point or complex dtype. Got: {_type_name(d)}")
    return d


@register(out=True)
def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Mirrors `torch.mean`."""
    d = _mean_dtype("mean", input, dtype)
    return jnp.mean(input.astype(d._np), axis=axes(dim, input.ndim), keepdims=keepdim)


@register(out=True)
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """Mirrors `torch.nanmean`."""
    refuse("nansum", input, complex=True)
    d = _mean_dtype("nanmean", input, dtype)
    x = input.astype(d._np)
    ax = axes(dim, input.ndim)
    valid = ~jnp.isnan(x)
    total = jnp.sum(jnp.where(valid, x, jnp.zeros((), x.dtype)), axis=ax, keepdims=keepdim)
    return total / jnp.sum(valid, axis=ax, keepdims=keepdim).astype(x.dtype)


@register(out=True)
def count_nonzero(input, dim=None):
    """Mirrors `torch.count_nonzero`."""
    return jnp.sum(input != 0, axis=axes(dim, input.ndim), dtype=np.int64)


def _logical(fn, input, dim, keepdim):
    out_np = np.uint8 if input.dtype == np.uint8 else np.bool_
    if isinstance(dim, (tuple, list)) and len(dim) == 0:   # torch: dim=() reduces nothing
        return (input != 0).astype(out_np)
    return fn(input != 0, axis=axes(dim, input.ndim), keepdims=keepdim).astype(out_np)


@register(out=True)
def all(input, dim=None, keepdim=False):
    """Mirrors `torch.all`."""
    return _logical(jnp.all, input, dim, keepdim)


@register(out=True)
def any(input, dim=None, keepdim=False):
    """Mirrors `torch.any`."""
    return _logical(jnp.any, input, dim, keepdim)


# -- max/min family ------------------------------------------------------------------------------

def _extreme(name, fn, input, dim, keepdim):
    refuse(name, input, complex=True, exc=NotImplementedError)
    ax = axes(dim, input.ndim)
    given = dim is not None and not (isinstance(dim, (tuple, list)) and len(dim) == 0)
    check_nonempty(name, input, ax, given)
    return fn(input, axis=ax, keepdims=keepdim)


@register(out=True)
def amax(input, dim=(), keepdim=False):
    """Mirrors `torch.amax`."""
    return _extreme("amax", jnp.max, input, dim, keepdim)


@register(out=True)
def amin(input, dim=(), keepdim=False):
    """Mirrors `torch.amin`."""
    return _extreme("amin", jnp.min, input, dim, keepdim)


@register(out=True, returns=("min", "max"))
def aminmax(input, *, dim=None, keepdim=False):
    """Mirrors `torch.aminmax`."""
    return (_extreme("aminmax", jnp.min, input, dim, keepdim),
            _extreme("aminmax", jnp.max, input, dim, keepdim))


def _aminmax_strict_out(*args, out=None, **kwargs):
    """Mirrors `torch.aminmax`: `out=` tensors must have the input's dtype (no casting)."""
    result = aminmax(*args, **kwargs)
    if out is None:
        return result
    for o in out if isinstance(out, (tuple, list)) else ():
        if isinstance(o, Tensor) and o.dtype is not result[0].dtype:
            raise RuntimeError(f"Expected out tensor to have dtype {_type_name(result[0].dtype)}, "
                               f"but got {_type_name(o.dtype)} instead")
    return write_out(out, result, "aminmax")


publish(_aminmax_strict_out, "aminmax", op=aminmax._op)


def _arg(name, fn, input, dim, keepdim):
    refuse(name, input, complex=True, bool=True)
    if dim is None:
        if input.size == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for "
                             "input.numel() == 0.")
        out = fn(input.reshape(-1)).astype(np.int64)
        return out.reshape((1,) * input.ndim) if keepdim else out
    d = one_dim(dim, input.ndim)
    if d is None:
        return jnp.zeros((), np.int64)
    check_nonempty(name, input, (d,), True)
    return fn(input, axis=d, keepdims=keepdim).astype(np.int64)


@register(out=True)
def argmax(input, dim=None, keepdim=False):
    """Mirrors `torch.argmax` (first index on ties; NaN counts as the largest)."""
    return _arg("argmax", jnp.argmax, input, dim, keepdim)


@register(out=True)
def argmin(input, dim=None, keepdim=False):
    """Mirrors `torch.argmin` (first index on ties; NaN counts as the smallest)."""
    return _arg("argmin", jnp.argmin, input, dim, keepdim)


def _max_min(name, value_fn, arg_fn, binary_fn, input, dim, keepdim, other):
    if other is not None or _is_array(dim):       # max(input, other): elementwise
        (a, b), d = promote(input, other if other is not None else dim)
        return binary_fn(a, b)
    if dim is None:
        refuse(name, input, complex=True, exc=NotImplementedError)
        check_nonempty(name, input, (), False)
        return value_fn(input)
    refuse(name, input, complex=True)
    d = one_dim(dim, input.ndim)
    if d is None:
        return input, jnp.zeros((), np.int64)
    check_nonempty(name, input, (d,), True)
    # values gathered at the index, so a gradient reaches that element only, as in torch
    index = arg_fn(input, axis=d, keepdims=True).astype(np.int64)
    values = jnp.take_along_axis(input, index, axis=d)
    if not keepdim:
        values, index = jnp.squeeze(values, d), jnp.squeeze(index, d)
    return values, index


@overloaded("max", ("values", "indices"), scalars=("input",),
            check=require_tensors("max", ("input",)))
def max(input, dim=None, keepdim=False, *, other=None):
    """Mirrors `torch.max`: max(input), max(input, dim, keepdim), max(input, other)."""
    return _max_min("max", jnp.max, jnp.argmax, jnp.maximum, input, dim, keepdim, other)


@overloaded("min", ("values", "indices"), scalars=("input",),
            check=require_tensors("min", ("input",)))
def min(input, dim=None, keepdim=False, *, other=None):
    """Mirrors `torch.min`: min(input), min(input, dim, keepdim), min(input, other)."""
    return _max_min("min", jnp.min, jnp.argmin, jnp.minimum, input, dim, keepdim, other)


@register()
def logsumexp(input, dim=None, keepdim=False):
    """Mirrors `torch.logsumexp`."""
    x = input.astype(float_dtype(torch_dtype(input))._np)
    ax = axes(dim, x.ndim)
    if x.size == 0 or not ax:
        return jnp.log(jnp.sum(jnp.exp(x), axis=ax, keepdims=keepdim))
    m = jnp.max(x, axis=ax, keepdims=True)
    m = jnp.where(jnp.isinf(m), jnp.zeros((), m.dtype), m)   # all -inf (or +inf) rows
    out = jnp.log(jnp.sum(jnp.exp(x - m), axis=ax, keepdims=True)) + m
    return out if keepdim else jnp.squeeze(out, ax)


# -- variance and norms -------------------------------------------------------------------------

def _correction(dim, unbiased, correction):
    if isinstance(dim, bool):           # var(input, unbiased)
        dim, unbiased = None, dim
    if correction is None:
        correction = 1 if unbiased is None else int(bool(unbiased))
    return dim, correction


def _var_mean(name, input, dim, correction, keepdim):
    d = torch_dtype(input)
    if not (d.is_floating_point or d.is_complex):
        raise RuntimeError(f"{name}(): input dtype should be either floating point or complex, "
                           f"got {_type_name(d)}")
    ax = axes(dim, input.ndim)
    n = 1
    for a in ax:
        n *= input.shape[a]
    mu = jnp.mean(input, axis=ax, keepdims=True)
    dev = input - mu
    sq = jnp.real(dev * jnp.conj(dev)) if d.is_complex else dev * dev
    denom = np.asarray(builtins.max(0.0, n - correction), sq.dtype)
    var = jnp.sum(sq, axis=ax, keepdims=keepdim) / denom
    return var, (mu if keepdim else jnp.squeeze(mu, ax))


@register(out=True)
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Mirrors `torch.var`."""
    dim, c = _correction(dim, unbiased, correction)
    return _var_mean("var", input, dim, c, keepdim)[0]


@register(out=True)
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Mirrors `torch.std`."""
    dim, c = _correction(dim, unbiased, correction)
    return jnp.sqrt(_var_mean("std", input, dim, c, keepdim)[0])


@register(method=False)
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Mirrors `torch.var_mean`."""
    dim, c = _correction(dim, unbiased, correction)
    return _var_mean("var_mean", input, dim, c, keepdim)


@register(method=False)
def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Mirrors `torch.std_mean`."""
    dim, c = _correction(dim, unbiased, correction)
    v, m = _var_mean("std_mean", input, dim, c, keepdim)
    return jnp.sqrt(v), m


def vector_norm(x, p, ax, keepdim):
    """sum(|x|^p)^(1/p) over `ax`, with torch's special cases for p = 0 and +-inf."""
    a = jnp.abs(x)
    if p == math.inf:
        return jnp.max(a, axis=ax, keepdims=keepdim) if x.size else \
            jnp.zeros(_reduced_shape(x.shape, ax, keepdim), a.dtype)
    if p == -math.inf:
        if any_zero_size(x, ax):
            raise RuntimeError("linalg.vector_norm cannot compute the -inf norm on an empty "
                               "tensor because the operation does not have an identity")
        return jnp.min(a, axis=ax, keepdims=keepdim)
    if p == 0:
        return jnp.sum(a != 0, axis=ax, keepdims=keepdim).astype(a.dtype)
    if p == 1:
        return jnp.sum(a, axis=ax, keepdims=keepdim)
    if p == 2:
        # torch's subgradient at a zero vector is 0 (sqrt's derivative there is not)
        sq = jnp.sum(a * a, axis=ax, keepdims=keepdim)
        zero = sq == 0
        return jnp.where(zero, 0, jnp.sqrt(jnp.where(zero, 1, sq))).astype(sq.dtype)
    return jnp.sum(a ** p, axis=ax, keepdims=keepdim) ** (1.0 / p)


def any_zero_size(x, ax) -> bool:
    return x.size == 0 and (not ax or builtins.any(x.shape[a] == 0 for a in ax))


def _reduced_shape(shape, ax, keepdim):
    return tuple(1 if i in ax else s for i, s in enumerate(shape) if keepdim or i not in ax)


@register()
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """Mirrors `torch.norm`."""
    d = torch_dtype(input)
    if not (d.is_floating_point or d.is_complex):
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {_type_name(d)}")
    x = input.astype(dtype._np) if dtype is not None else input
    if isinstance(dim, int):
        dim = (dim,)
    if p == "nuc":
        ax = axes(dim, x.ndim) if dim is not None else (0, 1)
        if len(ax) != 2:
            raise RuntimeError("nuclear norm needs exactly two dims")
        moved = jnp.moveaxis(x, ax, (-2, -1))
        out = jnp.sum(jnp.linalg.svd(moved, compute_uv=False), axis=-1)
        if keepdim:
            out = jnp.expand_dims(out, tuple(sorted(ax)))
        return out.astype(jnp.real(x).dtype)
    if p == "fro":
        p = 2
    elif isinstance(p, str):
        raise NotImplementedError(f"norm(): p={p!r} is not supported")
    out = vector_norm(x, p, axes(dim, x.ndim), keepdim)
    return out.astype(jnp.real(x).dtype)


@register(scalars=("input", "other"))
def dist(input, other, p=2):
    """Mirrors `torch.dist`."""
    (a, b), d = promote(input, other)
    if not (d.is_floating_point or d.is_complex):
        raise RuntimeError("dist(): input dtype should be either floating point or complex")
    diff = a - b
    return vector_norm(diff, p, tuple(range(diff.ndim)), False).astype(jnp.real(diff).dtype)


@register(inplace=True, out=True)
def renorm(input, p, dim, maxnorm):
    """Mirrors `torch.renorm`."""
    refuse("linalg.vector_norm", input, bool=True, integral=True)
    if input.ndim < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} "
                           f"dimensions")
    d = wrap_dim(dim, input.ndim)
    if p < 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    others = tuple(a for a in range(input.ndim) if a != d)
    n = vector_norm(input, p, others, True)
    scale = jnp.where(n > maxnorm, maxnorm / (n + 1e-7), 1.0).astype(input.dtype)
    return input * scale
