"""In-place methods that are not the in-place form of an out-of-place op: copy_,
fill_diagonal_, set_, share_memory_, apply_, map_."""
from __future__ import annotations

import warnings

import numpy as np
import jax.numpy as jnp

from .. import _alias
from .._grad_state import STATE as _GRAD
from .._tensor import Tensor, cast_value
from .registry import OPS, register, write_inplace
from .shape_join import _broadcast


@register("_copy_from", method=False, function=False, scalars=())
def _copy_from(input, src):
    """`src` broadcast to `input`'s shape and cast to its dtype (copy_'s new value)."""
    shape = _broadcast([input.shape, src.shape], tensor_error=True)
    if shape != input.shape:
        raise RuntimeError(f"output with shape {list(input.shape)} doesn't match the broadcast "
                           f"shape {list(shape)}")
    return jnp.broadcast_to(cast_value(src, input.dtype), input.shape)


OPS["torch._copy_from"].grad_fn_name = "CopyBackwards"


def copy_(self, src, non_blocking: bool = False) -> Tensor:
    """Mirrors `Tensor.copy_` (any dtype to any dtype, broadcasting `src`)."""
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'other' (position 1) must be Tensor, not "
                        f"{type(src).__name__}")
    if src.dtype.is_complex and not self.dtype.is_complex:
        warnings.warn("Casting complex values to real discards the imaginary part",
                      UserWarning, stacklevel=2)
    if src.device != self.device:
        src = src.to(self.device)
    return write_inplace(self, OPS["torch._copy_from"](self, src), "copy_")


@register("_fill_diagonal", method=False, function=False, scalars=("fill_value",))
def _fill_diagonal(input, fill_value, wrap=False):
    if input.ndim < 2:
        raise RuntimeError("dimensions must larger than 1")
    if input.ndim > 2 and len(set(input.shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    if input.ndim > 2:
        index = (jnp.arange(input.shape[0]),) * input.ndim
        return input.at[index].set(cast_value(jnp.asarray(fill_value), input.dtype))
    rows, cols = input.shape
    # torch walks the flat storage with stride cols + 1; wrap lets it continue past the
    # square block of a tall matrix (leaving one row out between blocks)
    end = rows * cols if wrap and rows > cols else min(rows, cols) * cols
    flat = np.arange(0, end, cols + 1)
    return input.reshape(-1).at[flat].set(cast_value(jnp.asarray(fill_value), input.dtype)) \
        .reshape(input.shape)


def fill_diagonal_(self, fill_value, wrap: bool = False) -> Tensor:
    """Mirrors `Tensor.fill_diagonal_`."""
    return write_inplace(self, OPS["torch._fill_diagonal"](self, fill_value, bool(wrap)),
                         "fill_diagonal_")


def set_(self, source: Tensor | None = None, *args, **kwargs) -> Tensor:
    """Mirrors `Tensor.set_(source)` and `set_()`: share `source`'s storage (or become
    empty). The storage/offset/stride overload is not supported."""
    if args or kwargs:
        raise NotImplementedError("jtorch: Tensor.set_(storage, offset, size, stride) is not "
                                  "supported; set_(tensor) and set_() are")
    if source is None:
        source = Tensor._wrap(jnp.zeros((0,), self._value.dtype))
    if not isinstance(source, Tensor):
        raise NotImplementedError("jtorch: Tensor.set_ with a storage is not supported")
    if source.dtype != self.dtype:
        raise RuntimeError(f"Could not set tensor of type {source.dtype} to a tensor of type "
                           f"{self.dtype}")
    if self.requires_grad and self.grad_fn is None and _GRAD.enabled:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    _alias.share_storage(self, source)
    _alias._bump(self)
    return self


def share_memory_(self) -> Tensor:
    """Mirrors `Tensor.share_memory_`: a no-op (jax buffers are not shared across processes;
    tensors cross process boundaries by pickling)."""
    self._shared = True
    return self


def _host_map(self, fn, *others):
    if self.requires_grad:
        raise RuntimeError("Can't call apply_() or map_() on Variable that requires grad. Use "
                           "var.detach().apply_() instead.")
    arrays = [np.broadcast_to(np.asarray(o._value), self.shape) for o in others]
    data = np.asarray(self._value)
    out = np.empty_like(data)
    for index in np.ndindex(data.shape):
        out[index] = fn(data[index].item(), *(a[index].item() for a in arrays))
    _alias.write(self, jnp.asarray(out))
    return self


def apply_(self, callable) -> Tensor:
    """Mirrors `Tensor.apply_`: a Python function of each element, on the host."""
    return _host_map(self, callable)


def map_(self, tensor: Tensor, callable) -> Tensor:
    """Mirrors `Tensor.map_`."""
    return _host_map(self, callable, tensor)


def map2_(self, x: Tensor, y: Tensor, callable) -> Tensor:
    """Mirrors `Tensor.map2_`."""
    return _host_map(self, callable, x, y)


for _fn in (copy_, fill_diagonal_, set_, share_memory_, apply_, map_, map2_):
    setattr(Tensor, _fn.__name__, _fn)
Tensor.is_shared = lambda self: self.__dict__.get("_shared", False)
