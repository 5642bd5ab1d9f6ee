"""Python's operators on Tensor, bound to the registered torch functions."""
from __future__ import annotations

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


def _forward(fn):
    def op(self, other):
        return fn(self, other)
    return op


def _reflected(fn):
    def op(self, other):
        return fn(other, self)
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
    Tensor.__hash__ = lambda self: id(self)
