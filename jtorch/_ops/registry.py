"""The op registry: every torch op is one pure function of jax arrays, registered here.

`register` turns such a function into the public torch function, the Tensor method, the
in-place method and the `out=` form.  All of them go through `_Op.__call__`, the one place
that splits a call into its jax arrays (dynamic) and everything else (static), looks up a
`jax.jit` kernel compiled for that static part, runs it and wraps the result; the autograd
and aliasing layers hook in there (`record`, `write_inplace`).
"""
from __future__ import annotations

import collections
import inspect
import warnings
from typing import Callable

import jax
import jax.numpy as jnp

from .. import _alias, _device, _dtype
from .._grad_state import STATE as _GRAD
from .._tensor import Tensor, cast_value

__all__ = ["register", "publish", "method", "OPS", "namespace", "return_type"]

OPS: dict[str, "_Op"] = {}          # qualified name ("torch.add", "torch.linalg.svd") -> op
_NAMESPACES: dict[str, dict] = collections.defaultdict(dict)
_NUMBERS = (int, float, complex, bool)
_ARRAY = type(jnp.zeros(()))   # the concrete jax.Array class kernels return
_TENSOR = ("tensor",)              # marks where a jax array sits in a call's static key


def record(op, key, kernel, arrays, inputs, outputs):
    """Autograd's hook: attach a graph node to `outputs`. Replaced by jtorch.autograd.

    `kernel(*arrays)` recomputes the op; `inputs` runs parallel to `arrays`: the Tensor
    each array came from, or None (Python numbers passed as data, raw jax arrays)."""


class _RuntimeInput:
    """A static argument jit cannot hash: the op then runs without jit."""


_SEQUENCE, _SLICE, _TYPED = "sequence", "slice", "typed"


def _freeze(value, arrays: list, requires: list):
    """The hashable key of one argument; appends the jax arrays found in it to `arrays`."""
    if isinstance(value, Tensor):
        arrays.append(value._value)
        requires.append(value)
        return _TENSOR
    tp = type(value)
    if tp is int or value is None:
        return value
    if tp is bool or tp is float:
        # True == 1 == 1.0 as dict keys: tag the type so dim=1 and unbiased=True, or fill 1
        # and 1.0, get kernels of their own; floats by their hex form so nan finds its kernel
        return (_TYPED, tp, value.hex() if tp is float else value)
    if tp is list or tp is tuple:
        return (_SEQUENCE, tuple(_freeze(v, arrays, requires) for v in value))
    if tp is slice:
        return (_SLICE, _freeze(value.start, arrays, requires), _freeze(value.stop, arrays, requires),
                _freeze(value.step, arrays, requires))
    if isinstance(value, jax.Array):
        arrays.append(value)
        requires.append(None)
        return _TENSOR
    return value


def _thaw(key, arrays):
    if key is _TENSOR:
        return next(arrays)
    if type(key) is tuple and key:
        tag = key[0]
        if tag is _TYPED:
            return float.fromhex(key[2]) if key[1] is float else key[2]
        if tag is _SEQUENCE:
            return tuple(_thaw(k, arrays) for k in key[1])
        if tag is _SLICE:
            return slice(_thaw(key[1], arrays), _thaw(key[2], arrays), _thaw(key[3], arrays))
    return key


def _wrap(value):
    if isinstance(value, jax.Array):
        return Tensor._wrap(value)
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


_RETURN_TYPES: dict[str, type] = {}


def return_type(name: str, fields: tuple[str, ...]) -> type:
    """torch.return_types.NAME: a named tuple of the op's outputs."""
    if name not in _RETURN_TYPES:
        _RETURN_TYPES[name] = collections.namedtuple(name, fields)
        _RETURN_TYPES[name].__module__ = "torch.return_types"
    return _RETURN_TYPES[name]


class _Op:
    """One registered op: calls its pure jax function through a cache of jit kernels."""

    # set on view ops by jtorch/_ops/views.py: their outputs alias their input
    view_geometry = None        # torch's (strides, storage offset) of the outputs
    view_inverse = None         # (parent, child) -> parent with child written in
    view_reshape = False        # a view only where torch's view() would succeed
    view_may_overlap = False    # outputs may show one element twice (expand)
    out_must_not_alias = False  # torch refuses an out= that overlaps an input (cat, gather)
    view_is_alias_only = False  # shares storage without being a view (torch's view(dtype))

    def __init__(self, name, impl, *, scalars, jit, returns, differentiable, check=None):
        self.name = name
        self.impl = impl
        self.check = check
        self.jit = jit
        self.returns = returns
        self.differentiable = differentiable
        sig = inspect.signature(impl)
        params = list(sig.parameters)
        self.scalar_positions = frozenset(params.index(p) for p in scalars if p in params)
        self.scalar_names = frozenset(scalars)
        self.kernels: dict = {}
        # warnings the op's function raised while jax traced it: {key: {shapes: warnings}},
        # raised again on every call with those shapes (the trace runs only once)
        self.trace_warnings: dict = {}

    def kernel(self, key):
        """The jit-compiled function for one static key (built on first use)."""
        fn = self.kernels.get(key)
        if fn is None:
            impl = self.impl
            arg_keys, kw_keys = key[0], key[1]

            def call(*arrays):
                it = iter(arrays)
                args = [_thaw(k, it) for k in arg_keys]
                kwargs = {n: _thaw(k, it) for n, k in kw_keys}
                return impl(*args, **kwargs)

            def traced(*arrays):
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    out = call(*arrays)
                shapes = tuple(jnp.shape(a) for a in arrays)
                table = self.trace_warnings.setdefault(key, {})
                table[shapes] = [(w.message, w.category) for w in caught]
                if not any(table.values()):
                    del self.trace_warnings[key]
                return out

            fn = self.kernels[key] = jax.jit(traced) if self.jit else call
        return fn

    def __call__(self, *args, **kwargs):
        arrays: list = []
        tensors: list = []
        positions = self.scalar_positions
        arg_keys = []
        i = 0
        for a in args:
            if isinstance(a, Tensor):       # the common case, inlined: this is the hot path
                arrays.append(a._value)
                tensors.append(a)
                arg_keys.append(_TENSOR)
            elif i in positions and type(a) in _NUMBERS:
                arrays.append(a)
                tensors.append(None)
                arg_keys.append(_TENSOR)
            else:
                arg_keys.append(_freeze(a, arrays, tensors))
            i += 1
        kw_keys = ()
        if kwargs:
            names = self.scalar_names
            items = []
            for n, a in kwargs.items():
                if n in names and type(a) in _NUMBERS:
                    arrays.append(a)
                    tensors.append(None)
                    items.append((n, _TENSOR))
                else:
                    items.append((n, _freeze(a, arrays, tensors)))
            kw_keys = tuple(items)
        key = (tuple(arg_keys), kw_keys, _dtype._default_dtype[0])
        try:
            fn = self.kernels.get(key) or self.kernel(key)
        except TypeError:   # an unhashable static argument: run once, without jit
            fn = self._uncached(key)
        if self.check is not None:
            it = iter(arrays)
            self.check(*[_thaw(k, it) for k in key[0]], **{n: _thaw(k, it) for n, k in key[1]})
        try:
            out = fn(*arrays)
        except TypeError as e:
            if "incompatible shapes for broadcasting" not in str(e):
                raise
            _broadcast_error(arrays, e)
        except ValueError as e:
            if "incompatible devices" not in str(e):
                raise
            arrays = _same_device(arrays)
            out = fn(*arrays)
        if self.trace_warnings and key in self.trace_warnings:
            _warn_again(self.trace_warnings[key], arrays)
        result = Tensor._wrap(out) if type(out) is _ARRAY else _wrap(out)
        if self.returns is not None and type(result) is tuple:
            # overloads such as max(x) / max(x, dim) return a tensor or a named tuple
            result = self.returns(*result)
        if self.differentiable:
            for t in tensors:
                if t is not None and t._requires_grad:
                    record(self, key, fn, arrays, tensors, result)
                    break
        if self.view_geometry is not None and args and isinstance(args[0], Tensor):
            _alias.make_view(self, key, arrays, args[0], result)
        return result

    def donating_kernel(self, key):
        """The kernel for `key` that may reuse its first argument's buffer for the result
        (jax buffer donation): for in-place writes into a tensor nothing else holds."""
        fn = self.kernels.get(("donating", key))
        if fn is None:
            fn = self.kernels[("donating", key)] = jax.jit(self._uncached(key),
                                                           donate_argnums=(0,))
        return fn

    def eager(self, key):
        """The op's function of its arrays for `key`, without jit (autograd's fallback for
        ops whose values decide shapes)."""
        return self._uncached(key)

    def _uncached(self, key):
        impl = self.impl

        def call(*arrays):
            it = iter(arrays)
            return impl(*[_thaw(k, it) for k in key[0]], **{n: _thaw(k, it) for n, k in key[1]})
        return call

    def __repr__(self):
        return f"<jtorch op {self.name}>"


def _warn_again(table, arrays):
    """torch warns on every call: raise the warnings the trace of these shapes raised."""
    for message, category in table.get(tuple(jnp.shape(a) for a in arrays), ()):
        warnings.warn(message, category, stacklevel=4)


def _same_device(arrays) -> list:
    """The arrays of an op whose inputs jax found committed to different devices: as in
    torch, a 0-d CPU tensor joins another device's op (it acts as a number); any other mix
    is torch's RuntimeError."""
    devices = {}
    for a in arrays:
        if isinstance(a, jax.Array):
            for d in a.devices():
                devices.setdefault(d, []).append(a.ndim)
    others = [d for d in devices if d.platform != "cpu"]
    if len(others) == 1 and all(n == 0 for d, ndims in devices.items() if d.platform == "cpu"
                                for n in ndims):
        return [jax.device_put(a, others[0]) if isinstance(a, jax.Array) else a
                for a in arrays]
    first, second = (str(_device.from_jax(d)) for d in list(devices)[:2])
    raise RuntimeError("Expected all tensors to be on the same device, but found at least two "
                       f"devices, {first} and {second}!") from None


def _broadcast_error(arrays, error):
    """torch's RuntimeError for operands that do not broadcast (jax raises TypeError)."""
    from .shape_join import _broadcast
    _broadcast([a.shape for a in arrays if hasattr(a, "shape")], tensor_error=True)
    raise RuntimeError(str(error)) from None


def _public(op: _Op, name: str, doc: str | None) -> Callable:
    def fn(*args, out=None, **kwargs):
        result = op(*args, **kwargs)
        if out is not None:
            if op.out_must_not_alias:
                _alias.check_out_overlap(out, (args, kwargs))
            return write_out(out, result, name)
        return result
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn._op = op
    return fn


def write_out(out, result, name):
    """`out=`: copy `result` into the given tensor(s), as torch does (casting, resizing)."""
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"{name}(): argument 'out' must be tuple of {len(result)} Tensors")
        for o, r in zip(out, result):
            write_out(o, r, name)
        return type(result)(*out) if hasattr(result, "_fields") else tuple(out)
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if out._view is not None:
        _alias.check_overlap(out, "out=")
    if result.grad_fn is not None:
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    if not _dtype.can_cast(result.dtype, out.dtype):
        raise RuntimeError(f"result type {_type_name(result.dtype)} can't be cast to the desired "
                           f"output type {_type_name(out.dtype)}")
    out._set_value(cast_value(result._value, out.dtype._np), resize=True)
    return out


def _type_name(d):
    return {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
            "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool", "complex64": "ComplexFloat", "complex128": "ComplexDouble"}[d._name]


def write_inplace(self: Tensor, result: Tensor, name: str) -> Tensor:
    """The in-place form: `result` replaces `self`'s value (same shape, castable dtype) and,
    under autograd, `self` becomes the output of `result`'s node."""
    if not isinstance(result, Tensor):
        raise RuntimeError(f"{name}: in-place form needs a single tensor result")
    new, old = result._value, self._value
    if new.shape != old.shape:
        raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast "
                           f"shape {list(result.shape)}")
    if new.dtype != old.dtype:
        if not _dtype.can_cast(result.dtype, self.dtype):
            raise RuntimeError(f"result type {_type_name(result.dtype)} can't be cast to the "
                               f"desired output type {_type_name(self.dtype)}")
        new = cast_value(new, old.dtype)
    info = self._view
    if info is not None:
        _alias.check_overlap(self, name)
        if _GRAD.enabled and info.is_view:
            _alias.check_view_write(self, result)
    if info is not None and info.differentiable and _GRAD.enabled and (
            self._requires_grad or result.grad_fn is not None or self._root._requires_grad):
        if self.grad_fn is None and self._requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                               "operation.")
        _alias.write_with_grad(self, new, result)
        return self
    node = _rebase(self, result) if self._requires_grad or result.grad_fn is not None else None
    self._set_value(new, source=result)
    if node is not None:
        resave(node, self._vc)
    return self


def resave(node, vc):
    """Autograd's hook: what `node` saved of the tensor with version counter `vc` stays
    valid after the in-place write that produced it. Replaced by jtorch.autograd."""


def _rebase(self: Tensor, result: Tensor):
    """Autograd for an in-place op: `self` becomes the output of the op's node (returned)."""
    if not _GRAD.enabled:
        return None     # torch: an update under no_grad is not part of any graph
    if self.grad_fn is None and self._requires_grad:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    if result.grad_fn is None:
        if self.grad_fn is not None:
            # the new value (a fill) no longer depends on the graph: torch keeps the tensor
            # in it with a zero gradient
            result = OPS["torch.mul"](self, 0)
        else:
            return None
    self.grad_fn = result.grad_fn
    self._output_nr = result._output_nr
    self._requires_grad = True
    return result.grad_fn


def register(name: str | None = None, *, namespace: str = "torch", method: bool | str = True,
             inplace: bool | str = False, out: bool = False, scalars=("input", "other"),
             jit: bool = True, returns: tuple[str, ...] | None = None,
             differentiable: bool | tuple[int, ...] = True, aliases=(), function: bool = True,
             check=None):
    """Register a pure jax function as a torch op.

    name: torch's name (default: the function's name, less a trailing underscore);
    namespace: "torch", "torch.linalg", "torch.special", "torch.fft", "torch.nn.functional";
    method: also a Tensor method (True) or under another name (str);
    inplace: also `Tensor.NAME_`; out: accept `out=`;
    scalars: parameters where a Python number is data (traced), not a static argument;
    jit: False for ops whose output shape depends on values (nonzero, unique, masks);
    returns: field names of a named-tuple result (torch.return_types.NAME), applied to
    tuple results only;
    check: called with the call's concrete arguments before the kernel, to raise torch's
    errors that depend on values (an index out of range); keep it cheap;
    differentiable: False for ops torch does not differentiate, or a tuple of the (flat)
    output positions torch differentiates (the others get no grad_fn).
    """
    def deco(impl):
        op_name = name or impl.__name__.rstrip("_")
        # torch names torch.linalg's result tuples torch.return_types.linalg_NAME
        prefix = "linalg_" if namespace == "torch.linalg" else ""
        rtype = return_type(prefix + op_name, returns) if returns else None
        op = _Op(f"{namespace}.{op_name}", impl, scalars=scalars, jit=jit, returns=rtype,
                 differentiable=differentiable, check=check)
        public = _public(op, op_name, impl.__doc__) if out else _plain(op, op_name, impl.__doc__)
        OPS[op.name] = op
        if function:
            for n in (op_name, *aliases):
                _NAMESPACES[namespace][n] = public
        if method:
            mname = method if isinstance(method, str) else op_name
            setattr(Tensor, mname, _method(op, mname))
            for n in aliases:
                setattr(Tensor, n, _method(op, n))
        if inplace:
            iname = inplace if isinstance(inplace, str) else op_name + "_"
            setattr(Tensor, iname, _inplace(op, iname))
        return public
    return deco


def _plain(op, name, doc):
    def fn(*args, **kwargs):
        return op(*args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn._op = op
    return fn


def _method(op, name):
    def method(self, *args, **kwargs):
        return op(self, *args, **kwargs)
    method.__name__ = method.__qualname__ = name
    return method


def _inplace(op, name):
    def method(self, *args, **kwargs):
        return write_inplace(self, op(self, *args, **kwargs), name)
    method.__name__ = method.__qualname__ = name
    return method


def publish(fn: Callable, name: str, namespace: str = "torch", op: "_Op | None" = None):
    """Expose a hand-written public function under a namespace, as `register` does.

    For functions that normalise their arguments (varargs shapes, several call forms, work
    on the host) before calling a registered op `op`."""
    fn.__name__ = fn.__qualname__ = name
    if op is not None:
        fn._op = op
    _NAMESPACES[namespace][name] = fn
    return fn


def method(name: str):
    """Decorator: attach a hand-written Tensor method (e.g. `view(*shape)`)."""
    def deco(fn):
        fn.__name__ = fn.__qualname__ = name
        setattr(Tensor, name, fn)
        return fn
    return deco


def namespace(ns: str) -> dict:
    """The public functions registered under a namespace ("torch", "torch.linalg" ...)."""
    return dict(_NAMESPACES[ns])
