"""Indexing ops along a dim: gather/scatter, index_*, take/put.

Tensor.__getitem__/__setitem__ and index_put are in getitem.py; masks, where, nonzero and
searchsorted in masking.py. Index values are checked before the kernel (one fused min/max
reduction and a host read, `getitem.check_bounds`), since jax would clamp them silently.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from .registry import register, publish, namespace, write_out, _type_name
from ._util import torch_dtype, wrap_dim, is_python_scalar
from .getitem import check_bounds, _known_extremes
from .. import _alias
from .._tensor import Tensor, cast_value
from . import getitem, masking  # noqa: F401

_BOUNDS = "index {index} is out of bounds for dimension {dim} with size {size}"


def _shape(x) -> tuple:
    return tuple(getattr(x, "shape", ()))


def _check_nonnegative(index, dim, size, error=RuntimeError, message=_BOUNDS):
    """Bounds check for ops that take no negative indices (gather, scatter, index_add)."""
    if index is not None and index.size:
        # a negative index reads as out of range through the shifted lower bound
        check_bounds([(index, dim, size)], message, error, negative=False)


def _index_dtype(index, name, allowed=("int64", "int32")):
    if str(index.dtype) not in allowed:
        raise RuntimeError(f"{name}(): Expected dtype {'/'.join(reversed(allowed))} for index")


def _as_1d(x):
    return x.reshape(1) if x.ndim == 0 else x


# -- gather / scatter -----------------------------------------------------------------------

def _gather_check(input, dim, index, *, sparse_grad=False):
    d = wrap_dim(dim, input.ndim)
    _check_nonnegative(index, d, _shape(input)[d] if input.ndim else 1)


@register(out=True, check=_gather_check)
def gather(input, dim, index, *, sparse_grad=False):
    """Mirrors `torch.gather`."""
    d = wrap_dim(dim, input.ndim)
    if index.size == 0:     # torch checks nothing more for an empty index
        return jnp.zeros(index.shape, input.dtype)
    _index_dtype(index, "gather")
    x, idx = _as_1d(input), _as_1d(index)
    if max(index.ndim, 1) != max(input.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for k in range(x.ndim):
        if k != d and idx.shape[k] > x.shape[k]:
            raise RuntimeError(f"Size does not match at dimension {k} expected index "
                               f"{list(index.shape)} to be no larger than self "
                               f"{list(input.shape)} apart from dimension {d}")
    x = x[tuple(slice(0, n) if k != d else slice(None) for k, n in enumerate(idx.shape))]
    return jnp.take_along_axis(x, idx.astype(jnp.int64), axis=d).reshape(index.shape)


def _coords(index, d):
    """Full coordinates of every element of `index` (its own values along `d`)."""
    return tuple(index if k == d else jnp.broadcast_to(
        jnp.arange(n).reshape((-1,) + (1,) * (index.ndim - k - 1)), index.shape)
        for k, n in enumerate(index.shape))


def _scatter_prepare(name, input, dim, index, src):
    """(input as >=1-d, dim, coords, src cut to index's shape), with torch's shape checks."""
    _index_dtype(index, name)
    d = wrap_dim(dim, input.ndim)
    x, idx = _as_1d(input), _as_1d(index)
    if max(index.ndim, 1) != x.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if src is not None and not is_python_scalar(src):
        if src.dtype != input.dtype:
            raise RuntimeError(f"{name}(): Expected self.dtype to be equal to src.dtype")
        src = _as_1d(src)
        if src.ndim != x.ndim:
            raise RuntimeError("Index tensor must have the same number of dimensions as src "
                               "tensor")
    for k in range(x.ndim):
        too_big = k != d and idx.shape[k] > x.shape[k]
        if too_big or (src is not None and not is_python_scalar(src) and
                       idx.shape[k] > src.shape[k]):
            raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self "
                               f"{list(input.shape)} apart from dimension {d}" +
                               ("" if too_big else f" and to be no larger size than src "
                                f"{list(src.shape)}"))
    if src is not None and not is_python_scalar(src):
        src = src[tuple(slice(0, n) for n in idx.shape)]
    return x, d, _coords(idx.astype(jnp.int64), d), src


def _scatter_check(input, dim, index, *args, **kwargs):
    d = wrap_dim(dim, input.ndim)
    _check_nonnegative(index, d, _shape(input)[d] if input.ndim else 1)


@register(inplace=True, out=True, scalars=("input", "src", "value"), check=_scatter_check)
def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """Mirrors `torch.scatter` (the src and value forms, and `reduce="add"|"multiply"`)."""
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter() missing required argument 'src' or 'value'")
    x, d, coords, src = _scatter_prepare("scatter", input, dim, index, src)
    src = cast_value(jnp.asarray(src), input.dtype)
    if reduce is None:
        out = x.at[coords].set(src)
    elif reduce == "add":
        out = x.at[coords].add(src)
    elif reduce == "multiply":
        out = x.at[coords].multiply(src)
    else:
        raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
    return out.reshape(input.shape)


@register(inplace=True, out=True, check=_scatter_check)
def scatter_add(input, dim, index, src):
    """Mirrors `torch.scatter_add`."""
    x, d, coords, src = _scatter_prepare("scatter_add", input, dim, index, src)
    return x.at[coords].add(src).reshape(input.shape)


def _identity(reduce, dtype):
    if reduce == "sum" or reduce == "mean":
        return 0
    if reduce == "prod":
        return 1
    if jnp.issubdtype(dtype, jnp.floating):
        return -jnp.inf if reduce == "amax" else jnp.inf
    info = jnp.iinfo(dtype) if dtype != jnp.bool_ else None
    if info is None:
        return reduce == "amin"
    return info.min if reduce == "amax" else info.max


def _reduce_into(x, coords, src, reduce, include_self):
    """x with src reduced into x[coords]; include_self=False: the positions reached start from
    the reduction's identity instead of x's own values (mean: they are not counted)."""
    if reduce == "prod" and jnp.issubdtype(x.dtype, jnp.inexact):
        return _scatter_prod(x, src, coords, include_self)
    base = x if include_self else x.at[coords].set(_identity(reduce, x.dtype))
    at = base.at[coords]
    if reduce in ("sum", "mean"):
        out = at.add(src)
    elif reduce == "prod":
        out = at.multiply(src)
    elif reduce == "amax":
        out = at.max(src)
    else:
        out = at.min(src)
    if reduce == "mean":
        count = jnp.ones(x.shape, jnp.int64) if include_self else \
            jnp.ones(x.shape, jnp.int64).at[coords].set(0)
        count = count.at[coords].add(1)
        count = jnp.maximum(count, 1)
        if jnp.issubdtype(x.dtype, jnp.floating) or jnp.issubdtype(x.dtype, jnp.complexfloating):
            out = out / count.astype(x.dtype)
        else:
            out = jnp.floor_divide(out, count.astype(x.dtype))
    return out


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _scatter_prod(x, src, coords, include_self):
    """x with src multiplied into x[coords] (full coordinates, one array per dim of src); jax
    differentiates a multiplying scatter only with unique indices, so the derivative is given
    here: each factor's cotangent is the product of the others, zeros included."""
    base = x if include_self else x.at[coords].set(1)
    return base.at[coords].multiply(src)


def _scatter_prod_fwd(x, src, coords, include_self):
    return _scatter_prod(x, src, coords, include_self), (x, src, coords)


def _scatter_prod_bwd(include_self, saved, cotangent):
    x, src, coords = saved
    ones = jnp.ones_like(x)
    if include_self:
        base = x
        grad_x = cotangent * _scatter_prod(ones, src, coords, True)
    else:   # positions reached do not keep their value
        base = x.at[coords].set(1)
        grad_x = cotangent.at[coords].set(0)
    zero = src == 0
    # the product of the other factors of each src element: the nonzero product over the
    # element itself, or that product when it is the one zero of its position, else 0
    # (_scatter_prod itself here, so that higher-order gradients work)
    nonzero = _scatter_prod(ones, jnp.where(zero, 1, src), coords, True)
    zeros = jnp.zeros(x.shape, jnp.int32).at[coords].add(zero.astype(jnp.int32))
    count = zeros[coords]
    others = jnp.where(zero, jnp.where(count == 1, nonzero[coords], 0),
                       jnp.where(count == 0, nonzero[coords] / jnp.where(zero, 1, src), 0))
    grad_src = (cotangent * base)[coords] * others
    return grad_x, grad_src, None


_scatter_prod.defvjp(_scatter_prod_fwd, _scatter_prod_bwd)

_SCATTER_REDUCES = ("sum", "prod", "mean", "amax", "amin")


@register(inplace=True, out=True, check=_scatter_check)
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """Mirrors `torch.scatter_reduce`."""
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)   # torch takes both spellings
    if reduce not in _SCATTER_REDUCES:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    x, d, coords, src = _scatter_prepare("scatter_reduce", input, dim, index, src)
    return _reduce_into(x, coords, src, reduce, include_self).reshape(input.shape)


# -- index_* along one dim --------------------------------------------------------------------

# torch checks these two ops' source shape as a whole, before the count of indices
_SHAPE_MATCH = ("index_add_", "index_reduce_")


def _index_along(name, input, dim, index, source=None):
    """(input as >=1-d, dim, the .at[] coordinates of index along dim), with torch's checks."""
    _index_dtype(index, name)
    if index.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector")
    d = wrap_dim(dim, input.ndim)
    x = _as_1d(input)
    idx = _as_1d(index).astype(jnp.int64)
    if source is not None:
        if source.dtype != input.dtype:
            raise RuntimeError(f"{name}(): self ({_type_name(torch_dtype(input))}) and source "
                               f"({_type_name(torch_dtype(source))}) must have the same scalar "
                               f"type")
        s = _as_1d(source)
        if name in _SHAPE_MATCH and (source.ndim != input.ndim or any(
                a != b for k, (a, b) in enumerate(zip(source.shape, input.shape)) if k != d)):
            raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the "
                               f"specified dimension. Got self.shape = {list(input.shape)} "
                               f"source.shape = {list(source.shape)}")
        if s.ndim != x.ndim:
            raise IndexError(f"{name}(): When source and destination are not scalars, their "
                             f"dimensionality must match. Source dimensionality "
                             f"({source.ndim}), destination dimensionality ({input.ndim})")
        if s.shape[d] != idx.shape[0]:
            raise (IndexError if name == "index_copy_" else RuntimeError)(f"{name}(): Number of indices ({idx.shape[0]}) should be equal to "
                               f"source.size(dim): ({s.shape[d]}), for dim: {d}")
        expect = x.shape[:d] + (idx.shape[0],) + x.shape[d + 1:]
        if s.shape != expect:
            raise RuntimeError(f"{name}(): Source/destination tensor must have same slice "
                               f"shapes. Destination slice shape: {list(x.shape)} and source "
                               f"slice shape: {list(s.shape)}")
        source = s
    return x, d, (slice(None),) * d + (idx,), source


def _index_check(error=RuntimeError, message=_BOUNDS, negative=False):
    def check(input, dim, index, *args, **kwargs):
        d = wrap_dim(dim, input.ndim)
        if index.size:
            check_bounds([(index, d, _shape(input)[d] if input.ndim else 1)], message, error,
                         negative=negative)
    return check


@register(inplace=True, out=True, check=_index_check())
def index_add(input, dim, index, source, *, alpha=1):
    """Mirrors `torch.index_add`."""
    x, d, at, source = _index_along("index_add_", input, dim, index, source)
    if alpha != 1:
        source = source * cast_value(jnp.asarray(alpha), source.dtype)
    return x.at[at].add(source).reshape(input.shape)


@register(inplace=True, out=True, check=_index_check(
    IndexError, "index_copy_(): index {index} is out of bounds for dimension {dim} with size "
    "{size}"))
def index_copy(input, dim, index, source):
    """Mirrors `torch.index_copy`."""
    x, d, at, source = _index_along("index_copy_", input, dim, index, source)
    return x.at[at].set(source).reshape(input.shape)


@register(inplace=True, scalars=("input", "value"), check=_index_check(IndexError, negative=True))
def index_fill(input, dim, index, value):
    """Mirrors `torch.index_fill`."""
    if not is_python_scalar(value) and value.ndim:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value.ndim} dimension(s).")
    x, d, at, _ = _index_along("index_fill_", input, dim, index)
    return x.at[at].set(cast_value(jnp.asarray(value), input.dtype)).reshape(input.shape)


@register(inplace=True, out=True, check=_index_check(IndexError, "index out of range in self"))
def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """Mirrors `torch.index_reduce`."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or "
                           f"amin but got {reduce}.")
    x, d, at, source = _index_along("index_reduce_", input, dim, index, source)
    if reduce == "prod":   # full coordinates, as _scatter_prod takes them
        idx = at[d].reshape((-1,) + (1,) * (source.ndim - d - 1))
        at = _coords(jnp.broadcast_to(idx, source.shape), d)
    return _reduce_into(x, at, source, reduce, include_self).reshape(input.shape)


def _index_select_check(input, dim, index):
    d = wrap_dim(dim, input.ndim)
    size = _shape(input)[d] if input.ndim else 1
    if index.size:
        ext, = _known_extremes([index])
        if ext is None:
            return
        lo, hi = ext
        # torch: IndexError past the end, RuntimeError for a negative index
        if hi >= size:
            raise IndexError("index out of range in self")
        if lo < 0:
            raise RuntimeError(f"INDICES element is out of DATA bounds, id={lo} axis_dim={size}")


@register(out=True, check=_index_select_check)
def index_select(input, dim, index):
    """Mirrors `torch.index_select`."""
    _index_dtype(index, "index_select")
    if index.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    d = wrap_dim(dim, input.ndim)
    if input.ndim == 0:
        if index.size != 1:
            raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got "
                               f"{index.size} value(s)")
        return input
    return jnp.take(input, _as_1d(index).astype(jnp.int64), axis=d)


# -- flat take / put, take_along_dim ------------------------------------------------------------

_FLAT = "out of range: tried to access index {index} on a tensor of {size} elements."


def _flat_check(input, index, *args, **kwargs):
    if index.size:
        check_bounds([(index, 0, input.size)], _FLAT, IndexError, negative=True)


@register(out=True, check=_flat_check)
def take(input, index):
    """Mirrors `torch.take`."""
    _index_dtype(index, "take", ("int64",))
    if input.size == 0 and index.size:
        raise IndexError("take(): tried to take from an empty tensor")
    if not index.size:
        return jnp.zeros(index.shape, input.dtype)
    idx = index.astype(jnp.int64)
    return jnp.take(input.reshape(-1), jnp.where(idx < 0, idx + input.size, idx))


@register(inplace=True, check=_flat_check)
def put(input, index, source, accumulate=False):
    """Mirrors `torch.put`."""
    _index_dtype(index, "put_", ("int64",))
    if source.size != index.size:
        raise IndexError(f"put_(): Expected source and index to have the same number of "
                         f"elements, but got source.numel() = {source.size}, index.numel() = "
                         f"{index.size}")
    if source.dtype != input.dtype:
        raise RuntimeError(f"put_(): self ({_type_name(torch_dtype(input))}) and source "
                           f"({_type_name(torch_dtype(source))}) must have the same scalar type")
    flat, idx, src = input.reshape(-1), index.reshape(-1).astype(jnp.int64), source.reshape(-1)
    flat = flat.at[idx].add(src) if accumulate else flat.at[idx].set(src)
    return flat.reshape(input.shape)


def _take_along_check(input, indices, dim=None):
    if dim is None:
        if indices.size:
            check_bounds([(indices, 0, input.size)], _BOUNDS, IndexError, negative=True)
        return
    d = wrap_dim(dim, input.ndim)
    if indices.size:
        check_bounds([(indices, d, _shape(input)[d] if input.ndim else 1)], _BOUNDS, IndexError,
                     negative=True)


@register(out=True, check=_take_along_check)
def take_along_dim(input, indices, dim=None):
    """Mirrors `torch.take_along_dim`."""
    if indices.dtype != jnp.int64:
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{_type_name(torch_dtype(indices))}")
    if dim is None:
        if not indices.size:
            return jnp.zeros((0,), input.dtype)
        idx = indices.reshape(-1)
        return jnp.take(input.reshape(-1), jnp.where(idx < 0, idx + input.size, idx))
    if input.ndim != indices.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {input.ndim} dimensions for input, "
                           f"and {indices.ndim} dimensions for indices")
    d = wrap_dim(dim, input.ndim)
    x, idx = _as_1d(input), _as_1d(indices)
    shape = list(jnp.broadcast_shapes(x.shape[:d] + (1,) + x.shape[d + 1:],
                                      idx.shape[:d] + (1,) + idx.shape[d + 1:]))
    x = jnp.broadcast_to(x, tuple(shape[:d]) + (x.shape[d],) + tuple(shape[d + 1:]))
    idx = jnp.broadcast_to(idx, tuple(shape[:d]) + (idx.shape[d],) + tuple(shape[d + 1:]))
    idx = jnp.where(idx < 0, idx + x.shape[d], idx)
    out = jnp.take_along_axis(x, idx, axis=d)
    return out.reshape(indices.shape) if input.ndim == 0 else out



# -- out= dtype ----------------------------------------------------------------------------

def _same_dtype_out(name, message):
    """Republish torch.`name` so that `out=` must have the input's dtype: torch refuses to cast
    into it for these ops (the registry's generic `out=` casts)."""
    public = namespace("torch")[name]

    def fn(*args, out=None, **kwargs):
        result = public(*args, **kwargs)
        if out is None:
            return result
        if public._op.out_must_not_alias:
            _alias.check_out_overlap(out, (args, kwargs))
        if isinstance(out, Tensor) and out.dtype is not result.dtype:
            raise RuntimeError(message.format(name=name, out=_c_name(out.dtype),
                                              self=_c_name(result.dtype),
                                              Out=_type_name(out.dtype),
                                              Self=_type_name(result.dtype)))
        return write_out(out, result, name)
    fn.__doc__ = public.__doc__
    publish(fn, name, op=public._op)


def _c_name(d):
    return masking._C_NAMES.get(d._name, d._name).replace("long int", "long")


_EXPECTED = "Expected out tensor to have dtype {self}, but got {out} instead"
for _name in ("gather", "scatter", "scatter_add", "scatter_reduce", "index_add", "index_copy",
              "index_reduce", "take_along_dim"):
    _same_dtype_out(_name, _EXPECTED)
for _name in ("index_select", "masked_select"):
    _same_dtype_out(_name, "{name}(): self and result must have the same scalar type")
_same_dtype_out("take", "take(): self and out expected to have the same dtype, but got "
                        "self.dtype = {Self} and out.dtype = {Out}")
