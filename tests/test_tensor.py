"""The Tensor's own API (metadata, conversions, to/type) against torch."""
from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import jtorch

torch = pytest.importorskip("torch")

DATA = [
    [1.0, 2.5], [[1, 2], [3, 4]], [True, False], 3.0, 7, [[1 + 2j]], [], [[[0.5]]],
]


def both(data, **kw):
    tkw = {k: getattr(torch, str(v).split(".")[1]) if isinstance(v, jtorch.dtype) else v
           for k, v in kw.items()}
    return torch.tensor(data, **tkw), jtorch.tensor(data, **kw)


@pytest.mark.parametrize("data", DATA)
def test_metadata(data):
    t, j = both(data)
    assert tuple(j.shape) == tuple(t.shape) and repr(j.shape) == repr(t.shape)
    assert j.size() == t.size() and j.dim() == t.dim() == j.ndim
    assert j.numel() == t.numel() and j.element_size() == t.element_size()
    assert j.nbytes == t.nbytes and repr(j.dtype) == repr(t.dtype)
    assert j.is_floating_point() == t.is_floating_point()
    assert j.is_complex() == t.is_complex()
    np.testing.assert_array_equal(j.numpy(), t.numpy())
    assert j.tolist() == t.tolist()
    if t.dim():
        assert len(j) == len(t)
        assert j.size(-1) == t.size(-1)


def test_size_errors_and_size_type():
    j = jtorch.zeros(2, 3)
    with pytest.raises(IndexError):
        j.size(2)
    assert j.shape.numel() == 6 and isinstance(j.shape, tuple)
    assert j.shape[1:] == jtorch.Size([3])


@pytest.mark.parametrize("data", [3.5, [2], [[True]], 7, 1 + 1j])
def test_scalar_conversions(data):
    t, j = both(data)
    assert j.item() == t.item()
    assert bool(j) == bool(t)
    if not t.is_complex():
        assert float(j) == float(t) and int(j) == int(t)
    if not (t.is_floating_point() or t.is_complex()):
        assert j.__index__() == t.__index__()


def test_conversion_errors_match_torch():
    t, j = both([1.0, 2.0])
    for fn in (lambda x: x.item(), bool, float):
        with pytest.raises(Exception) as te:
            fn(t)
        with pytest.raises(te.type):
            fn(j)
    t0, j0 = both(1.0)
    for fn in (len, iter):
        with pytest.raises(TypeError):
            fn(t0)
        with pytest.raises(TypeError):
            fn(j0)
    with pytest.raises(TypeError):
        [1, 2][jtorch.tensor(0.5)]


@pytest.mark.parametrize("target", ["float64", "int32", "bool", "float16", "bfloat16",
                                    "uint8", "complex64"])
def test_to_dtype_and_shortcuts(target):
    t, j = both([[0.0, 1.5], [-2.7, 3.0]])
    tt = t.to(getattr(torch, target))
    jt = j.to(getattr(jtorch, target))
    assert repr(jt.dtype) == repr(tt.dtype)
    np.testing.assert_array_equal(np.asarray(jt.to(jtorch.float64)._value),
                                  tt.to(torch.float64).numpy())
    assert j.to(j.dtype) is j
    assert j.to(j.dtype, copy=True) is not j


@pytest.mark.parametrize("method", ["float", "double", "half", "bfloat16", "long", "int",
                                    "short", "char", "byte", "bool"])
def test_dtype_methods(method):
    t, j = both([1.7, -2.2, 0.0])
    assert repr(getattr(j, method)().dtype) == repr(getattr(t, method)().dtype)


def test_to_overloads():
    j = jtorch.ones(2)
    assert j.to("cpu", jtorch.float64).dtype is jtorch.float64
    assert j.to(jtorch.zeros(1, dtype=jtorch.int32)).dtype is jtorch.int32
    assert j.to(device="cpu", dtype=jtorch.int64).dtype is jtorch.int64
    assert j.to(jtorch.float16, non_blocking=True).dtype is jtorch.float16
    assert j.cpu() is j


def test_type_strings():
    t, j = both([1, 2])
    assert j.type() == t.type() == "torch.LongTensor"
    assert j.type("torch.FloatTensor").dtype is jtorch.float32
    assert j.type(jtorch.float64).dtype is jtorch.float64
    assert j.type_as(jtorch.zeros(1, dtype=jtorch.int8)).dtype is jtorch.int8
    with pytest.raises(ValueError):
        j.type("torch.NoSuchTensor")


def test_clone_is_independent_and_new_methods():
    j = jtorch.tensor([1.0, 2.0], dtype=jtorch.float64)
    c = j.clone()
    assert c is not j and c.dtype is j.dtype
    assert j.new_zeros(2, 3).dtype is jtorch.float64 and tuple(j.new_ones((1, 2)).shape) == (1, 2)
    assert j.new_full((2,), 7).tolist() == [7.0, 7.0]
    assert j.new_tensor([1, 2]).dtype is jtorch.float64
    assert tuple(j.new_empty(4).shape) == (4,)


def test_array_protocol_and_pickle():
    j = jtorch.tensor([[1, 2], [3, 4]], dtype=jtorch.int16)
    a = np.asarray(j)
    assert a.dtype == np.int16 and a.tolist() == [[1, 2], [3, 4]]
    back = pickle.loads(pickle.dumps(j))
    assert back.dtype is jtorch.int16 and back.tolist() == j.tolist()
    assert copy.deepcopy(j).tolist() == j.tolist()


def test_numpy_refuses_requires_grad():
    j = jtorch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError):
        j.numpy()
    with pytest.raises(RuntimeError):
        jtorch.ones(2, dtype=jtorch.int64, requires_grad=True)


def test_legacy_constructor():
    assert jtorch.Tensor([1, 2]).dtype is jtorch.float32
    assert tuple(jtorch.Tensor(2, 3).shape) == (2, 3)
    assert isinstance(jtorch.ones(1), jtorch.Tensor)


def test_contains_and_reversed():
    t, j = both([[1, 2], [3, 4]])
    for probe in (3, 7, 2.0):
        assert (probe in j) == (probe in t)
    assert reversed(j).tolist() == reversed(t).tolist()
    with pytest.raises(RuntimeError):
        "a" in j


def test_operators_with_foreign_operands_follow_torch():
    for lib in (torch, jtorch):
        t = lib.ones(2)
        assert (t == None) is False and (t != None) is True  # noqa: E711
        for bad in (lambda: t + None, lambda: t + "a", lambda: ~t, lambda: None * t):
            with pytest.raises(TypeError):
                bad()
        assert (t * np.ones(2)).dtype == lib.float64
    assert (~jtorch.tensor([1, 2])).tolist() == (~torch.tensor([1, 2])).tolist()


def test_float_of_a_tensor_that_requires_grad_warns_once(monkeypatch):
    """torch warns (once per process) on float() of a tensor that requires grad; int(),
    item() and detached tensors are silent."""
    import warnings
    monkeypatch.setattr(jtorch._tensor, "_WARNED_FLOAT_OF_GRAD", False)
    x = jtorch.ones(2, requires_grad=True).sum()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        int(x), x.item(), float(x.detach())
        assert not caught
        float(x), float(x * 2)
    assert len(caught) == 1 and caught[0].category is UserWarning
    assert str(caught[0].message).startswith("Converting a tensor with requires_grad=True to "
                                             "a scalar may lead to unexpected behavior.")
