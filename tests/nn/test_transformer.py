"""nn.MultiheadAttention and the nn.Transformer family against torch: torch's weights copied
in, outputs, attention weights and gradients compared; parameter names, reprs, masks."""
from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import torch

import jtorch
from jtorch import nn

E, H, L, S, N = 8, 2, 3, 4, 2      # embed dim, heads, target and source lengths, batch


def _j(t):
    return jtorch.tensor(t.detach().numpy())


def _close(a, b, atol=1e-5):
    np.testing.assert_allclose(np.asarray(b.detach().numpy()), a.detach().numpy(), atol=atol,
                               rtol=1e-4)


def _pair(name, *args, **kwargs):
    """The torch module and jtorch's with torch's weights, both in eval mode (a callable
    `activation` is torch's sigmoid, given to jtorch as jtorch's)."""
    j_kwargs = dict(kwargs)
    if callable(kwargs.get("activation")):
        j_kwargs["activation"] = jtorch.nn.functional.sigmoid
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # torch's nested-tensor notes
        t_mod = getattr(torch.nn, name)(*args, **kwargs).eval()
        j_mod = getattr(nn, name)(*args, **j_kwargs).eval()
    j_mod.load_state_dict({k: _j(v) for k, v in t_mod.state_dict().items()})
    return t_mod, j_mod


def _inputs(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    return ([torch.tensor(a, requires_grad=True) for a in arrays],
            [jtorch.tensor(a, requires_grad=True) for a in arrays])


def _compare_grads(t_mod, j_mod, t_in, j_in):
    for t, j in zip(t_in, j_in):
        _close(t.grad, j.grad)
    j_params = dict(j_mod.named_parameters())
    for name, p in t_mod.named_parameters():
        if p.grad is None:
            assert j_params[name].grad is None, name
        else:
            _close(p.grad, j_params[name].grad, atol=2e-5)


# ---------------------------------------------------------------- MultiheadAttention

_BOOL_CAUSAL = np.triu(np.ones((L, S), bool), 1)
_FLOAT_3D = np.random.default_rng(1).standard_normal((N * H, L, S)).astype(np.float32)
_PADDING = np.array([[False, False, True, False], [False, False, False, True]])

# (constructor kwargs, forward kwargs, compare gradients): each backward compiles a graph of
# its own (about a second), so only some cases compare gradients
MHA_CASES = [
    ({"bias": False}, {"need_weights": False}, False),
    ({"add_bias_kv": True, "add_zero_attn": True},
     {"attn_mask": _FLOAT_3D, "key_padding_mask": _PADDING}, True),
    ({"batch_first": True}, {"attn_mask": _BOOL_CAUSAL, "average_attn_weights": False}, False),
    ({"batch_first": True, "kdim": 5, "vdim": 6}, {"key_padding_mask": _PADDING}, True),
]


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")   # torch's
@pytest.mark.parametrize("ctor,call,grads", MHA_CASES, ids=range(len(MHA_CASES)))
def test_multihead_attention(ctor, call, grads):
    t_mod, j_mod = _pair("MultiheadAttention", E, H, **ctor)
    assert [(n, tuple(p.shape)) for n, p in j_mod.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t_mod.named_parameters()]
    kd, vd = ctor.get("kdim", E), ctor.get("vdim", E)
    shapes = [(L, N, E), (S, N, kd), (S, N, vd)]
    if ctor.get("batch_first"):
        shapes = [(s[1], s[0], s[2]) for s in shapes]
    t_in, j_in = _inputs(*shapes)
    t_call = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in call.items()}
    j_call = {k: jtorch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in call.items()}
    t_out, t_w = t_mod(*t_in, **t_call)
    j_out, j_w = j_mod(*j_in, **j_call)
    _close(t_out, j_out)
    assert (t_w is None) == (j_w is None)
    if t_w is not None:
        _close(t_w, j_w)
    if not grads:
        return
    (t_out.sum() + (0 if t_w is None else (t_w * t_w).sum())).backward()
    (j_out.sum() + (0 if j_w is None else (j_w * j_w).sum())).backward()
    _compare_grads(t_mod, j_mod, t_in, j_in)


def test_multihead_attention_self_attention_unbatched():
    t_mod, j_mod = _pair("MultiheadAttention", E, H, batch_first=True)
    (t_x,), (j_x,) = _inputs((L, E))
    t_out, t_w = t_mod(t_x, t_x, t_x, key_padding_mask=torch.tensor([False, True, False]))
    j_out, j_w = j_mod(j_x, j_x, j_x, key_padding_mask=jtorch.tensor([False, True, False]))
    _close(t_out, j_out)
    _close(t_w, j_w)


def test_multihead_attention_structure():
    t_mod, j_mod = _pair("MultiheadAttention", E, H, kdim=3, add_bias_kv=True)
    assert repr(j_mod) == repr(t_mod)
    assert list(j_mod.state_dict()) == list(t_mod.state_dict())
    assert type(j_mod.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    assert isinstance(j_mod.out_proj, nn.Linear)
    fresh = nn.MultiheadAttention(E, H)
    assert fresh.in_proj_bias.abs().sum().item() == 0 and fresh.out_proj.bias.abs().sum() == 0
    assert fresh.bias_k is None and "bias_k" not in dict(fresh.named_parameters())
    assert fresh.in_proj_weight.abs().max().item() <= (6 / (E + 3 * E)) ** 0.5   # xavier bound
    with pytest.raises(AssertionError):
        nn.MultiheadAttention(6, 4)
    with pytest.raises(ValueError):
        nn.MultiheadAttention(0, 2)


def _signature(fn):
    def default(v):
        return getattr(v, "__name__", v) if callable(v) else v
    return [(p.name, p.kind, default(p.default)) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize("name", ["MultiheadAttention", "Transformer", "TransformerEncoder",
                                  "TransformerDecoder", "TransformerEncoderLayer",
                                  "TransformerDecoderLayer"])
def test_signatures(name):
    t_cls, j_cls = getattr(torch.nn, name), getattr(nn, name)
    assert _signature(j_cls) == _signature(t_cls)
    assert _signature(j_cls.forward) == _signature(t_cls.forward)


# ---------------------------------------------------------------- transformer layers

LAYER_CASES = [
    {"norm_first": True, "activation": "gelu", "batch_first": True},
    {"activation": torch.nn.functional.sigmoid, "layer_norm_eps": 1e-3, "bias": False},
]


def _seq(kwargs, length):
    return (N, length, E) if kwargs.get("batch_first") else (length, N, E)


@pytest.mark.parametrize("kwargs", LAYER_CASES, ids=range(len(LAYER_CASES)))
def test_encoder_layer(kwargs):
    t_mod, j_mod = _pair("TransformerEncoderLayer", E, H, 16, 0.0, **kwargs)
    assert repr(j_mod) == repr(t_mod)
    t_in, j_in = _inputs(_seq(kwargs, S))
    padding = torch.tensor(_PADDING)
    t_out = t_mod(*t_in, src_key_padding_mask=padding)
    j_out = j_mod(*j_in, src_key_padding_mask=jtorch.tensor(_PADDING))
    _close(t_out, j_out)    # gradients: test_decoder_layer (see MHA_CASES)


def test_decoder_layer():
    kwargs = LAYER_CASES[0]
    t_mod, j_mod = _pair("TransformerDecoderLayer", E, H, 16, 0.0, **kwargs)
    assert repr(j_mod) == repr(t_mod)
    t_in, j_in = _inputs(_seq(kwargs, L), _seq(kwargs, S))
    mask = torch.nn.Transformer.generate_square_subsequent_mask(L)
    t_out = t_mod(*t_in, tgt_mask=mask, memory_key_padding_mask=torch.tensor(_PADDING))
    j_out = j_mod(*j_in, tgt_mask=nn.Transformer.generate_square_subsequent_mask(L),
                  memory_key_padding_mask=jtorch.tensor(_PADDING), tgt_is_causal=True)
    _close(t_out, j_out)
    t_out.sum().backward()       # gradients of one layer: a whole model's backward takes
    j_out.sum().backward()       # seconds to compile
    _compare_grads(t_mod, j_mod, t_in, j_in)


def test_transformer():
    kwargs = LAYER_CASES[1]
    t_mod, j_mod = _pair("Transformer", E, H, 1, 1, 16, 0.0, **kwargs)
    assert repr(j_mod) == repr(t_mod)
    assert list(j_mod.state_dict()) == list(t_mod.state_dict())
    assert "encoder.layers.0.self_attn.in_proj_weight" in j_mod.state_dict()
    t_in, j_in = _inputs(_seq(kwargs, S), _seq(kwargs, L))
    masks = {"tgt_mask": nn.Transformer.generate_square_subsequent_mask(L),
             "src_key_padding_mask": jtorch.tensor(_PADDING),
             "memory_key_padding_mask": jtorch.tensor(_PADDING)}
    t_out = t_mod(*t_in, **{k: torch.tensor(v.numpy()) for k, v in masks.items()})
    j_out = j_mod(*j_in, **masks)
    _close(t_out, j_out)     # gradients: test_decoder_layer


def test_encoder_clones_and_causal_mask():
    layer = nn.TransformerEncoderLayer(E, H, 16, 0.0)
    with pytest.warns(UserWarning, match="enable_nested_tensor is True"):
        encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(E))
    assert not encoder.use_nested_tensor
    first, second = encoder.layers
    assert first is not layer and first.linear1.weight is not second.linear1.weight
    assert jtorch.equal(first.linear1.weight, layer.linear1.weight)
    t_mod = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(E, H, 16, 0.0), 2,
                                        enable_nested_tensor=False).eval()
    j_mod = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, 16, 0.0), 2,
                                  enable_nested_tensor=False).eval()
    j_mod.load_state_dict({k: _j(v) for k, v in t_mod.state_dict().items()})
    (t_x,), (j_x,) = _inputs((S, N, E))
    t_mask = torch.nn.Transformer.generate_square_subsequent_mask(S)
    j_mask = nn.Transformer.generate_square_subsequent_mask(S)
    _close(t_mask, j_mask)
    _close(t_mod(t_x, t_mask, is_causal=True), j_mod(j_x, j_mask, is_causal=True))
    with pytest.raises(RuntimeError):
        j_mod(j_x, is_causal=True)


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")   # torch's
def test_encoder_nested_tensor_padding():
    """torch's inference path through nested tensors leaves padded positions at zero."""
    layer = torch.nn.TransformerEncoderLayer(E, H, 16, 0.0, batch_first=True)
    t_mod = torch.nn.TransformerEncoder(layer, 1).eval()
    j_mod = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, 16, 0.0, batch_first=True),
                                  1).eval()
    assert j_mod.use_nested_tensor
    j_mod.load_state_dict({k: _j(v) for k, v in t_mod.state_dict().items()})
    (t_x,), (j_x,) = _inputs((N, S, E))
    padding = np.array([[False, False, False, True], [False, False, True, True]])
    with torch.no_grad(), jtorch.no_grad():
        t_out = t_mod(t_x, src_key_padding_mask=torch.tensor(padding))
        j_out = j_mod(j_x, src_key_padding_mask=jtorch.tensor(padding))
    assert (t_out[padding] == 0).all()
    _close(t_out, j_out)


def test_errors_and_training_dropout():
    with pytest.raises(RuntimeError, match="relu/gelu"):
        nn.TransformerEncoderLayer(E, H, activation="tanh")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = nn.Transformer(E, H, 1, 1, 16)
    _, (src, tgt) = _inputs((S, N, E), (L, N, E))
    with pytest.raises(RuntimeError, match="batch number"):
        model(src, jtorch.tensor(np.zeros((L, N + 1, E), np.float32)))
    with pytest.raises(RuntimeError, match="d_model"):
        model(jtorch.tensor(np.zeros((S, N, E + 1), np.float32)), tgt)
    attention = nn.MultiheadAttention(E, H, dropout=0.5)
    out, weights = attention(src, src, src, average_attn_weights=False)
    zeros = (weights.detach().numpy() == 0).mean()      # training: dropout on the weights
    assert 0.2 < zeros < 0.8 and np.isfinite(out.detach().numpy()).all()
