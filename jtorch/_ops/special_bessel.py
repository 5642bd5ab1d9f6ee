"""Bessel and Airy functions of torch.special.

All are computed in float64 (float32 results are rounded from it), by methods chosen for
full double accuracy without fitted coefficient tables:
- J0, J1, Y0, Y1: power series below 8, Miller's backward recurrence (normalised by
  J0 + 2 sum J2k = 1, Y from the Neumann series) below 25, Hankel's expansion above;
- K0, K1 (scaled or not): power series below 2, the trapezoidal rule on
  K_v(x) = int_0^inf exp(-x cosh t) cosh(v t) dt below 20 (exponentially accurate for this
  analytic integrand), the asymptotic expansion above;
- Ai: Maclaurin series on [-8, 2], K_{1/3} above, the oscillatory expansion below.
Every branch gets a "safe" argument so that untaken branches produce no nan (or nan
gradients).
"""
from __future__ import annotations

import math

import jax.numpy as jnp
import jax.scipy.special as jss
from jax import lax

from .special import pointwise, special_alias

_EULER = 0.57721566490153286061
_TWO_OVER_PI = 2.0 / math.pi


def _asymptotic_coefficients(nu: float, count: int):
    """a_k(nu) = prod_{j<=k} (4 nu^2 - (2j-1)^2) / (k! 8^k), k = 0..count-1."""
    out, a = [], 1.0
    for k in range(count):
        out.append(a)
        a *= (4 * nu * nu - (2 * k + 1) ** 2) / ((k + 1) * 8.0)
    return out


# --- J0, J1, Y0, Y1 ---------------------------------------------------------------------

def _bessel_series(x):
    """(J0, J1, Y0, Y1) from their power series; for 0 < x < 8."""
    y = x * x / 4.0
    t, u = jnp.ones_like(x), jnp.ones_like(x)      # (-y)^k/(k!)^2, (-y)^k/(k!(k+1)!)
    j0, j1s, h0 = t, u, jnp.zeros_like(x)
    harmonic = 0.0
    # h1 accumulates (psi(k+1) + psi(k+2)) u_k, psi(k+1) = H_k - gamma
    h1 = (-_EULER + (1.0 - _EULER)) * u
    for k in range(1, 36):
        harmonic += 1.0 / k
        t = t * (-y) / (k * k)
        u = u * (-y) / (k * (k + 1))
        j0 = j0 + t
        j1s = j1s + u
        h0 = h0 + harmonic * t
        h1 = h1 + (2.0 * harmonic + 1.0 / (k + 1) - 2.0 * _EULER) * u
    j1 = 0.5 * x * j1s
    log_half = jnp.log(0.5 * x)
    y0 = _TWO_OVER_PI * ((log_half + _EULER) * j0 - h0)
    y1 = -_TWO_OVER_PI / x + _TWO_OVER_PI * log_half * j1 - 0.5 * x * h1 / math.pi
    return j0, j1, y0, y1


_MILLER_START = 80


def _bessel_miller(x):
    """(J0, J1, Y0, Y1) by backward recurrence from order 80; for 8 <= x < 25."""
    def step(i, state):
        n = _MILLER_START - i                  # state holds f_{n+1}, f_n
        f_next, f, norm, y0_sum, y1_sum = state
        even = n % 2 == 0
        k = n // 2
        sign = jnp.where(k % 2 == 0, 1.0, -1.0)
        norm = norm + jnp.where(even, 2.0 * f, 0.0)
        y0_sum = y0_sum + jnp.where(even, sign * f / jnp.maximum(k, 1), 0.0)
        # Y1's Neumann series, regrouped by odd order m = 2j+1
        j = (n - 1) // 2
        weight = 1.0 / (j + 1) + jnp.where(j >= 1, 1.0 / jnp.maximum(j, 1), 0.0)
        c = jnp.where(j % 2 == 0, -1.0, 1.0) * weight
        y1_sum = y1_sum + jnp.where(even, 0.0, c * f)
        f_prev = (2.0 * n / x) * f - f_next
        return f, f_prev, norm, y0_sum, y1_sum

    zero = jnp.zeros_like(x)
    state = (zero, zero + 1e-30, zero, zero, zero)
    f1, f0, norm, y0_sum, y1_sum = lax.fori_loop(0, _MILLER_START, step, state)
    norm = norm + f0
    j0, j1 = f0 / norm, f1 / norm
    log_term = jnp.log(0.5 * x) + _EULER
    y0 = _TWO_OVER_PI * (log_term * j0 - 2.0 * y0_sum / norm)
    y1 = _TWO_OVER_PI * (-j0 / x + log_term * j1 + y1_sum / norm)
    return j0, j1, y0, y1


_HANKEL = {nu: _asymptotic_coefficients(nu, 30) for nu in (0, 1)}


def _bessel_hankel(x, nu: int):
    """(J_nu, Y_nu) from Hankel's asymptotic expansion; for x >= 25."""
    a = _HANKEL[nu]
    inv = 1.0 / x
    p, q, power = jnp.zeros_like(x), jnp.zeros_like(x), jnp.ones_like(x)
    for k, ak in enumerate(a):
        term = ak * power
        if k % 2 == 0:
            p = p + (term if k % 4 == 0 else -term)
        else:
            q = q + (term if k % 4 == 1 else -term)
        power = power * inv
    phase = (2 * nu + 1) * math.pi / 4
    cos_x, sin_x = jnp.cos(x), jnp.sin(x)
    cos_chi = cos_x * math.cos(phase) + sin_x * math.sin(phase)
    sin_chi = sin_x * math.cos(phase) - cos_x * math.sin(phase)
    scale = jnp.sqrt(_TWO_OVER_PI / x)
    return scale * (p * cos_chi - q * sin_chi), scale * (p * sin_chi + q * cos_chi)


def _bessel_all(ax):
    """(J0, J1, Y0, Y1) at ax > 0 (elsewhere the values are placeholders)."""
    small = ax < 8.0
    mid = (ax >= 8.0) & (ax < 25.0)
    s = _bessel_series(jnp.where(small & (ax > 0), ax, 1.0))
    m = _bessel_miller(jnp.where(mid, ax, 10.0))
    big = jnp.where(small | mid, 30.0, ax)
    j0h, y0h = _bessel_hankel(big, 0)
    j1h, y1h = _bessel_hankel(big, 1)
    h = (j0h, j1h, y0h, y1h)
    return [jnp.where(small, a, jnp.where(mid, b, c)) for a, b, c in zip(s, m, h)]


def _j0(x):
    ax = jnp.abs(x)
    return jnp.where(ax == 0, 1.0, _bessel_all(ax)[0])


def _j1(x):
    ax = jnp.abs(x)
    value = jnp.where(ax == 0, 0.0, _bessel_all(ax)[1])
    return jnp.where(x < 0, -value, value)


def _y(index):
    def fn(x):
        value = _bessel_all(x)[index]
        value = jnp.where(x == 0, -jnp.inf, value)
        return jnp.where(x < 0, jnp.nan, value)
    return fn


# --- K0, K1 -----------------------------------------------------------------------------

def _k_series(x):
    """(K0, K1) from their power series; for 0 < x <= 2."""
    y = x * x / 4.0
    t, u = jnp.ones_like(x), jnp.ones_like(x)      # y^k/(k!)^2, y^k/(k!(k+1)!)
    i0, i1s = t, u
    h0 = jnp.zeros_like(x)
    h1 = (1.0 - 2.0 * _EULER) * u
    harmonic = 0.0
    for k in range(1, 25):
        harmonic += 1.0 / k
        t = t * y / (k * k)
        u = u * y / (k * (k + 1))
        i0 = i0 + t
        i1s = i1s + u
        h0 = h0 + harmonic * t
        h1 = h1 + (2.0 * harmonic + 1.0 / (k + 1) - 2.0 * _EULER) * u
    log_half = jnp.log(0.5 * x)
    k0 = -(log_half + _EULER) * i0 + h0
    k1 = 1.0 / x + log_half * 0.5 * x * i1s - 0.25 * x * h1
    return k0, k1


_STEP = 0.09
_NODES = jnp.arange(60) * _STEP       # out to t = 5.3: exp(-x (cosh t - 1)) < e^-200 at x=2


def k_scaled_integral(x, nu: float):
    """exp(x) K_nu(x) by the trapezoidal rule; accurate for 1.5 <= x <= 20."""
    t = _NODES
    weight = jnp.where(t == 0, 0.5 * _STEP, _STEP)
    f = jnp.exp(-x[..., None] * (jnp.cosh(t) - 1.0)) * jnp.cosh(nu * t) * weight
    return jnp.sum(f, axis=-1)


_K_ASYMPTOTIC = {nu: _asymptotic_coefficients(nu, 30) for nu in (0.0, 1.0, 1.0 / 3)}


def k_scaled_asymptotic(x, nu: float):
    """exp(x) K_nu(x) from its asymptotic expansion; for x >= 20."""
    total, power = jnp.zeros_like(x), jnp.ones_like(x)
    for ak in _K_ASYMPTOTIC[nu]:
        total = total + ak * power
        power = power / x
    return jnp.sqrt(math.pi / (2.0 * x)) * total


def _k_scaled(x, index: int):
    """exp(x) K_index(x) for x > 0 (placeholders elsewhere)."""
    small = x <= 2.0
    mid = (x > 2.0) & (x < 20.0)
    xs = jnp.where(small & (x > 0), x, 1.0)
    series = _k_series(xs)[index] * jnp.exp(xs)
    integral = k_scaled_integral(jnp.where(mid, x, 5.0), float(index))
    big = jnp.where(small | mid, 30.0, x)
    asymptotic = k_scaled_asymptotic(big, float(index))
    return jnp.where(small, series, jnp.where(mid, integral, asymptotic))


def _k(index: int, scaled: bool):
    def fn(x):
        finite = jnp.isfinite(x) & (x > 0)
        xs = jnp.where(finite, x, 1.0)
        value = _k_scaled(xs, index)
        if not scaled:
            value = value * jnp.exp(-xs)
        value = jnp.where(x == jnp.inf, 0.0, jnp.where(finite, value, jnp.nan))
        return jnp.where(x == 0, jnp.inf, jnp.where(x < 0, jnp.nan, value))
    return fn


def _i(fn):
    # torch's modified_bessel_i0/i1 give nan at +-inf
    return lambda x: jnp.where(jnp.isinf(x), jnp.nan, fn(x))


# --- Airy Ai -----------------------------------------------------------------------------

_AI0 = 1.0 / (3.0 ** (2.0 / 3.0) * math.gamma(2.0 / 3.0))        # Ai(0)
_AIP0 = 1.0 / (3.0 ** (1.0 / 3.0) * math.gamma(1.0 / 3.0))       # -Ai'(0)


def _airy_series(x):
    cube = x * x * x
    f, g = jnp.ones_like(x), x
    f_sum, g_sum = f, g
    for k in range(1, 45):
        f = f * cube / ((3 * k - 1) * (3 * k))
        g = g * cube / ((3 * k) * (3 * k + 1))
        f_sum = f_sum + f
        g_sum = g_sum + g
    return _AI0 * f_sum - _AIP0 * g_sum


def _airy_coefficients(count: int):
    """u_k = (2k+1)(2k+3)...(6k-1) / (216^k k!), the Airy asymptotic coefficients."""
    out = []
    for k in range(count):
        u = 1.0
        for m in range(2 * k + 1, 6 * k, 2):
            u *= m
        out.append(u / (216.0 ** k * math.factorial(k)))
    return out


_AIRY_U = _airy_coefficients(20)


def _airy_oscillating(x):
    """Ai(x) for x <= -8."""
    z = -x
    zeta = 2.0 / 3.0 * z * jnp.sqrt(z)
    p, q, power = jnp.zeros_like(x), jnp.zeros_like(x), jnp.ones_like(x)
    for k, uk in enumerate(_AIRY_U):
        term = uk * power
        if k % 2 == 0:
            p = p + (term if k % 4 == 0 else -term)
        else:
            q = q + (term if k % 4 == 1 else -term)
        power = power / zeta
    chi = zeta - math.pi / 4
    return (jnp.cos(chi) * p + jnp.sin(chi) * q) / (math.sqrt(math.pi) * jnp.sqrt(jnp.sqrt(z)))


def _airy_decaying(x):
    """Ai(x) = sqrt(x/3) K_{1/3}(zeta) / pi for x >= 2."""
    zeta = 2.0 / 3.0 * x * jnp.sqrt(x)
    mid = zeta < 20.0
    scaled = jnp.where(mid, k_scaled_integral(jnp.where(mid, zeta, 5.0), 1.0 / 3),
                       k_scaled_asymptotic(jnp.where(mid, 30.0, zeta), 1.0 / 3))
    return jnp.sqrt(x / 3.0) * scaled * jnp.exp(-zeta) / math.pi


def _airy_ai(x):
    left = x < -8.0
    right = x >= 2.0
    finite = jnp.isfinite(x)
    value = jnp.where(
        left, _airy_oscillating(jnp.where(left & finite, x, -10.0)),
        jnp.where(right, _airy_decaying(jnp.where(right & finite, x, 3.0)),
                  _airy_series(jnp.where(left | right, 0.0, x))))
    # torch: nan at +-inf, exactly 0 past 103.892
    value = jnp.where(x > 103.892, 0.0, value)
    return jnp.where(jnp.isinf(x), jnp.nan, value)


def _spherical_j0(x):
    small = jnp.abs(x) < 0.5
    x2 = x * x
    series = 1.0
    for k in range(7, 0, -1):                  # sum (-x^2)^k / (2k+1)!
        series = 1.0 - x2 / ((2 * k) * (2 * k + 1)) * series
    safe = jnp.where(small, 1.0, x)
    value = jnp.where(small, series, jnp.sin(safe) / safe)
    return jnp.where(jnp.isinf(x), 0.0, value)


_TABLE = {
    "bessel_j0": _j0,
    "bessel_j1": _j1,
    "bessel_y0": _y(2),
    "bessel_y1": _y(3),
    "modified_bessel_i0": _i(jss.i0),
    "modified_bessel_i1": _i(jss.i1),
    "modified_bessel_k0": _k(0, False),
    "modified_bessel_k1": _k(1, False),
    "scaled_modified_bessel_k0": _k(0, True),
    "scaled_modified_bessel_k1": _k(1, True),
    "airy_ai": _airy_ai,
    "spherical_bessel_j0": _spherical_j0,
}


def _make(name, fn):
    def impl(input):
        return pointwise(fn, input, wide=True)
    impl.__name__ = name
    impl.__doc__ = f"Mirrors `torch.special.{name}`."
    return special_alias(name, impl)


for _name, _fn in _TABLE.items():
    _make(_name, _fn)
