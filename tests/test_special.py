"""torch.special, the gamma/error-function ops and torch.signal.windows against real torch."""
from __future__ import annotations

import numpy as np
import pytest

import jtorch
import jtorch.signal.windows  # noqa: F401  (until jtorch/__init__ imports signal)

torch = pytest.importorskip("torch")

_LINE = np.linspace(-12, 12, 97)
_EDGES = [0.0, -0.0, 1e-30, -1e-30, 1e-6, 0.5, -0.5, 1.0, -1.0, 2.0, -3.0, 7.5, 30.0, 1e3,
          np.inf, -np.inf, np.nan]
REAL = np.concatenate([_LINE, _EDGES])
POSITIVE = np.concatenate([np.linspace(0, 40, 81), np.logspace(-20, 3, 24), [np.inf, np.nan]])
UNIT = np.concatenate([np.linspace(-1, 1, 41), [1 - 1e-6, -1 + 1e-6, 1.5, np.nan]])
PROBABILITY = np.concatenate([np.linspace(0, 1, 41), [1e-30, 1 - 1e-7, -0.5, np.nan]])

UNARY = [  # (name in torch, grid)
    ("erf", REAL), ("erfc", REAL), ("erfinv", UNIT), ("lgamma", REAL), ("digamma", REAL),
    ("i0", REAL), ("sinc", REAL), ("logit", PROBABILITY),
    ("special.erfcx", REAL), ("special.ndtr", REAL), ("special.ndtri", PROBABILITY),
    ("special.log_ndtr", REAL), ("special.entr", REAL), ("special.i0e", REAL),
    ("special.i1", REAL), ("special.i1e", REAL), ("special.bessel_j0", REAL),
    ("special.bessel_j1", REAL), ("special.bessel_y0", REAL), ("special.bessel_y1", REAL),
    ("special.modified_bessel_i0", REAL), ("special.modified_bessel_i1", REAL),
    ("special.modified_bessel_k0", POSITIVE), ("special.modified_bessel_k1", POSITIVE),
    ("special.scaled_modified_bessel_k0", POSITIVE),
    ("special.scaled_modified_bessel_k1", POSITIVE),
    ("special.airy_ai", np.concatenate([REAL, [-40.0, 103.0, 104.0, 60.0]])),
    ("special.spherical_bessel_j0", REAL),
    ("special.expit", REAL), ("special.psi", REAL), ("special.gammaln", REAL),
    ("special.sinc", REAL), ("special.erf", REAL), ("special.i0", REAL),
]

BINARY = [  # (name, first grid, second grid)
    ("xlogy", [0.0, 1.0, -2.5, 3.0, np.nan], [0.0, 0.5, 2.0, -1.0, np.inf, np.nan]),
    ("special.xlog1py", [0.0, 1.0, -2.5, 3.0, np.nan], [0.0, -1.0, 2.0, -2.0, np.inf, np.nan]),
    ("igamma", [0.0, 1e-3, 0.5, 2.5, 30.0, 500.0, np.inf, -1.0, np.nan],
     [0.0, 1e-3, 0.5, 2.5, 30.0, 480.0, np.inf, -1.0, np.nan]),
    ("igammac", [0.0, 1e-3, 0.5, 2.5, 30.0, 500.0, np.inf, -1.0, np.nan],
     [0.0, 1e-3, 0.5, 2.5, 30.0, 480.0, np.inf, -1.0, np.nan]),
    ("special.zeta", [0.0, 1.0, 1.5, 2.0, 3.0, 4.5, 10.0, np.inf, np.nan],
     [-3.0, -2.5, -0.5, 0.0, 1e-3, 0.5, 1.0, 3.0, 50.0, np.inf, np.nan]),
]

POLYNOMIALS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
               "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
               "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
               "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
               "laguerre_polynomial_l", "legendre_polynomial_p"]
_POLY_X = [-2.0, -1.0, -0.7, 0.0, 0.25, 0.5, 0.9, 1.0, 1.5, 10.0, np.inf]
_POLY_N = [-1.0, 0.0, 1.0, 2.0, 3.0, 5.0, 7.0, 9.0, 12.0, 40.0, 200.0, 2.7, np.nan]

WINDOWS = [("bartlett", {}), ("blackman", {}), ("cosine", {}), ("exponential", {"tau": 2.5}),
           ("gaussian", {"std": 1.7}), ("general_cosine", {"a": [0.46, 0.23, 0.31]}),
           ("general_hamming", {"alpha": 0.6}), ("hamming", {}), ("hann", {}),
           ("kaiser", {"beta": 8.0}), ("nuttall", {})]


def _get(module, name):
    for part in name.split("."):
        module = getattr(module, part)
    return module


def _tolerance(dtype, loose=False):
    if dtype == np.float32:
        return dict(rtol=1e-4, atol=1e-5)
    # torch's float64 J0/J1/Y0/Y1 and Ai kernels are off by up to ~1e-6 (checked against
    # mpmath); jtorch's are accurate to ~1e-14
    return dict(rtol=1e-7, atol=2e-6 if loose else 1e-9)


def _compare(expected, actual, dtype, loose=False):
    assert str(actual.dtype) == str(expected.dtype)
    np.testing.assert_allclose(np.asarray(actual._value), expected.numpy(), equal_nan=True,
                               **_tolerance(dtype, loose))


# float64 too where jtorch's algorithm is its own (not jax.scipy.special's); each case compiles
WIDE = ("lgamma", "digamma", "special.erfcx", "special.bessel_j0", "special.bessel_y1",
        "special.modified_bessel_k0", "special.scaled_modified_bessel_k1", "special.airy_ai")
UNARY_CASES = [(n, g, d) for n, g in UNARY
               for d in ((np.float32, np.float64) if n in WIDE else (np.float32,))]


@pytest.mark.parametrize("name,grid,dtype", UNARY_CASES,
                         ids=[f"{n}-{d.__name__}" for n, _, d in UNARY_CASES])
def test_unary(name, grid, dtype):
    x = np.asarray(grid, dtype)
    expected = _get(torch, name)(torch.from_numpy(x))
    _compare(expected, _get(jtorch, name)(jtorch.from_numpy(x)), dtype,
             loose=any(k in name for k in ("bessel_j", "bessel_y", "airy")))


@pytest.mark.parametrize("name", ["erf", "lgamma", "special.bessel_j0", "special.i1e",
                                  "special.entr", "digamma"])
def test_integer_input_gives_default_float(name):
    x = np.array([-3, 0, 1, 2, 9])
    expected = _get(torch, name)(torch.from_numpy(x))
    _compare(expected, _get(jtorch, name)(jtorch.from_numpy(x)), np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,first,second", BINARY, ids=[b[0] for b in BINARY])
def test_binary(name, first, second, dtype):
    a, b = np.meshgrid(np.asarray(first, dtype), np.asarray(second, dtype))
    expected = _get(torch, name)(torch.from_numpy(a), torch.from_numpy(b))
    _compare(expected, _get(jtorch, name)(jtorch.from_numpy(a), jtorch.from_numpy(b)), dtype)


@pytest.mark.parametrize("n,dtype", [(0, np.float32), (1, np.float32), (1, np.float64),
                                     (2, np.float32), (3, np.float64), (4, np.float32)])
def test_polygamma(n, dtype):
    x = np.concatenate([np.linspace(-5.3, 6, 23), [0.0, -2.0, 1e3, np.inf, np.nan]]).astype(dtype)
    expected = torch.polygamma(n, torch.from_numpy(x))
    _compare(expected, jtorch.polygamma(n, jtorch.from_numpy(x)), dtype)
    _compare(expected, jtorch.from_numpy(x).polygamma(n), dtype)


@pytest.mark.parametrize("p", [1, 3])
def test_mvlgamma(p):
    x = np.linspace(p, p + 6, 13, dtype=np.float32)
    expected = torch.mvlgamma(torch.from_numpy(x), p)
    _compare(expected, jtorch.mvlgamma(jtorch.from_numpy(x), p), np.float32)
    _compare(expected, jtorch.special.multigammaln(jtorch.from_numpy(x), p), np.float32)


POLYNOMIAL_CASES = [(n, np.float32) for n in POLYNOMIALS] + [
    (n, np.float64) for n in ("chebyshev_polynomial_u", "hermite_polynomial_h",
                              "shifted_chebyshev_polynomial_w", "legendre_polynomial_p")]


@pytest.mark.parametrize("name,dtype", POLYNOMIAL_CASES,
                         ids=[f"{n}-{d.__name__}" for n, d in POLYNOMIAL_CASES])
def test_polynomial(name, dtype):
    x, n = np.meshgrid(np.asarray(_POLY_X, dtype), np.asarray(_POLY_N, dtype))
    expected = _get(torch.special, name)(torch.from_numpy(x), torch.from_numpy(n))
    _compare(expected, _get(jtorch.special, name)(jtorch.from_numpy(x), jtorch.from_numpy(n)),
             dtype)


def test_polynomial_python_numbers_and_int_tensors():
    n = np.array([0, 2, 5])
    for args in [(torch.from_numpy(n), 3), (2.0, torch.from_numpy(n)),
                 (torch.from_numpy(n), torch.from_numpy(n))]:
        jargs = [jtorch.from_numpy(a.numpy()) if isinstance(a, torch.Tensor) else a
                 for a in args]
        expected = torch.special.chebyshev_polynomial_t(*args)
        _compare(expected, jtorch.special.chebyshev_polynomial_t(*jargs), np.float32)


def test_logit_eps_and_inplace_forms():
    x = np.array([0.0, 0.05, 0.5, 0.99, 1.0], np.float32)
    _compare(torch.logit(torch.from_numpy(x), 0.1),
             jtorch.logit(jtorch.from_numpy(x), 0.1), np.float32)
    t, j = torch.from_numpy(x.copy()), jtorch.from_numpy(x.copy())
    for method in ["erf_", "lgamma_", "digamma_", "i0_", "sinc_", "erfc_", "erfinv_"]:
        _compare(getattr(t.clone(), method)(), getattr(j.clone(), method)(), np.float32)
    j.logit_(0.1)
    t.logit_(0.1)
    _compare(t, j, np.float32)


def test_out_and_scalars():
    x = np.array([0.5, 2.0, 3.0], np.float32)
    out = jtorch.empty(3)
    jtorch.special.zeta(jtorch.from_numpy(x), 2.0, out=out)
    _compare(torch.special.zeta(torch.from_numpy(x), 2.0), out, np.float32)
    _compare(torch.xlogy(2, torch.from_numpy(x)), jtorch.xlogy(2, jtorch.from_numpy(x)),
             np.float32)


@pytest.mark.parametrize("call,error", [
    (lambda m: m.polygamma(-1, m.ones(2)), RuntimeError),
    (lambda m: m.mvlgamma(m.ones(2), 0), RuntimeError),
    (lambda m: m.ones(2, dtype=m.int64).erf_(), RuntimeError),
    (lambda m: m.igamma(m.ones(2, dtype=m.int64), m.ones(2, dtype=m.int64)),
     NotImplementedError),
    (lambda m: m.xlogy(2, 3), TypeError),
    (lambda m: m.special.xlogy(2.0, 3), TypeError),
    (lambda m: m.special.xlog1py(2, 3.5), TypeError),
    (lambda m: m.special.zeta(2, 3), TypeError),
    *[(lambda m, n=n: getattr(m.special, n)(0.5, 3), TypeError) for n in POLYNOMIALS],
    (lambda m: m.signal.windows.hann(-1), ValueError),
    (lambda m: m.signal.windows.hann(4, dtype=m.int64), ValueError),
    (lambda m: m.signal.windows.gaussian(4, std=0.0), ValueError),
    (lambda m: m.signal.windows.general_cosine(4, a=[]), ValueError),
])
def test_errors(call, error):
    with pytest.raises(error):
        call(torch)
    with pytest.raises(error):
        call(jtorch)


@pytest.mark.parametrize("name,kwargs", WINDOWS, ids=[w[0] for w in WINDOWS])
def test_window(name, kwargs):
    for M, dtype, sym in [(0, None, True), (1, None, False), (7, None, True), (7, None, False),
                          (6, "float64", True)]:
        extra = dict(kwargs, sym=sym)
        if dtype:
            extra["dtype"] = getattr(torch, dtype)
        expected = getattr(torch.signal.windows, name)(M, **extra)
        if dtype:
            extra["dtype"] = getattr(jtorch, dtype)
        actual = getattr(jtorch.signal.windows, name)(M, **extra)
        _compare(expected, actual, np.float64 if dtype else np.float32)
