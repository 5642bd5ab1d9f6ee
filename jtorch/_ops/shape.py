"""Shape ops: views and reshapes (view, reshape, permute, transpose, squeeze, expand ...).

Views do not alias their base yet (the aliasing layer does that): they return new arrays
with torch's values and shapes. Joining and splitting ops are in shape_join.py; select,
narrow, slice, unfold, diagonal and their scatters in shape_select.py; flips, repeats,
padding and triangles in shape_reorder.py.
"""
from __future__ import annotations

import operator

import numpy as np
import jax
import jax.numpy as jnp

from .registry import register, publish, method, OPS, _type_name, _rebase
from ._util import wrap_dim, wrap_dims, torch_dtype
from .._tensor import Tensor, _TYPE_NAMES, cast_value
from .. import _alias, _dtype
from .._grad_state import STATE as _GRAD
from ..autograd.grad_mode import no_grad as _no_grad


# -- helpers shared by the shape families -------------------------------------------------

def as_int(value) -> int:
    """A size or index given as int, numpy int or one-element jtorch Tensor."""
    return value if type(value) is int else operator.index(value)


def as_ints(values) -> tuple:
    """A shape given as a sequence (possibly holding one-element tensors) as a tuple of ints."""
    return tuple(v if type(v) is int else operator.index(v) for v in values)


def size_args(args, keyword=None) -> tuple:
    """Varargs sizes: `f(2, 3)`, `f((2, 3))`, `f([2, 3])`, `f(torch.Size(...))`, or the
    sequence given by keyword (`keyword`, None when absent)."""
    if keyword is not None:
        if args:
            raise TypeError("sizes given both positionally and by keyword")
        args = (keyword,)
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return as_ints(args[0])
    return as_ints(args)


def infer_size(shape: tuple, numel: int) -> tuple:
    """`shape` with its -1 resolved for `numel` elements; torch's errors otherwise."""
    infer = None
    known = 1
    for i, s in enumerate(shape):
        if s == -1:
            if infer is not None:
                raise RuntimeError("only one dimension can be inferred")
            infer = i
        elif s < 0:
            raise RuntimeError(f"invalid shape dimension {s} at index {i} of shape {list(shape)}")
        else:
            known *= s
    if infer is not None:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = shape[:infer] + (numel // known,) + shape[infer + 1:]
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


# -- view / reshape ----------------------------------------------------------------------------

@register(method=False, function=False)
def _reshape(input, shape):
    return jnp.reshape(input, infer_size(tuple(shape), input.size))


@register(method=False, function=False)
def _view_dtype(input, dtype, source):
    """`input` (of dtype `source`, which the view's geometry needs) viewed as `dtype`."""
    return _bitcast(input, dtype)


def _bitcast(x, dtype):
    src = torch_dtype(x)
    if dtype is src:
        return x
    a, b = src.itemsize, dtype.itemsize
    name = f"view {_type_name(src)} as {_type_name(dtype)}"
    if a != b and x.ndim == 0:
        raise RuntimeError(f"self.dim() cannot be 0 to {name} (different element sizes)")
    if b > a and x.shape[-1] % (b // a):
        raise RuntimeError(f"self.size(-1) must be divisible by {b // a} to {name} (different "
                           f"element sizes), but got {x.shape[-1]}")
    # jax bitcasts neither bool nor complex: go through uint8 bytes and (real, imag) pairs
    if x.dtype == np.bool_:
        x = x.astype(np.uint8)
    elif src.is_complex:
        x = jnp.stack([x.real, x.imag], -1)
        x = x.reshape(*x.shape[:-2], x.shape[-2] * 2)
        a //= 2
    target = np.uint8 if dtype is _dtype.bool_ else dtype._np
    if dtype.is_complex:
        target = np.float32 if dtype is _dtype.complex64 else np.float64
        b //= 2
    if b > a:
        x = x.reshape(*x.shape[:-1], x.shape[-1] // (b // a), b // a)
        out = jax.lax.bitcast_convert_type(x, target)
    else:
        out = jax.lax.bitcast_convert_type(x, target)
        if b < a:
            out = out.reshape(*x.shape[:-1], x.shape[-1] * (a // b))
    if dtype.is_complex:
        out = out.reshape(*out.shape[:-1], out.shape[-1] // 2, 2)
        return jax.lax.complex(out[..., 0], out[..., 1])
    return out.astype(np.bool_) if dtype is _dtype.bool_ else out


def reshape(input, shape):
    """Mirrors `torch.reshape`: a view where torch's `view` would succeed, else a copy."""
    return _RESHAPE(input, as_ints(shape))


def view_copy(input, size):
    """Mirrors `torch.view_copy`, including the dtype overload."""
    if isinstance(size, _dtype.dtype):
        return OPS["torch.clone"](_VIEW_DTYPE(input, size, input.dtype))
    return OPS["torch.clone"](_RESHAPE(input, as_ints(size)))


_RESHAPE = OPS["torch._reshape"]
_VIEW_DTYPE = OPS["torch._view_dtype"]
publish(reshape, "reshape", op=_RESHAPE)
publish(view_copy, "view_copy", op=_RESHAPE)


@method("view")
def _tensor_view(self, *shape, size=None, dtype=None):
    if dtype is not None or (len(shape) == 1 and isinstance(shape[0], _dtype.dtype)):
        return _VIEW_DTYPE(self, dtype if dtype is not None else shape[0], self.dtype)
    return _RESHAPE(self, size_args(shape, size))


@method("reshape")
def _tensor_reshape(self, *args, shape=None):
    return _RESHAPE(self, size_args(args, shape))


@method("view_as")
def _tensor_view_as(self, other):
    return _RESHAPE(self, tuple(other.shape))


Tensor.reshape_as = _tensor_view_as


@register()
def flatten(input, start_dim=0, end_dim=-1):
    """Mirrors `torch.flatten`."""
    start, end = wrap_dim(start_dim, input.ndim), wrap_dim(end_dim, input.ndim)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if input.ndim == 0:
        return input.reshape(1)
    shape = input.shape
    return input.reshape(shape[:start] + (int(np.prod(shape[start:end + 1])),) + shape[end + 1:])


@register()
def ravel(input):
    """Mirrors `torch.ravel`."""
    return input.reshape(-1)


@register(method=False, function=False)
def _unflatten(input, dim, sizes):
    if input.ndim == 0:
        raise RuntimeError("unflatten: Dimension specified as 0 but tensor has no dimensions")
    dim = wrap_dim(dim, input.ndim)
    if len(sizes) == 0:
        raise RuntimeError("unflatten: sizes must be non-empty")
    n = input.shape[dim]
    try:
        sizes = infer_size(tuple(sizes), n)
    except RuntimeError:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {dim} ({n}) in the input tensor") from None
    return input.reshape(input.shape[:dim] + sizes + input.shape[dim + 1:])


def unflatten(input, dim, sizes):
    """Mirrors `torch.unflatten`."""
    return _UNFLATTEN(input, dim, as_ints(sizes))


_UNFLATTEN = OPS["torch._unflatten"]
publish(unflatten, "unflatten", op=_UNFLATTEN)
Tensor.unflatten = unflatten


# -- permutations ------------------------------------------------------------------------------

def _permutation(dims, ndim):
    if len(dims) != ndim:
        raise RuntimeError("permute(sparse_coo): number of dimensions in the tensor input does "
                           "not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {ndim} is not equal to len(dims) = {len(dims)}")
    out = tuple(wrap_dim(d, ndim) for d in dims)
    if len(set(out)) != len(out):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return out


@register(method=False)
def permute(input, dims):
    """Mirrors `torch.permute`."""
    return jnp.transpose(input, _permutation(tuple(dims), input.ndim))


@register(method=False, out=True)
def permute_copy(input, dims):
    """Mirrors `torch.permute_copy`."""
    return jnp.transpose(input, _permutation(tuple(dims), input.ndim))


@method("permute")
def _tensor_permute(self, *args, dims=None):
    return permute(self, size_args(args, dims))


def _swap(x, dim0, dim1):
    d0, d1 = wrap_dim(dim0, x.ndim), wrap_dim(dim1, x.ndim)
    return jnp.swapaxes(x, d0, d1) if x.ndim else x


@register()
def transpose(input, dim0, dim1):
    """Mirrors `torch.transpose`."""
    return _swap(input, dim0, dim1)


@register()
def swapaxes(input, axis0, axis1):
    """Mirrors `torch.swapaxes`."""
    return _swap(input, axis0, axis1)


@register()
def swapdims(input, dim0, dim1):
    """Mirrors `torch.swapdims`."""
    return _swap(input, dim0, dim1)


@register(method=False, out=True)
def transpose_copy(input, dim0, dim1):
    """Mirrors `torch.transpose_copy`."""
    return _swap(input, dim0, dim1)


def _t(x):
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return x.T


@register()
def t(input):
    """Mirrors `torch.t`."""
    return _t(input)


@register(method=False, out=True)
def t_copy(input):
    """Mirrors `torch.t_copy`."""
    return _t(input)


@register(aliases=("moveaxis",))
def movedim(input, source, destination):
    """Mirrors `torch.movedim`."""
    src = source if isinstance(source, (tuple, list)) else (source,)
    dst = destination if isinstance(destination, (tuple, list)) else (destination,)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} "
                           f"dims) should contain the same number of dims as destination "
                           f"({list(dst)} dims)")
    n = input.ndim
    src, dst = wrap_dims(tuple(src), n), wrap_dims(tuple(dst), n)
    if input.ndim == 0:
        return input
    return jnp.moveaxis(input, src, dst)


# -- squeeze / unsqueeze -----------------------------------------------------------------------

def _squeeze(x, dim):
    if dim is None:
        dims = tuple(i for i, s in enumerate(x.shape) if s == 1)
    else:
        dims = wrap_dims(dim, x.ndim)
        dims = tuple(d for d in dims if x.ndim and x.shape[d] == 1)
    return jnp.squeeze(x, dims) if dims else x


@register()
def squeeze(input, dim=None):
    """Mirrors `torch.squeeze`."""
    return _squeeze(input, dim)


@register(method=False, out=True)
def squeeze_copy(input, dim=None):
    """Mirrors `torch.squeeze_copy`."""
    return _squeeze(input, dim)


def _unsqueeze(x, dim):
    return jnp.expand_dims(x, wrap_dim(dim, x.ndim + 1))


@register()
def unsqueeze(input, dim):
    """Mirrors `torch.unsqueeze`."""
    return _unsqueeze(input, dim)


@register(method=False, out=True)
def unsqueeze_copy(input, dim):
    """Mirrors `torch.unsqueeze_copy`."""
    return _unsqueeze(input, dim)


# -- expand / broadcast ------------------------------------------------------------------------

def expanded_shape(shape: tuple, size: tuple, dtype=_dtype.float32) -> tuple:
    """The shape `expand(size)` gives a tensor of `shape` and `dtype`, or torch's error."""
    if len(size) < len(shape):
        raise RuntimeError(f"expand({_TYPE_NAMES[dtype]}{{{list(shape)}}}, size={list(size)}): the "
                           f"number of sizes provided ({len(size)}) must be greater or equal to "
                           f"the number of dimensions in the tensor ({len(shape)})")
    lead = len(size) - len(shape)
    out = []
    for i, s in enumerate(size):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a "
                                   f"leading, non-existing dimension {i}")
            out.append(s)
            continue
        have = shape[i - lead]
        if s == -1:
            s = have
        elif have != s and have != 1:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing "
                               f"size ({have}) at non-singleton dimension {i}.  Target sizes: "
                               f"{list(size)}.  Tensor sizes: {list(shape)}")
        elif s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(size)}")
        out.append(s)
    return tuple(out)


@register(method=False, function=False)
def _expand(input, size):
    return jnp.broadcast_to(input, expanded_shape(input.shape, tuple(size), torch_dtype(input)))


@register(method=False, function=False, out=True)
def _expand_copy(input, size, *, implicit=False):
    return jnp.broadcast_to(input, expanded_shape(input.shape, tuple(size), torch_dtype(input)))


_EXPAND = OPS["torch._expand"]


def broadcast_to(input, size):
    """Mirrors `torch.broadcast_to`."""
    return _EXPAND(input, as_ints(size))


def expand_copy(input, size, *, implicit=False, out=None):
    """Mirrors `torch.expand_copy`."""
    return _expand_copy(input, as_ints(size), implicit=implicit, out=out)


publish(broadcast_to, "broadcast_to", op=_EXPAND)
publish(expand_copy, "expand_copy", op=OPS["torch._expand_copy"])
Tensor.broadcast_to = broadcast_to


@method("expand")
def _tensor_expand(self, *sizes, size=None, implicit=False):
    return _EXPAND(self, size_args(sizes, size))


@method("expand_as")
def _tensor_expand_as(self, other):
    return _EXPAND(self, tuple(other.shape))


@register(method=False, function=False)
def _sum_to_size(input, size):
    shape = input.shape
    lead = input.ndim - len(size)
    if lead < 0 or any(s != 1 and s != shape[lead + i] for i, s in enumerate(size)):
        raise RuntimeError(f"size {{{list(size)}}} is not expandable to size "
                           f"{{{list(shape)}}}.")
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size)
                                      if s == 1 and shape[lead + i] != 1)
    if not axes and size:
        return input
    # a reduction sums as torch.sum does: integers and bools accumulate in int64
    d = torch_dtype(input)
    out = jnp.sum(input, axis=axes, keepdims=True,
                  dtype=_dtype.int64._np if d._category <= 1 else None)
    return out.reshape(size)


@method("sum_to_size")
def _tensor_sum_to_size(self, *args, size=None):
    return OPS["torch._sum_to_size"](self, size_args(args, size))


# -- copies and strided views ------------------------------------------------------------------

@register()
def clone(input, *, memory_format=None):
    """Mirrors `torch.clone`."""
    return jnp.array(input, copy=True)


@register("_to_copy", method=False, function=False, scalars=())
def _to_copy(input, dtype):
    """Tensor.to(dtype) as an op, so that autograd records the cast."""
    return cast_value(input, dtype)


@register("_to_device", method=False, function=False, scalars=(), jit=False)
def _to_device(input, device):
    """Tensor.to(device) as an op, so that autograd records the move."""
    return jax.device_put(input, device)


@register(method=False, out=True)
def alias_copy(input):
    """Mirrors `torch.alias_copy`."""
    return jnp.array(input, copy=True)


def _strided_index(size, stride, offset, numel):
    """Flat storage positions of an as_strided view (the input's contiguous storage)."""
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise RuntimeError("as_strided: Negative strides are not supported at the moment, got "
                           f"strides: {list(stride)}")
    index = np.full(size, offset, dtype=np.int64)
    for d, (n, st) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[d] = n
        index = index + (np.arange(n, dtype=np.int64) * st).reshape(shape)
    if index.size and index.max() >= numel:
        needed = int(index.max()) + 1
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
                           f"offset {offset}, and itemsize {{}} requiring a storage size of "
                           f"{needed} are out of bounds for storage of size {numel}")
    return index


def _as_strided(x, size, stride, storage_offset):
    index = _strided_index(tuple(size), tuple(stride), storage_offset or 0, x.size)
    return x.reshape(-1)[index]


@register(method=False, function=False)
def _as_strided_op(input, size, stride, storage_offset=None):
    return _as_strided(input, size, stride, storage_offset)


@register(method=False, function=False)
def _as_strided_scatter_op(input, src, size, stride, storage_offset=None):
    index = _strided_index(tuple(size), tuple(stride), storage_offset or 0, input.size)
    if tuple(src.shape) != tuple(size):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(size)}")
    flat = input.reshape(-1).at[index.reshape(-1)].set(src.reshape(-1).astype(input.dtype))
    return flat.reshape(input.shape)


def as_strided(input, size, stride, storage_offset=None):
    """Mirrors `torch.as_strided`: a view of the input's storage (its root's array)."""
    size, stride = as_ints(size), as_ints(stride)
    storage_offset = input.storage_offset() if storage_offset is None else as_int(storage_offset)
    info = input._view
    if info is None or not info.chain.steps:
        return OPS["torch._as_strided_op"](input, size, stride, storage_offset)
    root = input._root
    if root.dtype != input.dtype:
        raise NotImplementedError("jtorch: as_strided of a view with another dtype than its "
                                  "base (real, imag, view(dtype))")
    if not (input._requires_grad and not root._requires_grad and _GRAD.enabled):
        return OPS["torch._as_strided_op"](root, size, stride, storage_offset)
    # a view that requires grad over a base that does not (a leaf view): the gradient goes
    # to the view's own elements, so the result is computed through the view
    with _no_grad():
        out = OPS["torch._as_strided_op"](root, size, stride, storage_offset)
    through = OPS["torch._as_strided_through"](root, input, info.chain,
                                               _alias._extras_array(info), size, stride,
                                               storage_offset)
    out.grad_fn, out._output_nr, out._requires_grad = through.grad_fn, 0, True
    out._view.differentiable = True
    return out


def as_strided_copy(input, size, stride, storage_offset=None):
    """Mirrors `torch.as_strided_copy`."""
    return OPS["torch.clone"](as_strided(input, size, stride, storage_offset))


def as_strided_scatter(input, src, size, stride, storage_offset=None):
    """Mirrors `torch.as_strided_scatter` (overlapping positions take the last write)."""
    return OPS["torch._as_strided_scatter_op"](
        input, src, as_ints(size), as_ints(stride),
        None if storage_offset is None else as_int(storage_offset))


publish(as_strided, "as_strided", op=OPS["torch._as_strided_op"])
publish(as_strided_scatter, "as_strided_scatter", op=OPS["torch._as_strided_scatter_op"])
publish(as_strided_copy, "as_strided_copy", op=OPS["torch._as_strided_op"])
Tensor.as_strided = as_strided
Tensor.as_strided_scatter = as_strided_scatter



def _shape_inplace(name):
    """`Tensor.NAME_`: the op's result, whose shape differs, becomes this tensor's value."""
    def fn(self, *args, **kwargs):
        result = getattr(self, name)(*args, **kwargs)
        if self._requires_grad or result.grad_fn is not None:
            _rebase(self, result)
        _alias.take_layout(self, result)
        return self
    fn.__name__ = fn.__qualname__ = name + "_"
    setattr(Tensor, name + "_", fn)


for _name in ("squeeze", "unsqueeze", "transpose", "swapaxes", "swapdims", "t", "as_strided"):
    _shape_inplace(_name)

from . import shape_select, shape_join, shape_reorder  # noqa: E402,F401
