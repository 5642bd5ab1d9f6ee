"""Mask and search ops: masked_fill/scatter/select, where, nonzero, searchsorted, bucketize,
and the `_unsafe_masked_index*` helpers torch's decompositions use.

Ops whose output shape depends on values (masked_select, nonzero, argwhere, 1-arg where) run
eagerly (`jit=False`) and read the mask on the host.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .._tensor import Tensor, cast_value
from .registry import register, publish, write_out, _type_name
from ._util import promote, torch_dtype, is_python_scalar, result_type, as_dtype

_C_NAMES = {"int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
            "uint8": "unsigned char", "float32": "float", "float64": "double",
            "float16": "c10::Half", "bfloat16": "c10::BFloat16",
            "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


def _require_bool_mask(mask, name):
    if mask.dtype != jnp.bool_:
        raise RuntimeError(f"{name} only supports boolean masks, but got mask with dtype "
                           f"{_C_NAMES.get(str(mask.dtype), str(mask.dtype))}")


def _broadcast(*xs):
    try:
        shape = jnp.broadcast_shapes(*(jnp.shape(x) for x in xs))
    except ValueError:
        raise RuntimeError(f"The size of tensors must match for broadcasting: "
                           f"{[list(jnp.shape(x)) for x in xs]}") from None
    return [jnp.broadcast_to(x, shape) for x in xs]


def _overflows(value, d) -> bool:
    """Whether torch refuses to convert the number `value` to the numpy dtype `d`."""
    if d == np.bool_:
        return False
    if isinstance(value, complex):
        if not np.issubdtype(d, np.complexfloating):
            if value.imag != 0:
                return True
            value = value.real
        else:
            return _overflows(value.real, np.dtype(np.float64 if d == np.complex128 else
                                                   np.float32)) or \
                _overflows(value.imag, np.dtype(np.float64 if d == np.complex128 else np.float32))
    if np.issubdtype(d, np.complexfloating):
        d = np.dtype(np.float64 if d == np.complex128 else np.float32)
    if np.issubdtype(d, np.floating) or d == jnp.bfloat16:
        # infinities and nan convert; a finite value past the type's range does not
        return bool(np.isfinite(value)) and abs(value) > float(jnp.finfo(d).max)
    info = np.iinfo(d)
    if isinstance(value, float):
        return bool(np.isnan(value)) or value < info.min or value > info.max
    # an integer into an unsigned type may be negative down to -max (it wraps)
    low = -int(info.max) if info.min == 0 else int(info.min)
    return value < low or value > info.max


def _masked_fill_check(input, mask, value):
    if not is_python_scalar(value):
        if jnp.ndim(value) or isinstance(value, jax.core.Tracer):
            return      # the kernel raises for a non-0-dim value; a traced one can't be read
        value = jnp.asarray(value).item()
    d = np.dtype(input.dtype) if not is_python_scalar(input) else np.dtype(np.float32)
    if _overflows(value, d):
        raise RuntimeError(f"value cannot be converted to type "
                           f"{str(d) + '_t' if d.kind in 'iu' else _C_NAMES.get(str(d), str(d))} "
                           f"without overflow")


@register(inplace=True, scalars=("input", "value"), check=_masked_fill_check)
def masked_fill(input, mask, value):
    """Mirrors `torch.masked_fill`."""
    _require_bool_mask(mask, "masked_fill_")
    if not is_python_scalar(value) and value.ndim:
        raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value.ndim} dimension(s).")
    x, m = _broadcast(input, mask)
    return jnp.where(m, cast_value(jnp.asarray(value), input.dtype), x)


def _masked_scatter_check(input, mask, source):
    if mask.dtype == jnp.bool_ and source.dtype == input.dtype and \
            not isinstance(mask, jax.core.Tracer):
        try:
            shape = jnp.broadcast_shapes(input.shape, mask.shape)
        except ValueError:
            return      # the kernel raises torch's broadcasting error
        if int(jnp.sum(jnp.broadcast_to(mask, shape))) > source.size:
            raise RuntimeError("Number of elements of source < number of ones in mask")


@register(inplace=True, check=_masked_scatter_check)
def masked_scatter(input, mask, source):
    """Mirrors `torch.masked_scatter`."""
    _require_bool_mask(mask, "masked_scatter_")
    if source.dtype != input.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but "
                           f"got{_type_name(torch_dtype(input))} and "
                           f"{_type_name(torch_dtype(source))}")
    x, m = _broadcast(input, mask)
    if source.size == 0:
        return x
    # the k-th True of the mask (row-major) takes source's k-th element
    position = jnp.cumsum(m.reshape(-1)) - 1
    taken = jnp.take(source.reshape(-1), jnp.clip(position, 0, source.size - 1))
    return jnp.where(m, taken.reshape(m.shape), x)


@register(out=True, jit=False)
def masked_select(input, mask):
    """Mirrors `torch.masked_select`."""
    if mask.dtype != jnp.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    x, m = _broadcast(input, mask)
    return x.reshape(-1)[np.flatnonzero(np.asarray(m))]


# -- where / nonzero ---------------------------------------------------------------------------

@register(name="where", method=False, function=False)
def _where(condition, input, other):
    if condition.dtype != jnp.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {_type_name(torch_dtype(condition))}")
    (a, b), _ = promote(input, other)
    return jnp.where(condition, a, b)


def where(condition, input=None, other=None, *, out=None):
    """Mirrors `torch.where`, including the one-argument form (`nonzero(as_tuple=True)`)."""
    if input is None and other is None:
        if out is not None:
            raise TypeError("where(): the one-argument form takes no out=")
        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where() takes 1 or 3 arguments")
    result = _where(condition, input, other)
    return result if out is None else write_out(out, result, "where")


def _where_method(self, condition, other):
    return where(condition, self, other)


publish(where, "where")
Tensor.where = _where_method


def _nonzero_host(x):
    a = np.asarray(x)
    if a.ndim == 0:
        return np.zeros((1 if a.item() else 0, 0), np.int64)
    return np.argwhere(a).astype(np.int64)


@register(out=True, jit=False)
def nonzero(input, *, as_tuple=False):
    """Mirrors `torch.nonzero`."""
    rows = _nonzero_host(input)
    if as_tuple:
        if input.ndim == 0:
            return (jnp.zeros((rows.shape[0],), jnp.int64),)
        return tuple(jnp.asarray(rows[:, k]) for k in range(rows.shape[1]))
    return jnp.asarray(rows)


@register(jit=False)
def argwhere(input):
    """Mirrors `torch.argwhere`."""
    return jnp.asarray(_nonzero_host(input))


@register(scalars=("input", "fill_value"))
def nonzero_static(input, *, size, fill_value=-1):
    """Mirrors `torch.nonzero_static`."""
    if size < 0:
        raise RuntimeError(f"nonzero_static: 'size' must be an non-negative integer, got {size}")
    if input.ndim == 0:
        return jnp.zeros((size, 0), jnp.int64)
    fill = jnp.asarray(fill_value, jnp.int64)
    return jnp.argwhere(input, size=size, fill_value=fill).astype(jnp.int64)


# -- searchsorted / bucketize -------------------------------------------------------------------

def _search(boundaries, values, right, out_int32):
    """Positions of `values` in sorted `boundaries` along the last dim (batched).

    torch's own binary search, step for step, so that NaNs land where torch puts them (jax's
    searchsorted orders NaN last instead)."""
    n = boundaries.shape[-1]
    lo = jnp.zeros(jnp.shape(values), jnp.int64)
    hi = jnp.full(jnp.shape(values), n, jnp.int64)
    if n:
        for _ in range(n.bit_length()):
            mid = lo + (hi - lo) // 2
            safe = jnp.minimum(mid, n - 1)
            at = jnp.take(boundaries, safe) if boundaries.ndim == 1 else \
                jnp.take_along_axis(boundaries, safe, axis=-1)
            after = ~(at > values) if right else ~(at >= values)
            active = lo < hi
            lo = jnp.where(active & after, mid + 1, lo)
            hi = jnp.where(active & ~after, mid, hi)
    return lo.astype(jnp.int32 if out_int32 else jnp.int64)


def _common(boundaries, values):
    """Both operands in their common torch dtype (values may be a Python number)."""
    d = result_type(boundaries, values)
    return as_dtype(boundaries, d), as_dtype(values, d)


@register(out=True, method=False, scalars=("input",))
def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None):
    """Mirrors `torch.searchsorted`."""
    if side is not None and side not in ("left", "right"):
        raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got "
                           f"{side}")
    if side is not None and right and side == "left":
        raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got "
                           "side of left while right was True")
    right = right or side == "right"
    scalar = is_python_scalar(input) and jnp.ndim(input) == 0
    if sorted_sequence.ndim > 1 and (scalar or sorted_sequence.shape[:-1] !=
                                     jnp.shape(input)[:-1]):
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the "
                           f"first N-1 dimensions of boundaries tensor and input value tensor "
                           f"must match, but we got boundaries tensor "
                           f"{list(sorted_sequence.shape)} and input value tensor "
                           f"{list(jnp.shape(input))}")
    if sorter is not None:
        if sorter.dtype != jnp.int64:
            raise RuntimeError("torch.searchsorted(): sorter must be a tensor of long dtype but "
                               f"got {_type_name(torch_dtype(sorter))}")
        if sorter.shape != sorted_sequence.shape:
            raise RuntimeError("torch.searchsorted(): boundary and sorter must have the same "
                               f"size, but got boundary tensor {list(sorted_sequence.shape)}and "
                               f"got sorter tensor {list(sorter.shape)}")
        if sorter.size:
            sorted_sequence = jnp.take_along_axis(sorted_sequence, sorter, axis=-1)
    boundaries, values = _common(sorted_sequence, input)
    return _search(boundaries, values, right, out_int32)


@register(out=True, method=False)
def bucketize(input, boundaries, *, out_int32=False, right=False):
    """Mirrors `torch.bucketize`."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    b, v = _common(boundaries, input)
    return _search(b, v, right, out_int32)


# -- torch's masked-index helpers ----------------------------------------------------------------

def _clamped(input, indices):
    """`indices` (None for a full dim) with every value clamped into its dim: these ops are
    'unsafe' in that masked-off positions may hold any index."""
    items = []
    for k, idx in enumerate(indices):
        if idx is None:
            items.append(slice(None))
        else:
            size = input.shape[k]
            items.append(jnp.clip(idx.astype(jnp.int64), -size, size - 1))
    return tuple(items)


@register(method=False, scalars=("input", "fill"))
def _unsafe_masked_index(input, mask, indices, fill):
    """Mirrors `torch._unsafe_masked_index`: `where(mask, input[indices], fill)`."""
    fill = cast_value(jnp.asarray(fill), input.dtype)
    if input.size == 0:   # nothing to read: the shape comes from a stand-in of size 1 dims
        stand_in = jnp.zeros(tuple(max(n, 1) for n in input.shape), input.dtype)
        shape = jnp.broadcast_shapes(mask.shape, stand_in[_clamped(stand_in, indices)].shape)
        return jnp.full(shape, fill, input.dtype)
    return jnp.where(mask, input[_clamped(input, indices)], fill)


@register(method=False)
def _unsafe_masked_index_put_accumulate(input, mask, indices, values):
    """Mirrors `torch._unsafe_masked_index_put_accumulate`: index_put(accumulate=True) of
    the values where mask holds."""
    if input.size == 0:
        return input
    values = jnp.where(mask, values, jnp.zeros((), values.dtype))
    return input.at[_clamped(input, indices)].add(values.astype(input.dtype))
