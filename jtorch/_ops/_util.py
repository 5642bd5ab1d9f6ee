"""Helpers for op implementations: torch's type promotion on jax values, dims, dtypes."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import _dtype
from .._dtype import ALL_DTYPES

_DTYPE_OF = {d._np: d for d in ALL_DTYPES}
_NUMBERS = (int, float, complex, bool)


def torch_dtype(x) -> _dtype.dtype:
    """The torch dtype of a jax value (array or tracer)."""
    return _DTYPE_OF[np.dtype(x.dtype)]


def _scalar_dtype(category_dtype) -> _dtype.dtype:
    # torch wraps Python numbers as int64, the default float, the default complex, bool
    if category_dtype == np.bool_:
        return _dtype.bool_
    kind = np.dtype(category_dtype).kind
    if kind in "iu":
        return _dtype.int64
    if kind == "f":
        return _dtype.get_default_dtype()
    return _dtype.default_complex_dtype()


def is_python_scalar(x) -> bool:
    """True for a Python number, or the weakly-typed value jit makes of one."""
    if type(x) in _NUMBERS:
        return True
    return bool(getattr(jax.typeof(x), "weak_type", False))


def result_type(*xs) -> _dtype.dtype:
    """torch's result dtype for operands that are jax values or Python numbers.

    Python numbers (weakly-typed once traced) and zero-dim arrays only widen the result
    when they are of a higher category, as in torch."""
    dims, zeros, scalars = [], [], []
    for x in xs:
        if x is None:
            continue
        if type(x) in _NUMBERS:
            scalars.append(_scalar_dtype(np.result_type(x)))
        elif getattr(jax.typeof(x), "weak_type", False):
            scalars.append(_scalar_dtype(x.dtype))
        elif x.ndim == 0:
            zeros.append(torch_dtype(x))
        else:
            dims.append(torch_dtype(x))
    return _dtype.result_type_of(dims, zeros, scalars)


def as_dtype(x, d: _dtype.dtype):
    """`x` (jax value or Python number) as an array of torch dtype `d`."""
    return jnp.asarray(x, dtype=d._np)


def promote(*xs):
    """Operands cast to their torch result dtype; returns (arrays, dtype)."""
    d = result_type(*xs)
    return [None if x is None else as_dtype(x, d) for x in xs], d


def float_dtype(d: _dtype.dtype) -> _dtype.dtype:
    """torch's dtype for ops that compute in floating point (sqrt, sin, mean...)."""
    return d if (d.is_floating_point or d.is_complex) else _dtype.get_default_dtype()


def to_float(x):
    """Integers and bools promoted to the default float dtype, as torch's unary float ops do."""
    d = float_dtype(torch_dtype(x) if not type(x) in _NUMBERS else result_type(x))
    return as_dtype(x, d)


def wrap_dim(dim: int, ndim: int) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim % n


def wrap_dims(dim, ndim: int):
    """None, an int or a sequence of ints as a tuple of non-negative dims (None stays None)."""
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        out = tuple(wrap_dim(d, ndim) for d in dim)
        if len(set(out)) != len(out):
            raise RuntimeError(f"dim {out[0]} appears multiple times in the list of dims")
        return out
    return (wrap_dim(dim, ndim),)


def np_dtype(d):
    """A torch dtype (or None) as the numpy dtype jax takes."""
    return None if d is None else d._np
