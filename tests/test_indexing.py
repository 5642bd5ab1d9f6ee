"""Indexing against torch: __getitem__/__setitem__ over a table of index expressions, and the
indexing ops (gather, scatter*, index_*, masks, where, nonzero, searchsorted ...), incl. the
exception class for bad input."""
from __future__ import annotations

import numpy as np
import pytest

import jtorch

torch = pytest.importorskip("torch")


def _x(T, dtype="float32"):
    return T.from_numpy(np.arange(24, dtype=dtype).reshape(2, 3, 4))


def _t(T, data, dtype=None):
    a = np.array(data) if dtype is None else np.array(data, dtype=dtype)
    return T.from_numpy(a)


def _same(expected, actual):
    if isinstance(expected, torch.Tensor):
        assert isinstance(actual, jtorch.Tensor), type(actual)
        assert str(expected.dtype) == str(actual.dtype).replace("jtorch", "torch"), \
            (expected.dtype, actual.dtype)
        assert tuple(expected.shape) == tuple(actual.shape), (expected.shape, actual.shape)
        np.testing.assert_allclose(np.asarray(actual._value), expected.numpy(), rtol=1e-6)
    elif isinstance(expected, (tuple, list)):
        assert len(expected) == len(actual)
        for e, a in zip(expected, actual):
            _same(e, a)
    else:
        assert expected == actual


def _run(fn):
    """fn(T) under torch and jtorch: same result, or the same exception class."""
    try:
        expected = fn(torch)
    except Exception as e:   # noqa: BLE001
        with pytest.raises(type(e)):
            fn(jtorch)
        return
    _same(expected, fn(jtorch))


# -- __getitem__ ------------------------------------------------------------------------------

GET = {
    "int": lambda T: 0,
    "neg_int": lambda T: -1,
    "big_int_dynamic": lambda T: (slice(None), slice(None), 3),
    "slice": lambda T: slice(1, 3),
    "slice_step": lambda T: (slice(None), slice(None), slice(None, None, 2)),
    "slice_clamped": lambda T: slice(-100, 100),
    "col": lambda T: (slice(None), 1),
    "none": lambda T: (None, 0, None),
    "ellipsis": lambda T: (Ellipsis, 1),
    "ellipsis_none": lambda T: (Ellipsis, None, 1),
    "two_ellipsis": lambda T: (0, Ellipsis, 0, Ellipsis),
    "true": lambda T: True,
    "false": lambda T: False,
    "bool_mixed": lambda T: (slice(None), True, [0, 1]),
    "list": lambda T: [1, 0],
    "list_tuple_like": lambda T: [[0, 1], [1, 0]],
    "empty_list": lambda T: [],
    "int_then_array": lambda T: (0, slice(None), [0, 1]),
    "arrays_split": lambda T: ([0, 1], slice(None), [0, 3]),
    "arrays_adjacent": lambda T: (slice(None), [0, 2], [1, 3]),
    "arrays_broadcast": lambda T: (T.tensor([[0], [1]]), T.tensor([0, 2])),
    "int32_index": lambda T: T.tensor([1, 0], dtype=T.int32),
    "neg_array": lambda T: (slice(None), T.tensor([-1, -3])),
    "zero_dim_int": lambda T: T.tensor(1),
    "zero_dim_bool": lambda T: T.tensor(True),
    "mask_full": lambda T: _x(T) > 5,
    "mask_dim0": lambda T: T.tensor([True, False]),
    "mask_mid": lambda T: (slice(None), T.tensor([True, False, True])),
    "mask_2d": lambda T: (T.tensor([[True, False, True], [False, False, True]]),),
    "uint8_mask": lambda T: T.tensor([1, 0], dtype=T.uint8),
    "numpy_int": lambda T: np.int64(1),
    "tensor_slice_bounds": lambda T: slice(T.tensor(0), T.tensor(1)),
    "err_oob": lambda T: 5,
    "err_oob_neg": lambda T: -3,
    "err_oob_dim1": lambda T: (slice(None), 7),
    "err_oob_array": lambda T: T.tensor([0, 5]),
    "err_oob_array_neg": lambda T: (slice(None), T.tensor([-4])),
    "err_step": lambda T: slice(None, None, -1),
    "err_too_many": lambda T: (0, 0, 0, 0),
    "err_float": lambda T: 1.0,
    "err_float_tensor": lambda T: T.tensor([1.0]),
    "err_int16_tensor": lambda T: T.tensor([0], dtype=T.int16),
    "err_broadcast": lambda T: ([0, 1], slice(None), [0, 1, 2]),
    "empty_result_skips_bounds": lambda T: ([1, 5], slice(2, 1)),
    "err_mask_shape": lambda T: T.tensor([True, False, True]),
}


@pytest.mark.parametrize("name", sorted(GET))
def test_getitem(name):
    _run(lambda T: _x(T)[GET[name](T)])


def test_getitem_zero_dim():
    _run(lambda T: _t(T, 3.0)[...])
    _run(lambda T: _t(T, 3.0)[None])
    _run(lambda T: _t(T, 3.0)[0])


def test_getitem_loop_compiles_once():
    x = jtorch.from_numpy(np.arange(100.0))
    for i in range(20, 60):
        assert x[i].item() == i
    from jtorch._ops import getitem
    dynamic = [k for k in getitem._FAST if getitem._INT in k[0]]
    assert len(dynamic) == 1


# -- __setitem__ ------------------------------------------------------------------------------

SET = {
    "int_tensor": (lambda T: 0, lambda T: T.ones(4)),
    "int_scalar": (lambda T: 0, lambda T: 2.7),
    "leading_ones": (lambda T: 0, lambda T: T.ones(1, 1, 4)),
    "slice_broadcast": (lambda T: slice(0, 1), lambda T: T.arange(4.0)),
    "cast_int_value": (lambda T: (slice(None), 1), lambda T: T.tensor([7, 8, 9, 10])),
    "int_array_mixed": (lambda T: (0, [0, 1]), lambda T: T.tensor([[5.0], [6.0]])),
    "mask": (lambda T: _x(T) > 5, lambda T: T.tensor([1.5])),
    "mask_scalar": (lambda T: _x(T) > 5, lambda T: -1),
    "ellipsis": (lambda T: Ellipsis, lambda T: T.tensor(9.0)),
    "none": (lambda T: None, lambda T: 3),
    "true": (lambda T: True, lambda T: 3),
    "arrays": (lambda T: ([0, 1], slice(None), [3, 0]), lambda T: T.ones(3)),
    "big_int": (lambda T: (slice(None), slice(None), 3), lambda T: 1.0),
    "none_arrays_none": (lambda T: (None, [0, 1], Ellipsis, None), lambda T: T.tensor(5.0)),
    "overlap_copy": (lambda T: (slice(None), slice(1, 3)), lambda T: _x(T)[:, :2]),
    "err_shape": (lambda T: 0, lambda T: T.ones(2, 4)),
    "err_mask_values": (lambda T: _x(T) > 5, lambda T: T.tensor([1.5, 2.0])),
    "err_oob": (lambda T: 5, lambda T: 1),
    "err_oob_array": (lambda T: (slice(None), slice(None), T.tensor([9])), lambda T: 1),
    "err_list_value": (lambda T: 0, lambda T: [1, 2, 3, 4]),
}


@pytest.mark.parametrize("name", sorted(SET))
def test_setitem(name):
    index, value = SET[name]

    def fn(T):
        x = _x(T)
        x[index(T)] = value(T)
        return x
    _run(fn)


def test_setitem_int_tensor():
    def fn(T):
        x = _x(T, "int64")
        x[0] = 2.7
        return x
    _run(fn)


# -- the ops ------------------------------------------------------------------------------------

def _i(T, data, dtype="int64"):
    return _t(T, data, dtype)


def _y(T):
    return T.from_numpy(np.array([[1.0, 5.0, 2.0], [4.0, 3.0, 6.0]], np.float32))


OPS = {
    "gather": lambda T: T.gather(_y(T), 1, _i(T, [[0, 2], [1, 1]])),
    "gather_small_index": lambda T: T.gather(_y(T), 0, _i(T, [[1]])),
    "gather_int32": lambda T: T.gather(_y(T), 0, _i(T, [[1]], "int32")),
    "gather_err_oob": lambda T: T.gather(_y(T), 0, _i(T, [[7]])),
    "gather_err_neg": lambda T: T.gather(_y(T), 1, _i(T, [[-1]])),
    "gather_err_dtype": lambda T: T.gather(_y(T), 0, _i(T, [[1]], "int16")),
    "gather_err_ndim": lambda T: T.gather(_y(T), 0, _i(T, [1])),
    "scatter_src": lambda T: T.scatter(_y(T), 1, _i(T, [[2, 0], [1, 0]]), _y(T) * 10),
    "scatter_value": lambda T: T.scatter(_y(T), 0, _i(T, [[1, 0, 1]]), 9.0),
    "scatter_add_reduce": lambda T: _y(T).scatter(1, _i(T, [[0, 0]]), 2.0, reduce="add"),
    "scatter_mul_reduce": lambda T: _y(T).scatter(1, _i(T, [[0, 0]]), _y(T),
                                                  reduce="multiply"),
    "scatter_err_oob": lambda T: T.scatter(_y(T), 0, _i(T, [[5]]), 1.0),
    "scatter_err_dtype": lambda T: T.scatter(_y(T), 0, _i(T, [[0]]), _y(T).double()),
    "scatter_add": lambda T: T.scatter_add(_y(T), 1, _i(T, [[0, 0, 2], [1, 1, 1]]), _y(T)),
    "index_add": lambda T: T.index_add(_y(T), 1, _i(T, [0, 0]), _y(T)[:, :2], alpha=2),
    "index_add_err_oob": lambda T: T.index_add(_y(T), 0, _i(T, [5]), _y(T)[:1]),
    "index_add_err_count": lambda T: T.index_add(_y(T), 1, _i(T, [0, 1]), _y(T)),
    "index_add_err_source_ndim": lambda T: T.index_add(_y(T), 0, _i(T, [0, 1]), T.ones(2)),
    "index_add_err_source_shape": lambda T: T.index_add(_y(T), 0, _i(T, [0, 1]), T.ones(2, 2)),
    "index_copy": lambda T: T.index_copy(_y(T), 1, _i(T, [2, 0]), _y(T)[:, :2] * 3),
    "index_copy_err_oob": lambda T: T.index_copy(_y(T), 1, _i(T, [-1]), _y(T)[:, :1]),
    "index_fill": lambda T: T.index_fill(_y(T), 1, _i(T, [-1, 0]), -2.0),
    "index_fill_tensor": lambda T: _y(T).index_fill(0, _i(T, [1]), T.tensor(7.0)),
    "index_fill_err_value": lambda T: _y(T).index_fill(0, _i(T, [1]), T.tensor([7.0])),
    "index_select": lambda T: T.index_select(_y(T), 1, _i(T, [2, 2, 0])),
    "index_select_scalar_index": lambda T: T.index_select(_y(T), 0, _i(T, 1)),
    "index_select_err_oob": lambda T: T.index_select(_y(T), 0, _i(T, [2])),
    "index_select_err_neg": lambda T: T.index_select(_y(T), 1, _i(T, [0, -1])),
    "index_select_err_dtype": lambda T: T.index_select(_y(T), 0, _i(T, [1], "int16")),
    "masked_fill": lambda T: T.masked_fill(_y(T), _y(T) > 2, 0.5),
    "masked_fill_broadcast": lambda T: _y(T).masked_fill(_t(T, [True, False, True]), -1),
    "masked_fill_int_float": lambda T: _x(T, "int64").masked_fill(_x(T) > 3, 2.5),
    "masked_fill_err_mask": lambda T: _y(T).masked_fill(_i(T, [1, 0, 1]), 1.0),
    "masked_fill_err_complex": lambda T: _y(T).masked_fill(_y(T) > 2, 1j),
    "masked_fill_complex_real": lambda T: _y(T).masked_fill(_y(T) > 2, complex(3, 0)),
    "masked_fill_err_float_overflow": lambda T: _y(T).masked_fill(_y(T) > 2, 1e300),
    "masked_fill_inf": lambda T: _y(T).masked_fill(_y(T) > 2, float("-inf")),
    "masked_fill_err_int8_overflow": lambda T: _x(T, "int8").masked_fill(_x(T) > 3, 300),
    "masked_fill_err_int_nan": lambda T: _x(T, "int64").masked_fill(_x(T) > 3, float("nan")),
    "masked_fill_uint8_negative": lambda T: _x(T, "uint8").masked_fill(_x(T) > 3, -1),
    "masked_fill_err_tensor_complex": lambda T: _x(T, "int64").masked_fill(
        _x(T) > 3, T.tensor(1j)),
    "masked_scatter": lambda T: T.masked_scatter(_y(T), _y(T) > 2, _y(T) * 100),
    "masked_scatter_err_few": lambda T: _y(T).masked_scatter(_y(T) > 2, T.ones(2)),
    "masked_select": lambda T: T.masked_select(_y(T), _y(T) > 2),
    "masked_select_broadcast": lambda T: T.masked_select(_y(T), _t(T, [True, False, True])),
    "take": lambda T: T.take(_y(T), _i(T, [[0, 5], [-1, 2]])),
    "take_err_oob": lambda T: T.take(_y(T), _i(T, [6])),
    "take_along_dim": lambda T: T.take_along_dim(_y(T), _i(T, [[2], [0]]), 1),
    "take_along_dim_flat": lambda T: T.take_along_dim(_y(T), _i(T, [5, 0])),
    "take_along_dim_broadcast": lambda T: T.take_along_dim(_y(T), _i(T, [[2, 1]]), 1),
    "take_along_dim_err_dtype": lambda T: T.take_along_dim(_y(T), _i(T, [[1]], "int32"), 1),
    "put": lambda T: T.put(_y(T), _i(T, [0, -1]), T.tensor([9.0, 8.0])),
    "put_accumulate": lambda T: _y(T).put(_i(T, [1, 1]), T.tensor([9.0, 8.0]), True),
    "put_err_count": lambda T: _y(T).put(_i(T, [1]), T.tensor([9.0, 8.0])),
    "index_put": lambda T: T.index_put(_y(T), (_i(T, [1, 0]),), T.tensor([7.0])),
    "index_put_accumulate": lambda T: _y(T).index_put((_i(T, [0, 0]), _i(T, [1, 1])),
                                                      T.tensor([1.0, 2.0]), accumulate=True),
    "index_put_mask": lambda T: _y(T).index_put((_y(T) > 2,), T.tensor(0.0)),
    "index_put_err_none": lambda T: _y(T).index_put((None, _i(T, [0])), T.tensor(1.0)),
    "index_put_err_dtype": lambda T: _y(T).index_put((_i(T, [1]),), T.tensor([1])),
    "where": lambda T: T.where(_y(T) > 2, _y(T), T.zeros(3, dtype=T.float64)),
    "where_scalars": lambda T: T.where(_y(T) > 2, 1, 2.5),
    "where_method": lambda T: _y(T).where(_y(T) > 2, -1.0),
    "where_one_arg": lambda T: T.where(_y(T) > 2),
    "where_err_cond": lambda T: T.where(_i(T, [1, 0]), 1.0, 2.0),
    "nonzero": lambda T: T.nonzero(_y(T) > 2),
    "nonzero_tuple": lambda T: _y(T).nonzero(as_tuple=True),
    "nonzero_zero_dim": lambda T: T.nonzero(T.tensor(3.0)),
    "nonzero_static": lambda T: T.nonzero_static(_y(T) > 2, size=6, fill_value=-7),
    "nonzero_static_short": lambda T: T.nonzero_static(_y(T) > 2, size=2),
    "argwhere": lambda T: T.argwhere(_y(T) > 4),
    "searchsorted": lambda T: T.searchsorted(_t(T, [1.0, 2.0, 2.0, 3.0]), _t(T, [2.0, 0.0, 9.0])),
    "searchsorted_right": lambda T: T.searchsorted(_t(T, [1, 2, 2, 3]), _t(T, [2, 5]), right=True),
    "searchsorted_side_int32": lambda T: T.searchsorted(_t(T, [1, 2, 2, 3]), _t(T, [2]),
                                                        side="right", out_int32=True),
    "searchsorted_sorter": lambda T: T.searchsorted(_t(T, [3.0, 1.0, 2.0]), _t(T, [2.5]),
                                                    sorter=_i(T, [1, 2, 0])),
    "searchsorted_batched": lambda T: T.searchsorted(_t(T, [[1.0, 3.0], [2.0, 4.0]]),
                                                     _t(T, [[2.0], [5.0]])),
    "searchsorted_scalar": lambda T: T.searchsorted(_t(T, [1.0, 2.0, 3.0]), 2),
    "searchsorted_mixed_dtype": lambda T: T.searchsorted(_t(T, [1, 2, 3]), _t(T, [1.5])),
    "searchsorted_err_side": lambda T: T.searchsorted(_t(T, [1.0]), _t(T, [1.0]), side="left",
                                                      right=True),
    "bucketize": lambda T: T.bucketize(_t(T, [0.5, 2.0, 7.0]), _t(T, [1.0, 2.0, 3.0])),
    "bucketize_right": lambda T: T.bucketize(_t(T, [2.0]), _t(T, [1.0, 2.0, 3.0]), right=True),
    "bucketize_err_2d": lambda T: T.bucketize(_t(T, [2.0]), _t(T, [[1.0, 2.0]])),
    "unsafe_masked_index": lambda T: T._unsafe_masked_index(
        _y(T), _t(T, [True, False, True]), [_i(T, [[1], [0]]), _i(T, [0, 5, 2])], -1.0),
    "unsafe_masked_index_put_accumulate": lambda T: T._unsafe_masked_index_put_accumulate(
        _y(T), _t(T, [[True], [False]]), [_i(T, [1, 9])], T.ones(2, 3)),
}

REDUCES = ["sum", "prod", "mean", "amax", "amin"]
for _r in REDUCES:
    for _inc in (True, False):
        OPS[f"scatter_reduce_{_r}_{_inc}"] = (
            lambda T, r=_r, inc=_inc: T.scatter_reduce(
                _y(T), 1, _i(T, [[0, 0, 2], [1, 1, 1]]), _y(T) * 2, r, include_self=inc))
        OPS[f"scatter_reduce_int_{_r}_{_inc}"] = (
            lambda T, r=_r, inc=_inc: T.scatter_reduce(
                _x(T, "int64")[0], 0, _i(T, [[0, 0, 0, 0], [1, 1, 2, 2]]),
                _x(T, "int64")[1] + 1, r, include_self=inc))
        if _r != "sum":
            OPS[f"index_reduce_{_r}_{_inc}"] = (
                lambda T, r=_r, inc=_inc: T.index_reduce(
                    _y(T), 1, _i(T, [2, 2, 0]), _y(T) + 1, r, include_self=inc))
OPS["scatter_reduce_max_alias"] = lambda T: T.scatter_reduce(_y(T), 0, _i(T, [[1]]), _y(T), "max")
OPS["scatter_reduce_err"] = lambda T: T.scatter_reduce(_y(T), 0, _i(T, [[0]]), _y(T), "foo")
OPS["index_reduce_err"] = lambda T: T.index_reduce(_y(T), 0, _i(T, [0]), _y(T)[:1], "sum")


@pytest.mark.parametrize("name", sorted(OPS))
def test_op(name):
    _run(OPS[name])


INPLACE = {
    "scatter_": lambda x, T: x.scatter_(1, _i(T, [[0], [2]]), 5.0),
    "scatter_add_": lambda x, T: x.scatter_add_(1, _i(T, [[0, 0]]), x.clone()),
    "scatter_reduce_": lambda x, T: x.scatter_reduce_(1, _i(T, [[0, 0]]), x * 2, "amax"),
    "index_add_": lambda x, T: x.index_add_(0, _i(T, [1]), x[:1].clone()),
    "index_copy_": lambda x, T: x.index_copy_(0, _i(T, [1]), x[:1].clone()),
    "index_fill_": lambda x, T: x.index_fill_(1, _i(T, [1]), 0.0),
    "index_put_": lambda x, T: x.index_put_((_i(T, [1]),), T.tensor([3.0])),
    "masked_fill_": lambda x, T: x.masked_fill_(x > 2, 0.0),
    "masked_scatter_": lambda x, T: x.masked_scatter_(x > 2, x * 10),
    "put_": lambda x, T: x.put_(_i(T, [4]), T.tensor([-4.0])),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace(name):
    def fn(T):
        x = _y(T)
        out = INPLACE[name](x, T)
        assert out is x
        return x
    _run(fn)


OUT_DTYPE = {
    "gather": lambda T, out: T.gather(_y(T), 1, _i(T, [[0], [1]]), out=out),
    "index_select": lambda T, out: T.index_select(_y(T), 1, _i(T, [0]), out=out),
    "take": lambda T, out: T.take(_y(T), _i(T, [0, 4]), out=out),
    "masked_select": lambda T, out: T.masked_select(_y(T), _y(T) > 2, out=out),
    "index_add": lambda T, out: T.index_add(_y(T), 0, _i(T, [1]), _y(T)[:1], out=out),
    "scatter": lambda T, out: T.scatter(_y(T), 0, _i(T, [[1]]), 2.0, out=out),
    "take_along_dim": lambda T, out: T.take_along_dim(_y(T), _i(T, [[1]]), 1, out=out),
}


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize("name", sorted(OUT_DTYPE))
def test_out_dtype_must_match(name, dtype):
    """torch refuses to cast into `out=` for the indexing ops."""
    def fn(T):
        out = T.empty(0, dtype=getattr(T, dtype))
        result = OUT_DTYPE[name](T, out)
        assert result is out
        return out
    _run(fn)


def test_out():
    out = jtorch.zeros(2, 2)
    jtorch.gather(jtorch.from_numpy(np.ones((2, 2), np.float32)), 0,
                  jtorch.from_numpy(np.zeros((2, 2), np.int64)), out=out)
    np.testing.assert_array_equal(np.asarray(out._value), np.ones((2, 2)))


def test_index_tensors_under_jit():
    """Inside a whole-step jit the index values cannot be read: no bounds check, same result."""
    import jax
    from jtorch._tensor import Tensor

    def step(a, i):
        x, idx = Tensor._wrap(a), Tensor._wrap(i)
        return x[idx]._value, x[idx[0]]._value, x.index_select(0, idx)._value

    out = jax.jit(step)(np.arange(10.0), np.array([1, 2]))
    np.testing.assert_array_equal(out[0], [1.0, 2.0])
    np.testing.assert_array_equal(out[1], 1.0)
    np.testing.assert_array_equal(out[2], [1.0, 2.0])
