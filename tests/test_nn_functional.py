"""jtorch.nn.functional against torch.nn.functional: one table row per op call."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import jtorch  # noqa: E402
import jtorch.nn.functional as JF  # noqa: E402
import torch.nn.functional as TF  # noqa: E402

_RNG = np.random.default_rng(0)


class A:
    """An array argument: built once, handed to torch and to jtorch."""

    def __init__(self, *shape, dtype="float32", low=-2.0, high=2.0, values=None):
        if values is not None:
            self.value = np.asarray(values, dtype=dtype)
        elif np.issubdtype(np.dtype(dtype), np.integer):
            self.value = _RNG.integers(int(low), int(high), shape).astype(dtype)
        else:
            self.value = _RNG.uniform(low, high, shape).astype(dtype)


def idx(*shape, high):
    return A(*shape, dtype="int64", low=0, high=high)


def prob(*shape):
    return A(*shape, low=0.05, high=0.95)


def _convert(arg, lib):
    if isinstance(arg, A):
        return torch.from_numpy(arg.value.copy()) if lib is torch else jtorch.from_numpy(
            arg.value.copy())
    if isinstance(arg, (list, tuple)) and any(isinstance(a, A) for a in arg):
        return type(arg)(_convert(a, lib) for a in arg)
    return arg


X4 = A(2, 3, 6, 6)
X3 = A(2, 4, 7)
X5 = A(1, 2, 4, 5, 5)
LOGITS = A(4, 5)
CASES = [
    # activations
    ("relu", (A(3, 4),), {}), ("relu", (A(5, dtype="int64", low=-5, high=5),), {}),
    ("relu6", (A(3, 4, high=8),), {}), ("elu", (A(6),), {"alpha": 0.5}),
    ("celu", (A(6),), {"alpha": 2.0}), ("selu", (A(6),), {}),
    ("leaky_relu", (A(6),), {"negative_slope": 0.2}), ("hardtanh", (A(6),), {"min_val": -0.5}),
    ("hardshrink", (A(6),), {"lambd": 0.3}), ("softshrink", (A(6),), {"lambd": 0.3}),
    ("hardsigmoid", (A(6, low=-4, high=4),), {}), ("hardswish", (A(6, low=-4, high=4),), {}),
    ("silu", (A(6),), {}), ("mish", (A(6),), {}), ("gelu", (A(6),), {}),
    ("gelu", (A(6),), {"approximate": "tanh"}), ("glu", (A(3, 4),), {"dim": 1}),
    ("logsigmoid", (A(6, low=-30, high=30),), {}), ("softplus", (A(6),), {"beta": 2.0}),
    ("softsign", (A(6),), {}), ("tanhshrink", (A(6),), {}), ("threshold", (A(6), 0.1, 20.0), {}),
    ("prelu", (X4, A(3)), {}), ("rrelu", (A(6),), {}),
    ("softmax", (A(3, 4),), {"dim": 0}), ("log_softmax", (A(3, 4),), {"dim": -1}),
    ("softmin", (A(3, 4),), {"dim": 1}),
    ("softmax", (A(3, 4, dtype="int64", low=0, high=4),), {"dim": 1, "dtype": "float64"}),
    # losses
    ("l1_loss", (A(3, 4), A(3, 4)), {}), ("mse_loss", (A(3, 4), A(3, 4)), {"reduction": "sum"}),
    ("mse_loss", (A(3, 4), A(3, 4)), {"weight": prob(3, 4)}),
    ("huber_loss", (A(3, 4), A(3, 4)), {"delta": 0.5}),
    ("smooth_l1_loss", (A(3, 4), A(3, 4)), {"beta": 0.5, "reduction": "none"}),
    ("soft_margin_loss", (A(3, 4), A(3, 4)), {}),
    ("binary_cross_entropy", (prob(3, 4), prob(3, 4)), {"weight": prob(3, 4)}),
    ("binary_cross_entropy_with_logits", (A(3, 4), prob(3, 4)), {"pos_weight": prob(4)}),
    ("kl_div", (A(3, 4), prob(3, 4)), {"reduction": "batchmean"}),
    ("kl_div", (A(3, 4), A(3, 4)), {"reduction": "sum", "log_target": True}),
    ("poisson_nll_loss", (A(3, 4), prob(3, 4)), {"full": True}),
    ("gaussian_nll_loss", (A(3, 4), A(3, 4), prob(3, 4)), {"full": True}),
    ("hinge_embedding_loss", (A(3, 4), A(3, 4, values=np.sign(_RNG.uniform(-1, 1, (3, 4))))),
     {}),
    ("margin_ranking_loss", (A(5), A(5), A(5, values=[1, -1, 1, 1, -1])), {"margin": 0.2}),
    ("cosine_embedding_loss", (A(3, 4), A(3, 4), A(3, values=[1, -1, 1])), {"margin": 0.1}),
    ("nll_loss", (LOGITS, idx(4, high=5)), {"weight": prob(5)}),
    ("nll_loss", (A(2, 5, 3), A(2, 3, dtype="int64", values=[[0, 1, -100], [4, 2, 2]])), {}),
    ("cross_entropy", (LOGITS, idx(4, high=5)), {"label_smoothing": 0.1, "weight": prob(5)}),
    ("cross_entropy", (LOGITS, A(4, values=[0, 1, 1, 3], dtype="int64")),
     {"ignore_index": 1, "reduction": "none"}),
    ("cross_entropy", (LOGITS, prob(4, 5)), {"label_smoothing": 0.2}),
    ("multi_margin_loss", (LOGITS, idx(4, high=5)), {"p": 2, "margin": 0.5}),
    ("multilabel_margin_loss", (LOGITS, A(4, 5, dtype="int64",
                                          values=[[3, 0, -1, 1, 1]] * 2 + [[4] * 5, [-1] * 5])), {}),
    ("multilabel_soft_margin_loss", (LOGITS, prob(4, 5)), {}),
    ("triplet_margin_loss", (A(3, 4), A(3, 4), A(3, 4)), {"swap": True}),
    ("linear_cross_entropy", (A(4, 3), A(5, 3), idx(4, high=5)), {"label_smoothing": 0.1}),
    ("ctc_loss", (A(6, 2, 4), A(2, 3, dtype="int64", values=[[1, 2, 2], [3, 1, 0]]),
                  (6, 5), (3, 2)), {}),
    # linear, conv
    ("linear", (A(2, 3), A(4, 3), A(4)), {}), ("bilinear", (A(2, 3), A(2, 5), A(4, 3, 5)), {}),
    ("conv1d", (X3, A(6, 2, 3)), {"groups": 2, "padding": "same", "dilation": 2}),
    ("conv2d", (X4, A(4, 3, 3, 2), A(4)), {"stride": (2, 1), "padding": 1}),
    ("conv3d", (X5, A(2, 2, 2, 3, 3)), {"padding": "valid"}),
    ("conv_transpose1d", (X3, A(4, 3, 3)), {"stride": 2, "output_padding": 1}),
    ("conv_transpose2d", (X4, A(3, 2, 3, 3)), {"stride": 2, "padding": 1, "groups": 1}),
    ("conv_transpose3d", (X5, A(2, 2, 2, 2, 2)), {"stride": (1, 2, 1), "dilation": 2}),
    ("unfold", (X4, (2, 3)), {"stride": 2, "padding": 1}),
    ("fold", (A(2, 12, 9), (4, 5), (2, 3)), {"padding": 1, "stride": 2}),
    # pooling
    ("max_pool1d", (X3, 3), {"stride": 2, "ceil_mode": True}),
    ("max_pool2d", (X4, 3), {"stride": 2, "padding": 1, "return_indices": True}),
    ("max_pool3d", (X5, 2), {"dilation": 2, "ceil_mode": True}),
    ("avg_pool1d", (X3, 3), {"stride": 2, "padding": 1, "count_include_pad": False}),
    ("avg_pool2d", (X4, 3), {"stride": 2, "padding": 1, "ceil_mode": True}),
    ("avg_pool3d", (X5, 2), {"divisor_override": 3}),
    ("adaptive_avg_pool1d", (X3, 3), {}), ("adaptive_avg_pool2d", (X4, (4, None)), {}),
    ("adaptive_avg_pool3d", (X5, 3), {}), ("adaptive_max_pool1d", (X3, 3), {}),
    ("adaptive_max_pool2d", (X4, 4), {"return_indices": True}),
    ("adaptive_max_pool3d", (X5, (2, 3, 4)), {}),
    ("adaptive_max_pool2d", (X4, (0, 2)), {"return_indices": True}),
    ("adaptive_avg_pool2d", (X4, (0, 2)), {}),
    ("max_pool1d", (A(2, 3, 7, dtype="int64", low=-3, high=3), 3),
     {"stride": 2, "padding": 1, "return_indices": True}),
    ("lp_pool2d", (X4, 3.0, 3), {"stride": 2}),
    # normalization
    ("batch_norm", (X4, A(3), prob(3), A(3), A(3)), {}),
    ("batch_norm", (X4, None, None), {"training": True}),
    ("layer_norm", (X4, (6, 6), A(6, 6), A(6, 6)), {}),
    ("group_norm", (X4, 3, A(3), A(3)), {}), ("instance_norm", (X4,), {}),
    ("rms_norm", (X4, (6,), A(6)), {}), ("local_response_norm", (X4, 2), {}),
    # shapes, distances, lookups
    ("pad", (X4, (1, 2, 0, -1)), {"value": 3.0}), ("pad", (X4, (2, 1, 1, 0)), {"mode": "reflect"}),
    ("pad", (X3, (2, 3)), {"mode": "replicate"}), ("pad", (X4, (1, 2, 3, 0)), {"mode": "circular"}),
    ("pixel_shuffle", (A(1, 8, 2, 3), 2), {}), ("pixel_unshuffle", (A(1, 2, 4, 6), 2), {}),
    ("channel_shuffle", (A(1, 6, 2, 2), 3), {}), ("normalize", (A(3, 4),), {"p": 1.0, "dim": 0}),
    ("cosine_similarity", (A(3, 4), A(1, 4)), {}), ("pairwise_distance", (A(3, 4), A(3, 4)),
                                                    {"p": 3.0}),
    ("pdist", (A(4, 3),), {}), ("embedding", (idx(2, 3, high=5), A(5, 4)), {"padding_idx": 0}),
    ("embedding_bag", (idx(6, high=5), A(5, 3), A(3, dtype="int64", values=[0, 2, 2])),
     {"mode": "max"}),
    ("one_hot", (idx(5, high=4),), {"num_classes": 6}),
    # resampling, attention
    ("interpolate", (X4,), {"scale_factor": 1.5, "mode": "bilinear"}),
    ("interpolate", (X3,), {"size": 10, "mode": "linear", "align_corners": True}),
    ("interpolate", (X4,), {"size": (3, 9), "mode": "bicubic"}),
    ("interpolate", (X5,), {"scale_factor": 0.7, "mode": "nearest-exact"}),
    ("interpolate", (X4,), {"size": 4, "mode": "area"}),
    ("upsample_nearest", (X4,), {"scale_factor": 2}),
    ("affine_grid", (A(2, 2, 3), (2, 3, 4, 5)), {"align_corners": False}),
    ("grid_sample", (X4, A(2, 3, 5, 2, low=-1.2, high=1.2)), {"align_corners": False}),
    ("grid_sample", (X4, A(2, 3, 5, 2, low=-1.2, high=1.2)),
     {"mode": "nearest", "padding_mode": "reflection"}),
    ("scaled_dot_product_attention", (A(2, 3, 4), A(2, 5, 4), A(2, 5, 6)), {"is_causal": True}),
    ("multi_head_attention_forward", (A(3, 2, 4), A(5, 2, 4), A(5, 2, 4), 4, 2, A(12, 4), A(12),
                                      A(1, 1, 4), A(1, 1, 4), True, 0.0, A(4, 4), A(4)),
     {"training": False, "attn_mask": A(3, 5, dtype="bool", values=_RNG.random((3, 5)) > 0.7)}),
]


def _case_id(case):
    return case[0]


def _compare(expected, actual):
    if isinstance(expected, (tuple, list)):
        for e, a in zip(expected, actual):
            _compare(e, a)
        return
    assert str(actual.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    assert tuple(actual.shape) == tuple(expected.shape)
    np.testing.assert_allclose(np.asarray(actual._value), expected.detach().numpy(), rtol=1e-4,
                               atol=1e-5)


def _kwargs(kwargs, lib):
    out = {k: _convert(v, lib) for k, v in kwargs.items()}
    if out.get("dtype") is not None:
        out["dtype"] = getattr(lib, out["dtype"])
    return out


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_matches_torch(case):
    name, args, kwargs = case
    expected = getattr(TF, name)(*_convert(args, torch), **_kwargs(kwargs, torch))
    actual = getattr(JF, name)(*_convert(args, jtorch), **_kwargs(kwargs, jtorch))
    _compare(expected, actual)


ERRORS = [
    ("glu", (A(3, 5),), {}, RuntimeError),
    ("softshrink", (A(3),), {"lambd": -1.0}, RuntimeError),
    ("nll_loss", (LOGITS, A(4, dtype="int64", values=[0, 9, 1, 1])), {}, IndexError),
    ("nll_loss", (LOGITS, idx(3, high=5)), {}, ValueError),
    ("cross_entropy", (LOGITS, idx(4, high=5)), {"reduction": "avg"}, ValueError),
    ("binary_cross_entropy", (prob(3), prob(4)), {}, ValueError),
    ("conv2d", (X4, A(4, 2, 3, 3)), {}, RuntimeError),
    ("conv2d", (X4, A(4, 3, 3, 3)), {"padding": "same", "stride": 2}, RuntimeError),
    ("max_pool2d", (X4, 2), {"padding": 2}, RuntimeError),
    ("pad", (X4, (1, 2, 3)), {}, RuntimeError),
    ("pad", (X4, (6, 6)), {"mode": "reflect"}, RuntimeError),
    ("layer_norm", (X4, (5,)), {}, RuntimeError),
    ("group_norm", (X4, 2), {}, RuntimeError),
    ("embedding", (A(3, dtype="int64", values=[0, 7, 1]), A(5, 4)), {}, IndexError),
    ("dropout", (A(3),), {"p": 1.5}, ValueError),
    ("interpolate", (X4,), {"size": 3, "scale_factor": 2.0}, ValueError),
    ("interpolate", (X3,), {"size": 3, "mode": "bilinear"}, NotImplementedError),
    ("pixel_shuffle", (A(1, 3, 2, 2), 2), {}, RuntimeError),
    ("conv1d", (X3, A(2, 4, 3)), {"padding": -1}, RuntimeError),
    ("conv1d", (X3, A(2, 4, 3)), {"stride": 0}, RuntimeError),
    ("conv3d", (X5, A(2, 2, 2, 2, 2)), {"dilation": -1}, RuntimeError),
    ("max_pool1d", (X3, 2), {"stride": 0}, RuntimeError),
    ("max_pool1d", (X3, 2), {"padding": -1}, RuntimeError),
    ("max_pool2d", (X4, 2), {"dilation": 0}, RuntimeError),
    ("max_pool3d", (A(0, 1, 2, 3),), {"kernel_size": 1}, RuntimeError),
    ("avg_pool1d", (X3, 0), {}, RuntimeError),
    ("adaptive_avg_pool2d", (A(2, 2), (2, 2)), {}, ValueError),
    ("adaptive_avg_pool2d", (X4, (-1, 2)), {}, RuntimeError),
    ("adaptive_max_pool3d", (X5, (1, -1, 2)), {}, RuntimeError),
    ("rms_norm", (X3, (7,)), {"weight": A(4)}, RuntimeError),
    ("layer_norm", (X3, (7,)), {"bias": A(6)}, RuntimeError),
    ("rrelu", (A(3),), {"lower": 0.5, "upper": 0.1}, RuntimeError),
    ("embedding", (idx(2, high=2), A(4)), {}, RuntimeError),
    ("multi_margin_loss", (LOGITS, idx(4, high=5)), {"reduction": "avg"}, ValueError),
    ("multi_margin_loss", (LOGITS, idx(4, high=5)), {"weight": A(5, 1)}, ValueError),
    ("multi_margin_loss", (LOGITS, idx(4, high=5)), {"weight": A(4)}, RuntimeError),
    ("multi_margin_loss", (LOGITS, idx(4, 2, high=5)), {}, RuntimeError),
    ("multilabel_margin_loss", (A(0), idx(0, high=1)), {}, RuntimeError),
    ("triplet_margin_loss", (LOGITS, LOGITS, LOGITS), {"margin": 0.0}, ValueError),
    ("triplet_margin_loss", (LOGITS, A(4, 3), LOGITS), {}, RuntimeError),
    ("pairwise_distance", (LOGITS, A(4, 3)), {}, RuntimeError),
    ("poisson_nll_loss", (LOGITS, A(4)), {}, RuntimeError),
    ("gaussian_nll_loss", (LOGITS, A(4, 3), prob(4, 5)), {}, RuntimeError),
]


@pytest.mark.parametrize("case", ERRORS, ids=_case_id)
def test_errors_match_torch(case):
    name, args, kwargs, exc = case
    with pytest.raises(exc):
        getattr(TF, name)(*_convert(args, torch), **_kwargs(kwargs, torch))
    with pytest.raises(exc):
        getattr(JF, name)(*_convert(args, jtorch), **_kwargs(kwargs, jtorch))


@pytest.mark.parametrize("name", ["dropout", "alpha_dropout", "dropout1d", "dropout2d",
                                  "dropout3d", "feature_alpha_dropout"])
def test_dropout_shapes_and_eval_identity(name):
    x = jtorch.from_numpy(_RNG.uniform(size=(2, 3, 4, 5)).astype("float32"))
    x3 = jtorch.from_numpy(_RNG.uniform(size=(2, 3, 4)).astype("float32"))
    inp = x3 if name == "dropout1d" else x
    fn = getattr(JF, name)
    out = fn(inp, 0.5, True)
    assert out.shape == inp.shape and out.dtype == inp.dtype
    np.testing.assert_array_equal(np.asarray(fn(inp, 0.5, False)._value), np.asarray(inp._value))
    if name == "dropout":
        kept = np.asarray(out._value) != 0
        np.testing.assert_allclose(np.asarray(out._value)[kept],
                                   2 * np.asarray(inp._value)[kept], rtol=1e-6)


def test_inplace_and_running_stats():
    values = _RNG.uniform(-1, 1, (4, 3)).astype("float32")
    t, j = torch.from_numpy(values.copy()), jtorch.from_numpy(values.copy())
    assert JF.relu(j, inplace=True) is j
    TF.relu(t, inplace=True)
    np.testing.assert_allclose(np.asarray(j._value), t.numpy())
    JF.leaky_relu_(j, 0.3)
    TF.leaky_relu_(t, 0.3)
    np.testing.assert_allclose(np.asarray(j._value), t.numpy())
    x = _RNG.uniform(size=(5, 3, 2)).astype("float32")
    rm_t, rv_t = torch.zeros(3), torch.ones(3)
    rm_j, rv_j = jtorch.zeros(3), jtorch.ones(3)
    TF.batch_norm(torch.from_numpy(x), rm_t, rv_t, training=True, momentum=0.3)
    JF.batch_norm(jtorch.from_numpy(x), rm_j, rv_j, training=True, momentum=0.3)
    np.testing.assert_allclose(np.asarray(rm_j._value), rm_t.numpy(), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(rv_j._value), rv_t.numpy(), rtol=1e-5)


def test_torch_namespace_exports():
    x = _RNG.uniform(size=(2, 3)).astype("float32")
    j = jtorch.from_numpy(x)
    expected = torch.softmax(torch.from_numpy(x), 1, dtype=torch.float64)
    for actual in (jtorch.softmax(j, 1, dtype=jtorch.float64), j.softmax(1, jtorch.float64)):
        assert actual.dtype == jtorch.float64
        np.testing.assert_allclose(np.asarray(actual._value), expected.numpy(), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(j.log_softmax(0)._value),
                               torch.from_numpy(x).log_softmax(0).numpy(), rtol=1e-6)
    for name in ("relu", "conv2d", "conv_transpose1d", "max_pool2d", "pixel_shuffle",
                 "layer_norm", "group_norm", "cosine_similarity", "pdist", "selu"):
        assert hasattr(jtorch, name), name


@pytest.mark.skipif(not hasattr(jtorch, "manual_seed"), reason="needs jtorch.manual_seed")
def test_dropout_follows_manual_seed():
    x = jtorch.ones(4, 6)
    jtorch.manual_seed(3)
    first = np.asarray(JF.dropout(x)._value)
    jtorch.manual_seed(3)
    again = np.asarray(JF.dropout(x)._value)
    np.testing.assert_array_equal(first, again)


def test_warnings_from_kernels_repeat_on_every_call():
    # the kernel's Python function runs once, when jax traces it; torch warns on each call
    counts = []
    for T in (torch, jtorch):
        x = T.tensor([[0.1, 0.9], [0.5, 0.5]]).log()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(3):
                T.nn.functional.kl_div(x, x.exp())
                T.nn.functional.mse_loss(T.ones(3), T.ones(3, 1))
        counts.append(sorted(str(w.message)[:40] for w in caught))
    assert counts[0] == counts[1] and len(counts[1]) == 6
