"""Pointwise math, comparisons, logical and bitwise ops: differential tests against torch.

Every op in the tables runs on the same inputs in torch and jtorch, over several dtypes,
broadcasting, Python scalars and zero-dim tensors. Where torch raises, jtorch must raise the
same exception class; otherwise dtype, shape and values must match.
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import jtorch  # noqa: E402

UNARY = [
    "abs", "absolute", "acos", "arccos", "acosh", "asin", "asinh", "atan", "atanh", "ceil",
    "conj", "conj_physical", "cos", "cosh", "deg2rad", "rad2deg", "exp", "exp2", "expm1",
    "fix", "floor", "frac", "isfinite", "isinf", "isnan", "isneginf", "isposinf", "isreal",
    "log", "log10", "log1p", "log2", "logical_not", "nan_to_num", "neg", "negative", "positive",
    "reciprocal", "round", "rsqrt", "sgn", "sigmoid", "sign", "signbit", "sin", "sinh", "sqrt",
    "square", "tan", "tanh", "trunc", "angle", "real", "bitwise_not", "frexp", "view_as_real",
    "imag", "resolve_conj", "resolve_neg",
]
BINARY = [
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide",
    "remainder", "fmod", "pow", "float_power", "rsub", "atan2", "arctan2", "copysign", "hypot",
    "logaddexp", "logaddexp2", "nextafter", "ldexp", "heaviside", "maximum", "minimum", "fmax",
    "fmin", "eq", "ne", "lt", "le", "gt", "ge", "greater", "less_equal", "not_equal",
    "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_left_shift", "bitwise_right_shift", "isclose", "equal", "allclose", "isin",
    "complex", "polar", "gcd", "lcm",
]
# ops torch accepts a Python number for as the second operand
SCALAR_OTHER = [
    "add", "sub", "mul", "div", "floor_divide", "remainder", "fmod", "pow", "float_power",
    "rsub", "copysign", "eq", "ne", "lt", "le", "gt", "ge", "bitwise_and", "bitwise_or",
    "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift", "isin", "clamp_min", "clamp_max",
]

DTYPES = ["float32", "int64", "bool", "complex64"]


def _values(dtype: str, shape, seed: int, nonzero=False):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if dtype.startswith("int") or dtype == "uint8":
        v = rng.integers(1 if nonzero else -6, 7, size=shape)
        if nonzero:
            v = v * rng.choice([-1, 1], size=shape)
        return v.astype(dtype)
    v = rng.uniform(-3, 3, size=shape)
    if dtype.startswith("complex"):
        v = v + 1j * rng.uniform(-3, 3, size=shape)
    return v.astype(dtype)


def _pair(a: np.ndarray):
    return torch.from_numpy(a.copy()), jtorch.from_numpy(a.copy())


def _to_jtorch(x):
    if isinstance(x, torch.Tensor):
        return jtorch.from_numpy(x.numpy().copy())
    return x


def _run(fn_t, fn_j, args):
    """Call both; where torch raises, jtorch must raise the same class, else compare."""
    j_args = [_to_jtorch(a) for a in args]     # before torch's in-place forms change `args`
    try:
        expected = fn_t(*args)
    except Exception as e:
        with pytest.raises(type(e)):
            fn_j(*j_args)
        return
    actual = fn_j(*j_args)
    _compare(expected, actual)


def _compare(expected, actual):
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple) and len(actual) == len(expected)
        for e, a in zip(expected, actual):
            _compare(e, a)
        return
    if isinstance(expected, bool):
        assert actual is expected or actual == expected and type(actual) is bool
        return
    assert isinstance(actual, jtorch.Tensor), type(actual)
    assert str(actual.dtype) == str(expected.dtype), (actual.dtype, expected.dtype)
    assert tuple(actual.shape) == tuple(expected.shape)
    e = expected.resolve_conj().resolve_neg().numpy()
    a = np.asarray(actual._value)
    if e.dtype.kind in "fc":
        tol = 1e-5 if e.dtype in (np.float32, np.complex64) else 1e-12
        np.testing.assert_allclose(a, e, rtol=tol, atol=tol, equal_nan=True)
    else:
        np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", UNARY)
def test_unary(name, dtype):
    x = _values(dtype, (2, 3), 0)
    if dtype in ("float32", "float64"):
        x.flat[:3] = [np.nan, np.inf, -0.0]
    _run(getattr(torch, name), getattr(jtorch, name), (torch.from_numpy(x),))


@pytest.mark.parametrize("dtypes", [
    ("float32", "float32"), ("int64", "int64"), ("bool", "bool"), ("int32", "float64"),
    ("complex64", "float32"),
], ids=lambda d: "-".join(d))
@pytest.mark.parametrize("name", BINARY)
def test_binary(name, dtypes):
    # broadcasting (3, 1) with (4,); nonzero divisors so integer division is defined
    a = torch.from_numpy(_values(dtypes[0], (3, 1), 1))
    b = torch.from_numpy(_values(dtypes[1], (4,), 2, nonzero=True))
    if name in ("pow", "float_power", "bitwise_left_shift", "bitwise_right_shift", "ldexp") \
            and dtypes[1].startswith("int"):
        b = b.abs()
    _run(getattr(torch, name), getattr(jtorch, name), (a, b))


@pytest.mark.parametrize("other", [-3, 2.5, True], ids=repr)
@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
@pytest.mark.parametrize("name", SCALAR_OTHER)
def test_python_scalar_operand(name, dtype, other):
    x = torch.from_numpy(_values(dtype, (5,), 3, nonzero=True))
    _run(lambda t: getattr(torch, name)(t, other), lambda t: getattr(jtorch, name)(t, other), (x,))


@pytest.mark.parametrize("name", ["add", "mul", "div", "maximum", "eq", "pow", "atan2"])
def test_zero_dim_operand_does_not_widen(name):
    # a zero-dim float64 tensor does not promote a float32 tensor; a zero-dim float does
    # promote an integer tensor to the default dtype
    for x, y in [(_values("float32", (3,), 4), np.array(2.0)),
                 (_values("int64", (3,), 4, nonzero=True), np.array(1.5, np.float64)),
                 (np.array(3, np.int64), _values("int32", (3,), 5, nonzero=True))]:
        args = (torch.from_numpy(x), torch.from_numpy(y))
        _run(getattr(torch, name), getattr(jtorch, name), args)


OPERATORS = [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b,
    lambda a, b: a // b, lambda a, b: a % b, lambda a, b: a ** b, lambda a, b: a & b,
    lambda a, b: a | b, lambda a, b: a ^ b, lambda a, b: a << b, lambda a, b: a >> b,
    lambda a, b: a == b, lambda a, b: a < b, lambda a, b: a >= b,
]


@pytest.mark.parametrize("i", range(len(OPERATORS)))
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_python_operators(i, dtype):
    op = OPERATORS[i]
    x = torch.from_numpy(_values(dtype, (4,), 6, nonzero=True))
    y = torch.from_numpy(_values(dtype, (4,), 7, nonzero=True).__abs__())
    _run(op, op, (x, y))
    _run(lambda t: op(t, 2), lambda t: op(t, 2), (x,))
    _run(lambda t: op(3, t), lambda t: op(3, t), (y,))       # reflected form


def test_unary_operators():
    x = torch.tensor([1, -2, 3])
    for op in (lambda t: -t, lambda t: +t, lambda t: abs(t), lambda t: ~t):
        _run(op, op, (x,))
    _run(lambda t: ~t, lambda t: ~t, (torch.tensor([True, False]),))


@pytest.mark.parametrize("call", [
    lambda m, t: m.clamp(t, -1, 1), lambda m, t: m.clamp(t, min=0.5),
    lambda m, t: m.clamp(t, max=-1), lambda m, t: m.clip(t, 0, 1),
    lambda m, t: m.clamp(t), lambda m, t: m.clamp(t, 2, 1),
    lambda m, t: m.round(t, decimals=2), lambda m, t: m.round(t, decimals=-1),
    lambda m, t: m.nan_to_num(t, nan=1.0, posinf=2.0),
    lambda m, t: m.lerp(t, t * 2, 0.3), lambda m, t: m.lerp(t, t * 2, t),
    lambda m, t: m.addcmul(t, t, t, value=2), lambda m, t: m.addcdiv(t, t, t + 10, value=0.5),
    lambda m, t: m.div(t, 3, rounding_mode="trunc"),
    lambda m, t: m.div(t, -2, rounding_mode="floor"),
    lambda m, t: m.div(t, 2, rounding_mode="bad"),
    lambda m, t: m.isin(t, m.tensor([1, 2])), lambda m, t: m.isin(t, 2, invert=True),
    lambda m, t: m.pow(2, t), lambda m, t: m.pow(2.5, t), lambda m, t: m.pow(t, -1),
    lambda m, t: m.pow(t, 0.5), lambda m, t: m.float_power(2, t),
    lambda m, t: m.add(t, t, alpha=2), lambda m, t: m.sub(t, 1, alpha=0.5),
    lambda m, t: m.rsub(t, 1, alpha=2), lambda m, t: m.isclose(t, t + 1e-6),
    lambda m, t: m.isclose(t, t, rtol=-1.0), lambda m, t: m.allclose(t, t + 1),
    lambda m, t: m.equal(t, t), lambda m, t: m.equal(t, t[:1]),
    lambda m, t: m.remainder(t, 0), lambda m, t: m.fmod(t, 0), lambda m, t: t // 0,
    lambda m, t: m.div(t, 0), lambda m, t: m.remainder(-7, t),
])
@pytest.mark.parametrize("dtype", ["float64", "int64", "bool"])
def test_keyword_forms(call, dtype):
    x = torch.from_numpy(_values(dtype, (2, 3), 8, nonzero=True))
    _run(lambda t: call(torch, t), lambda t: call(jtorch, t), (x,))


@pytest.mark.parametrize("call", [
    lambda t: t.add_(1), lambda t: t.sub_(2.5), lambda t: t.mul_(t), lambda t: t.div_(2),
    lambda t: t.abs_(), lambda t: t.neg_(), lambda t: t.sqrt_(), lambda t: t.clamp_(0, 1),
    lambda t: t.clamp_(0.5), lambda t: t.pow_(2), lambda t: t.float_power_(2),
    lambda t: t.eq_(1), lambda t: t.lt_(0), lambda t: t.logical_not_(),
    lambda t: t.bitwise_and_(3), lambda t: t.floor_(), lambda t: t.round_(decimals=1),
    lambda t: t.arccos_(), lambda t: t.clip_(-1, 1), lambda t: t.absolute_(),
    lambda t: t.fix_(), lambda t: t.multiply_(2), lambda t: t.sigmoid_(),
])
@pytest.mark.parametrize("dtype", ["float32", "int64", "complex64"])
def test_inplace(call, dtype):
    x = torch.from_numpy(_values(dtype, (2, 3), 9, nonzero=True))

    def check(t):
        out = call(t)
        assert out is t
        return t
    _run(check, check, (x,))


@pytest.mark.parametrize("call", [
    lambda m, t: m.sigmoid_(t), lambda m, t: m.abs_(t), lambda m, t: m.clamp_(t, -1, 1),
    lambda m, t: m.round_(t, decimals=1), lambda m, t: m.neg_(t),
])
def test_inplace_functions(call):
    def check(m, t):
        assert call(m, t) is t
        return t
    _run(lambda t: check(torch, t), lambda t: check(jtorch, t),
         (torch.from_numpy(_values("float32", (2, 3), 14)),))


@pytest.mark.parametrize("call", [
    lambda m, t, o: m.add(t, t, out=o), lambda m, t, o: m.sin(t, out=o),
    lambda m, t, o: m.eq(t, 0, out=o), lambda m, t, o: m.div(t, 2, out=o),
    lambda m, t, o: m.pow(t, 2, out=o), lambda m, t, o: m.clamp(t, 0, 1, out=o),
    lambda m, t, o: m.logical_and(t, t, out=o), lambda m, t, o: m.maximum(t, t, out=o),
])
@pytest.mark.parametrize("out_dtype", ["float32", "float64", "int64", "bool"])
def test_out(call, out_dtype):
    x = torch.from_numpy(_values("int64", (2, 3), 10))

    def run(m, t):
        o = m.zeros(2, 3, dtype=getattr(m, out_dtype))
        r = call(m, t, o)
        assert r is o
        return o
    _run(lambda t: run(torch, t), lambda t: run(jtorch, t), (x,))


def test_frexp_out_and_fields():
    x = torch.tensor([1.5, -2.5, 0.0, 8.0])
    e, a = torch.frexp(x), jtorch.frexp(jtorch.tensor([1.5, -2.5, 0.0, 8.0]))
    _compare(e.mantissa, a.mantissa)
    _compare(e.exponent, a.exponent)


def test_complex_parts():
    z = _values("complex64", (2, 3), 11)
    re, im = _values("float32", (3,), 12), _values("float32", (3,), 13)
    t, j = _pair(z)
    _compare(torch.view_as_real(t), jtorch.view_as_real(j))
    _compare(torch.view_as_complex(torch.view_as_real(t)),
             jtorch.view_as_complex(jtorch.view_as_real(j)))
    _compare(t.real, j.real)
    _compare(t.imag, j.imag)
    _compare(torch.complex(torch.from_numpy(re), torch.from_numpy(im)),
             jtorch.complex(jtorch.from_numpy(re), jtorch.from_numpy(im)))
    _compare(torch.polar(torch.from_numpy(re).abs(), torch.from_numpy(im)),
             jtorch.polar(jtorch.from_numpy(re).abs(), jtorch.from_numpy(im)))
    with pytest.raises(RuntimeError):
        jtorch.view_as_complex(jtorch.ones(3, 3))
    with pytest.raises(RuntimeError):
        jtorch.complex(jtorch.ones(2), jtorch.ones(2, dtype=jtorch.float64))


@pytest.mark.parametrize("call", [
    lambda m, t: m.eq(2, t), lambda m, t: m.atan2(t, 2), lambda m, t: m.maximum(2, t),
    lambda m, t: m.sin(2.0), lambda m, t: m.pow(2, 3), lambda m, t: m.rsub(2, t),
    lambda m, t: m.isclose(t, 1.0), lambda m, t: m.logical_and(t, 1),
    lambda m, t: m.bitwise_and(2, 3), lambda m, t: m.bitwise_xor(2, t.long()),
    lambda m, t: m.bitwise_left_shift(2, 3), lambda m, t: m.bitwise_right_shift(2, t.long()),
    lambda m, t: m.gcd(t.long(), 2), lambda m, t: m.lcm(2, t.long()), lambda m, t: m.gcd(2, 3),
])
def test_number_where_torch_takes_a_tensor(call):
    _run(lambda t: call(torch, t), lambda t: call(jtorch, t), (torch.ones(3),))


def test_bad_input_raises_torch_class():
    b = jtorch.tensor([True, False])
    with pytest.raises(RuntimeError):
        b - b
    with pytest.raises(RuntimeError):
        -b
    with pytest.raises(RuntimeError):
        jtorch.tensor([1, 2]) ** -1
    with pytest.raises(RuntimeError):
        jtorch.tensor([1, 2]) // 0
    with pytest.raises(RuntimeError):
        jtorch.tensor([1, 2]).div_(2)
    with pytest.raises(RuntimeError):
        jtorch.ones(2).float_power_(2)
    with pytest.raises(RuntimeError):
        jtorch.ones(2, dtype=jtorch.complex64).abs_()
    with pytest.raises(NotImplementedError):
        jtorch.ones(2) & jtorch.ones(2)


@pytest.mark.parametrize("dtypes", [("int64", "int64"), ("int8", "int16"), ("uint8", "uint8"),
                                    ("int32", "int32")], ids=lambda d: "-".join(d))
@pytest.mark.parametrize("name", ["gcd", "lcm"])
def test_gcd_lcm(name, dtypes):
    """Zeros, signs, and the wrap-around at the integer limits, as torch's kernels give."""
    a, b = np.iinfo(dtypes[0]), np.iinfo(dtypes[1])
    left = np.array([0, 0, -4, 6, -6, 12, a.min, a.min, a.max, 7, 1], dtype=np.int64)
    right = np.array([0, 5, 6, -4, -4, 18, 0, 1, a.max - 1, b.max, -1], dtype=np.int64)
    x = torch.from_numpy(np.clip(left, a.min, a.max).astype(dtypes[0]))
    y = torch.from_numpy(np.clip(right, b.min, b.max).astype(dtypes[1]))
    _run(getattr(torch, name), getattr(jtorch, name), (x, y))
    # in place, out= and broadcasting
    _run(lambda u, v: getattr(u, name + "_")(v), lambda u, v: getattr(u, name + "_")(v),
         (torch.tensor([[4], [9]]), torch.tensor([6, 15])[:1]))
    _run(lambda u, v: getattr(torch, name)(u, v, out=torch.empty(0, dtype=torch.int64)),
         lambda u, v: getattr(jtorch, name)(u, v, out=jtorch.empty(0, dtype=jtorch.int64)),
         (torch.tensor([[4], [9]]), torch.tensor([6, 15])))
