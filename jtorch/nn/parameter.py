"""Mirrors `torch.nn.parameter`: Parameter, Buffer and their uninitialised (lazy) forms."""
from __future__ import annotations

from .. import _alias
from .._tensor import Tensor

__all__ = ["Parameter", "UninitializedParameter", "is_lazy", "Buffer", "UninitializedBuffer",
           "UninitializedTensorMixin"]


def _adopt(data: Tensor, cls, requires_grad: bool) -> Tensor:
    """A new `cls` tensor sharing `data`'s storage, as torch's `_make_subclass`.

    The common case, a fresh tensor that owns its storage, hands the ownership to the new
    tensor: parameters are written in place by every optimizer step, and a root's write is
    the cheap one. `data` (and its aliases) become aliases of it, so they still see its
    writes. A view, or a tensor in a graph, keeps its storage and the new tensor aliases it.
    """
    out = object.__new__(cls)
    out._value = data._value
    if data._view is None and data.grad_fn is None and "_aliases" not in data.__dict__ \
            and not data._requires_grad:
        out._vc = data._vc
        for name in ("_owns", "_ptr"):
            if name in data.__dict__:
                setattr(out, name, data.__dict__.pop(name))
        _alias.make_alias(out, data, is_view=False, share_version=True)
    else:
        _alias.make_alias(data, out, is_view=False, share_version=True)
    out._requires_grad = bool(requires_grad)
    return out


class Parameter(Tensor):
    """Mirrors `torch.nn.Parameter`: a leaf tensor a Module registers as a parameter.

    Ops on a Parameter return plain Tensors, as in torch.
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from .._ops.creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): argument 'data' must be Tensor, not "
                            f"{type(data).__name__}")
        if requires_grad and not (data.dtype.is_floating_point or data.dtype.is_complex):
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               "gradients")
        return _adopt(data, cls, requires_grad)

    def __init__(self, *args, **kwargs):
        pass

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        out = type(self)(self.data.clone(), self.requires_grad)
        memo[id(self)] = out
        return out

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        import numpy as np
        return (_rebuild_parameter, (np.asarray(self._value), self.requires_grad))


def _rebuild_parameter(array, requires_grad):
    import jax.numpy as jnp
    return Parameter(Tensor._wrap(jnp.asarray(array)), requires_grad)


class _BufferMeta(type):
    # torch: Buffer(t) returns a plain Tensor marked as a buffer; isinstance sees the mark
    def __instancecheck__(cls, instance) -> bool:
        if cls is Buffer:
            return isinstance(instance, Tensor) and instance.__dict__.get("_is_buffer", False)
        return type.__instancecheck__(cls, instance)


class Buffer(metaclass=_BufferMeta):
    """Mirrors `torch.nn.Buffer`: marks a tensor as a module buffer (`persistent=` decides
    whether it is in the state_dict) when assigned as a module attribute."""

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True):
        if data is None:
            from .._ops.creation import empty
            data = empty(0)
        t = data.detach().requires_grad_(data.requires_grad)
        t.persistent = persistent
        t._is_buffer = True
        return t


_UNINITIALIZED_SHAPE = ("Can't access the shape of an uninitialized parameter or buffer. This "
                        "error usually happens in `load_state_dict` when trying to load an "
                        "uninitialized parameter into an initialized one. Call `forward` to "
                        "initialize the parameters before accessing their attributes.")


class UninitializedTensorMixin:
    """Mirrors `torch.nn.parameter.UninitializedTensorMixin`: a placeholder a lazy module
    materializes on its first forward."""

    def materialize(self, shape, device=None, dtype=None) -> None:
        from .._ops.creation import empty
        value = empty(shape, device=device or self.data.device,
                      dtype=dtype or self.data.dtype)._value
        requires_grad = self._requires_grad
        self.__class__ = self.cls_to_become
        _alias.write(self, value, resize=True)
        self._requires_grad = requires_grad

    @property
    def shape(self):
        raise RuntimeError(_UNINITIALIZED_SHAPE)

    def size(self, dim=None):
        raise RuntimeError(_UNINITIALIZED_SHAPE)

    def share_memory_(self):
        raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call "
                           "`forward` to initialize the parameters before calling "
                           "`module.share_memory()`.")

    def __repr__(self):
        return f"<{type(self).__name__}>"

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (type(self), (self.requires_grad,))

    def __getattribute__(self, name):
        # torch refuses every op on a placeholder; here: every public Tensor method except
        # the few a lazy module needs before materializing
        if not name.startswith("_") and name not in _LAZY_ALLOWED \
                and hasattr(Tensor, name) and not hasattr(UninitializedTensorMixin, name):
            raise ValueError(f"Attempted to use an uninitialized parameter in {name}. This "
                             "error happens when you are using a `LazyModule` or explicitly "
                             "manipulating `torch.nn.parameter."
                             f"{type(self).__name__}` objects. When using LazyModules Call "
                             "`forward` with a dummy batch to initialize the parameters before "
                             "calling torch functions")
        return object.__getattribute__(self, name)


_LAZY_ALLOWED = {"requires_grad", "requires_grad_", "data", "dtype", "device", "grad",
                 "is_complex", "is_floating_point", "get_device", "grad_fn", "is_leaf",
                 "materialize", "cls_to_become", "persistent", "to", "cpu", "cuda", "float",
                 "double", "half", "bfloat16"}


def is_lazy(param) -> bool:
    """Mirrors `torch.nn.parameter.is_lazy`."""
    return isinstance(param, UninitializedTensorMixin)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """Mirrors `torch.nn.UninitializedParameter`."""

    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        from .._ops.creation import empty
        return _adopt(empty(0, device=device, dtype=dtype), cls, requires_grad)

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        out = type(self)(self.requires_grad, self.data.device, self.data.dtype)
        memo[id(self)] = out
        return out


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """Mirrors `torch.nn.UninitializedBuffer`."""

    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None,
                persistent: bool = True):
        from .._ops.creation import empty
        out = _adopt(empty(0, device=device, dtype=dtype), cls, requires_grad)
        out.persistent = persistent
        out._is_buffer = True
        return out

    def __init__(self, *args, **kwargs):
        pass
