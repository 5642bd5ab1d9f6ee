"""Mirrors `torch.autograd.Function`: user-written forward and backward.

A Function's node is a custom node: the engine stops its jitted segments at it and calls the
user's `backward` eagerly, with the ctx of that forward call, as torch does. (Inside a future
`jtorch.compile`d step it would become a `jax.custom_vjp`; eager backward keeps torch's
semantics exactly: the ctx, its Python attributes and any side effects of `backward`.)
"""
from __future__ import annotations

import functools

import jax.numpy as jnp

from .._tensor import Tensor
from .graph import Node, attach, edge_of
from .grad_mode import STATE, no_grad

__all__ = ["Function", "FunctionCtx", "once_differentiable", "InplaceFunction",
           "NestedIOFunction"]

_FREED = ("Trying to backward through the graph a second time (or directly access saved tensors "
          "after they have already been freed). Saved intermediate values of the graph are freed "
          "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
          "backward through the graph a second time or if you need to access saved tensors after "
          "calling backward.")


class FunctionCtx:
    """Mirrors the `ctx` torch passes to `forward`/`setup_context` and `backward`."""

    def __init__(self):
        self._saved = ()
        self._freed = False
        self._non_differentiable = set()
        self._dirty = set()
        self.materialize_grads = True
        self.needs_input_grad = ()

    def save_for_backward(self, *tensors):
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError("save_for_backward can only save variables, but argument "
                                f"{i} is of type {type(t).__name__}")
        self._saved = tensors

    def save_for_forward(self, *tensors):
        self.saved_for_forward = tensors

    @property
    def saved_tensors(self):
        if self._freed:
            raise RuntimeError(_FREED)
        return tuple(self._saved)

    saved_variables = saved_tensors

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors):
        self._dirty.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool):
        self.materialize_grads = bool(value)


class _FunctionOp:
    """A Function class seen as a node's op."""

    def __init__(self, cls):
        self.cls = cls
        self.name = cls.__name__
        self.grad_fn_name = cls.__name__ + "Backward"


class FunctionNode(Node):
    """The node of one `Function.apply` call. `backward` is the user's, called eagerly."""

    __slots__ = ("ctx", "outputs_meta")
    custom = True

    def run_backward(self, grads):
        """Input gradients (per edge) from the output gradients (per output, maybe None)."""
        ctx = self.ctx
        full = []
        for g, (shape, dtype) in zip(grads, self.outputs_meta):
            if g is None and ctx.materialize_grads:
                g = Tensor._wrap(jnp.zeros(shape, dtype))
            full.append(g)
        cls = self.op.cls
        result = cls.backward(ctx, *full)
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self.edges)
        if len(result) < n or any(r is not None for r in result[n:]):
            raise RuntimeError(f"function {self.name()} returned an incorrect number of "
                               f"gradients (expected {n}, got {len(result)})")
        out = []
        for i, (g, e) in enumerate(zip(result, self.edges)):
            if e is None or g is None:
                out.append(None)
                continue
            if not isinstance(g, Tensor):
                raise TypeError(f"function {self.name()} returned a gradient of type "
                                f"{type(g).__name__} at index {i}, expected a Tensor or None")
            shape, dtype = self.arrays[i]
            if tuple(g.shape) != shape:
                try:
                    g = g.sum_to_size(shape)
                except RuntimeError:
                    raise RuntimeError(f"Function {self.name()} returned an invalid gradient at "
                                       f"index {i} - got {list(g.shape)} but expected shape "
                                       f"compatible with {list(shape)}") from None
            if g.dtype != dtype:
                g = g.to(dtype)     # torch casts a gradient to its input's dtype
            out.append(g)
        return out

    def free(self):
        self.ctx._freed = True
        self.ctx._saved = ()



class _FunctionMeta(type):
    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)
        cls._op = _FunctionOp(cls)


class Function(metaclass=_FunctionMeta):
    """Mirrors `torch.autograd.Function`."""

    def __init__(self, *args, **kwargs):
        import warnings
        warnings.warn(f"{type(self).__name__} should not be instantiated. Methods on autograd "
                      "functions are all static, so you should invoke them on the class itself.",
                      DeprecationWarning, stacklevel=2)

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is "
                           "deprecated. Please use new-style autograd function with static "
                           "forward method.")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode "
                                  "AD.")

    vjp = backward

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError("jtorch does not implement forward-mode AD for "
                                  "autograd.Function (jvp) yet")

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx()
        needs = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        ctx.needs_input_grad = needs
        separate = cls.setup_context is not Function.setup_context
        if cls.forward is Function.forward:
            raise NotImplementedError("You must implement the forward function for custom "
                                      "autograd.Function.")
        with no_grad():
            if separate:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        record = STATE.enabled and any(needs)
        output = _own_outputs(output, args, ctx, record)
        if record:
            for a in args:
                if isinstance(a, Tensor) and id(a) in ctx._dirty and a.grad_fn is None \
                        and a._requires_grad:
                    raise RuntimeError("a leaf Variable that requires grad has been used in an "
                                       "in-place operation.")
            flat = _flat_tensors(output)
            edges = tuple(edge_of(a) if isinstance(a, Tensor) else None for a in args)
            inputs = tuple((tuple(a.shape), a.dtype) if isinstance(a, Tensor) else None
                           for a in args)
            node = FunctionNode(cls._op, None, inputs, edges, len(flat))
            node.ctx = ctx
            node.outputs_meta = tuple((t._value.shape, t._value.dtype) for t in flat)
            attach(node, output)
            for t in flat:
                if id(t) in ctx._non_differentiable:
                    t.grad_fn = None
                    t._requires_grad = False
        return output


def _flat_tensors(output):
    if isinstance(output, Tensor):
        return [output]
    if isinstance(output, (tuple, list)):
        return [t for v in output for t in _flat_tensors(v)]
    return []


def _own_outputs(output, args, ctx, record):
    """Outputs that are input objects become new tensors (torch makes them views), unless
    marked dirty (modified in place: the input itself becomes the output)."""
    if not record:
        return output
    inputs = {id(a) for a in args if isinstance(a, Tensor)}

    def own(t):
        if isinstance(t, Tensor) and id(t) in inputs:
            if id(t) in ctx._dirty:
                return t
            new = Tensor._wrap(t._value)
            if id(t) in ctx._non_differentiable:
                ctx._non_differentiable.add(id(new))
            return new
        if isinstance(t, tuple):
            return type(t)(*map(own, t)) if hasattr(t, "_fields") else tuple(map(own, t))
        if isinstance(t, list):
            return [own(v) for v in t]
        return t
    return own(output)


class _DelayedErrorOp:
    name = "DelayedError"
    grad_fn_name = "DelayedError"


class _DelayedErrorNode(Node):
    __slots__ = ()
    custom = True

    def run_backward(self, grads):
        raise RuntimeError("trying to differentiate twice a function that was marked with "
                           "@once_differentiable")

    def free(self):
        pass


def once_differentiable(fn):
    """Mirrors `torch.autograd.function.once_differentiable`: `backward` runs without
    recording; differentiating its result again raises torch's RuntimeError."""
    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            outputs = fn(ctx, *args)
        if not STATE.enabled:
            return outputs
        edges = tuple(edge_of(a) if isinstance(a, Tensor) else None for a in args)
        if not any(e is not None for e in edges):
            return outputs
        flat = [t for t in (outputs if isinstance(outputs, tuple) else (outputs,))
                if isinstance(t, Tensor)]
        node = _DelayedErrorNode(_DelayedErrorOp(), None, (), edges, len(flat))
        attach(node, flat)
        return outputs
    return wrapper


class InplaceFunction(Function):
    """Mirrors `torch.autograd.function.InplaceFunction`."""

    def __init__(self, inplace=False):
        self.inplace = inplace


class NestedIOFunction(Function):
    """Mirrors `torch.autograd.function.NestedIOFunction` (legacy): not implemented."""

    @classmethod
    def apply(cls, *args, **kwargs):
        raise NotImplementedError("jtorch does not implement the legacy "
                                  "torch.autograd.function.NestedIOFunction")
