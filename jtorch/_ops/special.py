"""Special functions: the gamma and error-function families, their torch.special aliases.

Bessel and Airy functions live in special_bessel.py, orthogonal polynomials in
special_poly.py. Where jax.scipy.special agrees with torch to float32 precision it is used;
where torch defines edge values differently (poles, zeros, infinities) they are patched here.
"""
from __future__ import annotations

import fractions
import functools
import inspect
import math

import jax
import jax.numpy as jnp
import jax.scipy.special as jss
from jax import lax

from .. import _dtype
from .registry import register, write_inplace, OPS
from .._tensor import Tensor
from ._util import result_type, float_dtype, as_dtype

_EULER = 0.57721566490153286061
_LOW_PRECISION = (_dtype.float16, _dtype.bfloat16)


def float_inputs(*xs):
    """Operands promoted together, then to floating point, as torch's binary float ops do."""
    d = float_dtype(result_type(*xs))
    return [as_dtype(x, d) for x in xs], d


def pointwise(fn, *xs, wide: bool = False):
    """`fn` on the operands promoted to torch's float result dtype, computed in at least
    float32 (float64 when `wide`), and cast back to that dtype.

    Half-precision inputs compute in float32, as torch's CPU kernels do through their
    accumulation type."""
    xs, d = float_inputs(*xs)
    if wide or d is _dtype.float64:
        compute = _dtype.float64
    else:
        compute = _dtype.float32 if d in _LOW_PRECISION else d
    out = fn(*[x.astype(compute._np) for x in xs])
    return out.astype(d._np)


def tensor_operand(name: str):
    """A `check=` for binary ops that take a Python number on either side but not on both:
    torch has no (Number, Number) overload and raises TypeError."""
    def check(*args, **kwargs):
        values = (*args, *kwargs.values())
        if not any(isinstance(v, jax.Array) for v in values):
            kinds = ", ".join(type(v).__name__ for v in values)
            raise TypeError(f"{name}() received an invalid combination of arguments - got "
                            f"({kinds}), but expected at least one Tensor operand")
    return check


def special_alias(name: str, impl, **kw):
    """Register `impl` under torch.special (a function only, with `out=`)."""
    return register(name, namespace="torch.special", method=False, out=True, **kw)(impl)


def _borrowed(name: str, target: str, signature_of):
    """torch.special.NAME for an op another family owns: its kernel, found when first traced.

    `signature_of` is a stub with torch.special's signature (it decides what is static)."""
    def impl(*args, **kwargs):
        op = OPS.get(target)
        if op is None:
            raise NotImplementedError(f"jtorch does not implement torch.special.{name} yet "
                                      f"({target} is missing)")
        return op.impl(*args, **kwargs)
    impl.__signature__ = inspect.signature(signature_of)
    impl.__name__ = name
    impl.__doc__ = f"Mirrors `torch.special.{name}` (an alias of `{target}`)."
    special_alias(name, impl)


# --- error functions ------------------------------------------------------------------

def _erfcx(x):
    value = jss.erfcx(x)
    if x.dtype != jnp.float32:
        return value
    # jax's float32 erfcx underflows past x ~ 9; the asymptotic series is exact there
    safe = jnp.maximum(x, 9.0)
    inv2 = 1.0 / (2.0 * safe * safe)
    series = 1.0 - inv2 * (1.0 - 3.0 * inv2 * (1.0 - 5.0 * inv2 * (1.0 - 7.0 * inv2)))
    return jnp.where(x > 9.0, series / (safe * math.sqrt(math.pi)), value)


def erf(input):
    """Mirrors `torch.erf`."""
    return pointwise(lax.erf, input)


def erfc(input):
    """Mirrors `torch.erfc`."""
    return pointwise(lax.erfc, input)


def erfinv(input):
    """Mirrors `torch.erfinv`."""
    return pointwise(lax.erf_inv, input)


def erfcx(input):
    """Mirrors `torch.special.erfcx`."""
    return pointwise(_erfcx, input)


def ndtr(input):
    """Mirrors `torch.special.ndtr`."""
    return pointwise(jss.ndtr, input)


def ndtri(input):
    """Mirrors `torch.special.ndtri`."""
    return pointwise(jss.ndtri, input)


def log_ndtr(input):
    """Mirrors `torch.special.log_ndtr`."""
    return pointwise(jss.log_ndtr, input)


# --- gamma family ---------------------------------------------------------------------

@jax.custom_jvp
def _digamma(x):
    # torch: psi(+-0) = -+inf; tiny |x| overflows to -1/x (jax returns nan for both)
    tiny = jnp.abs(x) < 1e-20
    safe = jnp.where(tiny, 1.0, x)
    value = jnp.where(tiny, -1.0 / jnp.where(x == 0, 1.0, x) - _EULER, jss.digamma(safe))
    return jnp.where(x == 0, jnp.copysign(jnp.inf, -x), value)


# torch's derivative is its own trigamma (jax's differs near the poles of negative x)
_digamma.defjvp(lambda primals, tangents: (_digamma(primals[0]),
                                           _trigamma(primals[0]) * tangents[0]))


def _lgamma(x):
    # log|Gamma(x)| ~ -log|x| where jax's float32 lgamma overflows (subnormal x)
    tiny = jnp.abs(x) < 1e-30
    return jnp.where(tiny & (x != 0), -jnp.log(jnp.abs(x)), lax.lgamma(x))


@jax.custom_jvp
def _trigamma(x):
    # torch's scheme: reflect below 1/2, shift by 6, then the asymptotic series
    reflect = x < 0.5
    sin_pi_x = jnp.sin(math.pi * x)
    result = jnp.where(reflect, -(math.pi ** 2) / (sin_pi_x * sin_pi_x), 0.0)
    x = jnp.where(reflect, 1.0 - x, x)
    for _ in range(6):
        result = result + 1.0 / (x * x)
        x = x + 1.0
    ixx = 1.0 / (x * x)
    result = result + (1.0 + 1.0 / (2.0 * x) + ixx * (1.0 / 6 - ixx * (1.0 / 30 - ixx / 42))) / x
    return jnp.where(reflect, -result, result)


def _bernoulli_ratios(count: int):
    """(2k)! / B_2k for k = 1..count, the Euler-Maclaurin denominators."""
    b = [fractions.Fraction(1)]           # Bernoulli numbers by the standard recurrence
    for m in range(1, 2 * count + 1):
        b.append(-sum(math.comb(m + 1, j) * b[j] for j in range(m)) / (m + 1))
    return [float(math.factorial(2 * k) / b[2 * k]) for k in range(1, count + 1)]


_ZETA_DENOMINATORS = _bernoulli_ratios(12)
_MACHEP = 1.11022302462515654042e-16


@jax.custom_jvp
def _hurwitz_zeta(s, q):
    """zeta(s, q) = sum_k (q + k)^-s, by direct sum to q + k > 9 then Euler-Maclaurin.

    Follows the steps (and stopping rules) of torch's kernel so that edge values agree;
    torch's CPU kernel accumulates in double, so callers pass float64."""
    s, q = jnp.broadcast_arrays(s, q)
    q_int = q == jnp.floor(q)
    pole = (q <= 0) & q_int
    result = jnp.where(s == 1, jnp.inf,
                       jnp.where(s < 1, jnp.nan, jnp.where(pole, jnp.inf, jnp.nan)))
    # very negative q needs ~|q| direct terms (torch loops as long); past 2^31 we give nan
    undefined = (s <= 1) | pole | ((q <= 0) & (s != jnp.floor(s))) | (q < -2.0 ** 31)
    q_ = jnp.where(undefined, 1.0, q)
    s_ = jnp.where(undefined, 2.0, s)
    total = q_ ** -s_
    state = (jnp.zeros(q.shape, jnp.int32), q_, jnp.zeros_like(q_), total, undefined)

    def more(st):
        i, a, _, _, done = st
        return jnp.any(~done & ((i < 9) | (a <= 9.0)))

    def step(st):
        i, a, b, total, done = st
        active = ~done & ((i < 9) | (a <= 9.0))
        a2 = a + 1.0
        b2 = a2 ** -s_
        t2 = total + b2
        converged = (-_MACHEP * t2 < b2) & (b2 < _MACHEP * t2)
        return (jnp.where(active, i + 1, i), jnp.where(active, a2, a), jnp.where(active, b2, b),
                jnp.where(active, t2, total), done | (active & converged))

    _, a, b, total, done = lax.while_loop(more, step, state)
    w = a
    total = jnp.where(done, total, total + b * w / (s_ - 1.0) - 0.5 * b)
    factor, k = jnp.ones_like(a), 0.0
    for denominator in _ZETA_DENOMINATORS:
        factor = factor * (s_ + k)
        b = b / w
        t = factor * b / denominator
        t2 = total + t
        total = jnp.where(done, total, t2)
        done = done | (jnp.abs(t / t2) < _MACHEP)
        k += 1.0
        factor = factor * (s_ + k)
        b = b / w
        k += 1.0
    return jnp.where(undefined, result, total)


@functools.partial(_hurwitz_zeta.defjvp, symbolic_zeros=True)
def _hurwitz_zeta_jvp(primals, tangents):
    # d/dq zeta(s, q) = -s zeta(s + 1, q); torch has no derivative in s either
    s, q = primals
    s_dot, q_dot = tangents
    if type(s_dot) is not jax.custom_derivatives.SymbolicZero:
        raise NotImplementedError("the derivative of zeta with respect to its first argument "
                                  "is not implemented")
    value = _hurwitz_zeta(s, q)
    if type(q_dot) is jax.custom_derivatives.SymbolicZero:
        return value, jnp.zeros_like(value)
    return value, -s * _hurwitz_zeta(s + 1.0, q) * q_dot


# torch: d/dx polygamma(1, x) = polygamma(2, x)
_trigamma.defjvp(lambda primals, tangents: (_trigamma(primals[0]),
                                            _polygamma_kernel(2, primals[0]) * tangents[0]))


def _polygamma_kernel(n: int, x):
    if n == 0:
        return _digamma(x)
    if n == 1:
        return _trigamma(x)
    wide = x.astype(jnp.float64)
    sign = 1.0 if n % 2 else -1.0
    value = sign * math.factorial(n) * _hurwitz_zeta(jnp.full_like(wide, n + 1.0), wide)
    return value.astype(x.dtype)


def digamma(input):
    """Mirrors `torch.digamma`."""
    return pointwise(_digamma, input)


def lgamma(input):
    """Mirrors `torch.lgamma`."""
    return pointwise(_lgamma, input)


def polygamma(n, input):
    """Mirrors `torch.polygamma`."""
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return pointwise(lambda x: _polygamma_kernel(n, x), input)


def mvlgamma(input, p):
    """Mirrors `torch.mvlgamma`."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")

    def fn(x):
        terms = sum(_lgamma(x - 0.5 * j) for j in range(p))
        return terms + p * (p - 1) / 4 * math.log(math.pi)
    return pointwise(fn, input)


def _igamma_edges(a, x, value, lower: bool):
    # torch (following SciPy) fixes the values on the boundary of the domain
    zero, one = (0.0, 1.0) if lower else (1.0, 0.0)
    nan = jnp.nan
    out = jnp.where(jnp.isinf(x), one, value)
    out = jnp.where(jnp.isinf(a), jnp.where(jnp.isinf(x), nan, zero), out)
    out = jnp.where(x == 0, zero, out)
    out = jnp.where(a == 0, jnp.where(x > 0, one, nan), out)
    return jnp.where((x < 0) | (a < 0), nan, out)


def _igamma_op(lower: bool):
    fn = jss.gammainc if lower else jss.gammaincc

    def compute(a, x):
        safe_a = jnp.where((a <= 0) | jnp.isinf(a), 1.0, a)
        safe_x = jnp.where((x <= 0) | jnp.isinf(x), 1.0, x)
        return _igamma_edges(a, x, fn(safe_a, safe_x), lower)

    def impl(input, other):
        d = result_type(input, other)
        if not d.is_floating_point:
            name = "igamma" if lower else "igammac"
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{_type_name(d)}\'')
        # float32 through float64: jax's float32 series lose digits near a ~ x
        return pointwise(compute, input, other, wide=True)
    return impl


def _type_name(d):
    return {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool"}.get(d._name, d._name)


def igamma(input, other):
    """Mirrors `torch.igamma`."""
    return _igamma_op(True)(input, other)


def igammac(input, other):
    """Mirrors `torch.igammac`."""
    return _igamma_op(False)(input, other)


def zeta(input, other):
    """Mirrors `torch.special.zeta`."""
    return pointwise(_hurwitz_zeta, input, other, wide=True)


# --- logs and ratios ------------------------------------------------------------------

def _xlogy(x, y):
    value = jnp.where(x == 0, 0.0, x * jnp.log(y))
    return jnp.where(jnp.isnan(y), jnp.nan, value)


def _xlog1py(x, y):
    value = jnp.where(x == 0, 0.0, x * jnp.log1p(y))
    return jnp.where(jnp.isnan(y), jnp.nan, value)


def xlogy(input, other):
    """Mirrors `torch.xlogy`."""
    return pointwise(_xlogy, input, other)


def xlog1py(input, other):
    """Mirrors `torch.special.xlog1py`."""
    return pointwise(_xlog1py, input, other)


def entr(input):
    """Mirrors `torch.special.entr`."""
    return pointwise(jss.entr, input)


def logit(input, eps=None):
    """Mirrors `torch.logit`."""
    def fn(x):
        if eps is not None and eps >= 0:   # torch: a negative eps means no clamping
            x = jnp.clip(x, eps, 1.0 - eps)
        return jnp.log(x / (1.0 - x))
    return pointwise(fn, input)


def sinc(input):
    """Mirrors `torch.sinc`."""
    def fn(x):
        pix = math.pi * x
        return jnp.where(x == 0, 1.0, jnp.sin(pix) / jnp.where(x == 0, 1.0, pix))
    return pointwise(fn, input)


@jax.custom_jvp
def _i0(x):
    return jss.i0(x)


# torch: d/dx i0 = i1 (jax's derivative is not 0 at x = 0)
_i0.defjvp(lambda primals, tangents: (_i0(primals[0]), jss.i1(primals[0]) * tangents[0]))


def i0(input):
    """Mirrors `torch.i0`."""
    return pointwise(_i0, input)


def i0e(input):
    """Mirrors `torch.special.i0e`."""
    return pointwise(jss.i0e, input)


def i1(input):
    """Mirrors `torch.special.i1`."""
    return pointwise(jss.i1, input)


def i1e(input):
    """Mirrors `torch.special.i1e`."""
    return pointwise(jss.i1e, input)


# --- registration ---------------------------------------------------------------------

for _impl in (erf, erfc, erfinv, digamma, lgamma, mvlgamma, igamma, igammac, logit, sinc, i0):
    register(inplace=True, out=True)(_impl)
register(inplace=True, out=True, check=tensor_operand("xlogy"))(xlogy)

# Tensor.polygamma(n) puts self second, so its methods are written by hand
_polygamma_public = register(method=False, out=True, scalars=("input",))(polygamma)


def _polygamma_method(self, n):
    return _polygamma_public(n, self)


def _polygamma_inplace(self, n):
    return write_inplace(self, _polygamma_public(n, self), "polygamma_")


Tensor.polygamma = _polygamma_method
Tensor.polygamma_ = _polygamma_inplace

for _impl in (erfcx, ndtr, ndtri, log_ndtr, entr, i0e, i1, i1e,
              erf, erfc, erfinv, digamma, logit, sinc, i0):
    special_alias(_impl.__name__, _impl)
for _impl in (zeta, xlog1py, xlogy):
    special_alias(_impl.__name__, _impl, check=tensor_operand(f"special_{_impl.__name__}"))
special_alias("polygamma", polygamma, scalars=("input",))
special_alias("psi", digamma)
special_alias("gammaln", lgamma)
special_alias("multigammaln", mvlgamma)
special_alias("gammainc", igamma)
special_alias("gammaincc", igammac)

_borrowed("expit", "torch.sigmoid", lambda input: None)
_borrowed("exp2", "torch.exp2", lambda input: None)
_borrowed("expm1", "torch.expm1", lambda input: None)
_borrowed("log1p", "torch.log1p", lambda input: None)
_borrowed("round", "torch.round", lambda input, *, decimals=0: None)
_borrowed("softmax", "torch.softmax", lambda input, dim, *, dtype=None: None)
_borrowed("log_softmax", "torch.log_softmax", lambda input, dim, *, dtype=None: None)
_borrowed("logsumexp", "torch.logsumexp", lambda input, dim, keepdim=False: None)

from . import special_bessel, special_poly  # noqa: E402,F401
