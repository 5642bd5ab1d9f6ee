"""Shared pieces of the nn.functional family: registration, reductions, in-place forms."""
from __future__ import annotations

import inspect

import jax.numpy as jnp

from ..._ops.registry import register, write_inplace
from ..._ops._util import torch_dtype

def fn_register(name=None, **options):
    """`register` for torch.nn.functional: functions only (no Tensor methods); an impl
    without a docstring gets the house one-liner."""
    def deco(impl):
        if impl.__doc__ is None:
            impl.__doc__ = f"Mirrors `torch.nn.functional.{name or impl.__name__}`."
        return register(name, namespace="torch.nn.functional", method=False, **options)(impl)
    return deco

# Public callables that replace the generated ones (they add `inplace=` or random keys);
# jtorch/nn/functional.py applies them after the registry's namespace.
OVERRIDES: dict = {}
# Names registered under the "torch" namespace after jtorch's own namespace was built.
TORCH_EXPORTS: dict = {}


def opmath(x):
    """torch computes half and bfloat16 activations in float32; returns (array, cast_back)."""
    d = x.dtype
    if d in (jnp.float16, jnp.bfloat16):
        return x.astype(jnp.float32), lambda y: y.astype(d)
    return x, lambda y: y


def float_input(x, name):
    """Raise torch's error for ops with no integer kernel."""
    d = torch_dtype(x)
    if not (d.is_floating_point or d.is_complex):
        raise RuntimeError(f'"{name}" not implemented for \'{_type_name(d)}\'')
    return x


def _type_name(d):
    return {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
            "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool", "complex64": "ComplexFloat",
            "complex128": "ComplexDouble"}[d._name]


def broadcast_shape(*arrays):
    """The broadcast shape of `arrays`, or torch's RuntimeError naming the mismatched dim."""
    out = ()
    for a in arrays:
        shape = tuple(a.shape)
        rank = max(len(out), len(shape))
        left, right = (1,) * (rank - len(out)) + out, (1,) * (rank - len(shape)) + shape
        for dim, (x, y) in enumerate(zip(left, right)):
            if x != y and x != 1 and y != 1:
                raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor "
                                   f"b ({y}) at non-singleton dimension {dim}")
        out = tuple(y if x == 1 else x for x, y in zip(left, right))
    return out


def legacy_reduction(size_average, reduce, reduction):
    """torch's mapping of the deprecated size_average/reduce flags onto `reduction`."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def reduce_loss(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "mean":
        return jnp.mean(loss)
    if reduction == "sum":
        return jnp.sum(loss)
    raise ValueError(f"{reduction} is not a valid value for reduction")


def with_inplace(public, name):
    """`public` extended by torch's `inplace=True`: the result is written into `input`."""
    params = inspect.signature(public._op.impl).parameters
    position = list(params).index("inplace") if "inplace" in params else None

    def fn(*args, **kwargs):
        inplace = kwargs.get("inplace", False)
        if position is not None and len(args) > position:
            inplace = args[position]
        result = public(*args, **kwargs)
        if inplace:
            return write_inplace(args[0] if args else kwargs["input"], result, name)
        return result
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = public.__doc__
    fn._op = public._op
    return fn


def inplace_method(public, name):
    """`F.relu_`-style functions: always in place."""
    def fn(input, *args, **kwargs):
        return write_inplace(input, public(input, *args, **kwargs), name)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Mirrors `torch.nn.functional.{name}`."
    fn._op = public._op
    return fn


def next_key(generator=None):
    """The (seed, offset) uint64 state of the next draw from `generator` or jtorch's default
    Generator, as a jax array: it enters the jitted kernels as data (no recompiles) and
    `random_key` turns it into a jax PRNG key there."""
    from ...random import default_generator
    return jnp.asarray((generator or default_generator)._next(), dtype=jnp.uint64)


def random_key(state):
    """A jax PRNG key from a `next_key` state, derived as jtorch's random ops derive theirs."""
    from ..._ops.random import _key
    return _key(state)


def as_scalar(value, x):
    """A Python number as an array of x's dtype (torch casts op parameters to the input's type)."""
    return jnp.asarray(value, dtype=x.dtype)


def is_float(x) -> bool:
    d = torch_dtype(x)
    return d.is_floating_point or d.is_complex

