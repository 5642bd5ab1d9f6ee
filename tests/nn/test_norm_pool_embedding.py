"""Normalization, pooling and embedding modules against torch: each case builds the module in
both libraries, copies torch's state_dict into jtorch and compares repr, signature,
parameters, buffers, outputs and gradients; then running statistics, state_dict versions and
the errors torch raises."""
from __future__ import annotations

import inspect
from collections import OrderedDict

import numpy as np
import pytest

import jtorch
from jtorch.nn.modules import batchnorm, instancenorm, normalization, pooling, sparse

torch = pytest.importorskip("torch")

FILES = (batchnorm, instancenorm, normalization, pooling, sparse)
CLASSES = {name: getattr(f, name) for f in FILES for name in f.__all__}


def _jt(array):
    return jtorch.tensor(np.asarray(array))


def _copy_state(t_mod, j_mod):
    j_mod.load_state_dict({k: _jt(v.detach().numpy()) for k, v in t_mod.state_dict().items()})


def _close(got, expected, tol=1e-5):
    np.testing.assert_allclose(np.asarray(got.detach().numpy()),
                               expected.detach().numpy(), rtol=tol, atol=tol)


def _shape(fn):   # annotations name torch's types: compare names, kinds and defaults
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


# ------------------------------------------------------------------- names and signatures

def test_exports_match_torch():
    assert set(CLASSES) == {n for f in ("batchnorm", "instancenorm", "normalization",
                                        "pooling", "sparse")
                            for n in getattr(torch.nn.modules, f).__all__}


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_signature(name):
    assert _shape(CLASSES[name]) == _shape(getattr(torch.nn, name))


@pytest.mark.parametrize("name", ["Embedding", "EmbeddingBag"])
def test_from_pretrained_signature(name):
    assert _shape(CLASSES[name].from_pretrained) == \
        _shape(getattr(torch.nn, name).from_pretrained)


# ------------------------------------------------------------------- forward and backward
# (class, constructor args, constructor kwargs, float input shape, extra forward inputs)
R = np.random.default_rng(0)
CASES = [   # forward=False: constructor, repr and state checked, forward covered elsewhere
    ("BatchNorm1d", (3,), {}, (4, 3), ()),
    ("BatchNorm1d", (3,), {"affine": False, "momentum": None}, (2, 3, 4), (), False),
    ("BatchNorm2d", (3,), {"bias": False, "eps": 1e-3}, (2, 3, 2, 2), ()),
    ("BatchNorm3d", (2,), {"track_running_stats": False}, (2, 2, 2, 2, 2), (), False),
    ("SyncBatchNorm", (3,), {}, (2, 3, 4), (), False),
    ("InstanceNorm1d", (3,), {}, (2, 3, 4), (), False),
    ("InstanceNorm2d", (3,), {"affine": True, "track_running_stats": True}, (2, 3, 2, 2), (),
     False),
    ("InstanceNorm3d", (2,), {"affine": True}, (2, 2, 2, 2, 2), (), False),
    ("InstanceNorm2d", (3,), {"affine": True}, (3, 4, 4), ()),   # no batch dim
    ("LayerNorm", ((3, 4),), {}, (2, 3, 4), ()),
    ("LayerNorm", (4,), {"elementwise_affine": False}, (2, 4), (), False),
    ("LayerNorm", (4,), {"bias": False, "eps": 1e-3}, (2, 3, 4), (), False),
    ("GroupNorm", (2, 4), {}, (2, 4, 3), ()),
    ("GroupNorm", (1, 4), {"affine": False}, (2, 4, 2, 2), (), False),
    ("RMSNorm", (4,), {}, (2, 3, 4), ()),
    ("RMSNorm", ([2, 4],), {"eps": 1e-3, "elementwise_affine": False}, (3, 2, 4), (), False),
    ("LocalResponseNorm", (2,), {}, (2, 5, 3), ()),
    ("CrossMapLRN2d", (3,), {"alpha": 0.5}, (2, 5, 2, 2), ()),
    ("CrossMapLRN2d", (4,), {"beta": 0.5, "k": 2}, (1, 6, 2, 2), (), False),
    ("MaxPool1d", (2,), {}, (2, 3, 6), (), False),
    ("MaxPool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}, (1, 2, 5, 5), ()),
    ("MaxPool2d", (2,), {"dilation": 2, "return_indices": True}, (1, 2, 6, 6), ()),
    ("MaxPool3d", ((1, 2, 2),), {}, (1, 1, 2, 4, 4), (), False),
    ("AvgPool1d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}, (2, 2, 7), ()),
    ("AvgPool2d", (2,), {"ceil_mode": True}, (1, 2, 5, 5), (), False),
    ("AvgPool2d", (3,), {"padding": 1, "divisor_override": 2}, (1, 2, 5, 5), ()),
    ("AvgPool3d", (2,), {}, (1, 1, 4, 4, 4), (), False),
    ("AdaptiveAvgPool1d", (3,), {}, (2, 2, 7), (), False),
    ("AdaptiveAvgPool2d", ((2, None),), {}, (1, 2, 5, 3), ()),
    ("AdaptiveAvgPool3d", (2,), {}, (1, 1, 3, 4, 5), (), False),
    ("AdaptiveMaxPool1d", (3,), {"return_indices": True}, (2, 2, 7), ()),
    ("AdaptiveMaxPool2d", (2,), {}, (1, 2, 5, 3), (), False),
    ("AdaptiveMaxPool3d", ((1, 2, 2),), {}, (1, 1, 3, 4, 5), (), False),
    ("LPPool1d", (2, 3), {}, (2, 2, 7), (), False),
    ("LPPool2d", (1.5, 2), {"stride": 1, "ceil_mode": True}, (1, 2, 5, 5), ()),
    ("LPPool3d", (2, 2), {}, (1, 1, 4, 4, 4), (), False),
    ("Embedding", (6, 3), {}, None, (R.integers(0, 6, (2, 3)),), False),
    ("Embedding", (6, 3), {"padding_idx": 1, "scale_grad_by_freq": True}, None,
     (np.array([[1, 2, 2], [0, 1, 2]]),)),
    ("Embedding", (6, 3), {"max_norm": 1.0, "norm_type": 1.0}, None, (np.array([0, 2, 2]),),
     False),   # max_norm: see test_embedding_max_norm_renormalises_weight_in_place
    ("EmbeddingBag", (6, 3), {}, None, (np.array([1, 2, 4, 5, 4]), np.array([0, 2])), False),
    ("EmbeddingBag", (6, 3), {"mode": "max"}, None, (np.array([[1, 2], [4, 0]]),)),
    ("EmbeddingBag", (6, 3), {"mode": "sum", "include_last_offset": True, "padding_idx": 2},
     None, (np.array([1, 2, 4, 5, 2]), np.array([0, 2, 2, 5]))),
    ("EmbeddingBag", (6, 3), {"mode": "sum", "norm_type": 1.0}, None,
     (np.array([1, 2, 4]), np.array([0, 1]), np.array([0.5, 2.0, -1.0], np.float32))),
]


def _inputs(shape, extra, requires_grad):
    t_in, j_in = [], []
    if shape is not None:
        x = R.standard_normal(shape).astype(np.float32)
        t_in.append(torch.tensor(x, requires_grad=requires_grad))
        j_in.append(jtorch.tensor(x, requires_grad=requires_grad))
    for a in extra:
        t_in.append(torch.tensor(a))
        j_in.append(_jt(a))
    return t_in, j_in


def _floats(out):
    outs = out if isinstance(out, tuple) else (out,)
    return [o for o in outs if o.dtype.is_floating_point]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_module_against_torch(case):
    name, args, kwargs, shape, extra, forward = (case + (True,))[:6]
    torch.manual_seed(0)
    t_mod = getattr(torch.nn, name)(*args, **kwargs)
    j_mod = CLASSES[name](*args, **kwargs)
    assert repr(j_mod) == repr(t_mod)
    t_params, j_params = dict(t_mod.named_parameters()), dict(j_mod.named_parameters())
    assert list(j_params) == list(t_params)
    for k, p in t_params.items():
        assert tuple(j_params[k].shape) == tuple(p.shape)
        assert str(j_params[k].dtype) == str(p.dtype)
    t_state = t_mod.state_dict()
    assert list(j_mod.state_dict()) == list(t_state)
    assert [str(v.dtype) for v in j_mod.state_dict().values()] == \
        [str(v.dtype) for v in t_state.values()]
    if not forward:
        return
    _copy_state(t_mod, j_mod)
    t_in, j_in = _inputs(shape, extra, requires_grad=True)
    t_out, j_out = t_mod(*t_in), j_mod(*j_in)
    if isinstance(t_out, tuple):
        for a, b in zip(j_out, t_out):
            _close(a, b)
    else:
        _close(j_out, t_out)
    if not t_params and name != "CrossMapLRN2d":
        return   # a parameterless wrapper: F's own tests check its gradient
    sum(o.sum() for o in _floats(t_out)).backward()
    sum(o.sum() for o in _floats(j_out)).backward()
    if shape is not None:
        _close(j_in[0].grad, t_in[0].grad, 1e-4)
    for k, p in t_params.items():
        _close(j_params[k].grad, p.grad, 1e-4)
    for k, v in t_mod.state_dict().items():     # running stats, renormalised weights
        _close(j_mod.state_dict()[k], v)


# ------------------------------------------------------------------- running statistics

@pytest.mark.parametrize("name,kwargs,shape", [
    ("BatchNorm2d", {}, (2, 3, 2, 2)),
    ("BatchNorm1d", {"momentum": None}, (4, 3)),
    ("BatchNorm1d", {"momentum": 0.5, "affine": False}, (2, 3, 4)),
    ("InstanceNorm1d", {"track_running_stats": True}, (2, 3, 4)),
])
def test_running_stats_three_steps_then_eval(name, kwargs, shape):
    t_mod, j_mod = getattr(torch.nn, name)(3, **kwargs), CLASSES[name](3, **kwargs)
    for step in range(3):
        x = (R.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        _close(j_mod(_jt(x)), t_mod(torch.tensor(x)))
    for k, v in t_mod.state_dict().items():
        _close(j_mod.state_dict()[k], v)
    if name.startswith("Batch"):
        assert j_mod.num_batches_tracked.item() == 3
        assert j_mod.num_batches_tracked.dtype == jtorch.int64
    t_mod.eval()
    j_mod.eval()
    x = R.standard_normal(shape).astype(np.float32)
    _close(j_mod(_jt(x)), t_mod(torch.tensor(x)))
    assert j_mod.state_dict()["running_mean"].tolist() == \
        pytest.approx(t_mod.state_dict()["running_mean"].tolist(), abs=1e-6)


def test_batchnorm_eval_without_running_stats_uses_batch():
    t_mod = torch.nn.BatchNorm1d(3, track_running_stats=False).eval()
    j_mod = CLASSES["BatchNorm1d"](3, track_running_stats=False).eval()
    x = R.standard_normal((4, 3)).astype(np.float32)
    _close(j_mod(_jt(x)), t_mod(torch.tensor(x)))
    assert list(j_mod.state_dict()) == ["weight", "bias"]


def test_reset_running_stats():
    m = CLASSES["BatchNorm1d"](3)
    m(_jt(R.standard_normal((4, 3)).astype(np.float32) + 3))
    m.reset_running_stats()
    assert m.running_mean.tolist() == [0] * 3 and m.running_var.tolist() == [1] * 3
    assert m.num_batches_tracked.item() == 0


# ------------------------------------------------------------------- state_dict versions

def test_state_dict_metadata_version():
    assert jtorch.nn.Module().state_dict is not None
    sd = CLASSES["BatchNorm2d"](3).state_dict()
    assert sd._metadata[""] == torch.nn.BatchNorm2d(3).state_dict()._metadata[""]
    assert list(sd) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


@pytest.mark.parametrize("version", [None, 1])
def test_old_checkpoint_without_num_batches_tracked(version):
    m = CLASSES["BatchNorm1d"](2)
    m.num_batches_tracked.fill_(5)
    sd = OrderedDict((k, v) for k, v in m.state_dict().items() if k != "num_batches_tracked")
    if version is not None:
        sd._metadata = OrderedDict({"": {"version": version}})
    assert m.load_state_dict(sd) is not None
    assert m.num_batches_tracked.item() == 5


def test_current_checkpoint_missing_num_batches_tracked_is_an_error():
    m = CLASSES["BatchNorm1d"](2)
    sd = m.state_dict()
    del sd["num_batches_tracked"]
    with pytest.raises(RuntimeError, match="num_batches_tracked"):
        m.load_state_dict(sd)


def test_instancenorm_old_checkpoint_with_running_stats():
    m = CLASSES["InstanceNorm1d"](2)
    sd = {"running_mean": jtorch.zeros(2), "running_var": jtorch.ones(2)}
    with pytest.raises(RuntimeError, match="Unexpected running stats buffer"):
        m.load_state_dict(sd)


def test_lazy_batchnorm():
    t_mod, j_mod = torch.nn.LazyBatchNorm2d(), CLASSES["LazyBatchNorm2d"]()
    assert repr(j_mod) == repr(t_mod)
    x = R.standard_normal((2, 3, 2, 2)).astype(np.float32)
    _close(j_mod(_jt(x)), t_mod(torch.tensor(x)))
    assert type(j_mod).__name__ == "BatchNorm2d" and repr(j_mod) == repr(t_mod)
    for k, v in t_mod.state_dict().items():
        _close(j_mod.state_dict()[k], v)


def test_lazy_instancenorm():
    t_mod, j_mod = torch.nn.LazyInstanceNorm1d(), CLASSES["LazyInstanceNorm1d"]()
    x = R.standard_normal((2, 3, 4)).astype(np.float32)
    _close(j_mod(_jt(x)), t_mod(torch.tensor(x)))
    assert repr(j_mod) == repr(t_mod)


def test_convert_sync_batchnorm():
    seq = jtorch.nn.modules.container.Sequential(CLASSES["BatchNorm1d"](2))
    out = CLASSES["SyncBatchNorm"].convert_sync_batchnorm(seq)
    assert type(out[0]).__name__ == "SyncBatchNorm" and out[0].weight is seq[0].weight


# ------------------------------------------------------------------- errors and warnings

@pytest.mark.parametrize("name,shape", [
    ("BatchNorm1d", (2, 3, 4, 5)), ("BatchNorm2d", (2, 3, 4)), ("BatchNorm3d", (2, 3, 4, 4)),
    ("SyncBatchNorm", (3,)), ("InstanceNorm1d", (3,)), ("InstanceNorm2d", (2, 3)),
    ("InstanceNorm3d", (1, 3, 2, 2, 2, 2)),
])
def test_input_dim_errors(name, shape):
    with pytest.raises(ValueError) as t_err:
        getattr(torch.nn, name)(3)(torch.zeros(shape))
    with pytest.raises(ValueError) as j_err:
        CLASSES[name](3)(jtorch.zeros(shape))
    assert str(j_err.value) == str(t_err.value)


def test_instancenorm_feature_mismatch():
    x = R.standard_normal((2, 4, 5)).astype(np.float32)
    with pytest.warns(UserWarning, match="does not match num_features"):
        CLASSES["InstanceNorm1d"](3)(_jt(x))
    with pytest.raises(ValueError, match=r"match num_features \(3\), but got: 4"):
        CLASSES["InstanceNorm1d"](3, affine=True)(_jt(x))


@pytest.mark.parametrize("name,args,kwargs", [
    ("GroupNorm", (3, 4), {}),
    ("Embedding", (3, 2), {"padding_idx": 3}),
    ("Embedding", (3, 2), {"padding_idx": -4}),
    ("EmbeddingBag", (3, 2), {"padding_idx": 5}),
    ("FractionalMaxPool2d", (2,), {}),
    ("FractionalMaxPool2d", (2,), {"output_size": 3, "output_ratio": 0.5}),
    ("FractionalMaxPool3d", (2,), {"output_ratio": 1.5}),
    ("FractionalMaxPool3d", (0,), {"output_size": 2}),
])
def test_constructor_errors(name, args, kwargs):
    with pytest.raises(Exception) as t_err:
        getattr(torch.nn, name)(*args, **kwargs)
    with pytest.raises(t_err.type) as j_err:
        CLASSES[name](*args, **kwargs)
    assert str(j_err.value) == str(t_err.value)


# ------------------------------------------------------------------- embeddings

def test_embedding_padding_row_is_zero_and_gets_no_grad():
    m = CLASSES["Embedding"](6, 3, padding_idx=-1)
    assert m.padding_idx == 5 and m.weight[5].tolist() == [0, 0, 0]
    m(jtorch.tensor([5, 1, 5])).sum().backward()
    assert m.weight.grad[5].tolist() == [0, 0, 0] and m.weight.grad[1].tolist() == [1, 1, 1]


def test_embedding_max_norm_renormalises_weight_in_place():
    w = np.arange(18, dtype=np.float32).reshape(6, 3)
    t_mod = torch.nn.Embedding.from_pretrained(torch.tensor(w), max_norm=2.0, norm_type=1.0)
    j_mod = CLASSES["Embedding"].from_pretrained(_jt(w), max_norm=2.0, norm_type=1.0)
    idx = np.array([0, 2])
    _close(j_mod(_jt(idx)), t_mod(torch.tensor(idx)))
    _close(j_mod.weight, t_mod.weight)        # rows 0 and 2 rescaled, others untouched


@pytest.mark.parametrize("name", ["Embedding", "EmbeddingBag"])
@pytest.mark.parametrize("freeze", [True, False])
def test_from_pretrained(name, freeze):
    w = jtorch.arange(6.0).reshape(3, 2)
    m = CLASSES[name].from_pretrained(w, freeze=freeze)
    assert m.weight.requires_grad is (not freeze)
    assert m.weight.tolist() == w.tolist()
    with pytest.raises(AssertionError, match="2-dimensional"):
        CLASSES[name].from_pretrained(jtorch.zeros(3))


def test_embedding_sparse_is_dense_equivalent():
    m = CLASSES["Embedding"](6, 3, sparse=True)
    assert repr(m) == "Embedding(6, 3, sparse=True)"
    m(jtorch.tensor([1, 1])).sum().backward()
    assert m.weight.grad.tolist()[1] == [2, 2, 2]


# ------------------------------------------------------------------- pooling extras

def test_max_unpool_round_trip():
    x = R.standard_normal((1, 2, 4, 4)).astype(np.float32)
    t_out, t_idx = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    j_out, j_idx = CLASSES["MaxPool2d"](2, return_indices=True)(_jt(x))
    assert j_idx.tolist() == t_idx.tolist()
    t_un, j_un = torch.nn.MaxUnpool2d(2), CLASSES["MaxUnpool2d"](2)
    assert repr(j_un) == repr(t_un)
    _close(j_un(j_out, j_idx), t_un(t_out, t_idx))
    _close(j_un(j_out, j_idx, output_size=[5, 5]), t_un(t_out, t_idx, output_size=[5, 5]))


@pytest.mark.parametrize("n", [1, 3])
def test_max_unpool_repr(n):
    args = (2, (1,) * n, 0)
    name = f"MaxUnpool{n}d"
    assert repr(CLASSES[name](*args)) == repr(getattr(torch.nn, name)(*args))


@pytest.mark.parametrize("n,shape,output", [(2, (2, 3, 7, 6), (3, 4)), (3, (2, 4, 5, 5), 2)])
def test_fractional_max_pool(n, shape, output):
    name = f"FractionalMaxPool{n}d"
    x = R.standard_normal(shape).astype(np.float32)
    batch = 1 if len(shape) == n + 1 else shape[0]
    samples = R.random((batch, shape[-n - 1], n)).astype(np.float32)
    t_mod = getattr(torch.nn, name)(2, output_size=output, return_indices=True,
                                    _random_samples=torch.tensor(samples))
    j_mod = CLASSES[name](2, output_size=output, return_indices=True,
                          _random_samples=_jt(samples))
    assert repr(j_mod) == repr(t_mod) and list(j_mod.state_dict()) == ["_random_samples"]
    (t_out, t_idx), (j_out, j_idx) = t_mod(torch.tensor(x)), j_mod(_jt(x))
    _close(j_out, t_out)
    assert j_idx.tolist() == t_idx.tolist()


def test_fractional_max_pool_own_samples():
    m = CLASSES["FractionalMaxPool2d"](2, output_ratio=0.5, return_indices=True)
    x = R.standard_normal((1, 2, 6, 6)).astype(np.float32)
    out, idx = m(_jt(x))
    assert tuple(out.shape) == (1, 2, 3, 3) and idx.dtype == jtorch.int64
    picked = np.take_along_axis(x.reshape(2, 36), idx.numpy().reshape(2, 9), 1)
    assert (picked == out.numpy().reshape(2, 9)).all()
