"""jtorch/_ops/native.py and native_stft.py against torch: aten-level ops on the same inputs."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import jtorch  # noqa: E402
from opinfo_harness import compare, to_jtorch  # noqa: E402

warnings.filterwarnings("ignore", message=".*return_complex=False.*")

_rng = np.random.default_rng(0)


def _t(*shape, dtype=np.float32):
    return torch.from_numpy(_rng.standard_normal(shape).astype(dtype))


def _call(name, args, kwargs):
    """The same call on torch and jtorch; returns (torch result, jtorch result)."""
    return (_torch_op(name)(*args, **kwargs),
            getattr(jtorch, name)(*to_jtorch(args), **to_jtorch(kwargs)))


def _torch_op(name):
    # some aten ops (native_dropout_backward ...) are only under torch.ops.aten
    return getattr(torch, name, None) or getattr(torch.ops.aten, name)


X, W, B = _t(4, 3, 5), _t(3), _t(3)
SIGNAL = _t(2, 64)
SPEC = torch.stft(SIGNAL, 16, hop_length=4, window=torch.hann_window(16), return_complex=True)
LENGTHS = torch.tensor([2, 0, 3])

CASES = [
    ("native_layer_norm", (X, (3, 5), _t(3, 5), _t(3, 5), 1e-5), {}),
    ("native_layer_norm", (X, (5,), None, None, 0.1), {}),
    ("native_group_norm", (X, W, B, 4, 3, 5, 3, 1e-5), {}),
    ("native_group_norm", (_t(2, 4, 3), None, None, 2, 4, 3, 2, 1e-5), {}),
    ("native_batch_norm", (X, W, B, _t(3), _t(3).abs(), False, 0.1, 1e-5), {}),
    ("native_batch_norm", (X, None, None, None, None, True, 0.1, 1e-5), {}),
    ("_native_batch_norm_legit", (X, W, B, True, 0.1, 1e-5), {}),
    ("_softmax_backward_data", (_t(3, 4), torch.softmax(_t(3, 4), 1), 1, torch.float32), {}),
    ("_log_softmax_backward_data", (_t(3, 4), torch.log_softmax(_t(3, 4), 0), 0,
                                    torch.float32), {}),
    ("_safe_softmax", (torch.tensor([[-float("inf")] * 3, [1.0, 2.0, -float("inf")]]), 1), {}),
    ("_safe_softmax", (_t(3, 4), 0), {"dtype": torch.float64}),
    ("_safe_softmax", (torch.tensor(2.0), 0), {}),
    ("native_dropout_backward", (_t(6), torch.tensor([1, 0, 1, 1, 0, 1]).bool(), 2.0), {}),
    ("native_dropout_backward", (torch.arange(6), torch.ones(6).bool(), 0.5), {}),
    ("_chunk_cat", ([_t(2, 3, 7), _t(2, 3, 2, 2)], 1, 2), {}),
    ("_chunk_cat", ([_t(5, 2), _t(3)], 0, 4), {}),
    ("segment_reduce", (_t(5, 2), "sum"), {"lengths": LENGTHS}),
    ("segment_reduce", (_t(5), "mean"), {"lengths": LENGTHS, "initial": 2.0}),
    ("segment_reduce", (_t(5), "max"), {"lengths": LENGTHS}),
    ("segment_reduce", (_t(5), "min"), {"lengths": LENGTHS, "initial": -1.0}),
    ("segment_reduce", (_t(5), "prod"), {"offsets": torch.tensor([1, 3, 3, 5])}),
    ("segment_reduce", (torch.tensor([1.0, float("nan"), 3.0]), "max"),
     {"lengths": torch.tensor([2, 1])}),
    ("segment_reduce", (_t(3, 4), "sum"),
     {"lengths": torch.tensor([[1, 3], [2, 2], [4, 0]]), "axis": 1}),
    ("grid_sampler_2d", (_t(2, 3, 4, 5), _t(2, 3, 2, 2), 0, 2, False), {}),
    ("grid_sampler", (_t(1, 2, 3, 4, 5), _t(1, 2, 2, 2, 3), 1, 1, True), {}),
    ("stft", (SIGNAL[0], 16), {"return_complex": True}),
    ("stft", (SIGNAL, 16), {"hop_length": 3, "win_length": 10, "window": _t(10),
                            "normalized": True, "pad_mode": "constant",
                            "return_complex": True}),
    ("stft", (SIGNAL, 12), {"center": False, "onesided": False, "return_complex": False}),
    ("stft", (SIGNAL.to(torch.complex64), 8), {"pad_mode": "circular"}),
    ("stft", (SIGNAL[0], 16), {"win_length": 9, "window": _t(9), "hop_length": 3,
                               "center": False, "align_to_window": True,
                               "return_complex": True}),
    ("istft", (SPEC, 16), {"hop_length": 4, "window": torch.hann_window(16)}),
    ("istft", (SPEC[0], 16), {"hop_length": 4, "window": torch.hann_window(16),
                              "length": 70}),
    ("istft", (torch.stft(SIGNAL, 8, return_complex=True, onesided=False, normalized=True), 8),
     {"normalized": True, "return_complex": True}),
    ("istft", (torch.stft(SIGNAL, 8, center=False, return_complex=True), 8),
     {"center": False, "window": torch.ones(8)}),
]


@pytest.mark.parametrize("name,args,kwargs", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(name, args, kwargs):
    expected, actual = _call(name, args, kwargs)
    compare(expected, actual)


@pytest.mark.parametrize("name", ["native_batch_norm", "_native_batch_norm_legit",
                                  "_batch_norm_with_update"])
def test_batch_norm_updates_running_stats(name):
    stats = [_t(3), _t(3).abs()]
    jstats = to_jtorch(stats)
    extra = (True,) if name != "_batch_norm_with_update" else ()
    expected = _torch_op(name)(X, W, B, *stats, *extra, 0.3, 1e-5)
    actual = getattr(jtorch, name)(*to_jtorch((X, W, B)), *jstats, *extra, 0.3, 1e-5)
    compare(expected, actual)
    compare(stats, jstats)


@pytest.mark.parametrize("shape", [(25, 5), (2,), (7, 7, 7), ()])
def test_resize(shape):
    x = _t(5, 5, 5)
    expected, actual = x.clone().resize_(shape), to_jtorch(x).resize_(shape)
    n = min(int(np.prod(shape)), x.numel())
    assert tuple(actual.shape) == tuple(expected.shape)
    np.testing.assert_array_equal(actual.numpy().reshape(-1)[:n],
                                  expected.numpy().reshape(-1)[:n])
    template = jtorch.zeros(3, 2)
    assert jtorch.resize_as_(to_jtorch(x), template).shape == (3, 2)


ERRORS = [
    ("native_layer_norm", (X, (4,), None, None, 1e-5), {}, RuntimeError),
    ("native_layer_norm", (torch.arange(6).reshape(2, 3), (3,), None, None, 1e-5), {},
     NotImplementedError),
    ("native_group_norm", (X, None, None, 4, 3, 5, 2, 1e-5), {}, RuntimeError),
    ("_chunk_cat", ([_t(2, 3), _t(3, 3)], 1, 2), {}, RuntimeError),
    ("_chunk_cat", ([_t(2, 3), _t(2, 3).double()], 1, 2), {}, RuntimeError),
    ("_chunk_cat", ([], 0, 2), {}, RuntimeError),
    ("_chunk_cat", ([_t(0), _t(3)], 0, 1), {}, RuntimeError),
    ("segment_reduce", (_t(5), "sum"), {"lengths": torch.tensor([2, 2])}, RuntimeError),
    ("segment_reduce", (_t(5), "sum"), {"lengths": torch.tensor([6, -1])}, RuntimeError),
    ("segment_reduce", (_t(5), "foo"), {"lengths": LENGTHS}, RuntimeError),
    ("segment_reduce", (torch.arange(5), "sum"), {"lengths": LENGTHS}, NotImplementedError),
    ("stft", (SIGNAL, 16), {}, RuntimeError),
    ("stft", (SIGNAL, 200), {"return_complex": True}, RuntimeError),
    ("stft", (SIGNAL, 16), {"win_length": 20, "return_complex": True}, RuntimeError),
    ("stft", (SIGNAL, 16), {"pad_mode": "foo", "return_complex": True}, NotImplementedError),
    ("stft", (SIGNAL.to(torch.complex64), 8), {"onesided": True}, RuntimeError),
    ("istft", (SPEC.real, 16), {}, RuntimeError),
    ("istft", (SPEC, 16), {"hop_length": 4, "window": torch.hann_window(16),
                           "center": False}, RuntimeError),
    ("istft", (SPEC, 16), {"onesided": False}, RuntimeError),
]


@pytest.mark.parametrize("name,args,kwargs,error", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch(name, args, kwargs, error):
    with pytest.raises(error):
        _torch_op(name)(*args, **kwargs)
    with pytest.raises(error):
        getattr(jtorch, name)(*to_jtorch(args), **to_jtorch(kwargs))


def test_resize_refuses_grad():
    x = jtorch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError):
        x.resize_(4)
