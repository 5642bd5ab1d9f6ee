"""Tensor: a torch-like tensor over one `jax.Array`.

Most methods are attached by the op registry (jtorch/_ops); this file holds what is not an
op: metadata, conversions to Python and numpy, `to`/`type`, and the Python protocols.
"""
from __future__ import annotations

import warnings

import numpy as np
import jax
import jax.numpy as jnp

from . import _alias, _device, _dtype
from ._grad_state import STATE as _GRAD_STATE
from ._missing import MISSING_TENSOR_ATTRIBUTES, not_implemented_message

_WARNED_FLOAT_OF_GRAD = False     # torch warns once per process

__all__ = ["Tensor", "Size"]


class Size(tuple):
    """Mirrors `torch.Size`."""

    def __new__(cls, sizes=()):
        return tuple.__new__(cls, (int(s) for s in sizes))

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        out = tuple.__getitem__(self, item)
        return Size(out) if isinstance(item, slice) else out

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))

    def __repr__(self):
        return f"torch.Size({list(self)})"

    def __reduce__(self):
        return (Size, (tuple(self),))


_DTYPE_OF = {d._np: d for d in _dtype.ALL_DTYPES}
_TYPE_STRINGS = {
    "torch.FloatTensor": _dtype.float32, "torch.DoubleTensor": _dtype.float64,
    "torch.HalfTensor": _dtype.float16, "torch.BFloat16Tensor": _dtype.bfloat16,
    "torch.ByteTensor": _dtype.uint8, "torch.CharTensor": _dtype.int8,
    "torch.ShortTensor": _dtype.int16, "torch.IntTensor": _dtype.int32,
    "torch.LongTensor": _dtype.int64, "torch.BoolTensor": _dtype.bool_,
    "torch.ComplexFloatTensor": _dtype.complex64, "torch.ComplexDoubleTensor": _dtype.complex128,
}
_TYPE_NAMES = {d: n for n, d in _TYPE_STRINGS.items()}


class Tensor:
    """Mirrors `torch.Tensor`. Holds its data as `_value`, a `jax.Array`."""

    # class-level defaults keep wrapping a fresh result to one attribute store
    _requires_grad = False
    _grad = None
    grad_fn = None
    _output_nr = 0          # which output of grad_fn this tensor is
    _accumulator = None     # a leaf's AccumulateGrad node, made on first use
    _hooks = None           # a leaf's Tensor.register_hook hooks
    _post_accumulate_hooks = None
    _inference = False
    # aliasing (jtorch/_alias.py): a view's storage owner, its chain of view steps, and the
    # version counter it shares with them
    _root = None
    _view = None
    _vc = None
    __array_priority__ = 1000   # numpy defers to Tensor's reflected operators

    def __new__(cls, *args, **kwargs):
        if cls is Tensor or not kwargs.pop("_skip", False):
            from ._ops import creation
            return creation.legacy_constructor(cls, *args, **kwargs)
        return object.__new__(cls)

    @staticmethod
    def _wrap(value) -> "Tensor":
        t = object.__new__(Tensor)
        t._value = value
        if _GRAD_STATE.inference:
            t._inference = True
        return t

    def _set_value(self, value, *, resize: bool = False, source: "Tensor | None" = None):
        """Replace this tensor's data (in-place ops, `out=`): every alias of it sees the write."""
        _alias.write(self, value, resize=resize)

    def __getattr__(self, name):
        # only reached when normal lookup fails: a view whose cached array a write through
        # another alias dropped
        if name == "_value" and self._view is not None:
            return _alias.refresh(self)
        if name in MISSING_TENSOR_ATTRIBUTES:
            raise AttributeError(not_implemented_message(f"torch.Tensor.{name}"), name=name,
                                 obj=self)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'",
                             name=name, obj=self)

    # -- metadata -----------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._value.shape)

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._value.shape)
        return self._value.shape[_wrap_dim(dim, self._value.ndim)]

    @property
    def dtype(self) -> _dtype.dtype:
        return _DTYPE_OF[self._value.dtype]

    @property
    def device(self) -> _device.device:
        devs = self._value.devices()
        return _device.from_jax(next(iter(devs))) if len(devs) == 1 else _device._CPU

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self.device.type == "cpu"

    is_sparse = False
    is_quantized = False
    is_meta = False
    is_nested = False
    layout = "torch.strided"

    def dim(self) -> int:
        return self._value.ndim

    ndim = property(dim)

    def ndimension(self) -> int:
        return self._value.ndim

    def numel(self) -> int:
        return int(self._value.size)

    nelement = numel

    def element_size(self) -> int:
        return self._value.dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self._value.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return int(self._value.size) * self._value.dtype.itemsize

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def is_complex(self) -> bool:
        return self.dtype.is_complex

    def is_signed(self) -> bool:
        return self.dtype.is_signed

    def get_device(self) -> int:
        d = self.device
        return -1 if d.type == "cpu" else d.index or 0

    # -- autograd (the engine lives in jtorch/autograd) ------------------------------------
    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool):
        if self.grad_fn is not None and value:
            raise RuntimeError("you can only change requires_grad flags of leaf variables.")
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if self.grad_fn is not None:
            if requires_grad:
                return self
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If "
                               "you want to use a computed variable in a subgraph that doesn't "
                               "require differentiation use var_no_grad = var.detach().")
        if requires_grad and not (self.dtype.is_floating_point or self.dtype.is_complex):
            raise RuntimeError("only Tensors of floating point and complex dtype can require "
                               "gradients")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def grad(self):
        if self.grad_fn is not None and not self.retains_grad and self._grad is None:
            import warnings
            warnings.warn("The .grad attribute of a Tensor that is not a leaf Tensor is being "
                          "accessed. Its .grad attribute won't be populated during "
                          "autograd.backward(). If you indeed want the .grad field to be "
                          "populated for a non-leaf Tensor, use .retain_grad() on the non-leaf "
                          "Tensor.", UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad "
                                f"of type {type(value).__name__}")
            if value.dtype != self.dtype:
                raise RuntimeError("assigned grad has data of a different type")
            if value.shape != self.shape:
                raise RuntimeError("assigned grad has data of a different size")
            if value.device != self.device:
                raise RuntimeError("assigned grad has data located on a different device")
        self._grad = value

    @grad.deleter
    def grad(self):
        self._grad = None

    @property
    def retains_grad(self) -> bool:
        fn = self.grad_fn
        return bool(fn is not None and fn.retains and self._output_nr in fn.retains)

    def retain_grad(self) -> None:
        from .autograd import engine
        engine.retain_grad(self)

    def register_hook(self, hook):
        from .autograd import engine
        return engine.register_hook(self, hook)

    def register_post_accumulate_grad_hook(self, hook):
        from .autograd import engine
        return engine.register_post_accumulate_grad_hook(self, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Mirrors `torch.Tensor.backward`."""
        from .autograd import engine
        engine.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def is_inference(self) -> bool:
        return self._inference

    # -- conversions ---------------------------------------------------------------------
    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return np.asarray(self._value)

    def __array__(self, dtype=None, copy=None):
        out = np.asarray(self._value)
        return out.astype(dtype) if dtype is not None else out

    def item(self):
        if self._value.size != 1:
            raise RuntimeError(f"a Tensor with {self._value.size} elements cannot be converted "
                               "to Scalar")
        return np.asarray(self._value).reshape(()).item()

    def tolist(self):
        return np.asarray(self._value).tolist()

    def __bool__(self):
        if self._value.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __int__(self):
        return int(self._scalar("int"))

    def __float__(self):
        global _WARNED_FLOAT_OF_GRAD
        if self._requires_grad and not _WARNED_FLOAT_OF_GRAD:
            _WARNED_FLOAT_OF_GRAD = True
            warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to "
                          "unexpected behavior.\nConsider using tensor.detach() first.",
                          UserWarning, stacklevel=2)
        return float(self._scalar("float"))

    def __complex__(self):
        return complex(self._scalar("complex"))

    def __index__(self):
        if self._value.size != 1 or self.dtype.is_floating_point or self.dtype.is_complex:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def _scalar(self, what):
        if self._value.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self.item()

    def __len__(self):
        if self._value.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._value.shape[0]

    def __iter__(self):
        if self._value.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self):
        return id(self)

    def __contains__(self, element) -> bool:
        if isinstance(element, (Tensor, int, float, complex)):
            return bool((self == element).any())
        raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed "
                           f"in a {type(element).__name__}.")

    def __reversed__(self) -> "Tensor":
        return self if self._value.ndim == 0 else self.flip(0)

    def __repr__(self, *, tensor_contents=None):
        from ._tensor_str import tensor_repr
        return tensor_repr(self)

    __str__ = __repr__

    def __format__(self, spec):
        if self._value.ndim == 0:      # torch: a 0-d tensor formats as its Python number
            return format(self.detach().item(), spec)
        return object.__format__(self, spec)

    def __reduce_ex__(self, protocol):
        return (_rebuild, (np.asarray(self._value), self.requires_grad))

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.  If you were "
                               "attempting to deepcopy a module, this may be because of a "
                               "torch.nn.utils.weight_norm usage, see "
                               "https://github.com/pytorch/pytorch/pull/103001")
        out = Tensor._wrap(self._value)
        out._requires_grad = self._requires_grad
        if self._grad is not None:
            out._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = out
        return out

    # -- dtype and device moves --------------------------------------------------------------
    def to(self, *args, **kwargs) -> "Tensor":
        from ._ops.registry import OPS
        dtype, device, copy = _parse_to(args, kwargs)
        out = self
        if dtype is not None and dtype._np != self._value.dtype:
            out = OPS["torch._to_copy"](out, dtype._np)
        if device is not None and _device.device(device) != self.device:
            out = OPS["torch._to_device"](out, _device.to_jax(device))
        if out is self and copy:
            out = OPS["torch.clone"](self)
        return out

    def type(self, dtype=None, non_blocking: bool = False, **kwargs):
        if dtype is None:
            return _TYPE_NAMES[self.dtype]
        if isinstance(dtype, str):
            if dtype not in _TYPE_STRINGS:
                raise ValueError(f"invalid type: '{dtype}'")
            dtype = _TYPE_STRINGS[dtype]
        return self.to(dtype)

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.to(other.dtype)

    def float(self, memory_format=None): return self.to(_dtype.float32)
    def double(self, memory_format=None): return self.to(_dtype.float64)
    def half(self, memory_format=None): return self.to(_dtype.float16)
    def bfloat16(self, memory_format=None): return self.to(_dtype.bfloat16)
    def long(self, memory_format=None): return self.to(_dtype.int64)
    def int(self, memory_format=None): return self.to(_dtype.int32)
    def short(self, memory_format=None): return self.to(_dtype.int16)
    def char(self, memory_format=None): return self.to(_dtype.int8)
    def byte(self, memory_format=None): return self.to(_dtype.uint8)
    def bool(self, memory_format=None): return self.to(_dtype.bool_)
    def cfloat(self, memory_format=None): return self.to(_dtype.complex64)
    def cdouble(self, memory_format=None): return self.to(_dtype.complex128)

    def cpu(self, memory_format=None) -> "Tensor":
        return self.to("cpu")

    def cuda(self, device=None, non_blocking: bool = False, memory_format=None) -> "Tensor":
        if device is None:
            device = "cuda"
        elif isinstance(device, int):
            device = _device.device("cuda", device)
        return self.to(device)

    def detach(self) -> "Tensor":
        return _alias.make_alias(self, Tensor._wrap(self._value), is_view=False,
                                 share_version=True)

    def detach_(self) -> "Tensor":
        if self._view is not None and self._view.is_view and self._view.differentiable:
            raise RuntimeError("Can't detach views in-place. Use detach() instead. If you are "
                               "using DistributedDataParallel (DDP) for training, and "
                               "gradient_as_bucket_view is set as True, gradients are views of "
                               "DDP buckets, and hence detach_() cannot be called on these "
                               "gradients. To fix this error, please refer to the "
                               "Optimizer.zero_grad() function in torch/optim/optimizer.py as "
                               "the solution.")
        self.grad_fn = None
        self._requires_grad = False
        return self

    @property
    def data(self) -> "Tensor":
        # torch: .data shares storage but not the version counter (autograd does not see it)
        return _alias.make_alias(self, Tensor._wrap(self._value), is_view=False,
                                 share_version=False)

    @data.setter
    def data(self, other: "Tensor"):
        _alias.share_storage(self, other)

    @property
    def T(self):
        return self.permute(*range(self.ndim - 1, -1, -1))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    @property
    def H(self):
        return self.T.conj()

    @property
    def mH(self):
        return self.mT.conj()

    @property
    def real(self):
        from ._ops import registry
        return registry.namespace("torch")["real"](self)

    @property
    def imag(self):
        from ._ops import registry
        return registry.namespace("torch")["imag"](self)


_NARROW_INTS = {np.dtype(np.uint8), np.dtype(np.int8), np.dtype(np.int16)}


def cast_value(value, np_dtype):
    """`value` as `np_dtype` with torch's conversion: float -> narrow ints wraps (through
    int64, as C's conversion then truncation does in torch) where jax would saturate."""
    if value.dtype == np_dtype:
        return value
    if np_dtype in _NARROW_INTS and jnp.issubdtype(value.dtype, jnp.inexact):
        value = jnp.real(value).astype(jnp.int64) if jnp.iscomplexobj(value) else value.astype(jnp.int64)
    elif jnp.iscomplexobj(value) and not jnp.issubdtype(np_dtype, jnp.complexfloating):
        value = jnp.real(value)
    return value.astype(np_dtype)


def _rebuild(array, requires_grad):
    t = Tensor._wrap(jnp.asarray(array))
    t._requires_grad = requires_grad
    return t


def _wrap_dim(dim: int, ndim: int) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim % n


def _parse_to(args, kwargs):
    """Tensor.to's overloads: (dtype), (device[, dtype]), (tensor), with keyword forms."""
    dtype = kwargs.pop("dtype", None)
    device = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
    rest = list(args)
    if rest and isinstance(rest[0], Tensor):
        other = rest.pop(0)
        dtype, device = other.dtype, other.device
    elif rest and isinstance(rest[0], (str, _device.device, int)) and not isinstance(rest[0], bool):
        device = rest.pop(0)
    if rest and isinstance(rest[0], _dtype.dtype):
        dtype = rest.pop(0)
    if rest and isinstance(rest[0], bool):   # non_blocking
        rest.pop(0)
        if rest and isinstance(rest[0], bool):
            copy = rest.pop(0)
    if rest:
        raise TypeError(f"to() received an invalid combination of arguments: {args}")
    return dtype, device, copy
