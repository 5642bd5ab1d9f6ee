"""Unary pointwise math: trigonometric, exponential, rounding, sign, and complex parts."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from .registry import register, write_inplace, write_out, publish
from ._util import to_float, torch_dtype
from .. import _dtype
from .._tensor import Tensor

_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
               "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
               "bool": "Bool", "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def not_implemented_for(kernel: str, d: _dtype.dtype):
    """torch's error for a dtype a kernel lacks."""
    return NotImplementedError(f'"{kernel}" not implemented for \'{_TYPE_NAMES[d._name]}\'')


_NUMBERS = (int, float, complex, bool)


def require_tensors(name: str, params: tuple, *, at_least_one: bool = False, then=None):
    """A `check=` raising torch's TypeError for a Python number where torch takes a Tensor.

    `params` are the tensor parameters in order; with `at_least_one`, numbers are refused only
    when every one of them is a number (torch's Scalar-first overloads, `2 ** t`)."""
    def check(*args, **kwargs):
        numbers = []
        for i, p in enumerate(params):
            v = args[i] if i < len(args) else kwargs.get(p)
            if type(v) in _NUMBERS:
                numbers.append((i, p, v))
        if numbers and (not at_least_one or len(numbers) == len(params)):
            i, p, v = numbers[0]
            raise TypeError(f"{name}(): argument '{p}' (position {i + 1}) must be Tensor, not "
                            f"{type(v).__name__}")
        if then is not None:
            then(*args, **kwargs)
    return check


def strict_out(public, names) -> None:
    """Republish `public` so that `out=` must have the result's dtype, as torch requires for
    some ops (clamp, complex) instead of casting into it."""
    def checked(name):
        def fn(*args, out=None, **kwargs):
            result = public(*args, **kwargs)
            if out is None:
                return result
            if isinstance(out, Tensor) and out.dtype is not result.dtype:
                raise RuntimeError(f"Found dtype {_TYPE_NAMES[out.dtype._name]} but expected "
                                   f"{_TYPE_NAMES[result.dtype._name]}")
            return write_out(out, result, name)
        fn.__doc__ = public.__doc__
        return fn
    for name in names:
        publish(checked(name), name, op=public._op)


def alias_inplace(name: str, aliases) -> None:
    """`Tensor.ALIAS_` for each alias of an op whose `Tensor.NAME_` exists."""
    for alias in aliases:
        setattr(Tensor, alias + "_", getattr(Tensor, name + "_"))


def _float_op(name, fn, aliases=(), complex_ok=True):
    """Register a unary op computed in floating point (ints and bools -> default float)."""
    def impl(input):
        if not complex_ok and torch_dtype(input).is_complex:
            raise not_implemented_for(f"{name}_cpu", torch_dtype(input))
        return fn(to_float(input))
    impl.__name__ = name
    impl.__doc__ = f"Mirrors `torch.{name}`."
    register(name=name, inplace=True, out=True, aliases=aliases,
             check=require_tensors(name, ("input",)))(impl)
    alias_inplace(name, aliases)


def _rsqrt(x):
    return 1 / jnp.sqrt(x) if jnp.iscomplexobj(x) else jax.lax.rsqrt(x)


def _sigmoid(x):
    return 1 / (1 + jnp.exp(-x)) if jnp.iscomplexobj(x) else jax.nn.sigmoid(x)


for _name, _fn, _aliases in [
    ("sin", jnp.sin, ()), ("cos", jnp.cos, ()), ("tan", jnp.tan, ()),
    ("asin", jnp.arcsin, ("arcsin",)), ("acos", jnp.arccos, ("arccos",)),
    ("atan", jnp.arctan, ("arctan",)),
    ("sinh", jnp.sinh, ()), ("cosh", jnp.cosh, ()), ("tanh", jnp.tanh, ()),
    ("asinh", jnp.arcsinh, ("arcsinh",)), ("acosh", jnp.arccosh, ("arccosh",)),
    ("atanh", jnp.arctanh, ("arctanh",)),
    ("exp", jnp.exp, ()), ("exp2", jnp.exp2, ()), ("expm1", jnp.expm1, ()),
    ("log", jnp.log, ()), ("log2", jnp.log2, ()), ("log10", jnp.log10, ()),
    ("log1p", jnp.log1p, ()),
    ("sqrt", jnp.sqrt, ()), ("rsqrt", _rsqrt, ()), ("sigmoid", _sigmoid, ()),
    ("reciprocal", lambda x: 1 / x, ()),
]:
    _float_op(_name, _fn, _aliases)

_float_op("deg2rad", lambda x: x * jnp.asarray(math.pi / 180, x.dtype), complex_ok=False)
_float_op("rad2deg", lambda x: x * jnp.asarray(180 / math.pi, x.dtype), complex_ok=False)


def _integer_identity(name, fn, aliases=()):
    """Register a rounding op: identity on integers, refused on bools as torch does."""
    def impl(input):
        d = torch_dtype(input)
        if d is _dtype.bool_:
            raise not_implemented_for(f"{name}_vml_cpu", d)
        if d.is_complex:
            raise NotImplementedError(f"{name} is not supported for complex inputs")
        if d._category == 1:
            return input
        return fn(input)
    impl.__name__ = name
    impl.__doc__ = f"Mirrors `torch.{name}`."
    register(name=name, inplace=True, out=True, aliases=aliases,
             check=require_tensors(name, ("input",)))(impl)
    alias_inplace(name, aliases)


_integer_identity("floor", jnp.floor)
_integer_identity("ceil", jnp.ceil)
_integer_identity("trunc", jnp.trunc, aliases=("fix",))


@register(inplace=True, out=True, check=require_tensors("round", ("input",)))
def round(input, *, decimals=0):
    """Mirrors `torch.round` (half to even)."""
    d = torch_dtype(input)
    if d is _dtype.bool_ or (d._category == 1 and decimals != 0):
        raise not_implemented_for("round_cpu" if decimals else "round_vml_cpu", d)
    if d.is_complex:
        raise not_implemented_for("round_cpu", d)
    if d._category == 1:
        return input
    if decimals == 0:
        return jnp.round(input)
    # torch scales by 10**|decimals| and divides back, rather than multiplying by 10**-n
    scale = jnp.asarray(10.0 ** (decimals if decimals > 0 else -decimals), input.dtype)
    if decimals > 0:
        return jnp.round(input * scale) / scale
    return jnp.round(input / scale) * scale


@register(inplace=True, out=True, check=require_tensors("frac", ("input",)))
def frac(input):
    """Mirrors `torch.frac`."""
    d = torch_dtype(input)
    if not d.is_floating_point:
        raise not_implemented_for("frac_cpu", d)
    return input - jnp.trunc(input)


@register(out=True, aliases=("absolute",), check=require_tensors("abs", ("input",)))
def abs(input):
    """Mirrors `torch.abs`."""
    d = torch_dtype(input)
    if d is _dtype.bool_:
        raise not_implemented_for("abs_cpu", d)
    return jnp.abs(input)


def _abs_(self):
    if self.dtype.is_complex:
        raise RuntimeError("In-place abs is not supported for complex tensors.")
    return write_inplace(self, abs(self), "abs_")


Tensor.abs_ = Tensor.absolute_ = _abs_


def _sign(input):
    d = torch_dtype(input)
    if d.is_complex:
        raise NotImplementedError("Unlike NumPy, torch.sign is not intended to support complex "
                                  "numbers. Please use torch.sgn instead.")
    if d is _dtype.bool_:
        return input
    # torch: (0 < x) - (x < 0), so sign(nan) and sign(-0.0) are 0
    return (input > 0).astype(input.dtype) - (input < 0).astype(input.dtype)


@register(inplace=True, out=True, check=require_tensors("sign", ("input",)))
def sign(input):
    """Mirrors `torch.sign`."""
    return _sign(input)


@register(inplace=True, out=True, check=require_tensors("sgn", ("input",)))
def sgn(input):
    """Mirrors `torch.sgn`."""
    d = torch_dtype(input)
    if d.is_complex:
        mag = jnp.abs(input)
        return jnp.where(mag == 0, jnp.zeros_like(input), input / jnp.where(mag == 0, 1, mag))
    return _sign(input)


@register(check=require_tensors("positive", ("input",)))
def positive(input):
    """Mirrors `torch.positive`."""
    if torch_dtype(input) is _dtype.bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


@register(inplace=True, out=True, check=require_tensors("square", ("input",)))
def square(input):
    """Mirrors `torch.square`."""
    if torch_dtype(input) is _dtype.bool_:    # torch: pow(bool, 2) promotes to int64
        input = input.astype(jnp.int64)
    return input * input


@register(inplace=True, out=True, check=require_tensors("nan_to_num", ("input",)))
def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """Mirrors `torch.nan_to_num`."""
    d = torch_dtype(input)
    if not (d.is_floating_point or d.is_complex):
        return input

    def fix(x):
        info = jnp.finfo(x.dtype)
        hi = info.max if posinf is None else posinf
        lo = info.min if neginf is None else neginf
        x = jnp.where(jnp.isnan(x), jnp.asarray(nan, x.dtype), x)
        x = jnp.where(jnp.isposinf(x), jnp.asarray(hi, x.dtype), x)
        return jnp.where(jnp.isneginf(x), jnp.asarray(lo, x.dtype), x)
    if d.is_complex:
        return jax.lax.complex(fix(jnp.real(input)), fix(jnp.imag(input)))
    return fix(input)


@register(out=True, returns=("mantissa", "exponent"), check=require_tensors("frexp", ("input",)))
def frexp(input):
    """Mirrors `torch.frexp`."""
    if not torch_dtype(input).is_floating_point:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    mantissa, exponent = jnp.frexp(input)
    return mantissa, exponent.astype(jnp.int32)


# -- complex parts ---------------------------------------------------------------------------

@register(out=True, check=require_tensors("angle", ("input",)))
def angle(input):
    """Mirrors `torch.angle`."""
    d = torch_dtype(input)
    if d.is_complex:
        return jnp.angle(input)
    x = to_float(input)
    pi = jnp.asarray(math.pi, x.dtype)
    return jnp.where(jnp.isnan(x), x, jnp.where(x < 0, pi, jnp.zeros_like(x)))


@register(method=False, check=require_tensors("real", ("input",)))
def real(input):
    """Mirrors `torch.real`; returns a copy, not a view."""
    return jnp.real(input) if jnp.iscomplexobj(input) else input


@register(method=False, check=require_tensors("imag", ("input",)))
def imag(input):
    """Mirrors `torch.imag`; returns a copy, not a view."""
    if not jnp.iscomplexobj(input):
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return jnp.imag(input)


@register(check=require_tensors("conj", ("input",)))
def conj(input):
    """Mirrors `torch.conj`; conjugates eagerly (jtorch has no lazy conjugate bit)."""
    return jnp.conj(input) if jnp.iscomplexobj(input) else input


@register(inplace=True, out=True, check=require_tensors("conj_physical", ("input",)))
def conj_physical(input):
    """Mirrors `torch.conj_physical`."""
    return jnp.conj(input) if jnp.iscomplexobj(input) else input


@register(check=require_tensors("resolve_conj", ("input",)))
def resolve_conj(input):
    """Mirrors `torch.resolve_conj`; conjugation is never lazy in jtorch."""
    return input


@register(check=require_tensors("resolve_neg", ("input",)))
def resolve_neg(input):
    """Mirrors `torch.resolve_neg`; negation is never lazy in jtorch."""
    return input


Tensor.is_conj = lambda self: False
Tensor.is_neg = lambda self: False


@register(method=False, check=require_tensors("view_as_real", ("input",)))
def view_as_real(input):
    """Mirrors `torch.view_as_real`; returns a copy, not a view."""
    if not jnp.iscomplexobj(input):
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return jnp.stack([jnp.real(input), jnp.imag(input)], axis=-1)


@register(method=False, check=require_tensors("view_as_complex", ("input",)))
def view_as_complex(input):
    """Mirrors `torch.view_as_complex`; returns a copy, not a view."""
    d = torch_dtype(input)
    if d not in (_dtype.float32, _dtype.float64):
        raise RuntimeError("view_as_complex is only supported for float and double tensors, but "
                           f"got a tensor of scalar type: {_TYPE_NAMES[d._name]}")
    if input.ndim == 0 or input.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    return jax.lax.complex(input[..., 0], input[..., 1])


def _check_complex_parts(name, a, b):
    da, db = torch_dtype(a), torch_dtype(b)
    if not da.is_floating_point or da is _dtype.bfloat16:
        raise RuntimeError(f"{name} only supports floating-point dtypes, but got "
                           f"{_TYPE_NAMES[da._name]}")
    if da is not db:
        raise RuntimeError(f"Expected object of scalar type {_TYPE_NAMES[da._name]} but got "
                           f"scalar type {_TYPE_NAMES[db._name]} for second argument")


@register(method=False, out=True, scalars=(), check=require_tensors("complex", ("real", "imag")))
def complex(real, imag):
    """Mirrors `torch.complex`."""
    _check_complex_parts("complex", real, imag)
    if real.dtype == jnp.float16:
        raise NotImplementedError("complex32 (complex of float16) is not supported by jtorch")
    return jax.lax.complex(*jnp.broadcast_arrays(real, imag))


@register(method=False, out=True, scalars=(), check=require_tensors("polar", ("abs", "angle")))
def polar(abs, angle):
    """Mirrors `torch.polar`."""
    _check_complex_parts("polar", abs, angle)
    if abs.dtype == jnp.float16:
        raise NotImplementedError("complex32 (complex of float16) is not supported by jtorch")
    abs, angle = jnp.broadcast_arrays(abs, angle)
    return jax.lax.complex(abs * jnp.cos(angle), abs * jnp.sin(angle))


strict_out(complex, ("complex",))
strict_out(polar, ("polar",))
