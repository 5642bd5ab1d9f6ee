"""Shape ops that join tensors (cat, stack, meshgrid, block_diag ...) or split one (split,
chunk, tensor_split, unbind ...). Splits return tuples of tensors, as torch does."""
from __future__ import annotations

import itertools

import numpy as np
import jax.numpy as jnp

from .registry import register, OPS
from ._util import wrap_dim, torch_dtype, result_type
from .._tensor import Tensor, Size
from .. import _dtype
from .shape import as_int, as_ints, publish, method


def _promoted(arrays):
    """The arrays cast to their common torch dtype (all dims count, as cat's inputs are)."""
    d = _dtype.result_type_of([torch_dtype(a) for a in arrays], [], [])
    return [a.astype(d._np) for a in arrays]


def _tensor_list(tensors, name, nonempty=False):
    if isinstance(tensors, (tuple, list)):
        if nonempty and not tensors:
            raise RuntimeError(f"{name} expects a non-empty TensorList")
        for i, a in enumerate(tensors):
            if not hasattr(a, "ndim"):   # None or a Python number
                raise TypeError(f"{name}(): expected Tensor as element {i} in argument 0, but "
                                f"got {type(a).__name__}")
        return tuple(tensors)
    raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                    f"{type(tensors).__name__}")


# -- cat and stack -----------------------------------------------------------------------------

def _cat(tensors, dim, name="torch.cat"):
    tensors = _tensor_list(tensors, name)
    if not tensors:
        raise ValueError(f"{name}(): expected a non-empty list of Tensors")
    for i, a in enumerate(tensors):
        if a.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated")
    promoted = _promoted(tensors)
    # torch still skips legacy empty tensors of shape (0,) whatever the others' rank
    kept = [(i, a) for i, a in enumerate(promoted) if not (a.ndim == 1 and a.shape[0] == 0)]
    if not kept:
        return promoted[0]
    first_i, first = kept[0]
    d = wrap_dim(dim, first.ndim)
    for i, a in kept[1:]:
        if a.ndim != first.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {first.ndim} "
                               f"and {a.ndim}")
        for k in range(a.ndim):
            if k != d and a.shape[k] != first.shape[k]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. "
                                   f"Expected size {first.shape[k]} but got size {a.shape[k]} "
                                   f"for tensor number {i} in the list.")
    return jnp.concatenate([a for _, a in kept], axis=d)


@register(method=False, out=True, aliases=("concat",))
def cat(tensors, dim=0):
    """Mirrors `torch.cat`."""
    return _cat(tensors, dim)


@register(method=False, out=True)
def concatenate(tensors, axis=0):
    """Mirrors `torch.concatenate`."""
    return _cat(tensors, axis, "torch.concatenate")


def _stack(tensors, dim):
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, a in enumerate(tensors[1:], 1):
        if a.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(tensors[0].shape)} at entry 0 and {list(a.shape)} at "
                               f"entry {i}")
    d = wrap_dim(dim, tensors[0].ndim + 1)
    return jnp.stack(_promoted(tensors), axis=d)


@register(method=False, out=True)
def stack(tensors, dim=0):
    """Mirrors `torch.stack`."""
    return _stack(tensors, dim)


def _at_least(x, n):
    if x.ndim >= n:
        return x
    if n == 3 and x.ndim == 2:
        return x[:, :, None]
    if n == 3 and x.ndim == 1:
        return x[None, :, None]
    return x.reshape((1,) * (n - x.ndim) + x.shape)


@register(method=False, out=True)
def hstack(tensors):
    """Mirrors `torch.hstack`."""
    tensors = [_at_least(a, 1) for a in _tensor_list(tensors, "hstack", nonempty=True)]
    return _cat(tensors, 0 if tensors and tensors[0].ndim == 1 else 1)


@register(method=False, out=True, aliases=("row_stack",))
def vstack(tensors):
    """Mirrors `torch.vstack`."""
    return _cat([_at_least(a, 2) for a in _tensor_list(tensors, "vstack", nonempty=True)], 0)


@register(method=False, out=True)
def dstack(tensors):
    """Mirrors `torch.dstack`."""
    return _cat([_at_least(a, 3) for a in _tensor_list(tensors, "dstack", nonempty=True)], 2)


@register(method=False, out=True)
def column_stack(tensors):
    """Mirrors `torch.column_stack`."""
    tensors = _tensor_list(tensors, "column_stack", nonempty=True)
    return _cat([a.reshape(-1, 1) if a.ndim <= 1 else a for a in tensors], 1)


def _atleast(n):
    def fn(*tensors):
        many = len(tensors) != 1 or isinstance(tensors[0], (tuple, list))
        if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
            tensors = tuple(tensors[0])
        out = tuple(_at_least(a, n) for a in tensors)
        return out if many else out[0]
    fn.__name__ = f"atleast_{n}d"
    fn.__doc__ = f"Mirrors `torch.atleast_{n}d`."
    return fn


for _n in (1, 2, 3):
    # on tensors, not in a kernel: the results are views of the inputs, as in torch
    publish(_atleast(_n), f"atleast_{_n}d")


# -- splits ------------------------------------------------------------------------------------

# -- the pieces of a dim of size n (host side; the kernels and the view geometry share them) --

def split_pieces(n: int, split_size: int) -> list:
    """Sizes of split(split_size) along a dim of size n."""
    count = max((n + split_size - 1) // split_size, 1) if split_size else 1
    return [split_size] * (count - 1) + [n - split_size * (count - 1)]


def chunk_pieces(n: int, chunks: int) -> list:
    """Sizes of chunk(chunks) along a dim of size n."""
    size = (n + chunks - 1) // chunks
    # torch keeps `chunks` empty pieces when the dimension is empty
    return [0] * chunks if size == 0 and n == 0 else split_pieces(n, size)


def section_pieces(n: int, sections: int) -> list:
    """Sizes of tensor_split(sections) along a dim of size n."""
    small, extra = divmod(n, sections)
    return [small + 1] * extra + [small] * (sections - extra)


def index_pieces(n: int, indices) -> list:
    """(start, stop) of each piece of tensor_split(indices) along a dim of size n."""
    bounds = [0] + [min(max(i if i >= 0 else i + n, 0), n) for i in indices] + [n]
    return [(a, max(a, b)) for a, b in zip(bounds[:-1], bounds[1:])]


def _split_sizes(x, sizes, dim):
    dim = wrap_dim(dim, x.ndim)
    n = x.shape[dim]
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative entries, "
                           f"but got split_sizes={list(sizes)}")
    if sum(sizes) != n:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input "
                           f"tensor's size at dimension {dim}), but got split_sizes={list(sizes)}")
    bounds = np.cumsum((0,) + tuple(sizes))
    return tuple(x[(slice(None),) * dim + (slice(int(a), int(b)),)]
                 for a, b in zip(bounds[:-1], bounds[1:]))


def _split_size(x, split_size, dim):
    if x.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    dim = wrap_dim(dim, x.ndim)
    n = x.shape[dim]
    if split_size < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got "
                           f"split_size={split_size}")
    if split_size == 0 and n != 0:
        raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension "
                           f"size of {n}")
    return _split_sizes(x, split_pieces(n, split_size), dim)


def _split(x, split_size_or_sections, dim):
    if isinstance(split_size_or_sections, (tuple, list)):
        return _split_sizes(x, split_size_or_sections, dim)
    return _split_size(x, split_size_or_sections, dim)


@register(method=False, function=False)
def _split_op(tensor, split_size_or_sections, dim=0):
    return _split(tensor, split_size_or_sections, dim)


@register(method=False, function=False)
def _unsafe_split_op(input, split_size, dim=0):
    return _split_size(input, split_size, dim)


@register(method=False, function=False, out=True)
def _split_with_sizes_op(input, split_sizes, dim=0):
    return _split_sizes(input, split_sizes, dim)


def _sizes(v):
    return as_ints(v) if isinstance(v, (tuple, list)) else as_int(v)


def split(tensor, split_size_or_sections, dim=0):
    """Mirrors `torch.split`."""
    return OPS["torch._split_op"](tensor, _sizes(split_size_or_sections), dim)


def unsafe_split(input, split_size, dim=0):
    """Mirrors `torch.unsafe_split`."""
    return OPS["torch._unsafe_split_op"](input, as_int(split_size), dim)


def split_with_sizes(input, split_sizes, dim=0):
    """Mirrors `torch.split_with_sizes`."""
    return OPS["torch._split_with_sizes_op"](input, as_ints(split_sizes), dim)


def split_with_sizes_copy(input, split_sizes, dim=0, *, out=None):
    """Mirrors `torch.split_with_sizes_copy`."""
    pieces = tuple(OPS["torch.clone"](p) for p in
                   _split_with_sizes_op(input, as_ints(split_sizes), dim))
    if out is None:
        return pieces
    from .registry import write_out
    return write_out(out, pieces, "split_with_sizes_copy")


for _fn, _key in ((split, "_split_op"), (unsafe_split, "_unsafe_split_op"),
                 (split_with_sizes, "_split_with_sizes_op"),
                 (split_with_sizes_copy, "_split_with_sizes_op")):
    publish(_fn, _fn.__name__, op=OPS["torch." + _key])
for _fn in (unsafe_split, split_with_sizes):
    setattr(Tensor, _fn.__name__, _fn)


@method("split")
def _tensor_split(self, split_size, dim=0):
    return split(self, split_size, dim)


def _chunk(x, chunks, dim):
    if x.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    return _split_sizes(x, chunk_pieces(x.shape[wrap_dim(dim, x.ndim)], chunks), dim)


@register()
def chunk(input, chunks, dim=0):
    """Mirrors `torch.chunk`."""
    return _chunk(input, chunks, dim)


@register()
def unsafe_chunk(input, chunks, dim=0):
    """Mirrors `torch.unsafe_chunk`."""
    return _chunk(input, chunks, dim)


def _split_at(x, indices, dim):
    dim = wrap_dim(dim, x.ndim)
    return tuple(x[(slice(None),) * dim + (slice(a, b),)]
                 for a, b in index_pieces(x.shape[dim], indices))


def _tensor_split(x, indices_or_sections, dim):
    if x.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    if isinstance(indices_or_sections, tuple):
        return _split_at(x, indices_or_sections, dim)
    sections = indices_or_sections
    if sections <= 0:
        raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
    return _split_sizes(x, section_pieces(x.shape[wrap_dim(dim, x.ndim)], sections), dim)


@register(method=False, function=False)
def _tensor_split_op(input, indices_or_sections, dim=0):
    return _tensor_split(input, indices_or_sections, dim)


def tensor_split(input, indices_or_sections=None, dim=0, *, sections=None, indices=None,
                 tensor_indices_or_sections=None):
    """Mirrors `torch.tensor_split` (its overloads' keyword names included)."""
    spec = _one_of(indices_or_sections, sections, indices, tensor_indices_or_sections)
    if isinstance(spec, Tensor):
        if spec.dtype is not _dtype.int64:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to have dtype "
                               f"of long, but got {_dtype_name(spec.dtype)}")
        if spec.ndim > 1:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a "
                               f"zero-dimensional or one-dimensional tensor, but got a tensor "
                               f"with {spec.ndim} dims")
        spec = spec.item() if spec.ndim == 0 else tuple(spec.tolist())
    else:
        spec = _sizes(spec)
    return OPS["torch._tensor_split_op"](input, spec, dim)


def _one_of(*values):
    given = [v for v in values if v is not None]
    if len(given) != 1:
        raise TypeError("tensor_split() expects one of indices_or_sections, sections, indices")
    return given[0]


def _dtype_name(d):
    from .registry import _type_name
    return _type_name(d)


def _directional(name, dim_of, min_dim):
    def fn(input, indices_or_sections=None, *, sections=None, indices=None):
        indices_or_sections = _one_of(indices_or_sections, sections, indices)
        if input.ndim < min_dim:
            raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dim} "
                               f"dimension, but got a tensor with {input.ndim} dimensions!")
        dim = dim_of(input.ndim)
        spec = indices_or_sections
        if not isinstance(spec, (tuple, list)):
            spec = as_int(spec)
            n = input.shape[dim]
            if spec == 0 or n % spec:
                raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but "
                                   f"the size of the dimension {n} is not divisible by the "
                                   f"split_size {spec}!")
        return tensor_split(input, spec, dim)
    fn.__doc__ = f"Mirrors `torch.{name}`."
    publish(fn, name, op=OPS["torch._tensor_split_op"])
    setattr(Tensor, name, fn)


_directional("hsplit", lambda n: 1 if n > 1 else 0, 1)
_directional("vsplit", lambda n: 0, 2)
_directional("dsplit", lambda n: 2, 3)
publish(tensor_split, "tensor_split", op=OPS["torch._tensor_split_op"])
Tensor.tensor_split = tensor_split


def _unbind(x, dim):
    if x.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    dim = wrap_dim(dim, x.ndim)
    return tuple(jnp.moveaxis(x, dim, 0)) if x.shape[dim] else ()


@register()
def unbind(input, dim=0):
    """Mirrors `torch.unbind`."""
    return _unbind(input, dim)


@register(method=False, out=True)
def unbind_copy(input, dim=0):
    """Mirrors `torch.unbind_copy`."""
    return _unbind(input, dim)


# -- grids and products ------------------------------------------------------------------------

def _varargs(tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        return tuple(tensors[0])
    return tensors


def meshgrid(*tensors, indexing=None):
    """Mirrors `torch.meshgrid` ('ij' indexing by default, without torch's warning): the
    outputs are expanded views of the inputs."""
    tensors = _varargs(tensors)
    _check_meshgrid(tensors, indexing)
    sizes = [a.numel() for a in tensors]
    order = list(range(len(tensors)))
    if (indexing or "ij") == "xy" and len(tensors) > 1:
        order[0], order[1] = 1, 0       # x varies along columns, y along rows
    full = tuple(sizes[k] for k in order)
    return tuple(a.reshape(tuple(-1 if order[d] == k else 1 for d in range(len(full))))
                 .expand(full) for k, a in enumerate(tensors))


publish(meshgrid, "meshgrid")


def _check_meshgrid(tensors, indexing):
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for a in tensors:
        if a.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got a tensor of shape {list(a.shape)}")
        if a.dtype != tensors[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    if (indexing or "ij") not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                           f"received: {indexing}")


def _meshgrid(tensors, indexing):
    """meshgrid of jax arrays (for kernels such as cartesian_prod)."""
    return tuple(jnp.meshgrid(*[a.reshape(-1) for a in tensors], indexing=indexing))


def broadcast_tensors(*tensors):
    """Mirrors `torch.broadcast_tensors`: the outputs are expanded views of the inputs."""
    tensors = _varargs(tensors)
    shape = _broadcast([a.shape for a in tensors], tensor_error=True)
    return tuple(a.expand(shape) for a in tensors)


publish(broadcast_tensors, "broadcast_tensors")


def _broadcast(shapes, tensor_error=False):
    out: list = []
    for k, shape in enumerate(shapes):
        shape = tuple(shape)
        if len(shape) > len(out):
            out = [1] * (len(shape) - len(out)) + out
        for i in range(1, len(shape) + 1):
            a, b = out[-i], shape[-i]
            if a == b or b == 1:
                continue
            if a == 1:
                out[-i] = b
                continue
            if tensor_error:
                raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b "
                                   f"({b}) at non-singleton dimension {len(out) - i}")
            raise RuntimeError(f"Attempting to broadcast a dimension of length {b} at {-i}! "
                               f"Mismatching argument at index {k} had {shape}; but expected "
                               f"shape should be broadcastable to {out}")
    return tuple(out)


def broadcast_shapes(*shapes):
    """Mirrors `torch.broadcast_shapes`."""
    shapes = [(as_int(s),) if not isinstance(s, (tuple, list)) else as_ints(s) for s in shapes]
    for s in shapes:
        for v in s:
            if v < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {v}: {s}")
    return Size(_broadcast(shapes))


publish(broadcast_shapes, "broadcast_shapes")


@register(method=False)
def block_diag(*tensors):
    """Mirrors `torch.block_diag`."""
    for i, a in enumerate(tensors):
        if a.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input {i} has {a.ndim} dimensions")
    if not tensors:
        return jnp.zeros((1, 0), _dtype.get_default_dtype()._np)
    # torch promotes as for an operator's operands: 0-dim blocks do not widen the others
    d = result_type(*tensors)
    blocks = [(a.reshape(1, -1) if a.ndim < 2 else a).astype(d._np) for a in tensors]
    rows = sum(b.shape[0] for b in blocks)
    cols = sum(b.shape[1] for b in blocks)
    out = jnp.zeros((rows, cols), blocks[0].dtype)
    r = c = 0
    for b in blocks:
        out = out.at[r:r + b.shape[0], c:c + b.shape[1]].set(b)
        r, c = r + b.shape[0], c + b.shape[1]
    return out


@register(method=False)
def cartesian_prod(*tensors):
    """Mirrors `torch.cartesian_prod`."""
    for a in tensors:
        if a.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(a.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    _check_meshgrid(tensors, "ij")
    grids = _meshgrid(tensors, "ij")
    return jnp.stack([g.reshape(-1) for g in grids], axis=1)


@register()
def combinations(input, r=2, with_replacement=False):
    """Mirrors `torch.combinations`."""
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return jnp.zeros((0,), input.dtype)
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    index = np.array(list(pick(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return input[index]
