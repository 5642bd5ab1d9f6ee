"""Reductions, scans, sorting/selection, statistics and torch.masked against real torch."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import jtorch  # noqa: E402
import jtorch.masked  # noqa: E402,F401

NAN = float("nan")
RNG = np.random.default_rng(0)
F = RNG.standard_normal((3, 4, 5)).astype(np.float32)
F_NAN = F.copy()
F_NAN[0, 1, 2] = F_NAN[2, 3, 0] = F_NAN[1, 0, 4] = NAN
TIES = RNG.integers(-2, 3, (4, 6)).astype(np.int64)        # many equal values
LONG_TIES = RNG.integers(0, 4, (3, 40)).astype(np.float32)  # past insertion-sort sizes
B = RNG.random((3, 4)) > 0.5
V = np.array([3.0, 1.0, NAN, 1.0, -0.0, 0.0, 2.0], np.float32)
MASK = RNG.random((3, 4, 5)) > 0.3


def _lib(x, lib):
    """numpy leaves (recursively) as tensors of `lib` (torch or jtorch)."""
    if isinstance(x, np.ndarray):
        return lib.from_numpy(x.copy())
    if isinstance(x, (list, tuple)):
        return type(x)(_lib(v, lib) for v in x)
    if isinstance(x, dict):
        return {k: _lib(v, lib) for k, v in x.items()}
    if x == "f32":
        return lib.float32
    return x


def _compare(expected, actual, path="out"):
    if isinstance(expected, torch.Tensor):
        assert isinstance(actual, jtorch.Tensor), path
        assert str(expected.dtype) == str(actual.dtype), f"{path}: {actual.dtype} != {expected.dtype}"
        assert tuple(expected.shape) == tuple(actual.shape), f"{path}: shape {actual.shape}"
        np.testing.assert_allclose(np.asarray(actual._value), expected.numpy(), rtol=1e-5,
                                   atol=1e-5, equal_nan=True, err_msg=path)
        return
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple) and len(actual) == len(expected), path
        if hasattr(expected, "_fields"):
            assert getattr(actual, "_fields", None) == expected._fields, path
        for i, (e, a) in enumerate(zip(expected, actual)):
            _compare(e, a, f"{path}[{i}]")
        return
    assert expected == actual, path


# (function path, input args, kwargs): each row runs through torch and jtorch
CASES = [
    ("sum", (F,), {}), ("sum", (F, (0, 2)), {"keepdim": True}), ("sum", (TIES, 1), {}),
    ("sum", (B,), {}), ("sum", (F,), {"dim": -1, "dtype": "f32"}), ("sum", (F, ()), {}),
    ("nansum", (F_NAN, 1), {}), ("prod", (TIES, 0), {}), ("prod", (B,), {}),
    ("mean", (F, [0, -1]), {}), ("mean", (F,), {"dim": 1, "keepdim": True}),
    ("nanmean", (F_NAN, 2), {}), ("count_nonzero", (TIES, 0), {}),
    ("all", (TIES, 1), {}), ("any", (B,), {}), ("all", (TIES.astype(np.uint8),), {}),
    ("amax", (F_NAN, (0, 1)), {}), ("amin", (TIES, -1, True), {}),
    ("aminmax", (F,), {"dim": 1}), ("argmax", (TIES, 1), {}), ("argmin", (TIES,), {}),
    ("argmax", (F_NAN, 2, True), {}), ("argmax", (F,), {"keepdim": True}),
    ("max", (F_NAN,), {}), ("max", (TIES, 1), {}), ("min", (TIES,), {"dim": 0, "keepdim": True}),
    ("max", (F, F[0]), {}), ("min", (F_NAN, 2), {}), ("logsumexp", (F, (0, 1)), {}),
    ("logsumexp", (TIES, 1), {}),
    ("std", (F,), {}), ("var", (F, 1), {"correction": 0}), ("var", (F, True), {}),
    ("std", (F, (0, 2)), {"unbiased": False, "keepdim": True}), ("var_mean", (F, 1), {}),
    ("std_mean", (F,), {"dim": (0,), "correction": 2}),
    ("norm", (F,), {}), ("norm", (F, 3, 1), {}), ("norm", (F[0], "nuc"), {}),
    ("norm", (F, float("inf"), (0, 2)), {}), ("dist", (F, F[1], 1.5), {}),
    ("renorm", (F, 2, 0, 1.0), {}),
    ("cumsum", (TIES, 1), {}), ("cumsum", (B, 0), {}), ("cumprod", (F, -1), {}),
    ("cummax", (TIES, 1), {}), ("cummin", (F_NAN, 2), {}), ("logcumsumexp", (F, 0), {}),
    ("diff", (TIES,), {"n": 2, "dim": 0}), ("diff", (B, 1), {}),
    ("diff", (F[0],), {"prepend": F[0, :, :1], "append": F[1, :, :2]}),
    ("gradient", (F,), {"dim": 1, "edge_order": 2}), ("gradient", (F[0],), {"spacing": 2.0}),
    ("trapezoid", (F,), {"dim": 1}), ("trapezoid", (TIES,), {"dx": 0.5}),
    ("cumulative_trapezoid", (F, F), {}),
    ("sort", (V,), {}), ("sort", (V,), {"descending": True}), ("sort", (TIES, 0, True), {}),
    ("argsort", (F_NAN, 1), {}), ("msort", (TIES,), {}), ("topk", (F_NAN, 2), {}),
    ("topk", (F, 3, 1, False), {}), ("kthvalue", (F_NAN, 2, 1), {}),
    ("topk", (LONG_TIES, 7), {}), ("topk", (LONG_TIES, 30, 1, False, False), {}),
    ("kthvalue", (LONG_TIES, 11), {}), ("kthvalue", (TIES, 3, 0), {}),
    ("mode", (LONG_TIES,), {}), ("median", (LONG_TIES, 1), {}),
    ("median", (F,), {}), ("median", (F_NAN, 1), {}), ("median", (TIES, 1, True), {}),
    ("nanmedian", (F_NAN, 2), {}), ("nanmedian", (F_NAN,), {}), ("mode", (TIES[:, :4], 1), {}),
    ("quantile", (F, 0.3, 1), {}), ("quantile", (F, np.array([0.1, 0.5, 0.9], np.float32)), {}),
    ("nanquantile", (F_NAN, 0.25, 2, True), {"interpolation": "midpoint"}),
    ("quantile", (F, 0.4, 0), {"interpolation": "nearest"}),
    ("unique", (TIES,), {"return_inverse": True, "return_counts": True}),
    ("unique", (TIES,), {"dim": 1}), ("unique_consecutive", (np.array([1, 1, 2, 2, 1]),),
                                      {"return_counts": True}),
    ("bincount", (np.array([0, 3, 3, 1]),), {"minlength": 6}),
    ("histc", (F,), {"bins": 7}), ("histogram", (F, 5), {"density": True}),
    ("histogramdd", (F.reshape(-1, 3), [2, 3, 4]), {}),
    ("cov", (F[0],), {"correction": 0}), ("corrcoef", (F[1],), {}),
    ("masked.sum", (F,), {"dim": 1, "mask": MASK}), ("masked.amax", (F,), {"mask": MASK}),
    ("masked.argmin", (F, 2), {"mask": MASK}), ("masked.mean", (F, 0), {"mask": MASK}),
    ("masked.var", (F, 1), {"mask": MASK}), ("masked.median", (F, 1), {"mask": MASK}),
    ("masked.softmax", (F, 2), {"mask": MASK}), ("masked.norm", (F, 1.0, 1), {"mask": MASK}),
    ("masked.cumsum", (TIES, 1), {"mask": TIES > 0}),
    ("masked.logsumexp", (F, (0, 1)), {"mask": MASK}),
]


def _resolve(lib, name):
    for part in name.split("."):
        lib = getattr(lib, part)
    return lib


@pytest.mark.parametrize("name,args,kwargs", CASES,
                         ids=[f"{i}-{c[0]}" for i, c in enumerate(CASES)])
def test_matches_torch(name, args, kwargs):
    expected = _resolve(torch, name)(*_lib(args, torch), **_lib(kwargs, torch))
    actual = _resolve(jtorch, name)(*_lib(args, jtorch), **_lib(kwargs, jtorch))
    _compare(expected, actual)


METHODS = [("max", (1,)), ("sum", ()), ("cumsum", (0,)), ("sort", ()), ("median", ()),
           ("renorm_", (2, 0, 1.0))]


@pytest.mark.parametrize("name,args", METHODS, ids=[m[0] for m in METHODS])
def test_methods(name, args):
    expected = getattr(torch.from_numpy(F.copy()), name)(*args)
    actual = getattr(jtorch.from_numpy(F.copy()), name)(*args)
    _compare(expected, actual)


def test_out_tuple():
    values, indices = jtorch.empty(0, dtype=jtorch.int64), jtorch.empty(0, dtype=jtorch.int64)
    res = jtorch.max(jtorch.from_numpy(TIES), 1, out=(values, indices))
    _compare(torch.max(torch.from_numpy(TIES), 1), res)
    assert res.values is values


ERRORS = [
    ("mean", (TIES,), {}), ("max", (np.zeros((0, 3), np.float32),), {}),
    ("max", (np.zeros((0, 3), np.float32), 0), {}), ("argmax", (np.zeros(0, np.float32),), {}),
    ("amax", (np.zeros((2, 0), np.float32), 1), {}), ("sum", (F, 3), {}),
    ("sum", (F, (0, 0)), {}), ("kthvalue", (F, 9, 2), {}), ("topk", (F, 9), {}),
    ("quantile", (F, 1.5), {}), ("bincount", (np.array([-1, 2]),), {}),
    ("std", (TIES,), {}), ("cov", (F,), {}),
    # OpInfo error inputs
    ("max", (2, TIES[0]), {}), ("min", (2, TIES[0]), {}), ("diff", (F, -1), {}),
    ("gradient", (F[0],), {"spacing": [0.1], "dim": (1, 0)}),
    ("gradient", (F[0],), {"spacing": [0.1]}),
    ("renorm", (np.array(1.0, np.float32), 2, 0, 1.0), {}),
    ("cov", (F[0, 0],), {"fweights": np.array([1, -1, 1, 1, 1])}),
    ("cov", (F[0, 0],), {"aweights": np.array([1, -1, 1, 1, 1], np.float32)}),
    ("cov", (F[0, 0],), {"fweights": TIES[:, :5]}), ("cov", (F[0, 0],), {"aweights": F[0]}),
    ("cov", (F[0, 0],), {"fweights": F[0, 0]}), ("cov", (F[0, 0],), {"aweights": TIES[0, :5]}),
    ("cov", (F[0, 0],), {"fweights": TIES[0, :2]}), ("cov", (F[0, 0],), {"aweights": F[0, 0]}),
    ("histogramdd", (F[0], [2, 2]), {}),
    ("aminmax", (F[0],), {"dim": 0, "out": (F[0, 0], F[0, 0].astype(np.float64))}),
]


@pytest.mark.parametrize("name,args,kwargs", ERRORS,
                         ids=[f"{i}-{c[0]}" for i, c in enumerate(ERRORS)])
def test_errors_match_torch(name, args, kwargs):
    with pytest.raises(Exception) as expected:
        _resolve(torch, name)(*_lib(args, torch), **_lib(kwargs, torch))
    with pytest.raises(Exception) as actual:
        _resolve(jtorch, name)(*_lib(args, jtorch), **_lib(kwargs, jtorch))
    assert isinstance(actual.value, expected.type), (actual.value, expected.value)
