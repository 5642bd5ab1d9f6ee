"""A zoo of models built the same way in torch and jtorch: equal reprs, state_dict keys,
shapes and dtypes; state_dicts copied torch -> jtorch and jtorch -> torch give the same
outputs."""
from __future__ import annotations

import numpy as np
import pytest

import jtorch

torch = pytest.importorskip("torch")


def _mlp(T):
    nn = T.nn
    return nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Dropout(0.1), nn.Linear(20, 5),
                         nn.LogSoftmax(dim=1)), (4, 10)


def _cnn(T):
    nn = T.nn
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
        nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, stride=2, padding=1, padding_mode="reflect"),
        nn.GroupNorm(4, 16), nn.GELU(approximate="tanh"), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(16, 10)), (2, 3, 12, 12)


class _LanguageModel:
    @staticmethod
    def build(T):
        nn = T.nn

        class LM(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(50, 16, padding_idx=0)
                self.rnn = nn.LSTM(16, 24, num_layers=2, batch_first=True, dropout=0.1)
                self.norm = nn.LayerNorm(24)
                self.head = nn.Linear(24, 50, bias=False)

            def forward(self, tokens):
                out, _ = self.rnn(self.embed(tokens))
                return self.head(self.norm(out))
        return LM(), "tokens"


def _transformer(T):
    nn = T.nn
    layer = nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, batch_first=True,
                                       norm_first=True)
    return nn.TransformerEncoder(layer, 2, enable_nested_tensor=False), (2, 5, 16)


def _misc(T):
    nn = T.nn

    class Misc(nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = nn.ModuleDict({"a": nn.Conv1d(4, 6, 3, groups=2, bias=False),
                                        "b": nn.ConvTranspose1d(6, 4, 3, stride=2,
                                                                output_padding=1)})
            self.gains = nn.ParameterList([nn.Parameter(T.ones(4)), nn.Parameter(T.ones(1))])
            self.act = nn.PReLU(4)
            self.norms = nn.ModuleList([nn.InstanceNorm1d(4, affine=True), nn.RMSNorm(4),
                                        nn.LayerNorm(4, elementwise_affine=False)])
            self.gru = nn.GRU(4, 3, bidirectional=True)
            self.attn = nn.MultiheadAttention(6, 2, kdim=4, vdim=4)
            self.bilinear = nn.Bilinear(6, 6, 2)

        def forward(self, x):                       # x: (batch, 4, length)
            h = self.convs["b"](self.convs["a"](x)) * self.gains[0][:, None]
            h = self.act(h)
            h = self.norms[0](h)
            h = self.norms[1](h.transpose(1, 2))    # (batch, length, 4)
            seq = self.norms[2](h).transpose(0, 1)  # (length, batch, 4)
            out, _ = self.gru(seq)
            q = out.mean(0, keepdim=True)           # (1, batch, 6)
            attended, _ = self.attn(q, seq, seq)
            return self.bilinear(attended[0], q[0]) * self.gains[1]
    return Misc(), (2, 4, 9)


def _lm(T):
    return _LanguageModel.build(T)


ZOO = {"mlp": _mlp, "cnn": _cnn, "lm": _lm, "transformer": _transformer, "misc": _misc}


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t._value)


@pytest.mark.parametrize("name", ZOO)
def test_zoo_repr_state_dict_and_round_trips(name):
    torch.manual_seed(0)
    t_model, spec = ZOO[name](torch)
    j_model, _ = ZOO[name](jtorch)
    assert repr(j_model) == repr(t_model)
    t_sd, j_sd = t_model.state_dict(), j_model.state_dict()
    assert list(j_sd) == list(t_sd)
    assert j_sd._metadata == t_sd._metadata
    for k in t_sd:
        assert tuple(j_sd[k].shape) == tuple(t_sd[k].shape), k
        assert str(j_sd[k].dtype) == str(t_sd[k].dtype), k
    t_model.eval()
    j_model.eval()
    rng = np.random.default_rng(1)
    x_np = rng.integers(0, 50, (2, 7)) if spec == "tokens" else \
        rng.standard_normal(spec).astype(np.float32)

    # torch -> jtorch
    j_model.load_state_dict({k: jtorch.tensor(_np(v)) for k, v in t_sd.items()})
    np.testing.assert_allclose(_np(j_model(jtorch.tensor(x_np))),
                               _np(t_model(torch.tensor(x_np))), rtol=2e-4, atol=2e-5)
    # jtorch -> torch, after changing jtorch's weights
    with jtorch.no_grad():
        for p in j_model.parameters():
            p.mul_(0.5).add_(0.01)
    t_model.load_state_dict({k: torch.tensor(_np(v)) for k, v in j_model.state_dict().items()})
    np.testing.assert_allclose(_np(j_model(jtorch.tensor(x_np))),
                               _np(t_model(torch.tensor(x_np))), rtol=2e-4, atol=2e-5)


# every layer that holds parameters or buffers, built the same way in both libraries
STATEFUL = {
    "Linear": lambda T: T.nn.Linear(3, 4), "Bilinear": lambda T: T.nn.Bilinear(3, 2, 4),
    "Conv1d": lambda T: T.nn.Conv1d(2, 4, 3, groups=2),
    "Conv2d": lambda T: T.nn.Conv2d(2, 3, (2, 3), bias=False),
    "Conv3d": lambda T: T.nn.Conv3d(1, 2, 2),
    "ConvTranspose1d": lambda T: T.nn.ConvTranspose1d(2, 4, 3, groups=2),
    "ConvTranspose2d": lambda T: T.nn.ConvTranspose2d(2, 3, 2),
    "ConvTranspose3d": lambda T: T.nn.ConvTranspose3d(1, 2, 2, bias=False),
    "BatchNorm1d": lambda T: T.nn.BatchNorm1d(3), "BatchNorm2d": lambda T: T.nn.BatchNorm2d(3),
    "BatchNorm3d": lambda T: T.nn.BatchNorm3d(3, affine=False),
    "SyncBatchNorm": lambda T: T.nn.SyncBatchNorm(3),
    "InstanceNorm2d": lambda T: T.nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
    "LayerNorm": lambda T: T.nn.LayerNorm((2, 3)), "GroupNorm": lambda T: T.nn.GroupNorm(2, 4),
    "RMSNorm": lambda T: T.nn.RMSNorm(3), "PReLU": lambda T: T.nn.PReLU(3),
    "Embedding": lambda T: T.nn.Embedding(5, 3, padding_idx=1),
    "EmbeddingBag": lambda T: T.nn.EmbeddingBag(5, 3, mode="max"),
    "RNN": lambda T: T.nn.RNN(3, 4, num_layers=2, nonlinearity="relu"),
    "LSTM": lambda T: T.nn.LSTM(3, 4, bidirectional=True, proj_size=2),
    "GRU": lambda T: T.nn.GRU(3, 4, bias=False),
    "RNNCell": lambda T: T.nn.RNNCell(3, 4), "LSTMCell": lambda T: T.nn.LSTMCell(3, 4),
    "GRUCell": lambda T: T.nn.GRUCell(3, 4),
    "MultiheadAttention": lambda T: T.nn.MultiheadAttention(4, 2, add_bias_kv=True, kdim=3,
                                                           vdim=5),
    "Transformer": lambda T: T.nn.Transformer(4, 2, 1, 1, 8),
    "AdaptiveLogSoftmaxWithLoss": lambda T: T.nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3, 6]),
    "CrossEntropyLoss": lambda T: T.nn.CrossEntropyLoss(weight=T.tensor([1.0, 2.0, 0.5])),
    "BCEWithLogitsLoss": lambda T: T.nn.BCEWithLogitsLoss(pos_weight=T.tensor([2.0, 3.0])),
    "ParameterDict": lambda T: T.nn.ParameterDict({"a": T.nn.Parameter(T.ones(2))}),
}


@pytest.mark.parametrize("name", STATEFUL)
def test_state_dict_interchange(name):
    t_mod, j_mod = STATEFUL[name](torch), STATEFUL[name](jtorch)
    assert repr(j_mod) == repr(t_mod)
    t_sd, j_sd = t_mod.state_dict(), j_mod.state_dict()
    assert list(j_sd) == list(t_sd) and j_sd._metadata == t_sd._metadata
    for k in t_sd:
        assert (tuple(j_sd[k].shape), str(j_sd[k].dtype)) == \
            (tuple(t_sd[k].shape), str(t_sd[k].dtype)), k
    # torch -> jtorch, then jtorch (its own values) -> torch
    j_mod.load_state_dict({k: jtorch.tensor(_np(v)) for k, v in t_sd.items()})
    for k, v in j_mod.state_dict().items():
        np.testing.assert_array_equal(_np(v), _np(t_sd[k]), err_msg=k)
    fresh = STATEFUL[name](jtorch)
    t_mod.load_state_dict({k: torch.tensor(_np(v)) for k, v in fresh.state_dict().items()})
    for k, v in t_mod.state_dict().items():
        np.testing.assert_array_equal(_np(v), _np(fresh.state_dict()[k]), err_msg=k)
