"""Python's operators on Tensor, bound to the registered torch functions."""
from __future__ import annotations

import numbers

import numpy as np

from .._tensor import Tensor
from .registry import namespace

_T = namespace("torch")

# operator -> torch function; reflected forms swap the operands
_BINARY = {
    "add": "add", "sub": "sub", "mul": "mul", "truediv": "div", "floordiv": "floor_divide",
    "mod": "remainder", "pow": "pow", "matmul": "matmul", "and": "bitwise_and",
    "or": "bitwise_or", "xor": "bitwise_xor", "lshift": "bitwise_left_shift",
    "rshift": "bitwise_right_shift",
}
_COMPARE = {"eq": "eq", "ne": "ne", "lt": "lt", "le": "le", "gt": "gt", "ge": "ge"}
_UNARY = {"neg": "neg", "pos": "positive", "abs": "abs", "invert": "bitwise_not"}


_COMMON = frozenset((Tensor, int, float, bool, complex))


def _operand(other) -> bool:
    # anything else makes Python try the other side (or `==` fall back to identity), as
    # torch's operators do: `t == None` is False, `t + None` a TypeError
    return type(other) in _COMMON or isinstance(other, (Tensor, numbers.Number))


def _forward(fn):
    def op(self, other):
        # torch takes a numpy array on the right (`t * arr`), not on the left
        if _operand(other) or isinstance(other, np.ndarray):
            return fn(self, other)
        return NotImplemented
    return op


def _reflected(fn):
    def op(self, other):
        return fn(other, self) if _operand(other) else NotImplemented
    return op


def _invert(fn):
    def op(self):
        if self.dtype.is_floating_point or self.dtype.is_complex:
            raise TypeError("~ (operator.invert) is only implemented on integer and "
                            "Boolean-type tensors")
        return fn(self)
    return op


def _augmented(name):
    def op(self, other):
        return getattr(self, name)(other)
    return op


def bind():
    """Attach every operator whose torch function is registered (called after all families)."""
    t = namespace("torch")
    for py, torch_name in _BINARY.items():
        fn = t.get(torch_name)
        if fn is None:
            continue
        setattr(Tensor, f"__{py}__", _forward(fn))
        setattr(Tensor, f"__r{py}__", _reflected(fn))
        inplace = {"truediv": "div_", "and": "bitwise_and_", "or": "bitwise_or_",
                   "xor": "bitwise_xor_", "lshift": "bitwise_left_shift_",
                   "rshift": "bitwise_right_shift_"}.get(py, torch_name + "_")
        if hasattr(Tensor, inplace):
            setattr(Tensor, f"__i{py}__", _augmented(inplace))
    for py, torch_name in _COMPARE.items():
        if torch_name in t:
            setattr(Tensor, f"__{py}__", _forward(t[torch_name]))
    for py, torch_name in _UNARY.items():
        if torch_name in t:
            fn = t[torch_name]
            setattr(Tensor, f"__{py}__", lambda self, fn=fn: fn(self))
    if "bitwise_not" in t:
        Tensor.__invert__ = _invert(t["bitwise_not"])
    Tensor.__hash__ = lambda self: id(self)
