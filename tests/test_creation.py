"""Creation ops against torch: values, dtype inference, shapes and errors."""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import jtorch

torch = pytest.importorskip("torch")

# each case is evaluated with T = torch and T = jtorch ("T." is prefixed unless present)
CASES = [
    'tensor([1,2,3])', 'tensor([1.,2])', 'tensor([True,False])', 'tensor([1,2.5])',
    'tensor([True,2])', 'tensor([1+2j, 3])', 'tensor([[1,2],[3,4]])', 'tensor(3)', 'tensor(3.5)',
    'tensor(True)', 'tensor([])', 'tensor([[]])', 'tensor([[],[]])', 'tensor(np.float32(2.5))',
    'tensor([np.float32(2.5), 1])', 'tensor(np.int32(3))', 'tensor([np.int32(3), 4])',
    'tensor([np.float64(1.5)])', 'tensor(np.array([1,2],dtype=np.int16))',
    'tensor([T.tensor(1.5), T.tensor(2.5)])', 'tensor([T.tensor(1), T.tensor(2)])',
    'tensor([T.tensor(1,dtype=T.int32), 2])', 'tensor([T.tensor(1.,dtype=T.float64), 2])',
    'tensor([[1,2],[3]])', 'tensor([1,[2]])', 'tensor([[1],2])', 'tensor(np.array([[1.,2]]))',
    'tensor([np.array([1,2]), np.array([3,4])])', 'tensor([1,2],dtype=T.float16)', 'tensor((1,2))',
    'tensor([2**63])', 'tensor([1.5], dtype=T.int64)', "tensor(['a'])", 'tensor(None)',
    'tensor([1,2], dtype=T.bool)', 'tensor(np.float16(1))', 'tensor([np.complex64(1j), 1.])',
    'tensor(T.tensor([1,2]))', 'as_tensor([1,2])', 'as_tensor(np.array([1,2],dtype=np.int32))',
    'as_tensor([1,2],dtype=T.float32)', 'asarray([1.5])', 'asarray(np.float64(2))',
    'from_numpy(np.array([1,2]))', 'from_numpy(np.array(3.))',
    'from_numpy(np.zeros((2,3),np.float16))', 'zeros(2,3)', 'zeros((2,3))', 'zeros([2,3])',
    'zeros(())', 'zeros(0)', 'zeros(2, dtype=T.int32)', 'zeros(-1)', 'zeros(2,-1)', 'zeros(2.5)',
    'zeros(T.Size([2,3]))', 'ones(3, dtype=T.bool)', 'ones(2,2,dtype=T.complex64)',
    'empty(2,3).shape', 'empty((2,0))', 'full((2,3), 1.5)', 'full((2,), 3)', 'full((2,), True)',
    'full((2,), 1+1j)', 'full((2,), 3, dtype=T.float32)', 'full([], 2)', 'full(2, 2)',
    'full((2,), T.tensor(3))', 'full((-1,), 3)', 'zeros_like(T.ones(2, dtype=T.int32))',
    'ones_like(T.ones(2), dtype=T.int64)', 'full_like(T.ones(2,dtype=T.int64), 2.7)',
    'full_like(T.ones(2), 2)', 'full_like(T.ones(2), T.tensor(2.5))', 'empty_like(T.ones(2,3)).shape',
    'full_like(T.ones(2,dtype=T.bool), 2)', 'arange(5)', 'arange(1,5)', 'arange(1,5,2)',
    'arange(0,1,0.1)', 'arange(5.)', 'arange(0,5,dtype=T.float32)', 'arange(1,2.5,0.5)',
    'arange(10,0,-3)', 'arange(0,10,0)', 'arange(0,-3,1)', 'arange(0.,-8.000001,-4.)',
    'arange(0,-8.000001,-4,dtype=T.int32)', 'arange(0,-8.000001,-4,dtype=T.int64)', 'arange(True)',
    'arange(1, 4, dtype=T.float16)', 'arange(0, 1, 0.3, dtype=T.int64)', 'arange(T.tensor(3))',
    'arange(T.tensor(3.))', 'arange(1.5, 4.5)', 'arange(-1.0, 1.0, 0.25, dtype=T.float64)',
    'arange(0, 2.2, 1.1)', 'arange(0, 0.3, 0.1)', 'arange(1, 5, dtype=T.bool)',
    'arange(5, dtype=T.uint8)', 'arange(np.int64(4))', 'range(1,4)', 'range(0,1,0.25)',
    'range(1,4,dtype=T.int64)', 'range(5)', 'range(0,1,0.3)', 'linspace(0,1,5)',
    'linspace(0,10,5,dtype=T.int64)', 'linspace(-1,1,1)', 'linspace(0,1,0)', 'linspace(0,1,-1)',
    'linspace(0,1+1j,3)', 'linspace(3,-2,7,dtype=T.int32)', 'linspace(0,5,11,dtype=T.int64)',
    'linspace(T.tensor(0.),T.tensor(1.),3)', 'linspace(0, 1, 4, dtype=T.float64)',
    'linspace(-5,5,4,dtype=T.int8)', 'logspace(0,2,3)', 'logspace(0,2,3,base=2)',
    'logspace(0,3,4,dtype=T.int64)', 'logspace(0,1,1)', 'logspace(-1,1,5,base=3)', 'eye(3)',
    'eye(2,3)', 'eye(3,dtype=T.int64)', 'eye(0)', 'eye(-1)', 'eye(2,-1)', 'eye(3,2,dtype=T.bool)',
    'scalar_tensor(3)', 'scalar_tensor(2.5)', 'scalar_tensor(True)',
    'scalar_tensor(3, dtype=T.int64)', 'scalar_tensor(1+2j)', 'empty_strided((2,3),(3,1)).shape',
    'empty_permuted((2,3,4),(2,0,1)).shape', 'empty_permuted((2,3),(2,0))',
    'empty_permuted((2,3),(-1,0))', 'empty_permuted((2,3),(1,1))', 'empty_permuted((2,),(0,1))',
    'arange(0,64,0.5,out=T.empty(0,dtype=T.int64))', 'arange(0,5,1.5,out=T.empty(0,dtype=T.int64))',
    'arange(0,5,out=T.empty(0,dtype=T.float64))', 'arange(0,5,0.5,out=T.empty(0,dtype=T.int32))',
    'T.ones(2,dtype=T.int32).new_tensor([1.5])',
    'T.ones(2,dtype=T.int32).new_zeros(2,3)', 'T.ones(2).new_zeros((2,3))',
    'T.ones(2).new_ones(2, dtype=T.int64)', 'T.ones(2).new_full((2,),3)',
    'T.ones(2, dtype=T.int64).new_full((2,),3.5)', 'T.ones(2).new_empty(3).shape',
    'T.ones(2).new_empty_strided((2,3),(3,1)).shape',
    'T.ones(2,dtype=T.float64).new_tensor([1,2])', 'T.ones(2).new_tensor(T.tensor([1,2]))',
    'T.ones(2,3).fill_(2.5)', 'T.ones(2,3,dtype=T.int64).fill_(2.5)',
    'T.ones(2).fill_(T.tensor(3))', 'T.ones(2).fill_(T.tensor([3]))',
    'T.ones(2).fill_(T.tensor([3,4]))', 'T.ones(2,dtype=T.bool).fill_(0)', 'T.ones(2,3).zero_()',
    'fill(T.ones(2), 3)', 'zero_(T.ones(2))', 'T.ones(2).fill_(1+2j)',
    'T.ones(2, dtype=T.complex64).fill_(1+2j)',
    'T.ones(2).new_zeros(2, 3, requires_grad=True).requires_grad', 'zeros(2, requires_grad=True)',
    'ones(2, dtype=T.int64, requires_grad=True)', 'tensor([1,2], requires_grad=True)',
    'tensor([1.,2], requires_grad=True).requires_grad',
]


def _run(lib, expr):
    expr = expr if expr.startswith("T.") else "T." + expr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", eval(expr, {"T": lib, "np": np})
        except Exception as e:   # noqa: BLE001 - the class is compared with torch's
            return "err", type(e)


def _compare(expected, actual, expr):
    if isinstance(expected, torch.Tensor):
        assert isinstance(actual, jtorch.Tensor)
        assert str(actual.dtype) == str(expected.dtype), expr
        assert tuple(actual.shape) == tuple(expected.shape), expr
        assert actual.requires_grad == expected.requires_grad, expr
        if "empty" not in expr:
            e = expected.detach()
            e = e.float().numpy() if e.dtype == torch.bfloat16 else e.numpy()
            a = actual.float() if actual.dtype == jtorch.bfloat16 else actual
            a = np.asarray(a._value)
            np.testing.assert_allclose(a, e, rtol=1e-6, atol=0, err_msg=expr)
    else:
        assert (tuple(actual) == tuple(expected) if isinstance(expected, tuple)
                else actual == expected), expr


@pytest.mark.parametrize("expr", CASES)
def test_like_torch(expr):
    expected, actual = _run(torch, expr), _run(jtorch, expr)
    assert expected[0] == actual[0], (expr, expected, actual)
    if expected[0] == "err":
        assert actual[1] is expected[1], (expr, expected, actual)
    else:
        _compare(expected[1], actual[1], expr)


SPACES = list(itertools.product([-3.7, 0, 2, 5.5], [-4, 1.5, 10.2], [0, 1, 2, 5, 40],
                                ["int64", "int32", "float32", "float64", "float16", "bfloat16",
                                 "complex64"]))


@pytest.mark.parametrize("fn", ["linspace", "logspace"])
def test_spaced_like_torch(fn):
    for start, end, steps, d in SPACES:
        half, int_single = d in ("float16", "bfloat16"), steps == 1 and d.startswith("int")
        if fn == "logspace" and (half or int_single):
            continue   # torch's half-precision pow / int steps=1 paths round differently
        expected = getattr(torch, fn)(start, end, steps, dtype=getattr(torch, d))
        actual = getattr(jtorch, fn)(start, end, steps, dtype=getattr(jtorch, d))
        e = expected.to(torch.complex128).numpy()
        a = np.asarray(actual._value).astype(np.complex128)
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{fn}{(start, end, steps, d)}")


def test_inplace_fill_and_zero_alias_the_tensor():
    t = jtorch.ones(2, 3)
    assert t.fill_(2.5) is t and np.all(np.asarray(t._value) == 2.5)
    assert jtorch.zero_(t) is t and not np.asarray(t._value).any()
    assert t.zero_() is t


def test_arange_float_lengths():
    for start, end, step in [(0, 1, 0.1), (0.1, 0.4, 0.1), (1, 2.2, 0.3), (-1, 1, 0.25),
                             (0, 10, 3)]:
        e, a = torch.arange(start, end, step), jtorch.arange(start, end, step)
        assert tuple(a.shape) == tuple(e.shape)
        np.testing.assert_allclose(np.asarray(a._value), e.numpy(), rtol=1e-6)
