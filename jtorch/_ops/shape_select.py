"""Shape ops that take part of a tensor (select, narrow, slice, unfold, diagonal) and their
scatter counterparts, which write a source into that part of a copy."""
from __future__ import annotations

import jax.numpy as jnp

from .registry import register, OPS
from ._util import wrap_dim
from .._tensor import Tensor
from .shape import as_int, publish


def _index_tuple(dim, index):
    return (slice(None),) * dim + (index,)


def _check_src(src_shape, part_shape):
    if tuple(src_shape) != tuple(part_shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src_shape)}, slice size = {list(part_shape)}")


def _src_like(src, x):
    return src.astype(x.dtype)


# -- select ------------------------------------------------------------------------------------

def _select_index(x, dim, index):
    if x.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    dim = wrap_dim(dim, x.ndim)
    n = x.shape[dim]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(x.shape)} at dimension {dim}")
    return dim, index % n


@register(method=False, function=False)
def _select(input, dim, index):
    dim, index = _select_index(input, dim, index)
    return input[_index_tuple(dim, index)]


@register(method=False, function=False)
def _select_scatter(input, src, dim, index):
    dim, index = _select_index(input, dim, index)
    where = _index_tuple(dim, index)
    _check_src(src.shape, input[where].shape)
    return input.at[where].set(_src_like(src, input))


def select(input, dim, index):
    """Mirrors `torch.select`."""
    return OPS["torch._select"](input, dim, as_int(index))


def select_scatter(input, src, dim, index):
    """Mirrors `torch.select_scatter`."""
    return OPS["torch._select_scatter"](input, src, dim, as_int(index))


publish(select, "select", op=OPS["torch._select"])
publish(select_scatter, "select_scatter", op=OPS["torch._select_scatter"])
Tensor.select = select
Tensor.select_scatter = select_scatter


# -- narrow and slice ----------------------------------------------------------------------------

def _narrow_bounds(x, dim, start, length):
    if x.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    dim = wrap_dim(dim, x.ndim)
    n = x.shape[dim]
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got "
                         f"{start})")
    if start < 0:
        start += n
    if start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return dim, start


@register(method=False, function=False)
def _narrow(input, dim, start, length):
    dim, start = _narrow_bounds(input, dim, start, length)
    return input[_index_tuple(dim, slice(start, start + length))]


def narrow(input, dim, start, length):
    """Mirrors `torch.narrow`."""
    if isinstance(start, Tensor) and (start.ndim != 0 or start.dtype.is_floating_point
                                      or start.dtype.is_complex or start.dtype._name == "bool"):
        raise RuntimeError("start must be an 0-dim integral Tensor.")
    return OPS["torch._narrow"](input, dim, as_int(start), as_int(length))


@register(method=False, function=False, out=True)
def _narrow_copy(input, dim, start, length):
    if input.ndim and dim >= input.ndim:   # torch checks this bound before wrapping the dim
        raise RuntimeError(f"narrow_copy(): expected dim < {input.ndim}, but got {dim}")
    dim, start = _narrow_bounds(input, dim, start, length)
    return input[_index_tuple(dim, slice(start, start + length))]


def narrow_copy(input, dim, start, length, *, out=None):
    """Mirrors `torch.narrow_copy`."""
    return _narrow_copy(input, dim, as_int(start), as_int(length), out=out)


publish(narrow, "narrow", op=OPS["torch._narrow"])
publish(narrow_copy, "narrow_copy", op=OPS["torch._narrow_copy"])
Tensor.narrow = narrow
Tensor.narrow_copy = narrow_copy


def _slice_part(x, dim, start, end, step):
    dim = wrap_dim(dim, x.ndim)
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    return dim, slice(start, end, step)


@register(method=False, function=False)
def _slice(input, dim=0, start=None, end=None, step=1):
    dim, part = _slice_part(input, dim, start, end, step)
    return input[_index_tuple(dim, part)]


@register(method=False, function=False)
def _slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    dim, part = _slice_part(input, dim, start, end, step)
    where = _index_tuple(dim, part)
    _check_src(src.shape, input[where].shape)
    return input.at[where].set(_src_like(src, input))


def _opt_int(v):
    return None if v is None else as_int(v)


def slice_(input, dim=0, start=None, end=None, step=1):
    """Mirrors `torch.ops.aten.slice` (Python-style clamped bounds, positive step)."""
    return OPS["torch._slice"](input, dim, _opt_int(start), _opt_int(end), as_int(step))


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """Mirrors `torch.slice_scatter`."""
    return OPS["torch._slice_scatter"](input, src, dim, _opt_int(start), _opt_int(end),
                                       as_int(step))


publish(slice_, "slice", op=OPS["torch._slice"])
publish(slice_scatter, "slice_scatter", op=OPS["torch._slice_scatter"])
Tensor.slice_scatter = slice_scatter


# -- unfold ------------------------------------------------------------------------------------

def _unfold(x, dimension, size, step):
    if x.ndim == 0:
        # torch unfolds a 0-dim tensor as if it had one dimension of size 1
        out = _unfold(x.reshape(1), wrap_dim(dimension, 0), size, step)
        return out.reshape(out.shape[-1:])
    dim = wrap_dim(dimension, x.ndim)
    n = x.shape[dim]
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {dim} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    count = (n - size) // step + 1
    index = jnp.arange(count)[:, None] * step + jnp.arange(size)[None, :]
    out = jnp.take(x, index, axis=dim)        # [..., count, size, ...]
    return jnp.moveaxis(out, dim + 1, -1)


@register(function=False)
def unfold(input, dimension, size, step):
    """Mirrors `Tensor.unfold`."""
    return _unfold(input, dimension, size, step)


@register(method=False, out=True)
def unfold_copy(input, dimension, size, step):
    """Mirrors `torch.unfold_copy`."""
    return _unfold(input, dimension, size, step)


# -- diagonal ----------------------------------------------------------------------------------

def _diag_dims(x, dim1, dim2):
    d1, d2 = wrap_dim(dim1, x.ndim), wrap_dim(dim2, x.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


def _diagonal(x, offset, dim1, dim2):
    d1, d2 = _diag_dims(x, dim1, dim2)
    n1, n2 = x.shape[d1], x.shape[d2]
    if offset >= n2 or -offset >= n1:
        # jnp.diagonal rejects offsets past the edge; torch gives an empty diagonal
        rest = tuple(s for i, s in enumerate(x.shape) if i not in (d1, d2))
        return jnp.zeros(rest + (0,), x.dtype)
    return jnp.diagonal(x, offset, d1, d2)


@register()
def diagonal(input, offset=0, dim1=0, dim2=1):
    """Mirrors `torch.diagonal`."""
    return _diagonal(input, offset, dim1, dim2)


@register(method=False, out=True)
def diagonal_copy(input, offset=0, dim1=0, dim2=1):
    """Mirrors `torch.diagonal_copy`."""
    return _diagonal(input, offset, dim1, dim2)


@register("diagonal", namespace="torch.linalg", method=False)
def linalg_diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """Mirrors `torch.linalg.diagonal`."""
    return _diagonal(A, offset, dim1, dim2)


def diagonal_positions(n1, n2, offset):
    """Row and column indices of a diagonal of an (n1, n2) matrix."""
    length = max(0, min(n1 + min(offset, 0), n2 - max(offset, 0)))
    rows = jnp.arange(length) + max(-offset, 0)
    return rows, rows - max(-offset, 0) + max(offset, 0)


@register()
def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """Mirrors `torch.diagonal_scatter`."""
    _check_src(src.shape, _diagonal(input, offset, dim1, dim2).shape)
    d1, d2 = _diag_dims(input, dim1, dim2)
    moved = jnp.moveaxis(input, (d1, d2), (-2, -1))
    rows, cols = diagonal_positions(moved.shape[-2], moved.shape[-1], offset)
    moved = moved.at[..., rows, cols].set(_src_like(src, input))
    return jnp.moveaxis(moved, (-2, -1), (d1, d2))

