"""Pointwise arithmetic: the binary operators and their torch functions, clamping, blending.

The pure functions are written as `_name` and registered under torch's name, so that one op
can reuse another's math (rsub is sub reversed) without going through the public wrapper.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .registry import register, write_inplace, publish
from ._util import promote, result_type, as_dtype, torch_dtype, float_dtype, is_python_scalar
from .unary import alias_inplace, not_implemented_for, require_tensors, strict_out, _TYPE_NAMES
from .._tensor import Tensor
from .. import _dtype


_BOTH_TENSORS = ("input", "other")


def _check_alpha(alpha, d):
    if alpha is not None and isinstance(alpha, float) and d._category <= 1:
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating "
                           "point number.")


def _promote(*xs):
    """`promote`, keeping bools converted to numbers opaque to XLA.

    XLA rewrites `float(mask) * x` as `select(mask, x, 0)`, which turns False * nan (or
    False / 0) into 0 where torch gives nan; the barrier keeps the arithmetic as written."""
    arrays, d = promote(*xs)
    if d is not _dtype.bool_:
        arrays = [jax.lax.optimization_barrier(a) if x is not None and not is_python_scalar(x)
                  and jnp.asarray(x).dtype == jnp.bool_ else a for x, a in zip(xs, arrays)]
    return arrays, d


def _is_bool(x):
    return type(x) is bool or (not is_python_scalar(x) and torch_dtype(x) is _dtype.bool_)


def _check_int_divisor(input, other):
    """torch raises for integer division by zero; floats give inf/nan instead."""
    if isinstance(other, jax.core.Tracer) or result_type(input, other)._category != 1:
        return
    if bool(jnp.any(jnp.asarray(other) == 0)):
        raise RuntimeError("ZeroDivisionError")


def _check_div(input, other, *, rounding_mode=None):
    if rounding_mode is not None:
        _check_int_divisor(input, other)


def _op(name, impl, *, aliases=(), **options):
    """Register `impl` as torch's `name`, with in-place forms of its aliases too."""
    impl.__doc__ = impl.__doc__ or f"Mirrors `torch.{name}`."
    public = register(name=name, aliases=aliases, **options)(impl)
    if options.get("inplace"):
        alias_inplace(name, aliases)
    return public


def _add(input, other, *, alpha=1):
    (a, b), d = promote(input, other)
    _check_alpha(alpha, d)
    if alpha != 1:
        b = b * as_dtype(alpha, d)
    if d is _dtype.bool_:
        return a | b
    return a + b


def _sub(input, other, *, alpha=1):
    (a, b), d = promote(input, other)
    if d is _dtype.bool_:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    if _is_bool(input) or _is_bool(other):
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not "
                           "supported. If you are trying to invert a mask, use the `~` or "
                           "`logical_not()` operator instead.")
    _check_alpha(alpha, d)
    if alpha != 1:
        b = b * as_dtype(alpha, d)
    return a - b


def _rsub(input, other, *, alpha=1):
    return _sub(other, input, alpha=alpha)


def _mul(input, other):
    (a, b), d = _promote(input, other)
    if d is _dtype.bool_:
        return a & b
    return a * b


def _div(input, other, *, rounding_mode=None):
    d = result_type(input, other)
    if rounding_mode is None:
        fd = float_dtype(d)
        (a, b, _), _ = _promote(input, other, jnp.zeros((), fd._np))
        return a / b
    if (d is _dtype.bool_ or d.is_complex) and rounding_mode in ("trunc", "floor"):
        raise not_implemented_for(f"div_{rounding_mode}_cpu", d)
    (a, b), _ = _promote(input, other)
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
    out = jnp.where(div != 0, floored, jnp.copysign(jnp.zeros_like(div), a / b))
    return jnp.where(b == 0, a / b, out)     # torch: division by zero gives IEEE's inf/nan


def _floor_divide(input, other):
    return _div(input, other, rounding_mode="floor")


def _remainder(input, other):
    (a, b), d = promote(input, other)
    if d is _dtype.bool_ or d.is_complex:
        raise not_implemented_for("remainder_cpu", d)
    if d._category == 1:
        return jnp.remainder(a, b)
    # torch: the C remainder moved to the divisor's sign
    mod = jnp.fmod(a, b)
    return jnp.where((mod != 0) & ((b < 0) != (mod < 0)), mod + b, mod)


def _fmod(input, other):
    (a, b), d = promote(input, other)
    if d is _dtype.bool_ or d.is_complex:
        raise not_implemented_for("fmod_cpu", d)
    return jnp.fmod(a, b)


def _neg(input):
    if torch_dtype(input) is _dtype.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If "
                           "you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    return -input


_PUBLIC = {}
_EITHER = ("input", "other")       # torch has Scalar-first overloads: a number may come first
for _name, _impl, _aliases, _tensors, _check in [
    ("add", _add, (), _EITHER, None), ("sub", _sub, ("subtract",), _EITHER, None),
    ("rsub", _rsub, (), ("input",), None), ("mul", _mul, ("multiply",), _EITHER, None),
    ("div", _div, ("divide", "true_divide"), _EITHER, _check_div),
    ("floor_divide", _floor_divide, (), _EITHER, _check_int_divisor),
    ("remainder", _remainder, (), _EITHER, _check_int_divisor),
    ("fmod", _fmod, (), ("input",), _check_int_divisor),
    ("neg", _neg, ("negative",), ("input",), None),
]:
    _check = require_tensors(_name, _tensors, at_least_one=len(_tensors) == 2, then=_check)
    _PUBLIC[_name] = _op(_name, _impl, aliases=_aliases, inplace=_name != "rsub", out=True,
                         check=_check, method=_name != "rsub")

Tensor.__rdiv__ = lambda self, other: _PUBLIC["div"](other, self)


# -- powers ----------------------------------------------------------------------------------

def _check_pow(input, exponent):
    if (type(exponent) is int and exponent < 0 and not is_python_scalar(input)
            and torch_dtype(input)._category <= 1):
        raise RuntimeError("Integers to negative integer powers are not allowed.")


def _int_pow(a, b):
    negative = b < 0
    out = jnp.power(a, jnp.where(negative, jnp.zeros_like(b), b))
    # torch: a negative power of an integer truncates to 0, except for bases 1 and -1
    odd = (b % 2) != 0
    small = jnp.where(a == 1, 1, jnp.where(a == -1, jnp.where(odd, -1, 1), 0)).astype(a.dtype)
    return jnp.where(negative, small, out)


def _pow(input, exponent):
    (a, b), d = promote(input, exponent)
    if d is _dtype.bool_:
        if jnp.ndim(exponent) > 0:
            raise not_implemented_for("pow", d)
        return a | ~b
    if d._category == 1:
        return _int_pow(a, b)
    if jnp.ndim(b) == 0 and is_python_scalar(exponent) and not jnp.iscomplexobj(a):
        return _scalar_pow(a, b)
    return jnp.power(a, b)


# torch's CPU kernel computes these scalar exponents as products, roots and reciprocals
# rather than pow, which rounds differently (x ** 3 differs in a quarter of float32 values).
# Not -0.5: XLA turns 1 / sqrt(x) into its own rsqrt, which rounds like neither.
_SCALAR_POWERS = ((2, lambda x: x * x), (3, lambda x: x * x * x), (0.5, jnp.sqrt),
                  (-1, lambda x: 1 / x), (-2, lambda x: 1 / (x * x)))


@jax.custom_jvp
def _scalar_pow(a, e):
    """`a ** e` for a traced Python-scalar exponent `e`, with torch's formula for e's value."""
    out = jnp.power(a, e)
    for value, formula in _SCALAR_POWERS:
        out = jnp.where(e == value, formula(a), out)
    return out


@_scalar_pow.defjvp
def _scalar_pow_jvp(primals, tangents):
    # torch's pow_backward: grad * (exponent * self.pow(exponent - 1)), zero for exponent 0
    # (differentiating the formulas instead would put 0/0 into the gradient at x = 0)
    a, e = primals
    slope = jnp.where(e == 0, 0, e * _scalar_pow(a, e - 1))
    return _scalar_pow(a, e), tangents[0] * slope.astype(a.dtype)


def _float_power(input, exponent):
    complex_ = jnp.iscomplexobj(input) or jnp.iscomplexobj(exponent)
    d = _dtype.complex128 if complex_ else _dtype.float64
    return jnp.power(as_dtype(input, d), as_dtype(exponent, d))


_POW = ("input", "exponent")
_op("pow", _pow, inplace=True, out=True, scalars=_POW,
    check=require_tensors("pow", _POW, at_least_one=True, then=_check_pow))
_op("float_power", _float_power, out=True, scalars=_POW,
    check=require_tensors("float_power", _POW, at_least_one=True))


def _float_power_(self, exponent):
    if self.dtype not in (_dtype.float64, _dtype.complex128):
        raise RuntimeError(f"the base given to float_power_ has dtype "
                           f"{_TYPE_NAMES[self.dtype._name]} but the operation's result requires "
                           f"dtype Double")
    return write_inplace(self, Tensor.float_power(self, exponent), "float_power_")


Tensor.float_power_ = _float_power_


# -- number theory ---------------------------------------------------------------------------

def _gcd_kernel(a, b):
    # Euclid with C's truncating remainder, as torch's kernel: abs(INT_MIN) stays negative
    # and wraps exactly as there
    def body(state):
        x, y = state
        nonzero = x != 0
        return (jnp.where(nonzero, jax.lax.rem(y, jnp.where(nonzero, x, 1)), 0),
                jnp.where(nonzero, x, y))
    a, b = jnp.broadcast_arrays(jnp.abs(a), jnp.abs(b))
    return jax.lax.while_loop(lambda state: jnp.any(state[0] != 0), body, (a, b))[1]


def _integer_operands(name, input, other):
    (a, b), d = promote(input, other)
    if d._category != _dtype._INT:
        raise not_implemented_for(f"{name}_cpu", d)
    return a, b


def _gcd(input, other):
    return _gcd_kernel(*_integer_operands("gcd", input, other))


def _lcm(input, other):
    a, b = _integer_operands("lcm", input, other)
    g = _gcd_kernel(a, b)
    # integer overflow wraps, as in torch
    return jnp.where(g == 0, jnp.zeros_like(a), jnp.abs(jax.lax.div(a, jnp.where(g == 0, 1, g)) * b))


for _name, _impl in (("gcd", _gcd), ("lcm", _lcm)):
    _op(_name, _impl, inplace=True, out=True, scalars=(), check=require_tensors(_name, _BOTH_TENSORS))


# -- binary float math -----------------------------------------------------------------------

@jax.custom_jvp
def _nextafter(x, y):
    return jnp.nextafter(x, y)


# torch: the gradient passes to `input` unchanged and is zero for `other`
@_nextafter.defjvp
def _nextafter_jvp(primals, tangents):
    out = _nextafter(*primals)
    return out, jnp.broadcast_to(tangents[0], out.shape)


def _float_binary(name, fn, *, ints=True, complex_ok=False, aliases=(), inplace=True):
    """A binary op computed in floating point; `ints=False` refuses integer inputs as torch."""
    def impl(input, other):
        d = result_type(input, other)
        if d.is_complex and not complex_ok:
            raise not_implemented_for(f"{name}_cpu", d)
        if not ints and d._category <= 1:
            raise not_implemented_for(f"{name}_cpu", d)
        (a, b, _), _ = _promote(input, other, jnp.zeros((), float_dtype(d)._np))
        return fn(a, b)
    impl.__name__ = name
    tensors = ("input",) if name == "copysign" else ("input", "other")
    _op(name, impl, aliases=aliases, inplace=inplace, out=True,
        check=require_tensors(name, tensors))


_float_binary("atan2", jnp.arctan2, aliases=("arctan2",))
_float_binary("copysign", jnp.copysign)
_float_binary("hypot", jnp.hypot, ints=False)
_float_binary("logaddexp", jnp.logaddexp, ints=False, complex_ok=True, inplace=False)
_float_binary("logaddexp2", jnp.logaddexp2, ints=False, inplace=False)
_float_binary("nextafter", _nextafter, ints=False)


def _ldexp(input, other):
    # torch: input * 2.0 ** other, each step with its own promotion
    power = jnp.power(2.0, jnp.asarray(other, float_dtype(torch_dtype(other))._np))
    (a, p), d = _promote(input, power)
    fd = float_dtype(d)
    return as_dtype(a, fd) * as_dtype(p, fd)


def _heaviside(input, values):
    di, dv = torch_dtype(input), torch_dtype(values)
    if di is not dv:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    if di.is_complex:
        raise RuntimeError("heaviside is not yet implemented for complex tensors.")
    zero = jnp.zeros((), input.dtype)
    return jnp.where(input == zero, values, (input > zero).astype(input.dtype))


_op("ldexp", _ldexp, inplace=True, out=True, scalars=(),
    check=require_tensors("ldexp", ("input", "other")))
_op("heaviside", _heaviside, inplace=True, out=True, scalars=(),
    check=require_tensors("heaviside", ("input", "values")))


# -- maximum, minimum, clamp -----------------------------------------------------------------

def _extremum(name, fn):
    def impl(input, other):
        (a, b), d = promote(input, other)
        if d.is_complex:
            raise RuntimeError(f"{name} not implemented for complex tensors.")
        return fn(a, b)
    impl.__name__ = name
    _op(name, impl, out=True, check=require_tensors(name, ("input", "other")))


_extremum("maximum", jnp.maximum)
_extremum("minimum", jnp.minimum)
_extremum("fmax", jnp.fmax)
_extremum("fmin", jnp.fmin)


def _clamp(input, min=None, max=None):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    (x, lo, hi), d = promote(input, min, max)
    if d.is_complex:
        raise NotImplementedError("clamp is not supported for complex types")
    if d is _dtype.bool_:
        raise not_implemented_for("clamp_cpu", d)
    # select rather than maximum/minimum: torch's gradient reaches the input at the bounds
    # (jax's maximum splits it at ties); a NaN input or NaN bound gives NaN, as in torch
    if lo is not None:
        x = jnp.where((x < lo) | _isnan(lo), lo, x)
    if hi is not None:
        x = jnp.where((x > hi) | _isnan(hi), hi, x)
    return x


def _isnan(x):
    return jnp.isnan(x) if jnp.issubdtype(x.dtype, jnp.inexact) else False


def _clamp_min(input, min):
    return _clamp(input, min, None)


def _clamp_max(input, max):
    return _clamp(input, None, max)


strict_out(_op("clamp", _clamp, aliases=("clip",), inplace=True, out=True,
               scalars=("input", "min", "max"), check=require_tensors("clamp", ("input",))),
           ("clamp", "clip"))
strict_out(_op("clamp_min", _clamp_min, inplace=True, out=True, scalars=("input", "min"),
               check=require_tensors("clamp_min", ("input",))), ("clamp_min",))
strict_out(_op("clamp_max", _clamp_max, inplace=True, out=True, scalars=("input", "max"),
               check=require_tensors("clamp_max", ("input",))), ("clamp_max",))


# -- ternary ---------------------------------------------------------------------------------

def _lerp(input, end, weight):
    d = torch_dtype(input)
    if torch_dtype(end) is not d:
        raise RuntimeError(f"expected dtype {d._name} for `end` but got dtype "
                           f"{torch_dtype(end)._name}")
    if not is_python_scalar(weight) and weight.ndim > 0 and torch_dtype(weight) is not d:
        raise RuntimeError(f"expected dtype {d._name} for `weight` but got dtype "
                           f"{torch_dtype(weight)._name}")
    if d._category <= 1:
        raise not_implemented_for("lerp_kernel_scalar" if is_python_scalar(weight)
                                  else "lerp_kernel_tensor", d)
    w = as_dtype(weight, d)
    diff = end - input
    # torch's two-sided form keeps lerp(a, b, 1) == b exactly
    return jnp.where(jnp.abs(w) < 0.5, input + w * diff, end - diff * (1 - w))


def _addcmul(input, tensor1, tensor2, *, value=1):
    (a, b, c), d = _promote(input, tensor1, tensor2)
    if d is _dtype.bool_:
        raise not_implemented_for("addcmul_cpu_out", d)
    return a + as_dtype(value, d) * b * c


def _addcdiv(input, tensor1, tensor2, *, value=1):
    if torch_dtype(tensor1)._category <= 1 and torch_dtype(tensor2)._category <= 1:
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future release "
            "addcdiv will perform a true division of tensor1 and tensor2. Use "
            "(input + value * tensor1 / tensor2) for a true division.")
    (a, b, c), d = _promote(input, tensor1, tensor2)
    return a + as_dtype(value, d) * (b / c)


_TERNARY = ("input", "tensor1", "tensor2")
_op("lerp", _lerp, inplace=True, out=True, scalars=("weight",),
    check=require_tensors("lerp", ("input", "end")))
_op("addcmul", _addcmul, inplace=True, out=True, scalars=("value",),
    check=require_tensors("addcmul", _TERNARY))
_op("addcdiv", _addcdiv, inplace=True, out=True, scalars=("value",),
    check=require_tensors("addcdiv", _TERNARY))


# torch also exposes these in-place forms as functions (`torch.sigmoid_(t)`)
def _inplace_function(name):
    method = getattr(Tensor, name)

    def fn(input, *args, **kwargs):
        return method(input, *args, **kwargs)
    fn.__doc__ = f"Mirrors `torch.{name}`."
    publish(fn, name)


for _name in (
        "abs acos acosh asin asinh atan atanh ceil clamp clamp_max clamp_min conj_physical cos "
        "cosh deg2rad exp exp2 expm1 floor frac ldexp log log10 log1p log2 nan_to_num neg "
        "rad2deg reciprocal round rsqrt sigmoid sin sinh sqrt square tan tanh trunc arccos "
        "arcsin arctan arccosh arcsinh arctanh clip fix negative").split():
    _inplace_function(_name + "_")
