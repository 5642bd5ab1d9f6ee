"""Tensor printing against torch's repr, over fixed and random tensors and print options."""
from __future__ import annotations

import numpy as np
import pytest

import jtorch
from jtorch import _tensor_str

torch = pytest.importorskip("torch")

T = torch
FIXED = [
    'T.tensor(3)', 'T.tensor(3.5)', 'T.tensor(True)', 'T.tensor([1., 2.])',
    'T.tensor([1.5, 2.25])', 'T.tensor([1, -2, 300])', 'T.tensor([True, False])',
    'T.tensor([1e-5, 1.])', 'T.tensor([1e9, 1.])', 'T.tensor([1e10])', 'T.tensor([0.])',
    'T.tensor([-0.])', "T.tensor([float('nan'), 1.])",
    "T.tensor([float('inf'), -float('inf'), 2.])", "T.tensor([float('nan')])",
    'T.tensor([1., 1e4])', 'T.tensor([1., 1001.])', 'T.tensor([123456789.])',
    'T.tensor([0.1, 0.25, 1000.5])', 'T.tensor([1+2j, 3-4j])', 'T.tensor([1.5+0j])',
    'T.tensor(2+3j)', 'T.tensor([1e-5+1j])', 'T.tensor([[1, 2], [3, 4]])', 'T.zeros(0)',
    'T.zeros(0, 3)', 'T.zeros(2, 0, dtype=T.int64)', 'T.zeros(0, dtype=T.int32)',
    'T.zeros(0, dtype=T.float64)', 'T.arange(2000)', 'T.arange(2000.).reshape(40, 50)',
    'T.arange(30.).reshape(2, 3, 5)', 'T.arange(100.) / 7', 'T.arange(-50, 50) * 1.5',
    'T.tensor([1, 2], dtype=T.int8)', 'T.tensor([1.5], dtype=T.float64)',
    'T.tensor([1.5], dtype=T.float16)', 'T.tensor([1.5, 2.], dtype=T.bfloat16)',
    'T.tensor([1+1j], dtype=T.complex128)', 'T.tensor([1., 2.], requires_grad=True)',
    'T.tensor(1., requires_grad=True)', 'T.arange(12).reshape(2, 2, 3)',
    'T.tensor([[True, False]])', 'T.tensor([2**40, 1])',
    'T.tensor([[1e-10, 1.]], dtype=T.float64)', 'T.zeros(3, 1, 0)', 'T.ones(1, 1, 1)',
    'T.tensor([0.001, 0.01])', 'T.tensor([0.00011])', 'T.tensor([-1.5, 2])', 'T.full((30,), 1/3)',
    'T.full((4, 30), -1/3, dtype=T.float64)', 'T.tensor([1e8, 1])', 'T.tensor([1e8 + 1.5, 1])',
    "T.tensor([float('nan'), 1e-6])", 'T.tensor([1e300, 1e-300], dtype=T.float64)',
    'T.arange(1001).reshape(7, 143)', 'T.tensor([-3+0.5j, 2e5+1j])',
    "T.tensor([float('nan') + 1j])", 'T.tensor([1., 0., -0.])',
    'T.arange(24.).reshape(2, 3, 4) * 1e6', 'T.arange(5000, dtype=T.int16).reshape(50, 100)',
    'T.arange(3000.).reshape(10, 10, 30) / 3', 'T.tensor([1, 2, 3], dtype=T.uint8)',
]


def _random_tensors(n=40, seed=0):
    """numpy-made tensors of random rank, shape, dtype and magnitude (hypothesis-style)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        ndim = int(rng.integers(0, 4))
        shape = tuple(int(s) for s in rng.integers(1, 9 if ndim < 3 else 5, ndim))
        kind = int(rng.integers(0, 6))
        scale = 10.0 ** int(rng.integers(-6, 10))
        normal = rng.standard_normal(shape)
        if kind == 0:
            a = (normal * scale).astype(np.float32)
        elif kind == 1:
            a = rng.integers(-1000, 1000, shape)
        elif kind == 2:
            a = np.round(normal * scale).astype(np.float32)
        elif kind == 3:
            a = ((normal + 1j * rng.standard_normal(shape)) * scale).astype(np.complex64)
        elif kind == 4:
            a = rng.integers(0, 2, shape).astype(bool)
        else:
            a = normal * scale
        out.append(np.asarray(a))
    return out


def _pair(expr_or_array):
    if isinstance(expr_or_array, str):
        t = eval(expr_or_array, {"T": torch})
    else:
        t = torch.from_numpy(expr_or_array.copy())
    d = t.detach()
    if d.dtype == torch.bfloat16:
        j = jtorch.tensor(d.float().numpy()).to(jtorch.bfloat16)
    else:
        j = jtorch.from_numpy(d.numpy().copy())
    if t.requires_grad:
        j.requires_grad_(True)
    return t, j


CASES = FIXED + _random_tensors()
IDS = FIXED + [f"random{i}" for i in range(len(CASES) - len(FIXED))]
OPTIONS = [{}, dict(precision=2), dict(sci_mode=True), dict(sci_mode=False), dict(linewidth=40),
           dict(threshold=10, edgeitems=2), dict(profile="short"), dict(profile="full"),
           dict(edgeitems=0, threshold=5), dict(precision=6, linewidth=120)]


@pytest.fixture
def restore_printoptions():
    yield
    torch.set_printoptions(profile="default")
    _tensor_str.set_printoptions(profile="default")


@pytest.mark.parametrize("options", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_repr_like_torch(options, restore_printoptions):
    torch.set_printoptions(**options)
    _tensor_str.set_printoptions(**options)
    assert _tensor_str.get_printoptions() == {k: getattr(torch._tensor_str.PRINT_OPTS, k)
                                              for k in _tensor_str.get_printoptions()}
    for case, name in zip(CASES, IDS):
        t, j = _pair(case)
        assert repr(j) == repr(t), name
        assert str(j) == str(t), name


def test_default_dtype_suffixes():
    old = torch.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float64)
        jtorch.set_default_dtype(jtorch.float64)
        for expr in ["T.tensor([1.5])", "T.tensor([1.5], dtype=T.float32)", "T.tensor([1j])",
                     "T.tensor([1j], dtype=T.complex64)", "T.zeros(0, dtype=T.float32)",
                     "T.zeros(0)"]:
            t = eval(expr, {"T": torch})
            j = eval(expr, {"T": jtorch})
            assert repr(j) == repr(t), expr
    finally:
        torch.set_default_dtype(old)
        jtorch.set_default_dtype(jtorch.float32)


def test_grad_fn_suffix():
    j = jtorch.tensor([1., 2.], requires_grad=True) + 1
    assert repr(j) == "tensor([2., 3.], grad_fn=<AddBackward0>)"


def test_printoptions_context_and_errors(restore_printoptions):
    with _tensor_str.printoptions(precision=1):
        assert repr(jtorch.tensor([1.25])) == "tensor([1.2])"
    assert _tensor_str.get_printoptions()["precision"] == 4
    with pytest.raises(ValueError):
        _tensor_str.set_printoptions(profile="nope")
