"""Default initialisation of jtorch.nn's layers: each parameter (and a few buffers) must follow
the distribution torch's `reset_parameters` gives it. The same table is checked against torch
itself, so a wrong row fails on both sides.

Sizes are chosen so that parameters share a few shapes (every new shape of a random draw
compiles a kernel, about a second on a loaded CPU): (64, 256), (64,), (64, 16, 16),
(64, 16, 4, 4), (64, 4, 4, 4, 4), (64, 64), (64, 16), (192, 64), (192,), (1, 1, 64).
Rows whose module jtorch.nn lacks are skipped, and the skip names the module.
"""
import math

import numpy as np
import pytest
import torch
from scipy import stats

import jtorch
import jtorch.nn as jnn

pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")

ALPHA = 1e-3   # fixed seeds make every test deterministic; ALPHA guards against bad luck


def U(bound):
    return ("uniform", bound)


def N(std, mean=0.0):
    return ("normal", mean, std)


def C(value):
    return ("constant", value)


def XAVIER_U(fan_in, fan_out, gain=1.0):
    return U(gain * math.sqrt(6.0 / (fan_in + fan_out)))


def XAVIER_N(fan_in, fan_out, gain=1.0):
    return N(gain * math.sqrt(2.0 / (fan_in + fan_out)))


ONES_ZEROS = {"weight": C(1.0), "bias": C(0.0)}
NORM_BUFFERS = {**ONES_ZEROS, "running_mean": C(0.0), "running_var": C(1.0),
                "num_batches_tracked": C(0)}

# (module, args, kwargs, {parameter or buffer: distribution}); torch's rules:
#   Linear, Conv*, ConvTranspose*: kaiming_uniform_(a=sqrt(5)) = U(+-1/sqrt(fan_in)), bias too
#   (fan_in from the weight: in/groups * kernel for Conv, out/groups * kernel for ConvTranspose)
#   Bilinear U(+-1/sqrt(in1)); Embedding(Bag) N(0, 1); RNN/LSTM/GRU(+Cell) U(+-1/sqrt(hidden))
#   norms: ones / zeros; MultiheadAttention: xavier_uniform_ projections, zero biases,
#   xavier_normal_ bias_k/v, out_proj a Linear; Transformer: xavier_uniform_ on every matrix.
DEFAULTS = [
    ("Linear", (256, 64), {}, {"weight": U(1 / 16), "bias": U(1 / 16)}),
    ("Bilinear", (16, 16, 64), {}, {"weight": U(1 / 4), "bias": U(1 / 4)}),
    ("Conv1d", (16, 64, 16), {}, {"weight": U(1 / 16), "bias": U(1 / 16)}),
    ("Conv2d", (32, 64, 4), {"groups": 2}, {"weight": U(1 / 16), "bias": U(1 / 16)}),
    ("Conv3d", (4, 64, 4), {}, {"weight": U(1 / 16), "bias": U(1 / 16)}),
    ("ConvTranspose1d", (64, 64, 16), {"groups": 4}, {"weight": U(1 / 16), "bias": U(1 / 16)}),
    ("ConvTranspose2d", (64, 64, 4), {"groups": 4}, {"weight": U(1 / 16), "bias": U(1 / 16)}),
    ("ConvTranspose3d", (64, 64, 4), {"groups": 16},
     {"weight": U(1 / 16), "bias": U(1 / 16)}),
    ("Embedding", (64, 256), {}, {"weight": N(1.0)}),
    ("EmbeddingBag", (64, 256), {}, {"weight": N(1.0)}),
    ("RNN", (256, 64), {}, {"weight_ih_l0": U(1 / 8), "weight_hh_l0": U(1 / 8),
                            "bias_ih_l0": U(1 / 8), "bias_hh_l0": U(1 / 8)}),
    ("LSTM", (256, 16), {}, {"weight_ih_l0": U(1 / 4), "weight_hh_l0": U(1 / 4),
                             "bias_ih_l0": U(1 / 4), "bias_hh_l0": U(1 / 4)}),
    ("GRU", (64, 64), {}, {"weight_ih_l0": U(1 / 8), "weight_hh_l0": U(1 / 8),
                           "bias_ih_l0": U(1 / 8)}),
    ("RNNCell", (256, 64), {}, {"weight_ih": U(1 / 8), "weight_hh": U(1 / 8),
                                "bias_ih": U(1 / 8), "bias_hh": U(1 / 8)}),
    ("LSTMCell", (256, 16), {}, {"weight_ih": U(1 / 4), "weight_hh": U(1 / 4),
                                 "bias_hh": U(1 / 4)}),
    ("GRUCell", (64, 64), {}, {"weight_ih": U(1 / 8), "weight_hh": U(1 / 8),
                               "bias_hh": U(1 / 8)}),
    ("BatchNorm1d", (64,), {}, NORM_BUFFERS),
    ("BatchNorm2d", (64,), {}, NORM_BUFFERS),
    ("BatchNorm3d", (64,), {}, NORM_BUFFERS),
    ("InstanceNorm1d", (64,), {"affine": True, "track_running_stats": True}, NORM_BUFFERS),
    ("InstanceNorm2d", (64,), {"affine": True}, ONES_ZEROS),
    ("InstanceNorm3d", (64,), {"affine": True}, ONES_ZEROS),
    ("LayerNorm", (64,), {}, ONES_ZEROS),
    ("GroupNorm", (4, 64), {}, ONES_ZEROS),
    ("RMSNorm", (64,), {}, {"weight": C(1.0)}),
    ("PReLU", (), {}, {"weight": C(0.25)}),
    ("PReLU", (64,), {"init": 0.1}, {"weight": C(0.1)}),
    ("MultiheadAttention", (64, 4), {},
     {"in_proj_weight": XAVIER_U(64, 192), "in_proj_bias": C(0.0),
      "out_proj.weight": U(1 / 8), "out_proj.bias": C(0.0)}),
    ("MultiheadAttention", (64, 4), {"kdim": 16, "vdim": 16, "add_bias_kv": True},
     {"q_proj_weight": XAVIER_U(64, 64), "k_proj_weight": XAVIER_U(16, 64),
      "v_proj_weight": XAVIER_U(16, 64), "bias_k": XAVIER_N(64, 64),
      "bias_v": XAVIER_N(64, 64), "in_proj_bias": C(0.0)}),
    ("TransformerEncoderLayer", (64, 4), {"dim_feedforward": 64},
     {"self_attn.in_proj_weight": XAVIER_U(64, 192), "linear1.weight": U(1 / 8),
      "linear1.bias": U(1 / 8), "linear2.weight": U(1 / 8), "norm1.weight": C(1.0)}),
    ("TransformerDecoderLayer", (64, 4), {"dim_feedforward": 64},
     {"multihead_attn.in_proj_weight": XAVIER_U(64, 192), "linear1.weight": U(1 / 8),
      "norm3.bias": C(0.0)}),
    ("Transformer", (), {"d_model": 64, "nhead": 4, "num_encoder_layers": 1,
                         "num_decoder_layers": 1, "dim_feedforward": 64},
     {"encoder.layers.0.linear1.weight": XAVIER_U(64, 64),
      "decoder.layers.0.self_attn.in_proj_weight": XAVIER_U(64, 192),
      "decoder.layers.0.linear2.bias": U(1 / 8), "encoder.norm.weight": C(1.0)}),
]


def _ids(rows):
    seen: dict = {}
    ids = []
    for name, *_ in rows:
        seen[name] = seen.get(name, 0) + 1
        ids.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return ids


def _cdf(dist):
    kind, *params = dist
    if kind == "uniform":
        return stats.uniform(loc=-params[0], scale=2 * params[0]).cdf
    return stats.norm(loc=params[0], scale=params[1]).cdf


def _check(label, sample, dist):
    kind, *params = dist
    if kind == "constant":   # compared in the sample's dtype: PReLU(init=0.1) holds float32(0.1)
        expected = np.asarray(params[0], sample.dtype)
        assert (sample == expected).all(), f"{label}: not all {params[0]}"
        return
    sample = np.asarray(sample, dtype=np.float64).ravel()
    if kind == "uniform":
        assert np.abs(sample).max() <= params[0], f"{label}: outside +-{params[0]}"
    pvalue = stats.kstest(sample, _cdf(dist)).pvalue
    assert pvalue > ALPHA, f"{label}: KS p-value {pvalue:.2g} against {dist}"


def _state(module):
    return {**dict(module.named_parameters()), **dict(module.named_buffers())}


@pytest.mark.parametrize("name,args,kwargs,expected", DEFAULTS, ids=_ids(DEFAULTS))
def test_default_init(name, args, kwargs, expected):
    if not hasattr(jnn, name):
        pytest.skip(f"jtorch.nn.{name} does not exist yet")
    jtorch.manual_seed(0)
    torch.manual_seed(0)
    state = _state(getattr(jnn, name)(*args, **kwargs))
    torch_state = _state(getattr(torch.nn, name)(*args, **kwargs))
    for key, dist in expected.items():
        _check(f"torch {name}.{key}", torch_state[key].detach().numpy(), dist)   # the table
        assert key in state, f"jtorch {name} has no {key}"
        assert tuple(state[key].shape) == tuple(torch_state[key].shape)
        _check(f"jtorch {name}.{key}", state[key].detach().numpy(), dist)


@pytest.mark.parametrize("name", ["Embedding", "EmbeddingBag"])
def test_padding_idx_row_is_zero(name):
    if not hasattr(jnn, name):
        pytest.skip(f"jtorch.nn.{name} does not exist yet")
    weight = getattr(jnn, name)(64, 256, padding_idx=3).weight.detach().numpy()
    assert (weight[3] == 0).all()
    _check(f"jtorch {name}.weight", np.delete(weight, 3, axis=0), N(1.0))


def test_reset_parameters_redraws():
    """reset_parameters() draws again from the default generator, under no_grad."""
    if not hasattr(jnn, "Linear"):
        pytest.skip("jtorch.nn.Linear does not exist yet")
    layer = jnn.Linear(256, 64)
    before = layer.weight.detach().numpy().copy()
    layer.reset_parameters()
    after = layer.weight.detach().numpy()
    assert not np.array_equal(before, after)
    assert layer.weight.is_leaf and layer.weight.grad_fn is None and layer.weight.requires_grad
    _check("jtorch Linear.weight after reset", after, U(1 / 16))


LAZY = [   # (module, args, input shape, {parameter: distribution}) after the first forward
    ("LazyLinear", (64,), (2, 256), {"weight": U(1 / 16), "bias": U(1 / 16)}),
    ("LazyBatchNorm1d", (), (4, 64), {"weight": C(1.0), "bias": C(0.0),
                                      "running_var": C(1.0)}),
]


@pytest.mark.parametrize("name,args,shape,expected", LAZY, ids=[row[0] for row in LAZY])
def test_lazy_modules_initialise_on_first_forward(name, args, shape, expected):
    if not hasattr(jnn, name):
        pytest.skip(f"jtorch.nn.{name} does not exist yet")
    jtorch.manual_seed(0)
    module = getattr(jnn, name)(*args).eval()
    module(jtorch.ones(shape))
    state = _state(module)
    for key, dist in expected.items():
        _check(f"jtorch {name}.{key}", state[key].detach().numpy(), dist)
