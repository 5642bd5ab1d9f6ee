"""jtorch.nn's recurrent modules (RNN, LSTM, GRU, the cells) and nn.utils.rnn against torch:
the same weights (torch's state_dict copied in), then outputs, final states and the
gradients of the input, the initial states and every parameter.

Each configuration compiles its own forward and backward programs (a few seconds on a busy
CPU), so the table below folds several features into each row."""
import inspect
import warnings

import numpy as np
import pytest
import torch
import torch.nn.utils.rnn as t_utils

import jtorch
import jtorch.nn.init
from jtorch.nn.modules import rnn as j_rnn
from jtorch.nn.utils import rnn as j_utils

I, H, T, B = 3, 4, 4, 3
LENGTHS = [2, 4, 3]       # unsorted: packing sorts them and restores the order after


@pytest.fixture(autouse=True)
def _skip_random_init(monkeypatch):
    # every weight is overwritten by torch's; skipping the draw saves one kernel compile per
    # weight shape (test_reset_parameters checks the draw's bounds)
    monkeypatch.setattr(jtorch.nn.init, "uniform_", lambda tensor, a=0.0, b=1.0, **kw: tensor)


def _to_j(t, grad=None):
    return jtorch.tensor(t.detach().numpy(),
                         requires_grad=t.requires_grad if grad is None else grad)


def _close(t, j, what):
    np.testing.assert_allclose(j.detach().numpy(), t.detach().numpy(), rtol=1e-4, atol=1e-5,
                               err_msg=what)


def _pair(name, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")    # torch: LSTM projections are not oneDNN's
        t_mod = getattr(torch.nn, name)(*args, **kwargs)
    j_mod = getattr(j_rnn, name)(*args, **kwargs)
    j_mod.load_state_dict({k: _to_j(v) for k, v in t_mod.state_dict().items()})
    return t_mod, j_mod


def _flat(x):
    if isinstance(x, (tuple, list)):
        return [t for v in x for t in _flat(v)]
    return [x]


# (module, constructor kwargs, input kind, initial state given)
CASES = [
    ("RNN", dict(num_layers=2, batch_first=True), "padded", True),
    ("RNN", dict(nonlinearity="relu"), "packed", False),
    ("LSTM", dict(num_layers=2, bidirectional=True, proj_size=2), "packed", True),
    ("LSTM", dict(batch_first=True, bias=False), "unbatched", True),
    ("GRU", dict(bidirectional=True), "packed", False),
    ("GRU", dict(), "unbatched", True),
]


@pytest.mark.parametrize("name,kwargs,kind,given", CASES,
                         ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_forward_backward(name, kwargs, kind, given):
    torch.manual_seed(0)
    t_mod, j_mod = _pair(name, I, H, **kwargs)
    batch_first = kwargs.get("batch_first", False)
    states = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    h_size = kwargs.get("proj_size") or H
    shape = (T, I) if kind == "unbatched" else ((B, T, I) if batch_first else (T, B, I))
    x = torch.randn(shape, requires_grad=True)
    j_x = _to_j(x)
    t_in, j_in = x, j_x
    if kind == "packed":
        t_in = t_utils.pack_padded_sequence(x, LENGTHS, enforce_sorted=False)
        j_in = j_utils.pack_padded_sequence(j_x, LENGTHS, enforce_sorted=False)
    t_hx = j_hx = None
    if given:
        batch = () if kind == "unbatched" else (B,)
        t_hx = torch.randn(states, *batch, h_size, requires_grad=True)
        if name == "LSTM":
            t_hx = (t_hx, torch.randn(states, *batch, H, requires_grad=True))
        j_hx = tuple(_to_j(t) for t in t_hx) if name == "LSTM" else _to_j(t_hx)
    t_out, t_h = t_mod(t_in, t_hx)
    j_out, j_h = j_mod(j_in, j_hx)
    if kind == "packed":
        assert isinstance(j_out, j_utils.PackedSequence)
        for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
            assert getattr(j_out, field).tolist() == getattr(t_out, field).tolist()
        t_out, j_out = t_out.data, j_out.data
    t_all, j_all = [t_out, *_flat(t_h)], [j_out, *_flat(j_h)]
    if kind == "padded":     # the whole stack is one autograd node
        assert all(j.grad_fn is j_out.grad_fn for j in j_all)
    for k, (t, j) in enumerate(zip(t_all, j_all)):
        assert tuple(j.shape) == tuple(t.shape)
        _close(t, j, f"output {k}")
    cotangents = [torch.randn(t.shape) for t in t_all]
    torch.autograd.backward(t_all, cotangents)
    jtorch.autograd.backward(j_all, [_to_j(c) for c in cotangents])
    _close(x.grad, j_x.grad, "grad of input")
    for t, j in zip(_flat(t_hx) if given else [], _flat(j_hx) if given else []):
        _close(t.grad, j.grad, "grad of initial state")
    j_params = dict(j_mod.named_parameters())
    for n, p in t_mod.named_parameters():
        _close(p.grad, j_params[n].grad, f"grad of {n}")


@pytest.mark.parametrize("name,kwargs", [
    ("LSTM", dict(num_layers=2, bidirectional=True, proj_size=2)),
    ("GRU", dict(bias=False, bidirectional=True)),
    ("RNN", dict(num_layers=2, nonlinearity="relu", dtype=torch.float64)),
])
def test_parameters_and_repr(name, kwargs):
    j_kwargs = dict(kwargs, dtype=jtorch.float64) if "dtype" in kwargs else kwargs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_mod = getattr(torch.nn, name)(I, H, **kwargs)
    j_mod = getattr(j_rnn, name)(I, H, **j_kwargs)
    assert [(n, tuple(p.shape), str(p.dtype)) for n, p in j_mod.named_parameters()] == \
        [(n, tuple(p.shape), str(p.dtype)) for n, p in t_mod.named_parameters()]
    assert j_mod._flat_weights_names == t_mod._flat_weights_names
    assert [[tuple(p.shape) for p in ps] for ps in j_mod.all_weights] == \
        [[tuple(p.shape) for p in ps] for ps in t_mod.all_weights]
    assert all(a is getattr(j_mod, n)
               for a, n in zip(j_mod._flat_weights, j_mod._flat_weights_names))
    assert repr(j_mod) == repr(t_mod)
    assert j_mod.flatten_parameters() is None


def test_signatures():
    for name in ("RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell",
                 "GRUCell"):
        assert str(inspect.signature(getattr(j_rnn, name))) == \
            str(inspect.signature(getattr(torch.nn, name))), name


def test_reset_parameters(monkeypatch):
    calls = []
    monkeypatch.setattr(jtorch.nn.init, "uniform_",
                        lambda tensor, a, b: calls.append((tensor, a, b)) or tensor)
    for mod in (j_rnn.LSTM(I, 9, proj_size=2, bidirectional=True), j_rnn.GRUCell(I, 9)):
        calls.clear()
        assert [c[0] for c in calls] == [] and len(list(mod.parameters())) > 0
        mod.reset_parameters()
        assert [id(c[0]) for c in calls] == [id(p) for p in mod.parameters()]
        assert {(a, b) for _, a, b in calls} == {(-1 / 3, 1 / 3)}


def test_dropout_between_layers():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        j_rnn.GRU(I, H, dropout=0.5)
    # the shapes of the RNN-padded case above: eval mode reuses its forward kernel
    t_mod, j_mod = _pair("RNN", I, H, num_layers=2, batch_first=True, dropout=0.5)
    x, h = torch.randn(B, T, I), torch.randn(2, B, H)
    j_mod.eval()
    _close(t_mod.eval()(x, h)[0], j_mod(_to_j(x), _to_j(h))[0], "eval output")
    j_mod.train()
    jtorch.manual_seed(0)
    a = j_mod(_to_j(x), _to_j(h))[0].detach().numpy()
    b = j_mod(_to_j(x), _to_j(h))[0].detach().numpy()
    assert not np.allclose(a, b)
    jtorch.manual_seed(0)
    np.testing.assert_array_equal(j_mod(_to_j(x), _to_j(h))[0].detach().numpy(), a)


def _same_error(t_call, j_call):
    with pytest.raises(Exception) as t_err:
        t_call()
    with pytest.raises(type(t_err.value)) as j_err:
        j_call()
    assert str(j_err.value) == str(t_err.value)


def _hidden(lib, *shapes):
    out = tuple(lib.zeros(s) for s in shapes)
    return out[0] if len(out) == 1 else out


@pytest.mark.parametrize("name,x_shape,h_shapes", [
    ("LSTM", (5, 2, 3), [(2, 2, 4), (2, 2, 5)]),
    ("LSTM", (5, 2, 3), [(2, 4), (2, 2, 4)]),
    ("LSTM", (5, 3), [(2, 2, 4), (2, 2, 4)]),
    ("LSTM", (5, 2, 3, 1), None),
    ("GRU", (5, 2, 3), [(2, 2, 5)]),
    ("GRU", (5, 2, 2), None),
    ("GRU", (5, 2, 3), [(2, 4)]),
    ("RNN", (5, 3), [(2, 2, 4)]),
    ("RNN", (5,), None),
])
def test_forward_errors(name, x_shape, h_shapes):
    t_mod, j_mod = _pair(name, 3, 4, num_layers=2)
    t_h = j_h = None
    if h_shapes:
        t_h, j_h = _hidden(torch, *h_shapes), _hidden(jtorch, *h_shapes)
    _same_error(lambda: t_mod(torch.zeros(x_shape), t_h),
                lambda: j_mod(jtorch.zeros(x_shape), j_h))


def test_dtype_and_packed_errors():
    t_mod, j_mod = _pair("RNN", 3, 4)
    _same_error(lambda: t_mod(torch.zeros(5, 2, 3, dtype=torch.float64)),
                lambda: j_mod(jtorch.zeros(5, 2, 3, dtype=jtorch.float64)))
    t_gru, j_gru = _pair("GRU", 3, 4)
    _same_error(lambda: t_gru(torch.zeros(5, 2, 3), torch.zeros(1, 2, 4, dtype=torch.float64)),
                lambda: j_gru(jtorch.zeros(5, 2, 3), jtorch.zeros(1, 2, 4, dtype=jtorch.float64)))
    t_p = t_utils.pack_sequence([torch.zeros(3, 3), torch.zeros(2, 3)])
    j_p = j_utils.pack_sequence([jtorch.zeros(3, 3), jtorch.zeros(2, 3)])
    _same_error(lambda: t_mod(t_p, torch.zeros(1, 3, 4)), lambda: j_mod(j_p, jtorch.zeros(1, 3, 4)))


@pytest.mark.parametrize("args,kwargs", [
    ((3, 4), dict(dropout=1.5)), ((3, 4), dict(dropout=True)), ((3, 4), dict(bias=1)),
    ((3, 4), dict(batch_first=None)), ((3.0, 4), {}), ((0, 4), {}), ((3, 4.0), {}),
    ((3, 0), {}), ((3, 4), dict(num_layers=0)), ((3, 4), dict(proj_size=-1)),
    ((3, 4), dict(proj_size=4)),
])
def test_constructor_errors(args, kwargs):
    _same_error(lambda: torch.nn.LSTM(*args, **kwargs), lambda: j_rnn.LSTM(*args, **kwargs))


def test_constructor_errors_rnn_gru():
    _same_error(lambda: torch.nn.GRU(3, 4, proj_size=2), lambda: j_rnn.GRU(3, 4, proj_size=2))
    _same_error(lambda: torch.nn.RNN(3, 4, 1, "sin"), lambda: j_rnn.RNN(3, 4, 1, "sin"))
    _same_error(lambda: torch.nn.RNNBase("X", 3, 4), lambda: j_rnn.RNNBase("X", 3, 4))


# ---------------------------------------------------------------- cells

# (cell, constructor kwargs, batched input, initial state given)
CELLS = [("RNNCell", dict(nonlinearity="relu"), True, True),
         ("RNNCell", dict(bias=False), False, False), ("LSTMCell", dict(), False, True),
         ("GRUCell", dict(bias=False), True, False)]


@pytest.mark.parametrize("name,kwargs,batched,given", CELLS)
def test_cells(name, kwargs, batched, given):
    torch.manual_seed(0)
    t_mod, j_mod = _pair(name, I, H, **kwargs)
    assert repr(j_mod) == repr(t_mod)
    assert [n for n, _ in j_mod.named_parameters()] == [n for n, _ in t_mod.named_parameters()]
    batch = (B,) if batched else ()
    x = torch.randn(*batch, I, requires_grad=True)
    t_h = None
    if given:
        t_h = torch.randn(*batch, H, requires_grad=True)
        if name == "LSTMCell":
            t_h = (t_h, torch.randn(*batch, H, requires_grad=True))
    j_x = _to_j(x)
    j_h = None if t_h is None else (tuple(map(_to_j, t_h)) if name == "LSTMCell"
                                    else _to_j(t_h))
    t_out, j_out = _flat(t_mod(x, t_h)), _flat(j_mod(j_x, j_h))
    for t, j in zip(t_out, j_out):
        _close(t, j, "output")
    cotangents = [torch.randn(t.shape) for t in t_out]
    torch.autograd.backward(t_out, cotangents)
    jtorch.autograd.backward(j_out, [_to_j(c) for c in cotangents])
    _close(x.grad, j_x.grad, "grad of input")
    for t, j in zip(_flat(t_h) if given else [], _flat(j_h) if given else []):
        _close(t.grad, j.grad, "grad of state")
    j_params = dict(j_mod.named_parameters())
    for n, p in t_mod.named_parameters():
        _close(p.grad, j_params[n].grad, f"grad of {n}")


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_errors(name):
    t_mod, j_mod = _pair(name, 3, 4)
    lstm = name == "LSTMCell"
    for x_shape, h_shape, dtype in [((2, 5), (2, 4), "float32"), ((3, 3), (2, 4), "float32"),
                                    ((2, 3), (2, 5), "float32"), ((2, 3, 3), (2, 4), "float32"),
                                    ((2, 3), (2, 2, 4), "float32"), ((2, 3), (2, 4), "float64")]:
        def call(lib, mod):
            h = lib.zeros(h_shape)
            return lambda: mod(lib.zeros(x_shape, dtype=getattr(lib, dtype)),
                               (lib.zeros(2, 4), h) if lstm else h)
        _same_error(call(torch, t_mod), call(jtorch, j_mod))


# ---------------------------------------------------------------- nn.utils.rnn

def test_utils_namespace():
    assert sorted(j_utils.__all__) == sorted(t_utils.__all__)
    for name in t_utils.__all__:
        t_fn = getattr(t_utils, name)
        if name != "PackedSequence":
            assert list(inspect.signature(getattr(j_utils, name)).parameters) == \
                list(inspect.signature(t_fn).parameters), name
    assert jtorch.nn.utils.rnn is j_utils


@pytest.mark.parametrize("lengths,enforce_sorted,batch_first", [
    ([4, 3, 1], True, False), ("tensor", True, True), ([1, 4, 3], False, True),
    ([3, 1, 3], False, False)])
def test_pack_pad_round_trip(lengths, enforce_sorted, batch_first):
    if lengths == "tensor":
        lengths = torch.tensor([4.0, 2.0, 2.0])
    j_lengths = _to_j(lengths) if isinstance(lengths, torch.Tensor) else lengths
    x = torch.randn((B, T, 2) if batch_first else (T, B, 2), requires_grad=True)
    j_x = _to_j(x)
    t_p = t_utils.pack_padded_sequence(x, lengths, batch_first, enforce_sorted)
    j_p = j_utils.pack_padded_sequence(j_x, j_lengths, batch_first, enforce_sorted)
    assert type(j_p).__name__ == "PackedSequence" and j_p._fields == t_p._fields
    _close(t_p.data, j_p.data, "packed data")
    for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        t_f, j_f = getattr(t_p, field), getattr(j_p, field)
        assert (j_f is None) == (t_f is None)
        if t_f is not None:
            assert j_f.tolist() == t_f.tolist() and j_f.dtype == jtorch.int64
    t_pad, t_len = t_utils.pad_packed_sequence(t_p, batch_first, -1.0, total_length=T + 1)
    j_pad, j_len = j_utils.pad_packed_sequence(j_p, batch_first, -1.0, total_length=T + 1)
    _close(t_pad, j_pad, "padded")
    assert j_len.tolist() == t_len.tolist() and j_len.dtype == jtorch.int64
    w = torch.randn(t_pad.shape)
    (t_pad * w).sum().backward()
    (j_pad * _to_j(w)).sum().backward()
    _close(x.grad, j_x.grad, "grad through pack and pad")


def test_pack_pad_errors():
    x, j_x = torch.zeros(4, 3, 2), jtorch.zeros(4, 3, 2)
    for lengths in ([3, 4, 1], [4, 3, 0], [4, 3], [[4, 3, 1]]):
        _same_error(lambda: t_utils.pack_padded_sequence(x, torch.tensor(lengths)),
                    lambda: j_utils.pack_padded_sequence(j_x, jtorch.tensor(lengths)))
    t_p = t_utils.pack_padded_sequence(x, [4, 3, 1])
    j_p = j_utils.pack_padded_sequence(j_x, [4, 3, 1])
    _same_error(lambda: t_utils.pad_packed_sequence(t_p, total_length=2),
                lambda: j_utils.pad_packed_sequence(j_p, total_length=2))
    with pytest.raises(RuntimeError):
        j_utils.pack_padded_sequence(j_x, [5, 3, 1])     # torch reads past the input here


@pytest.mark.parametrize("batch_first,padding_side", [(False, "right"), (True, "left")])
def test_pad_sequence(batch_first, padding_side):
    seqs = [torch.randn(n, 2, requires_grad=True) for n in (2, 4, 1)]
    j_seqs = [_to_j(s) for s in seqs]
    t_out = t_utils.pad_sequence(seqs, batch_first, 0.5, padding_side)
    j_out = j_utils.pad_sequence(j_seqs, batch_first, 0.5, padding_side)
    _close(t_out, j_out, "padded")
    t_out.sum().backward()
    j_out.sum().backward()
    for t, j in zip(seqs, j_seqs):
        _close(t.grad, j.grad, "grad")


def test_pad_sequence_errors_and_forms():
    _close(t_utils.pad_sequence(torch.ones(2, 3)), j_utils.pad_sequence(jtorch.ones(2, 3)), "")
    for t_arg, j_arg, kw in [
            ([torch.zeros(2, 3), torch.zeros(3, 2)], [jtorch.zeros(2, 3), jtorch.zeros(3, 2)], {}),
            ([torch.zeros(2)], [jtorch.zeros(2)], dict(padding_side="up")),
            ([], [], {}), (5, 5, {})]:
        _same_error(lambda: t_utils.pad_sequence(t_arg, **kw),
                    lambda: j_utils.pad_sequence(j_arg, **kw))


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_unpack_sequence(enforce_sorted):
    seqs = [torch.randn(n, 2) for n in ((4, 2, 1) if enforce_sorted else (2, 4, 1))]
    t_p = t_utils.pack_sequence(seqs, enforce_sorted)
    j_p = j_utils.pack_sequence([_to_j(s) for s in seqs], enforce_sorted)
    _close(t_p.data, j_p.data, "packed")
    assert j_p.batch_sizes.tolist() == t_p.batch_sizes.tolist()
    for t, j in zip(t_utils.unpack_sequence(t_p), j_utils.unpack_sequence(j_p)):
        _close(t, j, "unpacked")


@pytest.mark.parametrize("batch_first", [False, True])
def test_unpad_sequence(batch_first):
    padded = torch.randn((3, 4, 2) if batch_first else (4, 3, 2))
    j_padded = _to_j(padded)
    lengths = torch.tensor([4, 1, 3])
    t_out = t_utils.unpad_sequence(padded, lengths, batch_first)
    j_out = j_utils.unpad_sequence(j_padded, _to_j(lengths), batch_first)
    assert len(j_out) == len(t_out)
    for t, j in zip(t_out, j_out):
        _close(t, j, "unpadded")
    _close(padded, j_padded, "input after the call (torch transposes it in place)")


def test_invert_permutation_and_packed_sequence_methods():
    perm = torch.tensor([2, 0, 3, 1])
    assert j_utils.invert_permutation(_to_j(perm)).tolist() == \
        t_utils.invert_permutation(perm).tolist()
    assert j_utils.invert_permutation(None) is None
    j_p = j_utils.pack_sequence([jtorch.ones(2, 1), jtorch.ones(3, 1)], enforce_sorted=False)
    assert j_p.to(jtorch.float32) is j_p
    for method, dtype in (("double", jtorch.float64), ("float", jtorch.float32)):
        converted = getattr(j_p, method)()
        assert type(converted) is j_utils.PackedSequence and converted.data.dtype == dtype
        assert converted.sorted_indices is j_p.sorted_indices or \
            converted.sorted_indices.tolist() == j_p.sorted_indices.tolist()
    assert j_p.cpu() is j_p and not j_p.is_cuda
    legacy = j_utils.PackedSequence((j_p.data, j_p.batch_sizes))
    assert legacy.sorted_indices is None and legacy.data is j_p.data
    *_, unsorted_indices = j_p
    assert unsorted_indices.tolist() == [1, 0]
