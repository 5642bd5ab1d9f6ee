"""Shape ops that reorder or repeat elements (flip, roll, rot90, repeat, tile,
repeat_interleave), pad, or build and mask matrices (diag, diag_embed, tril, triu)."""
from __future__ import annotations

import numpy as np
import jax
import jax.numpy as jnp

from .registry import register, OPS
from ._util import wrap_dim, wrap_dims
from .._tensor import Tensor
from .shape import as_int, as_ints, size_args, publish, method
from .shape_select import diagonal_positions, _diagonal


# -- flips and rotations -----------------------------------------------------------------------

@register(method=False)
def flip(input, dims):
    """Mirrors `torch.flip`."""
    dims = wrap_dims(tuple(dims) if isinstance(dims, (tuple, list)) else (dims,), input.ndim)
    return jnp.flip(input, dims) if dims and input.ndim else input


@method("flip")
def _tensor_flip(self, *args, dims=None):
    return flip(self, size_args(args, dims))


@register()
def fliplr(input):
    """Mirrors `torch.fliplr`."""
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return jnp.flip(input, 1)


@register()
def flipud(input):
    """Mirrors `torch.flipud`."""
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return jnp.flip(input, 0)


@register()
def roll(input, shifts, dims=None):
    """Mirrors `torch.roll`."""
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    dims = () if dims is None else tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if not dims:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                               f"dims:{len(dims)}")
        return jnp.roll(input.reshape(-1), shifts[0]).reshape(input.shape)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    if input.ndim == 0:   # unlike most ops, roll does not treat a 0-d tensor as 1-d
        raise IndexError(f"Dimension specified as {dims[0]} but tensor has no dimensions")
    dims = tuple(wrap_dim(d, input.ndim) for d in dims)
    return jnp.roll(input, shifts, dims)


@register()
def rot90(input, k=1, dims=(0, 1)):
    """Mirrors `torch.rot90`."""
    dims = tuple(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = wrap_dim(dims[0], input.ndim), wrap_dim(dims[1], input.ndim)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and "
                           f"dim1 = {d1}")
    return jnp.rot90(input, k, (d0, d1))


# -- repeats -----------------------------------------------------------------------------------

def _repeat(x, repeats):
    if len(repeats) < x.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    if any(r < 0 for r in repeats):
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{min(repeats)}: {list(repeats)}")
    x = x.reshape((1,) * (len(repeats) - x.ndim) + x.shape)
    return jnp.tile(x, repeats) if repeats else x


@register(method=False, function=False)
def _repeat_op(input, repeats):
    return _repeat(input, tuple(repeats))


@method("repeat")
def _tensor_repeat(self, *sizes, repeats=None):
    return OPS["torch._repeat_op"](self, size_args(sizes, repeats))


@register(method=False, function=False)
def _tile_op(input, dims):
    dims = tuple(dims)
    return _repeat(input, (1,) * (input.ndim - len(dims)) + dims)


def tile(input, dims):
    """Mirrors `torch.tile`."""
    return OPS["torch._tile_op"](input, as_ints(dims))


@method("tile")
def _tensor_tile(self, *args, dims=None):
    return OPS["torch._tile_op"](self, size_args(args, dims))


publish(tile, "tile", op=OPS["torch._tile_op"])


@register(method=False, function=False)
def _repeat_interleave_op(input, repeats, dim=None, output_size=None):
    # `repeats` is an int or a tuple of ints (a tensor's values, read before the kernel)
    if dim is None:
        input, dim = input.reshape(-1), 0
    else:
        dim = wrap_dim(dim, input.ndim)
        if input.ndim == 0:
            input = input.reshape(1)
    n = input.shape[dim]
    if isinstance(repeats, tuple):
        if len(repeats) == 1:
            repeats = repeats[0]
        elif len(repeats) != n:
            raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {len(repeats)} and input.size({dim}) = {n}")
    counts = np.broadcast_to(np.asarray(repeats, dtype=np.int64), (n,))
    if (counts < 0).any():
        raise RuntimeError("repeats can not be negative")
    total = int(counts.sum())
    if output_size is not None and output_size != total:
        raise RuntimeError("allocated size does not match required size")
    index = np.repeat(np.arange(n), counts)
    return jnp.take(input, index, axis=dim)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Mirrors `torch.repeat_interleave`."""
    if repeats is None:     # repeat_interleave(repeats): indices repeated by their counts
        counts = _repeat_counts(input)
        values = Tensor._wrap(jnp.arange(len(counts), dtype=input._value.dtype))
        return OPS["torch._repeat_interleave_op"](values, counts, 0, _opt(output_size))
    if isinstance(repeats, Tensor):
        repeats = _repeat_counts(repeats)
    else:
        repeats = as_int(repeats)
        if repeats < 0:
            raise RuntimeError("Repeats must be non-negative")
    return OPS["torch._repeat_interleave_op"](input, repeats, dim, _opt(output_size))


def _opt(v):
    return None if v is None else as_int(v)


def _repeat_counts(t):
    if t.ndim > 1:
        raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
    if t.dtype.is_floating_point or t.dtype.is_complex or t.dtype._name == "bool":
        raise RuntimeError("repeats has to be Long or Int tensor")
    return tuple(int(v) for v in np.asarray(t._value).reshape(-1))


publish(repeat_interleave, "repeat_interleave", op=OPS["torch._repeat_interleave_op"])
Tensor.repeat_interleave = repeat_interleave


# -- padding -----------------------------------------------------------------------------------

@register(method=False, function=False, scalars=("input", "value"))
def _constant_pad_nd_op(input, pad, value=0):
    if len(pad) % 2:
        raise RuntimeError(f"Length of pad must be even but instead it equals {len(pad)}")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(f"Length of pad should be no more than twice the number of dimensions "
                           f"of the input. Pad length is {len(pad)}while the input has "
                           f"{input.ndim}dimensions.")
    config = [(0, 0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        d = input.ndim - 1 - i
        lo, hi = pad[2 * i], pad[2 * i + 1]
        if input.shape[d] + lo + hi < 0:
            raise RuntimeError(f"The input size {input.shape[d]}, plus negative padding {lo} and "
                               f"{hi} resulted in a negative output size, which is invalid. "
                               f"Check dimension {d} of your input.")
        config[d] = (lo, hi, 0)
    fill = jnp.asarray(value).astype(input.dtype)
    return jax.lax.pad(input, fill, config)


def constant_pad_nd(input, pad, value=0):
    """Mirrors `torch.constant_pad_nd`."""
    return OPS["torch._constant_pad_nd_op"](input, as_ints(pad), value)


publish(constant_pad_nd, "constant_pad_nd", op=OPS["torch._constant_pad_nd_op"])


# -- triangles and diagonals -------------------------------------------------------------------

def _triangle(x, diagonal, lower, name):
    if x.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    rows = jnp.arange(x.shape[-2])[:, None]
    cols = jnp.arange(x.shape[-1])[None, :]
    keep = cols - rows <= diagonal if lower else cols - rows >= diagonal
    return jnp.where(keep, x, jnp.zeros((), x.dtype))


@register(inplace=True, out=True)
def tril(input, diagonal=0):
    """Mirrors `torch.tril`."""
    return _triangle(input, diagonal, True, "tril")


@register(inplace=True, out=True)
def triu(input, diagonal=0):
    """Mirrors `torch.triu`."""
    return _triangle(input, diagonal, False, "triu")


def _embed(x, offset, dim1, dim2):
    """x's last dim placed on a diagonal of two new dims (dim1, dim2) of the output."""
    ndim = x.ndim + 1
    d1, d2 = wrap_dim(dim1, ndim), wrap_dim(dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = x.shape[-1] + abs(offset)
    out = jnp.zeros(x.shape[:-1] + (n, n), x.dtype)
    rows, cols = diagonal_positions(n, n, offset)
    out = out.at[..., rows, cols].set(x)
    return jnp.moveaxis(out, (-2, -1), (d1, d2)) if (d1, d2) != (ndim - 2, ndim - 1) else out


@register(out=True)
def diag(input, diagonal=0):
    """Mirrors `torch.diag`."""
    if input.ndim == 1:
        return _embed(input, diagonal, 0, 1)
    if input.ndim == 2:
        return _diagonal(input, diagonal, 0, 1)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


@register()
def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Mirrors `torch.diag_embed`."""
    return _embed(input, offset, dim1, dim2)


@register()
def diagflat(input, offset=0):
    """Mirrors `torch.diagflat`."""
    return _embed(input.reshape(-1), offset, 0, 1)
