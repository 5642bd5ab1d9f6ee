"""jtorch.nn.init against torch.nn.init: deterministic initialisers and errors compared with
torch, random ones by a Kolmogorov-Smirnov test against the distribution torch documents
(jtorch's random numbers differ from torch's by design)."""
import inspect
import math
import warnings

import numpy as np
import pytest
import torch
from scipy import stats

import jtorch
from jtorch.nn import init

# Every new (shape, dtype) of a random draw compiles a kernel (about a second here), so the
# random tests share one shape: 4096 draws, enough for a KS test to see a 2% error in a CDF.
SHAPE = (64, 64)
CONV = (32, 16, 3, 3)   # fan_in 144, fan_out 288
ALPHA = 1e-3       # fixed seeds make each test deterministic; ALPHA guards against bad luck


pytestmark = pytest.mark.filterwarnings("ignore:mean is more than 2 std")   # tails on purpose


def _generator(seed=0):
    return jtorch.Generator().manual_seed(seed)


def _numpy(t):
    return np.asarray(t.detach().numpy(), dtype=np.float64)


# ---------------------------------------------------------------- namespace and signatures

def _public(module):
    return {n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))
            and getattr(getattr(module, n), "__module__", None) == module.__name__}


def test_same_public_names():
    assert _public(init) == _public(torch.nn.init)
    assert sorted(init.__all__) == sorted(torch.nn.init.__all__)


PRIVATE = ["_calculate_fan_in_and_fan_out", "_calculate_correct_fan", "_no_grad_uniform_",
           "_no_grad_normal_", "_no_grad_trunc_normal_", "_no_grad_fill_", "_no_grad_zero_",
           "_make_deprecate"]


@pytest.mark.parametrize("name", torch.nn.init.__all__ + PRIVATE)
def test_signature(name):
    def shape(fn):   # annotations name torch's types, so compare names, kinds and defaults
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]
    assert shape(getattr(init, name)) == shape(getattr(torch.nn.init, name))


# ---------------------------------------------------------------- deterministic, against torch

GAINS = [("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None),
         ("conv_transpose1d", None), ("conv_transpose2d", None), ("conv_transpose3d", None),
         ("sigmoid", None), ("tanh", None), ("relu", None), ("relu", 3), ("selu", None),
         ("leaky_relu", None), ("leaky_relu", 0), ("leaky_relu", 0.2), ("leaky_relu", 3)]


@pytest.mark.parametrize("nonlinearity,param", GAINS)
def test_calculate_gain(nonlinearity, param):
    expected = torch.nn.init.calculate_gain(nonlinearity, param)
    got = init.calculate_gain(nonlinearity, param)
    assert got == expected and type(got) is type(expected)


FAN_SHAPES = [(3, 5), (7, 2, 3), (4, 6, 2, 3), (2, 3, 1, 2, 4), (0, 4), (4, 0, 3)]


@pytest.mark.parametrize("shape", FAN_SHAPES)
def test_fans(shape):
    t, j = torch.empty(shape), jtorch.empty(shape)
    assert init._calculate_fan_in_and_fan_out(j) == \
        torch.nn.init._calculate_fan_in_and_fan_out(t)
    for mode in ("fan_in", "fan_out", "FAN_OUT"):
        assert init._calculate_correct_fan(j, mode) == \
            torch.nn.init._calculate_correct_fan(t, mode)


DETERMINISTIC = [
    ("constant_", (3, 4), (0.3,), {}, "float32"), ("constant_", (3, 4), (2.7,), {}, "int64"),
    ("ones_", (3, 4), (), {}, "float32"), ("zeros_", (3, 4), (), {}, "int64"),
    ("eye_", (3, 5), (), {}, "float32"), ("eye_", (5, 3), (), {}, "int64"),
    ("dirac_", (6, 2, 3), (3,), {}, "float32"), ("dirac_", (3, 5, 4, 4), (), {}, "int64"),
    ("dirac_", (8, 2, 3, 2, 5), (), {"groups": 2}, "float32"),
]


@pytest.mark.parametrize("name,shape,args,kwargs,dtype", DETERMINISTIC)
def test_deterministic(name, shape, args, kwargs, dtype):
    t = torch.full(shape, 7, dtype=getattr(torch, dtype))
    j = jtorch.full(shape, 7, dtype=getattr(jtorch, dtype))
    expected = getattr(torch.nn.init, name)(t, *args, **kwargs)
    got = getattr(init, name)(j, *args, **kwargs)
    assert got is j and got.dtype is j.dtype
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


# ---------------------------------------------------------------- errors and warnings

def _rand(*shape):
    return lambda lib: lib.empty(shape or SHAPE) if shape != (None,) else lib.empty(())


ERRORS = [   # (function, tensor maker, args, kwargs): torch's exception class must match
    ("calculate_gain", None, ("leaky_relu", True), {}),
    ("calculate_gain", None, ("leaky_relu", "1"), {}),
    ("calculate_gain", None, ("Relu",), {}),
    ("_calculate_fan_in_and_fan_out", _rand(4), (), {}),
    ("_calculate_fan_in_and_fan_out", _rand(None), (), {}),
    ("_calculate_correct_fan", _rand(3, 4), ("fan",), {}),
    ("xavier_uniform_", _rand(5), (), {}),
    ("xavier_normal_", _rand(None), (), {}),
    ("xavier_uniform_", _rand(0, 0), (), {}),
    ("kaiming_uniform_", _rand(4), (), {}),
    ("kaiming_normal_", _rand(3, 4), (), {"mode": "x"}),
    ("kaiming_uniform_", _rand(3, 4), (), {"nonlinearity": "foo"}),
    ("kaiming_normal_", _rand(3, 4), (), {"nonlinearity": "leaky_relu", "a": "0.1"}),
    ("eye_", _rand(4), (), {}), ("eye_", _rand(2, 3, 4), (), {}),
    ("dirac_", _rand(4, 3), (), {}), ("dirac_", _rand(2, 2, 2, 2, 2, 2), (), {}),
    ("dirac_", _rand(4, 3, 3), (3,), {}), ("dirac_", _rand(4, 3, 3), (0,), {}),
    ("orthogonal_", _rand(4), (), {}),
    ("orthogonal_", lambda lib: lib.empty(3, 3, dtype=lib.float16), (), {}),
    ("orthogonal_", lambda lib: lib.empty(3, 3, dtype=lib.complex64), (), {}),
    ("orthogonal_", lambda lib: lib.empty(3, 3, dtype=lib.int64), (), {}),
    ("sparse_", lambda lib: lib.empty(3, 3, dtype=lib.int64), (0.5,), {}),
    ("sparse_", _rand(3, 3), (0.5, -1.0), {}),
    ("sparse_", _rand(4), (0.1,), {}), ("sparse_", _rand(2, 3, 4), (0.1,), {}),
    ("uniform_", lambda lib: lib.empty(3, dtype=lib.int64), (), {}),
    ("uniform_", _rand(3), (2.0, 1.0), {}),
    ("normal_", lambda lib: lib.empty(3, dtype=lib.int64), (), {}),
    ("normal_", _rand(3), (0.0, -1.0), {}),
    ("trunc_normal_", _rand(3), (), {"std": 0.0}),
    ("trunc_normal_", _rand(3), (), {"a": 2.0, "b": -2.0}),
    ("trunc_normal_", lambda lib: lib.empty(3, dtype=lib.int64), (), {}),
]


def _call(lib, name, make, args, kwargs):
    module = init if lib is jtorch else torch.nn.init
    fn = getattr(module, name)
    return fn(make(lib), *args, **kwargs) if make else fn(*args, **kwargs)


@pytest.mark.parametrize("name,make,args,kwargs", ERRORS)
def test_errors(name, make, args, kwargs):
    with pytest.raises(Exception) as expected:
        _call(torch, name, make, args, kwargs)
    with pytest.raises(expected.type):
        _call(jtorch, name, make, args, kwargs)


WARNINGS = [
    ("kaiming_uniform_", _rand(0, 4), (), {}),
    ("kaiming_normal_", _rand(3, 0, 2), (), {}),
    ("trunc_normal_", _rand(), (), {"mean": 5.0}),
    ("trunc_normal_", _rand(), (), {"mean": -1.0, "a": 2.0, "b": 3.0}),
    ("uniform", _rand(), (), {}), ("normal", _rand(), (), {}), ("constant", _rand(), (1,), {}),
    ("eye", _rand(3, 5), (), {}), ("dirac", _rand(4, 3, 3), (), {}),
    ("xavier_uniform", _rand(), (), {}), ("xavier_normal", _rand(), (), {}),
    ("kaiming_uniform", _rand(), (), {}), ("kaiming_normal", _rand(), (), {}),
    ("orthogonal", _rand(), (), {}), ("sparse", _rand(), (0.5,), {}),
]


def _warnings(lib, name, make, args, kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _call(lib, name, make, args, kwargs)
    return [(w.category, str(w.message)) for w in caught]


@pytest.mark.parametrize("name,make,args,kwargs", WARNINGS)
def test_warnings(name, make, args, kwargs):
    expected = _warnings(torch, name, make, args, kwargs)
    assert expected and _warnings(jtorch, name, make, args, kwargs) == expected


def test_zero_element_tensors_are_left_alone():
    for fn in (init.kaiming_uniform_, init.kaiming_normal_, init.orthogonal_):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert fn(jtorch.empty(0, 4)).shape == (0, 4)


# ---------------------------------------------------------------- distributions (KS tests)

def _uniform(a, b):
    return stats.uniform(loc=a, scale=b - a).cdf


def _normal(std, mean=0.0):
    return stats.norm(loc=mean, scale=std).cdf


def _truncated(mean, std, a, b):
    return stats.truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std).cdf


def _xavier_std(shape, gain=1.0):
    fan_in, fan_out = shape[1] * math.prod(shape[2:]), shape[0] * math.prod(shape[2:])
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def _kaiming_std(fan, gain):
    return gain / math.sqrt(fan)


RANDOM = [   # (id, shape, function, args, kwargs, the CDF torch documents)
    ("uniform", SHAPE, "uniform_", (), {}, _uniform(0, 1)),
    ("uniform_ab", SHAPE, "uniform_", (-3.0, 0.5), {}, _uniform(-3, 0.5)),
    ("normal", SHAPE, "normal_", (), {}, _normal(1.0)),
    ("normal_ms", SHAPE, "normal_", (2.0, 0.1), {}, _normal(0.1, 2.0)),
    ("trunc", SHAPE, "trunc_normal_", (), {}, _truncated(0, 1, -2, 2)),
    ("trunc_narrow", SHAPE, "trunc_normal_", (0.0, 1.0, -0.1, 0.3), {},
     _truncated(0, 1, -0.1, 0.3)),
    ("trunc_std", SHAPE, "trunc_normal_", (), {"std": 0.02, "a": -0.04, "b": 0.04},
     _truncated(0, 0.02, -0.04, 0.04)),
    ("trunc_upper_tail", SHAPE, "trunc_normal_", (1.0, 2.0, 7.0, 9.0), {},
     _truncated(1, 2, 7, 9)),
    ("trunc_lower_tail", SHAPE, "trunc_normal_", (0.0, 1.0, -9.0, -4.5), {},
     _truncated(0, 1, -9, -4.5)),
    ("trunc_half_line", SHAPE, "trunc_normal_", (0.0, 1.0, 0.5, math.inf), {},
     _truncated(0, 1, 0.5, math.inf)),
    ("trunc_negative_std", SHAPE, "trunc_normal_", (0.5, -1.0, -1.0, 1.0), {},
     _truncated(0.5, 1, -1, 1)),
    ("xavier_uniform", SHAPE, "xavier_uniform_", (), {},
     _uniform(-math.sqrt(3) * _xavier_std(SHAPE), math.sqrt(3) * _xavier_std(SHAPE))),
    ("xavier_uniform_conv", CONV, "xavier_uniform_", (2.0,), {},
     _uniform(-math.sqrt(3) * _xavier_std(CONV, 2), math.sqrt(3) * _xavier_std(CONV, 2))),
    ("xavier_normal_conv", CONV, "xavier_normal_", (), {"gain": 0.5},
     _normal(_xavier_std(CONV, 0.5))),
    ("kaiming_uniform", CONV, "kaiming_uniform_", (), {},
     _uniform(-math.sqrt(3) * _kaiming_std(144, math.sqrt(2 / 1)),
              math.sqrt(3) * _kaiming_std(144, math.sqrt(2 / 1)))),
    ("kaiming_uniform_sqrt5", SHAPE, "kaiming_uniform_", (), {"a": math.sqrt(5)},
     _uniform(-1 / 8, 1 / 8)),   # torch's Linear default: U(+-1/sqrt(fan_in))
    ("kaiming_normal_fan_out", CONV, "kaiming_normal_", (),
     {"mode": "fan_out", "nonlinearity": "relu"}, _normal(_kaiming_std(288, math.sqrt(2)))),
    ("kaiming_normal_tanh", CONV, "kaiming_normal_", (0.3, "fan_in", "tanh"), {},
     _normal(_kaiming_std(144, 5 / 3))),
    ("kaiming_uniform_leaky", CONV, "kaiming_uniform_", (0.2,), {"mode": "fan_out"},
     _uniform(-math.sqrt(3) * _kaiming_std(288, math.sqrt(2 / 1.04)),
              math.sqrt(3) * _kaiming_std(288, math.sqrt(2 / 1.04)))),
]


@pytest.mark.parametrize("case", RANDOM, ids=[c[0] for c in RANDOM])
def test_distribution(case):
    _check_distribution(*case[1:], "float32")


@pytest.mark.parametrize("case", [c for c in RANDOM if c[0].startswith("trunc")],
                         ids=[c[0] for c in RANDOM if c[0].startswith("trunc")])
def test_trunc_normal_float64(case):   # trunc_normal_ samples float64 tensors in float64
    _check_distribution(*case[1:], "float64")


def _check_distribution(shape, name, args, kwargs, cdf, dtype):
    tensor = jtorch.empty(shape, dtype=getattr(jtorch, dtype))
    result = getattr(init, name)(tensor, *args, generator=_generator(1), **kwargs)
    assert result is tensor and result.dtype is tensor.dtype
    sample = _numpy(tensor).ravel()
    assert stats.kstest(sample, cdf).pvalue > ALPHA


def test_trunc_normal_low_precision_bounds():
    t = init.trunc_normal_(jtorch.empty(SHAPE, dtype=jtorch.float16), 0.0, 1.0, 1.5, 2.0,
                           generator=_generator())
    sample = _numpy(t.float())
    assert t.dtype is jtorch.float16 and sample.min() >= 1.5 and sample.max() <= 2.0
    assert abs(sample.mean() - stats.truncnorm(1.5, 2.0).mean()) < 0.01


def test_trunc_normal_infinite_bounds_are_finite():
    t = init.trunc_normal_(jtorch.empty(SHAPE), a=-math.inf, b=math.inf,
                           generator=_generator())
    assert np.isfinite(_numpy(t)).all()
    assert stats.kstest(_numpy(t).ravel(), _normal(1.0)).pvalue > ALPHA


ORTHOGONAL = [SHAPE, (24, 8), (8, 4, 3)]   # square, tall, wide and flattened


@pytest.mark.parametrize("shape", ORTHOGONAL)
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal(shape, gain):
    tensor = jtorch.empty(shape)
    assert init.orthogonal_(tensor, gain, generator=_generator()) is tensor
    flat = _numpy(tensor).reshape(shape[0], -1)
    rows, cols = flat.shape
    gram = flat.T @ flat if rows >= cols else flat @ flat.T   # the orthonormal side
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(min(rows, cols)), atol=1e-5)


def test_orthogonal_is_haar():
    """The sign correction makes Q Haar-distributed: an entry of a random n x n
    orthogonal matrix times sqrt(n) is close to N(0, 1) and symmetric about 0."""
    entries = _numpy(init.orthogonal_(jtorch.empty(SHAPE), generator=_generator()))
    assert stats.kstest(entries.ravel() * 8, _normal(1.0)).pvalue > ALPHA
    assert abs(np.diag(entries).mean()) < 3 / 8 / math.sqrt(64)   # no bias on the diagonal


@pytest.mark.parametrize("sparsity,zeros", [(0.1, 7), (0.35, 23), (0.5, 32), (1.0, 64),
                                             (0.0, 0), (1.5, 64), (-0.25, 48)])
def test_sparse(sparsity, zeros):
    tensor = jtorch.empty(SHAPE)
    assert init.sparse_(tensor, sparsity, generator=_generator()) is tensor
    values = _numpy(tensor)
    t = torch.nn.init.sparse_(torch.empty(SHAPE), sparsity)   # torch's count, slicing included
    assert ((t == 0).sum(0) == zeros).all()
    np.testing.assert_array_equal((values == 0).sum(axis=0), zeros)
    if 0 < zeros < 64:
        assert stats.kstest(values[values != 0], _normal(0.01)).pvalue > ALPHA
        positions = {tuple(np.flatnonzero(values[:, c] == 0)) for c in range(SHAPE[1])}
        assert len(positions) == SHAPE[1]   # zeroed rows differ between columns


def test_sparse_std():
    values = _numpy(init.sparse_(jtorch.empty(SHAPE), 0.25, std=3.0, generator=_generator()))
    assert stats.kstest(values[values != 0], _normal(3.0)).pvalue > ALPHA


# ---------------------------------------------------------------- generators and autograd

SEEDED = [("uniform_", ()), ("normal_", ()), ("trunc_normal_", ()), ("xavier_uniform_", ()),
          ("xavier_normal_", ()), ("kaiming_uniform_", ()), ("kaiming_normal_", ()),
          ("orthogonal_", ()), ("sparse_", (0.3,))]


@pytest.mark.parametrize("name,args", SEEDED)
def test_generator_reproducible(name, args):
    fn = getattr(init, name)
    jtorch.manual_seed(123)
    before = jtorch.default_generator.get_offset()
    first = _numpy(fn(jtorch.empty(SHAPE), *args, generator=_generator(7)))
    second = _numpy(fn(jtorch.empty(SHAPE), *args, generator=_generator(7)))
    other = _numpy(fn(jtorch.empty(SHAPE), *args, generator=_generator(8)))
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)
    assert jtorch.default_generator.get_offset() == before   # the default stream is untouched
    jtorch.manual_seed(5)   # without generator=, the default generator's seed decides
    a = _numpy(fn(jtorch.empty(SHAPE), *args))
    jtorch.manual_seed(5)
    np.testing.assert_array_equal(a, _numpy(fn(jtorch.empty(SHAPE), *args)))


INPLACE = [("uniform_", ()), ("normal_", ()), ("trunc_normal_", ()), ("constant_", (0.5,)),
           ("ones_", ()), ("zeros_", ()), ("eye_", ()), ("xavier_uniform_", ()),
           ("xavier_normal_", ()), ("kaiming_uniform_", ()), ("kaiming_normal_", ()),
           ("orthogonal_", ()), ("sparse_", (0.5,))]


@pytest.mark.parametrize("name,args", INPLACE)
def test_leaf_parameters_initialised_without_autograd(name, args):
    make = getattr(jtorch.nn, "Parameter", None)
    leaf = make(jtorch.zeros(SHAPE)) if make else jtorch.zeros(SHAPE, requires_grad=True)
    result = getattr(init, name)(leaf, *args)
    assert result is leaf and leaf.is_leaf and leaf.requires_grad and leaf.grad_fn is None
    (leaf * 2).sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), np.full(SHAPE, 2.0))


def test_dirac_leaf_and_view():
    leaf = jtorch.zeros(6, 2, 3, requires_grad=True)
    assert init.dirac_(leaf, 3) is leaf and leaf.grad_fn is None and leaf.is_leaf
    base = jtorch.zeros(2, 6)
    init.ones_(base[:, 2:4])   # a view: the write reaches its base
    np.testing.assert_array_equal(base.numpy()[:, 2:4], 1.0)
    assert base.numpy().sum() == 4
