"""Comparisons, floating-point classification, logical and bitwise ops."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from .registry import register
from ._util import promote, torch_dtype
from .unary import alias_inplace, not_implemented_for, require_tensors, _TYPE_NAMES
from .. import _dtype


def _comparison(name, fn, aliases):
    def impl(input, other):
        (a, b), d = promote(input, other)
        if d.is_complex and name not in ("eq", "ne"):
            raise not_implemented_for(f"{name}_cpu", d)
        return fn(a, b)
    impl.__name__ = name
    impl.__doc__ = f"Mirrors `torch.{name}`."
    register(name=name, inplace=True, out=True, aliases=aliases,
             check=require_tensors(name, ("input",)))(impl)
    alias_inplace(name, aliases)


for _name, _fn, _aliases in [
    ("eq", jnp.equal, ()), ("ne", jnp.not_equal, ("not_equal",)),
    ("lt", jnp.less, ("less",)), ("le", jnp.less_equal, ("less_equal",)),
    ("gt", jnp.greater, ("greater",)), ("ge", jnp.greater_equal, ("greater_equal",)),
]:
    _comparison(_name, _fn, _aliases)


_BOTH = ("input", "other")


@register(jit=False, scalars=(), check=require_tensors("equal", _BOTH))
def equal(input, other):
    """Mirrors `torch.equal`; returns a Python bool."""
    if input.shape != other.shape:
        return False
    return bool(_all_equal(input, other))


@jax.jit
def _all_equal(a, b):
    (a, b), _ = promote(a, b)
    return jnp.all(a == b)


def _isclose(a, b, rtol, atol, equal_nan):
    da, db = torch_dtype(a), torch_dtype(b)
    if da is not db:
        raise RuntimeError(f"{_TYPE_NAMES[da._name]} did not match {_TYPE_NAMES[db._name]}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    close = a == b
    if equal_nan and (da.is_floating_point or da.is_complex):
        close = close | (jnp.isnan(a) & jnp.isnan(b))
    if rtol == 0 and atol == 0:
        return close
    if not (da.is_floating_point or da.is_complex):
        fd = _dtype.get_default_dtype()._np
        a, b = a.astype(fd), b.astype(fd)
    # infinities only match exactly (above); the tolerance test needs a finite error
    error = jnp.abs(a - b)
    allowed = atol + jnp.abs(rtol * b)
    return close | (jnp.isfinite(error) & (error <= allowed))


@register(scalars=(), check=require_tensors("isclose", _BOTH))
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Mirrors `torch.isclose`."""
    return _isclose(input, other, rtol, atol, equal_nan)


@functools.partial(jax.jit, static_argnums=(2, 3, 4))
def _allclose(a, b, rtol, atol, equal_nan):
    return jnp.all(_isclose(a, b, rtol, atol, equal_nan))


@register(jit=False, scalars=(), check=require_tensors("allclose", _BOTH))
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Mirrors `torch.allclose`; returns a Python bool."""
    return bool(_allclose(input, other, float(rtol), float(atol), bool(equal_nan)))


# -- floating-point classification -----------------------------------------------------------

def _classifier(name, fn, complex_error=None):
    def impl(input):
        d = torch_dtype(input)
        if d.is_complex and complex_error is not None:
            raise complex_error
        if not (d.is_floating_point or d.is_complex):
            return fn(input.astype(jnp.float32)) if name == "signbit" else \
                jnp.full(input.shape, name in ("isfinite", "isreal"), jnp.bool_)
        return fn(input)
    impl.__name__ = name
    impl.__doc__ = f"Mirrors `torch.{name}`."
    register(name=name, out=name in ("isposinf", "isneginf", "signbit"),
             check=require_tensors(name, ("input",)))(impl)


_classifier("isfinite", jnp.isfinite)
_classifier("isinf", jnp.isinf)
_classifier("isnan", jnp.isnan)
_classifier("isreal", lambda x: jnp.imag(x) == 0 if jnp.iscomplexobj(x) else
            jnp.ones(x.shape, jnp.bool_))
_classifier("isposinf", jnp.isposinf, RuntimeError("isposinf does not support complex inputs."))
_classifier("isneginf", jnp.isneginf, RuntimeError("isneginf does not support complex inputs."))
_classifier("signbit", jnp.signbit,
            NotImplementedError("signbit is not implemented for complex tensors."))


@register(out=True, method=False, scalars=("elements", "test_elements"),
          check=require_tensors("isin", ("elements", "test_elements"), at_least_one=True))
def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Mirrors `torch.isin`."""
    (a, b), d = promote(elements, test_elements)
    for x in (elements, test_elements):
        dx = torch_dtype(jnp.asarray(x))
        if dx is _dtype.bool_ or dx.is_complex:
            raise RuntimeError(f"Unsupported input type encountered for isin(): "
                               f"{_TYPE_NAMES[dx._name]}")
    b = jnp.ravel(b)
    if b.size == 0:
        found = jnp.zeros(a.shape, jnp.bool_)
    elif a.size * b.size <= 1 << 20:
        found = jnp.any(a[..., None] == b, axis=-1)
    else:   # large inputs: binary search in the sorted test elements
        table = jnp.sort(b)
        idx = jnp.clip(jnp.searchsorted(table, a), 0, table.size - 1)
        found = table[idx] == a
    return ~found if invert else found


# -- logical and bitwise ---------------------------------------------------------------------

def _logical(name, fn):
    def impl(input, other):
        return fn(jnp.asarray(input) != 0, jnp.asarray(other) != 0)
    impl.__name__ = name
    impl.__doc__ = f"Mirrors `torch.{name}`."
    register(name=name, inplace=True, out=True, check=require_tensors(name, _BOTH))(impl)


_logical("logical_and", jnp.logical_and)
_logical("logical_or", jnp.logical_or)
_logical("logical_xor", jnp.logical_xor)


@register(inplace=True, out=True, check=require_tensors("logical_not", ("input",)))
def logical_not(input):
    """Mirrors `torch.logical_not`."""
    return input == 0


def _integral(name, input, other=None):
    (a, b), d = promote(input, input if other is None else other)
    if d._category > 1:
        raise not_implemented_for(f"{name}_cpu", d)
    return a, b, d


_KERNELS = {"bitwise_left_shift": "lshift", "bitwise_right_shift": "rshift"}


def _bitwise(name, fn):
    def impl(input, other):
        a, b, d = _integral(_KERNELS.get(name, name), input, other)
        return fn(a, b)
    impl.__name__ = name
    impl.__doc__ = f"Mirrors `torch.{name}`."
    # torch has Scalar-first overloads (`2 & t`) but no overload taking two numbers
    register(name=name, inplace=True, out=True,
             check=require_tensors(name, _BOTH, at_least_one=True))(impl)


def _shift_left(a, b):
    if a.dtype == jnp.bool_:
        raise not_implemented_for("lshift_cpu", _dtype.bool_)
    bits = a.dtype.itemsize * 8
    # torch: shifting by the bit width or more (or by a negative amount) gives 0
    out = jnp.left_shift(a, jnp.clip(b, 0, bits - 1))
    return jnp.where((b < 0) | (b >= bits), jnp.zeros_like(a), out)


def _shift_right(a, b):
    if a.dtype == jnp.bool_:
        raise not_implemented_for("rshift_cpu", _dtype.bool_)
    bits = a.dtype.itemsize * 8
    # torch: an oversized or negative shift leaves only the sign
    out = jnp.right_shift(a, jnp.clip(b, 0, bits - 1))
    fill = jnp.where(a < 0, -1, 0).astype(a.dtype) if jnp.issubdtype(a.dtype, jnp.signedinteger) \
        else jnp.zeros_like(a)
    return jnp.where((b < 0) | (b >= bits), fill, out)


_bitwise("bitwise_and", jnp.bitwise_and)
_bitwise("bitwise_or", jnp.bitwise_or)
_bitwise("bitwise_xor", jnp.bitwise_xor)
_bitwise("bitwise_left_shift", _shift_left)
_bitwise("bitwise_right_shift", _shift_right)


@register(inplace=True, out=True, check=require_tensors("bitwise_not", ("input",)))
def bitwise_not(input):
    """Mirrors `torch.bitwise_not`."""
    a, _, d = _integral("bitwise_not", input)
    return jnp.logical_not(a) if d is _dtype.bool_ else jnp.invert(a)
