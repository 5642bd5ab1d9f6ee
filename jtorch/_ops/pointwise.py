"""Pointwise arithmetic: the binary operators and their torch functions."""
from __future__ import annotations

import jax.numpy as jnp

from .registry import register
from ._util import promote, result_type, as_dtype, torch_dtype
from .. import _dtype


def _check_alpha(alpha, d):
    if alpha is not None and isinstance(alpha, float) and d._category <= 1:
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating "
                           "point number.")


@register(inplace=True, out=True)
def add(input, other, *, alpha=1):
    (a, b), d = promote(input, other)
    _check_alpha(alpha, d)
    if alpha != 1:
        b = b * as_dtype(alpha, d)
    if d is _dtype.bool_:
        return a | b
    return a + b


@register(inplace=True, out=True, aliases=("subtract",))
def sub(input, other, *, alpha=1):
    (a, b), d = promote(input, other)
    if d is _dtype.bool_:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    _check_alpha(alpha, d)
    if alpha != 1:
        b = b * as_dtype(alpha, d)
    return a - b


@register(inplace=True, out=True, aliases=("multiply",))
def mul(input, other):
    (a, b), d = promote(input, other)
    if d is _dtype.bool_:
        return a & b
    return a * b


@register(inplace=True, out=True, aliases=("divide", "true_divide"))
def div(input, other, *, rounding_mode=None):
    d = result_type(input, other)
    if rounding_mode is None:
        fd = d if (d.is_floating_point or d.is_complex) else _dtype.get_default_dtype()
        return as_dtype(input, fd) / as_dtype(other, fd)
    a, b = as_dtype(input, d), as_dtype(other, d)
    if rounding_mode == "trunc":
        if d._category <= 1:
            return _int_trunc_div(a, b)
        return jnp.trunc(a / b)
    if rounding_mode == "floor":
        if d._category <= 1:
            return jnp.floor_divide(a, b)
        return _float_floor_div(a, b)
    raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                       f"found '{rounding_mode}'")


def _int_trunc_div(a, b):
    q = jnp.floor_divide(a, b)
    fix = (q < 0) & (q * b != a)
    return jnp.where(fix, q + 1, q)


def _float_floor_div(a, b):
    # torch (like Python) computes floor division from fmod so that a == q*b + r holds
    mod = jnp.fmod(a, b)
    div = (a - mod) / b
    div = jnp.where((mod != 0) & ((b < 0) != (mod < 0)), div - 1, div)
    floored = jnp.floor(div)
    floored = jnp.where(div - floored > 0.5, floored + 1, floored)
    return jnp.where(div != 0, floored, jnp.copysign(jnp.zeros_like(div), a / b))


@register(inplace=True, out=True)
def floor_divide(input, other):
    return div(input, other, rounding_mode="floor")


@register(inplace=True, out=True, aliases=("negative",))
def neg(input):
    if torch_dtype(input) is _dtype.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If "
                           "you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    return -input
