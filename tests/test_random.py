"""Random sampling: reproducibility, shapes/dtypes and errors against torch, distributions."""
from __future__ import annotations

import numpy as np
import pytest

import jtorch
import jtorch.random

torch = pytest.importorskip("torch")

# calls run in both libraries (T is the library); only shape and dtype are compared
SHAPE_CASES = [
    'T.rand(2, 3)', 'T.rand((2, 3))', 'T.rand([4])', 'T.rand(())', 'T.rand(0, 2)',
    'T.rand(size=(2,))', 'T.rand(3, dtype=T.float64)', 'T.rand(3, dtype=T.float16)',
    'T.rand(3, dtype=T.bfloat16)', 'T.rand(3, dtype=T.complex64)', 'T.randn(2, 3)',
    'T.randn(4, dtype=T.complex128)', 'T.randn(T.Size([2, 2]))', 'T.randint(10, (3,))',
    'T.randint(2, 10, (2, 2))', 'T.randint(0, 5, (3,), dtype=T.float32)',
    'T.randint(0, 2, (3,), dtype=T.bool)', 'T.randint(-3, 3, size=(4,), dtype=T.int8)',
    'T.randint(0, 256, (4,), dtype=T.uint8)', 'T.randperm(5)', 'T.randperm(0)',
    'T.randperm(4, dtype=T.float32)', 'T.normal(T.zeros(3), T.ones(3))',
    'T.normal(T.zeros(2, 3), 2.0)', 'T.normal(1.0, T.ones(4))', 'T.normal(0.0, 1.0, (2, 5))',
    'T.normal(0.0, 1.0, size=(2,), dtype=T.float64)', 'T.normal(T.zeros(1, 3), T.ones(2, 1))',
    'T.normal(T.zeros(3, dtype=T.float64), T.ones(3))', 'T.bernoulli(T.full((3, 2), 0.5))',
    'T.bernoulli(T.full((3,), 0.5, dtype=T.float64))', 'T.bernoulli(T.ones(4), 0.3)',
    'T.multinomial(T.tensor([1., 2, 3]), 2)', 'T.multinomial(T.ones(3, 4), 6, True)',
    'T.multinomial(T.ones(3, 4, dtype=T.float64), 4)', 'T.poisson(T.full((3,), 4.0))',
    'T.rand_like(T.ones(2, 3))', 'T.randn_like(T.ones(2, dtype=T.float64))',
    'T.rand_like(T.ones(2), dtype=T.float64)', 'T.randint_like(T.ones(3), 5)',
    'T.randint_like(T.ones(3, dtype=T.int32), 2, 5)', 'T.ones(3).uniform_(-1, 1)',
    'T.ones(3).normal_(2, 3)', 'T.ones(3).exponential_(2)', 'T.ones(3).random_()',
    'T.ones(3, dtype=T.int64).random_(10)', 'T.ones(3, dtype=T.int16).random_(-5, 5)',
    'T.ones(3, dtype=T.bool).random_()', 'T.ones(3).bernoulli_(0.2)',
    'T.ones(3).bernoulli_(T.full((3,), .5))', 'T.ones(3, dtype=T.int64).bernoulli_()',
    'T.ones(3).geometric_(0.5)', 'T.ones(3, dtype=T.int64).geometric_(0.5)', 'T.ones(3).cauchy_()',
    'T.ones(3).log_normal_()', 'T.ones(2, 2).bernoulli()', 'T.ones(3).multinomial(2)',
    'T.ones(2, dtype=T.complex64).uniform_()', 'T.rand(2, 2, requires_grad=True)',
]

ERROR_CASES = [
    'T.rand(2, dtype=T.int64)', 'T.randn(2, dtype=T.int32)', 'T.rand(-1)', 'T.randn(2, 3.)',
    'T.randint(5, 5, (2,))', 'T.randint(0, 3, (2,), dtype=T.bool)',
    'T.randint(0, 300, (2,), dtype=T.uint8)', 'T.randint(0, 10, (2,), requires_grad=True)',
    'T.normal(0., -1., (2,))', 'T.normal(T.zeros(2), -1.)',
    'T.normal(T.zeros(2), T.tensor([1., -1]))', 'T.normal(T.zeros(2), T.ones(3))',
    'T.normal(0., 1., (2,), dtype=T.int64)', 'T.bernoulli(T.tensor([0.5, 2.]))',
    'T.bernoulli(T.tensor([1, 0]))', 'T.ones(2).bernoulli_(1.5)', 'T.ones(2).uniform_(2, 1)',
    'T.ones(2, dtype=T.int64).uniform_()', 'T.ones(2, dtype=T.int64).normal_()',
    'T.ones(2).exponential_(0)', 'T.ones(2, dtype=T.int64).exponential_()',
    'T.ones(2).geometric_(1)', 'T.ones(2).geometric_(0)',
    'T.ones(2, dtype=T.bool).geometric_(0.5)', 'T.ones(2).cauchy_(0, -1)',
    'T.ones(2, dtype=T.int64).cauchy_()', 'T.ones(2).log_normal_(0, -1)',
    'T.ones(2, dtype=T.int64).log_normal_()', 'T.ones(2).random_(5, 5)', 'T.ones(2).random_(0)',
    'T.ones(3, dtype=T.uint8).random_(-1, 3)', 'T.ones(2, dtype=T.complex64).random_()',
    'T.multinomial(T.tensor([1., -1, 0]), 1)', 'T.multinomial(T.tensor([0., 0, 0]), 1)',
    'T.multinomial(T.tensor([1., 1, 1]), 4)', 'T.multinomial(T.tensor([1., 1, 1]), 0)',
    'T.multinomial(T.ones(2, 2, 2), 1)', 'T.multinomial(T.tensor([1, 2]), 1)',
    'T.poisson(T.tensor([1., -1]))', 'T.poisson(T.tensor([1, 2]))',
    'T.rand_like(T.ones(2, dtype=T.int64))', 'T.randint_like(T.ones(2, dtype=T.bool), 5)',
]


def _run(lib, expr):
    return eval(expr, {"T": lib})


@pytest.mark.parametrize("expr", SHAPE_CASES)
def test_shape_dtype_like_torch_and_reproducible(expr):
    expected = _run(torch, expr)
    jtorch.manual_seed(1234)
    first = [_run(jtorch, expr), _run(jtorch, expr)]
    jtorch.manual_seed(1234)
    second = [_run(jtorch, expr), _run(jtorch, expr)]
    actual = first[0]
    assert str(actual.dtype) == str(expected.dtype)
    assert tuple(actual.shape) == tuple(expected.shape)
    assert actual.requires_grad == expected.requires_grad
    for a, b in zip(first, second):   # same seed, same stream
        np.testing.assert_array_equal(np.asarray(a._value), np.asarray(b._value))


@pytest.mark.parametrize("expr", ERROR_CASES)
def test_errors_like_torch(expr):
    with pytest.raises(Exception) as expected:
        _run(torch, expr)
    with pytest.raises(expected.type):
        _run(jtorch, expr)


def test_different_seeds_and_generators():
    jtorch.manual_seed(0)
    a = jtorch.rand(100)
    jtorch.manual_seed(1)
    b = jtorch.rand(100)
    assert not np.array_equal(np.asarray(a._value), np.asarray(b._value))
    c, d = jtorch.rand(100), jtorch.rand(100)   # consecutive draws differ
    assert not np.array_equal(np.asarray(c._value), np.asarray(d._value))
    g1, g2 = jtorch.Generator().manual_seed(7), jtorch.Generator().manual_seed(7)
    jtorch.rand(3)   # the default generator does not disturb g1/g2
    np.testing.assert_array_equal(np.asarray(jtorch.randn(5, generator=g1)._value),
                                  np.asarray(jtorch.randn(5, generator=g2)._value))


def test_state_round_trip():
    g = jtorch.Generator()
    assert g.initial_seed() == 67280421310721 and str(g.device) == "cpu"
    g.manual_seed(42)
    jtorch.rand(4, generator=g)
    state = g.get_state()
    assert state.dtype == jtorch.uint8
    x = np.asarray(jtorch.rand(4, generator=g)._value)
    g.set_state(state)
    np.testing.assert_array_equal(x, np.asarray(jtorch.rand(4, generator=g)._value))
    saved = jtorch.get_rng_state()
    y = np.asarray(jtorch.randn(3)._value)
    jtorch.set_rng_state(saved)
    np.testing.assert_array_equal(y, np.asarray(jtorch.randn(3)._value))
    with jtorch.random.fork_rng():
        jtorch.randn(3)
    jtorch.set_rng_state(saved)
    np.testing.assert_array_equal(y, np.asarray(jtorch.randn(3)._value))
    with pytest.raises(TypeError):
        g.set_state(jtorch.zeros(16))
    with pytest.raises(RuntimeError):
        g.set_state(jtorch.zeros(3, dtype=jtorch.uint8))
    assert jtorch.Generator().manual_seed(-1).initial_seed() == 2 ** 64 - 1
    s = jtorch.seed()
    assert jtorch.initial_seed() == s


N = 5000


def _sample(expr):
    jtorch.manual_seed(0)
    return np.asarray(_run(jtorch, expr)._value).astype(np.float64)


# (expression, expected mean, expected variance)
MOMENTS = [
    (f"T.rand({N})", 0.5, 1 / 12), (f"T.randn({N})", 0.0, 1.0),
    (f"T.normal(2.0, 3.0, ({N},))", 2.0, 9.0), (f"T.normal(T.full(({N},), -1.), 0.5)", -1.0, 0.25),
    (f"T.zeros({N}).uniform_(-1, 3)", 1.0, 16 / 12), (f"T.zeros({N}).normal_(1, 2)", 1.0, 4.0),
    (f"T.zeros({N}).exponential_(2)", 0.5, 0.25),
    (f"T.zeros({N}).geometric_(0.3)", 1 / 0.3, 0.7 / 0.09),
    (f"T.zeros({N}, dtype=T.float64).log_normal_(0, 0.5)", np.exp(0.125),
     (np.exp(0.25) - 1) * np.exp(0.25)),
    (f"T.zeros({N}).bernoulli_(0.3)", 0.3, 0.21), (f"T.bernoulli(T.full(({N},), 0.8))", 0.8, 0.16),
    (f"T.poisson(T.full(({N},), 4.0))", 4.0, 4.0), (f"T.randint(0, 10, ({N},))", 4.5, 99 / 12),
    (f"T.zeros({N}).random_(3, 7)", 4.5, 15 / 12),
    (f"T.zeros({N}, dtype=T.bool).random_()", 0.5, 0.25),
    (f"T.rand({N}, dtype=T.float16)", 0.5, 1 / 12),
]


@pytest.mark.parametrize("expr,mean,var", MOMENTS)
def test_moments(expr, mean, var):
    x = _sample(expr)
    assert abs(x.mean() - mean) < 5 * np.sqrt(var / N) + 1e-3
    assert abs(x.var() - var) < 0.1 * var


def test_supports_and_ranges():
    assert _sample(f"T.rand({N})").min() >= 0 and _sample(f"T.rand({N})").max() < 1
    ints = _sample(f"T.randint(-3, 4, ({N},))")
    assert set(np.unique(ints)) == set(range(-3, 4))
    assert abs(np.median(_sample(f"T.zeros({N}).cauchy_(1.5, 2)")) - 1.5) < 0.1
    big = np.asarray(jtorch.zeros(N, dtype=jtorch.int64).random_()._value)
    assert big.min() >= 0 and big.max() > 2 ** 60
    assert sorted(np.asarray(jtorch.randperm(N)._value).tolist()) == list(range(N))
    c = np.asarray(jtorch.randn(N, dtype=jtorch.complex64)._value)
    assert abs(np.var(c.real) - 0.5) < 0.05 and abs(np.var(c.imag) - 0.5) < 0.05


def test_multinomial_frequencies():
    probs = jtorch.tensor([0.1, 0.2, 0.7])
    jtorch.manual_seed(0)
    draws = np.asarray(jtorch.multinomial(probs, N, True)._value)
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / N, [0.1, 0.2, 0.7], atol=0.02)
    rows = np.asarray(jtorch.multinomial(jtorch.ones(1000, 5), 5)._value)
    assert all(sorted(r) == list(range(5)) for r in rows.tolist())   # without replacement
    first = np.asarray(jtorch.multinomial(jtorch.tensor([[1., 0, 9]] * 1000), 2)._value)
    assert (first[:, 0] == 2).mean() > 0.85 and (first != 1).all()


def test_cuda_module_seeds_the_one_generator():
    import jax
    import jtorch.cuda
    accelerators = [d for d in jax.devices() if d.platform != "cpu"]
    assert jtorch.cuda.is_available() == bool(accelerators)
    assert jtorch.cuda.device_count() == len(accelerators)
    jtorch.cuda.manual_seed_all(5)
    assert jtorch.initial_seed() == 5 and jtorch.cuda.initial_seed() == 5
    assert isinstance(jtorch.cuda.memory_allocated(), int)
    jtorch.cuda.synchronize()
    jtorch.cuda.empty_cache()
    if accelerators:
        assert jtorch.cuda.get_device_name(0) == accelerators[0].device_kind
        assert jtorch.rand(2, device="cuda").device.type == "cuda"
