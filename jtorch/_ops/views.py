"""Which ops return views, torch's view geometry for each, and the Tensor metadata built on it
(stride, storage_offset, is_contiguous, contiguous, data_ptr, untyped_storage, _base).

Each view op gets `view_geometry(parent, *args, **kwargs)`: the (strides, storage offset) of
its output (a list of them for ops with several outputs) from the parent's (shape, strides,
offset) and the op's own arguments, or None where the op must copy (a reshape across
non-contiguous dims). Ops that reinterpret data (real/imag, view_as_real/complex, dtype views)
also get `view_inverse(parent, child)`, the parent's array with the child written into it;
the others are written back by a scatter (jtorch/_alias.py).
"""
from __future__ import annotations

import itertools

import numpy as np
import jax
import jax.numpy as jnp

from .. import _alias, _dtype
from .._tensor import Tensor
from ._util import torch_dtype, wrap_dim, wrap_dims
from .registry import OPS, register, method
from .getitem import _DYN, _INT, _expand as _expand_index
from .shape import infer_size, _bitcast, _tensor_view, size_args
from .shape_join import chunk_pieces, index_pieces, section_pieces, split_pieces


# -- geometry rules ------------------------------------------------------------------------------

def _permuted(parent, perm):
    _, strides, offset = parent
    return tuple(strides[p] for p in perm), offset


def _swap_perm(ndim, d0, d1):
    perm = list(range(ndim))
    if ndim:
        d0, d1 = wrap_dim(d0, ndim), wrap_dim(d1, ndim)
        perm[d0], perm[d1] = perm[d1], perm[d0]
    return perm


def _transpose(parent, dim0, dim1):
    return _permuted(parent, _swap_perm(len(parent[0]), dim0, dim1))


def _t(parent):
    n = len(parent[0])
    return _permuted(parent, _swap_perm(n, 0, 1) if n == 2 else list(range(n)))


def _permute(parent, dims):
    return _permuted(parent, [wrap_dim(d, len(parent[0])) for d in dims])


def _movedim(parent, source, destination):
    n = len(parent[0])
    if n == 0:
        return parent[1:]
    src = wrap_dims(tuple(source) if isinstance(source, (tuple, list)) else (source,), n)
    dst = wrap_dims(tuple(destination) if isinstance(destination, (tuple, list))
                    else (destination,), n)
    perm = [None] * n
    for a, b in zip(src, dst):
        perm[b] = a
    rest = iter(d for d in range(n) if d not in src)
    return _permuted(parent, [p if p is not None else next(rest) for p in perm])


def _reshape_to(parent, shape):
    strides = _alias.compute_stride(parent[0], parent[1], tuple(shape))
    return None if strides is None else (strides, parent[2])


def _reshape(parent, shape):
    numel = int(np.prod(parent[0], dtype=np.int64))
    return _reshape_to(parent, infer_size(tuple(shape), numel))


def _flatten(parent, start_dim=0, end_dim=-1):
    shape = parent[0]
    if not shape:
        return _reshape_to(parent, (1,))
    start, end = wrap_dim(start_dim, len(shape)), wrap_dim(end_dim, len(shape))
    return _reshape_to(parent, shape[:start] + (int(np.prod(shape[start:end + 1])),)
                       + shape[end + 1:])


def _ravel(parent):
    if not is_contiguous_geometry(parent):
        return None     # torch: ravel is contiguous().view(-1)
    return (1,), parent[2]


def _unflatten(parent, dim, sizes):
    shape = parent[0]
    dim = wrap_dim(dim, len(shape))
    return _reshape_to(parent, shape[:dim] + infer_size(tuple(sizes), shape[dim])
                       + shape[dim + 1:])


def _squeeze(parent, dim=None):
    shape, strides, offset = parent
    if dim is None:
        drop = {i for i, s in enumerate(shape) if s == 1}
    else:
        drop = {d for d in wrap_dims(dim, len(shape)) if shape and shape[d] == 1}
    return tuple(st for i, st in enumerate(strides) if i not in drop), offset


def _unsqueeze(parent, dim):
    shape, strides, offset = parent
    dim = wrap_dim(dim, len(shape) + 1)
    # torch: the new unit dim's stride keeps the dims after it in place
    new = 1 if dim >= len(shape) else shape[dim] * strides[dim]
    return strides[:dim] + (new,) + strides[dim:], offset


def _expand(parent, size):
    shape, strides, offset = parent
    lead = len(size) - len(shape)
    out = [0] * len(size)
    for i in range(len(size) - 1, -1, -1):
        k = i - lead
        have = shape[k] if k >= 0 else 1
        want = have if size[i] == -1 else size[i]
        if k >= 0 and have == want:
            out[i] = strides[k]
        elif k < 0 and want == 1:
            # a new leading unit dim: torch gives it the stride a contiguous layout would
            out[i] = 1 if i == len(size) - 1 else out[i + 1] * max(_size_at(size, shape, i + 1,
                                                                             lead), 1)
        else:
            out[i] = 0
    return tuple(out), offset


def _size_at(size, shape, i, lead):
    k = i - lead
    return shape[k] if size[i] == -1 and k >= 0 else size[i]


def _select(parent, dim, index):
    shape, strides, offset = parent
    dim = wrap_dim(dim, len(shape))
    index %= shape[dim]
    return strides[:dim] + strides[dim + 1:], offset + index * strides[dim]


def _narrow(parent, dim, start, length):
    shape, strides, offset = parent
    dim = wrap_dim(dim, len(shape))
    if start < 0:
        start += shape[dim]
    return strides, offset + start * strides[dim]


def _slice(parent, dim=0, start=None, end=None, step=1):
    shape, strides, offset = parent
    dim = wrap_dim(dim, len(shape))
    first = range(*slice(start, end, step).indices(shape[dim])).start
    out = list(strides)
    out[dim] *= step
    return tuple(out), offset + first * strides[dim]


def _getitem(parent, structure, *ints):
    shape, strides, offset = parent
    dims = [[n, st] for n, st in zip(shape, strides)]
    ints = iter(ints)
    k = 0
    for item in _expand_index(list(structure), len(shape)):
        if item is None:
            new = dims[k][0] * dims[k][1] if k < len(dims) else 1
            dims.insert(k, [1, new])
            k += 1
        elif item is _INT or type(item) is int:
            i = next(ints) if item is _INT else item
            n, st = dims.pop(k)
            offset += (i % n) * st
        elif item[1] == _DYN:     # ("s", _DYN, length, step), its start among the ints
            n, st = dims[k]
            offset += next(ints) * st
            dims[k] = [item[2], st * item[3]]
            k += 1
        else:   # ("s", start, stop, step)
            n, st = dims[k]
            r = range(*slice(*item[1:]).indices(n))
            offset += r.start * st
            dims[k] = [len(r), st * r.step]
            k += 1
    return tuple(st for _, st in dims), offset


def _unfold(parent, dimension, size, step):
    shape, strides, offset = parent
    if not shape:
        return (1,), offset
    dim = wrap_dim(dimension, len(shape))
    out = list(strides)
    out[dim] = strides[dim] * step
    return tuple(out) + (strides[dim],), offset


def _diagonal(parent, offset=0, dim1=0, dim2=1):
    shape, strides, base = parent
    d1, d2 = wrap_dim(dim1, len(shape)), wrap_dim(dim2, len(shape))
    length = max(0, min(shape[d1] + min(offset, 0), shape[d2] - max(offset, 0)))
    if length:
        base += offset * strides[d2] if offset >= 0 else -offset * strides[d1]
    rest = tuple(st for i, st in enumerate(strides) if i not in (d1, d2))
    return rest + (strides[d1] + strides[d2],), base


def _linalg_diagonal(parent, *, offset=0, dim1=-2, dim2=-1):
    return _diagonal(parent, offset, dim1, dim2)


def _pieces(parent, dim, starts):
    _, strides, offset = parent
    d = wrap_dim(dim, len(parent[0]))
    return [(strides, offset + a * strides[d]) for a in starts]


def _starts(sizes):
    return itertools.accumulate([0] + list(sizes[:-1]))


def _split_like(sizes_of):
    def rule(parent, spec, dim=0):
        n = parent[0][wrap_dim(dim, len(parent[0]))]
        return _pieces(parent, dim, _starts(sizes_of(n, spec)))
    return rule


def _split_sizes(n, spec):
    return list(spec) if isinstance(spec, tuple) else split_pieces(n, spec)


def _tensor_split(parent, spec, dim=0):
    n = parent[0][wrap_dim(dim, len(parent[0]))]
    starts = [a for a, _ in index_pieces(n, spec)] if isinstance(spec, tuple) else \
        _starts(section_pieces(n, spec))
    return _pieces(parent, dim, starts)


def _unbind(parent, dim=0):
    shape, strides, offset = parent
    d = wrap_dim(dim, len(shape))
    rest = strides[:d] + strides[d + 1:]
    return [(rest, offset + i * strides[d]) for i in range(shape[d])]


def _view_as_real(parent):
    _, strides, offset = parent
    return tuple(2 * s for s in strides) + (1,), 2 * offset


def _real(parent):
    _, strides, offset = parent
    return tuple(2 * s for s in strides), 2 * offset


def _imag(parent):
    _, strides, offset = parent
    return tuple(2 * s for s in strides), 2 * offset + 1


def _view_as_complex(parent):
    _, strides, offset = parent
    return tuple(s // 2 for s in strides[:-1]), offset // 2


def _view_dtype(parent, dtype, source):
    _, strides, offset = parent
    a, b = source.itemsize, dtype.itemsize
    if a == b:
        return strides, offset
    # torch: the last dim (stride 1) changes length, the other strides scale
    return tuple(s * a // b for s in strides[:-1]) + (1,), offset * a // b


def _dtype_back(parent, child):
    return _bitcast(child, torch_dtype(parent))


def _as_strided(parent, size, stride, storage_offset=None):
    return tuple(stride), parent[2] if storage_offset is None else storage_offset


# -- inverses: the parent with a child written into it -------------------------------------------

def _real_back(parent, child):
    if not jnp.iscomplexobj(parent):
        return child.astype(parent.dtype)
    return jax.lax.complex(child.astype(parent.real.dtype), jnp.imag(parent))


def _imag_back(parent, child):
    return jax.lax.complex(jnp.real(parent), child.astype(parent.real.dtype))


def _as_real_back(parent, child):
    return jax.lax.complex(child[..., 0], child[..., 1]).astype(parent.dtype)


def _as_complex_back(parent, child):
    return jnp.stack([jnp.real(child), jnp.imag(child)], -1).astype(parent.dtype)


_RESHAPES = {"torch._reshape": _reshape, "torch.flatten": _flatten, "torch.ravel": _ravel,
             "torch._unflatten": _unflatten, "torch.squeeze": _squeeze,
             "torch.unsqueeze": _unsqueeze}
_MOVES = {
    "torch.transpose": _transpose, "torch.swapaxes": _transpose, "torch.swapdims": _transpose,
    "torch.t": _t, "torch.permute": _permute, "torch.movedim": _movedim,
    "torch._expand": _expand, "torch._select": _select, "torch._narrow": _narrow,
    "torch._slice": _slice, "torch.__getitem__": _getitem, "torch.unfold": _unfold,
    "torch.diagonal": _diagonal, "torch.linalg.diagonal": _linalg_diagonal,
    "torch._split_op": _split_like(_split_sizes), "torch._unsafe_split_op": _split_like(
        _split_sizes), "torch._split_with_sizes_op": _split_like(_split_sizes),
    "torch.chunk": _split_like(chunk_pieces), "torch.unsafe_chunk": _split_like(chunk_pieces),
    "torch._tensor_split_op": _tensor_split, "torch.unbind": _unbind,
    "torch._as_strided_op": _as_strided,
}
_DATA_VIEWS = {"torch.real": (_real, _real_back), "torch.imag": (_imag, _imag_back),
               "torch.view_as_real": (_view_as_real, _as_real_back),
               "torch.view_as_complex": (_view_as_complex, _as_complex_back),
               "torch._view_dtype": (_view_dtype, _dtype_back)}

for _name, _rule in _RESHAPES.items():
    OPS[_name].view_geometry = _rule
    OPS[_name].view_reshape = True
for _name, _rule in _MOVES.items():
    OPS[_name].view_geometry = _rule
for _name, (_rule, _back) in _DATA_VIEWS.items():
    OPS[_name].view_geometry = _rule
    OPS[_name].view_inverse = _back
for _name in ("torch.cat", "torch.gather", "torch.index_select", "torch.masked_select",
              "torch.take", "torch.kthvalue", "torch.bernoulli"):
    if _name in OPS:
        OPS[_name].out_must_not_alias = True
OPS["torch._view_dtype"].view_is_alias_only = True
OPS["torch._expand"].view_may_overlap = True
OPS["torch._as_strided_op"].view_may_overlap = True
OPS["torch.unfold"].view_may_overlap = True


def is_contiguous_geometry(g) -> bool:
    shape, strides, _ = g
    expected = 1
    for n, st in zip(reversed(shape), reversed(strides)):
        if n == 1:
            continue
        if n == 0:
            return True
        if st != expected:
            return False
        expected *= n
    return True


# -- the read and write ops autograd records ----------------------------------------------------

@register("_read_view", method=False, function=False, scalars=())
def _read_view(root, chain, extras):
    """A view's array from its root's (torch's AsStridedBackward node)."""
    return _alias.apply_chain(chain, root, [extras[i] for i in range(extras.shape[0])])


@register("_write_view", method=False, function=False, scalars=())
def _write_view(root, value, chain, extras):
    """The root's array with `value` written through a view (torch's CopySlices node)."""
    return _alias._write_chain_fn(chain)(root, value,
                                         *[extras[i] for i in range(extras.shape[0])])


@register("_as_strided_through", method=False, function=False, scalars=())
def _as_strided_through(root, view, chain, extras, size, stride, storage_offset):
    """as_strided of a view's storage, differentiable with respect to the view's elements."""
    from .shape import _as_strided
    storage = _alias._write_chain_fn(chain)(root, view,
                                            *[extras[i] for i in range(extras.shape[0])])
    return _as_strided(storage, size, stride, storage_offset)


OPS["torch._as_strided_through"].grad_fn_name = "AsStridedBackward0"
OPS["torch._read_view"].grad_fn_name = "AsStridedBackward0"
OPS["torch._write_view"].grad_fn_name = "torch::autograd::CopySlices"


# -- Tensor metadata ------------------------------------------------------------------------------

@method("stride")
def stride(self, dim: int | None = None):
    strides = _alias.geometry(self)[1]
    if dim is None:
        return strides
    return strides[wrap_dim(dim, max(len(strides), 1))] if strides else 1


@method("storage_offset")
def storage_offset(self) -> int:
    return _alias.geometry(self)[2] if self._view is not None else 0


@method("is_contiguous")
def is_contiguous(self, memory_format=None) -> bool:
    return self._view is None or is_contiguous_geometry(_alias.geometry(self))


@method("contiguous")
def contiguous(self, memory_format=None) -> Tensor:
    return self if is_contiguous(self) else OPS["torch.clone"](self)


@method("data_ptr")
def data_ptr(self) -> int:
    return _alias.data_ptr(self)


@method("_is_view")
def _is_view(self) -> bool:
    return self._view is not None and self._view.is_view


def _base(self):
    return self._root if self._view is not None and self._view.is_view else None


def _version(self) -> int:
    return self._vc[0] if self._vc is not None else 0


Tensor._base = property(_base)
Tensor._version = property(_version)


@method("is_set_to")
def is_set_to(self, tensor) -> bool:
    return (self.untyped_storage().data_ptr() == tensor.untyped_storage().data_ptr()
            and _alias.geometry(self) == _alias.geometry(tensor))


class UntypedStorage:
    """Enough of `torch.UntypedStorage` to compare storages: `data_ptr`, `nbytes`, `size`."""

    def __init__(self, root: Tensor):
        self._root = root

    def data_ptr(self) -> int:
        return _alias.data_ptr(self._root)

    def nbytes(self) -> int:
        return int(self._root._value.nbytes)

    def size(self) -> int:
        return self.nbytes()

    __len__ = size

    @property
    def device(self):
        return self._root.device

    def __repr__(self):
        return f"<jtorch UntypedStorage of {self.nbytes()} bytes>"


@method("untyped_storage")
def untyped_storage(self) -> UntypedStorage:
    return UntypedStorage(self._root if self._view is not None else self)


# -- view() refuses what torch's view refuses ------------------------------------------------------

def _view(self, *shape, size=None, dtype=None):
    if self._view is not None and dtype is None and not (
            len(shape) == 1 and isinstance(shape[0], _dtype.dtype)):
        g = _alias.geometry(self)
        target = infer_size(size_args(shape, size), self._value.size)
        if _alias.compute_stride(g[0], g[1], target) is None:
            raise RuntimeError("view size is not compatible with input tensor's size and stride "
                               "(at least one dimension spans across two contiguous subspaces). "
                               "Use .reshape(...) instead.")
    return _tensor_view(self, *shape, size=size, dtype=dtype)


Tensor.view = _view
