"""The Module API against torch: registration, traversal orders, state_dict, load_state_dict,
hooks, conversions, repr, copying. Each test builds the same model in both libraries."""
from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import jtorch

torch = pytest.importorskip("torch")


def make_model(T):
    """A model with every kind of member, in one library (`T` is torch or jtorch)."""
    return _classes(T)[1]()


def _classes(T):
    nn = T.nn

    class Leaf(nn.Module):
        def __init__(self, n_in, n_out):
            super().__init__()
            self.weight = nn.Parameter(T.arange(n_in * n_out, dtype=T.float32)
                                       .reshape(n_out, n_in) / 8)
            self.bias = nn.Parameter(T.zeros(n_out))
            self.register_buffer("scale", T.ones(n_out))
            self.register_buffer("cache", T.zeros(n_out), persistent=False)
            self.register_parameter("unused", None)
            self.plain = 3

        def forward(self, x):
            return (x @ self.weight.t() + self.bias) * self.scale

        def extra_repr(self):
            return f"in={self.weight.shape[1]}, out={self.weight.shape[0]}"

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.first = Leaf(3, 4)
            self.inner = nn.Module()
            self.inner.second = Leaf(4, 2)
            self.inner.tied = self.first       # shared: counted once
            self.empty = None
            self.register_buffer("steps", T.tensor(0))
            self.gain = nn.Parameter(T.tensor(2.0))

        def forward(self, x, *, shift=0.0):
            return self.inner.second(self.first(x).tanh()) * self.gain + shift

    return Leaf, Net


# module-level classes, so that pickle finds them
JLeaf, JNet = _classes(jtorch)
JLeaf.__qualname__, JNet.__qualname__ = "JLeaf", "JNet"


def to_np(t):
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


@pytest.fixture
def pair():
    return make_model(torch), make_model(jtorch)


def test_traversal_orders(pair):
    t, j = pair
    for method in ("named_parameters", "named_buffers", "named_modules", "named_children"):
        for kwargs in ({}, {"prefix": "root"}, {"remove_duplicate": False}):
            if method == "named_children" and kwargs:
                continue
            tn = [name for name, _ in getattr(t, method)(**kwargs)]
            jn = [name for name, _ in getattr(j, method)(**kwargs)]
            assert jn == tn, (method, kwargs)
    assert [n for n, _ in j.named_parameters(recurse=False)] == \
        [n for n, _ in t.named_parameters(recurse=False)]
    assert len(list(j.parameters())) == len(list(t.parameters()))
    assert len(list(j.modules())) == len(list(t.modules()))
    assert len(list(j.modules(remove_duplicate=False))) == \
        len(list(t.modules(remove_duplicate=False)))


def test_state_dict_keys_metadata_values(pair):
    t, j = pair
    ts, js = t.state_dict(), j.state_dict()
    assert list(js) == list(ts)
    assert js._metadata == ts._metadata
    for k in ts:
        np.testing.assert_array_equal(to_np(js[k]), to_np(ts[k]))
        assert str(js[k].dtype) == str(ts[k].dtype)
        assert js[k].requires_grad == ts[k].requires_grad
    assert list(j.state_dict(prefix="m.")) == list(t.state_dict(prefix="m."))
    kv = j.state_dict(keep_vars=True)
    assert kv["gain"] is j.gain and kv["first.scale"] is j.first.scale


def test_load_state_dict_from_torch_and_back(pair):
    t, j = pair
    with torch.no_grad():
        for p in t.parameters():
            p.add_(torch.randn(p.shape))
    result = j.load_state_dict({k: jtorch.tensor(to_np(v)) for k, v in t.state_dict().items()})
    assert repr(result) == "<All keys matched successfully>"
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(to_np(j(jtorch.tensor(x), shift=1.0)),
                               to_np(t(torch.tensor(x), shift=1.0)), rtol=1e-5, atol=1e-6)
    t2 = make_model(torch)
    t2.load_state_dict({k: torch.tensor(to_np(v)) for k, v in j.state_dict().items()})
    for (k, a), (_, b) in zip(t.state_dict().items(), t2.state_dict().items()):
        np.testing.assert_array_equal(to_np(a), to_np(b))


def _error(fn):
    try:
        fn()
    except Exception as e:     # noqa: BLE001 - the class and message are compared
        return type(e), str(e)
    return None, None


@pytest.mark.parametrize("case", ["missing", "unexpected", "shape", "not_tensor", "both"])
def test_load_state_dict_errors_match_and_leave_model_unchanged(pair, case):
    t, j = pair

    def bad(T, model):
        sd = {k: T.ones(v.shape) for k, v in model.state_dict().items()}
        if case in ("missing", "both"):
            del sd["inner.second.bias"]
        if case in ("unexpected", "both"):
            sd["inner.extra"] = T.ones(1)
        if case == "shape":
            sd["first.weight"] = T.ones(2, 2)
        if case == "not_tensor":
            sd["gain"] = 1.5
        return sd

    before = {k: to_np(v).copy() for k, v in j.state_dict().items()}
    te, tm = _error(lambda: t.load_state_dict(bad(torch, t)))
    je, jm = _error(lambda: j.load_state_dict(bad(jtorch, j)))
    assert je is te is RuntimeError
    assert jm == tm
    for k, v in j.state_dict().items():         # stronger than torch: nothing was copied
        np.testing.assert_array_equal(to_np(v), before[k])
    if case != "shape" and case != "not_tensor":
        tr = t.load_state_dict(bad(torch, t), strict=False)
        jr = j.load_state_dict(bad(jtorch, j), strict=False)
        assert jr.missing_keys == tr.missing_keys
        assert jr.unexpected_keys == tr.unexpected_keys
        assert repr(jr) == repr(tr)


def test_load_state_dict_assign_keeps_requires_grad(pair):
    _, j = pair
    sd = {k: jtorch.ones(v.shape, dtype=v.dtype) for k, v in j.state_dict().items()}
    j.load_state_dict(sd, assign=True)
    assert j.gain is not sd["gain"] and isinstance(j.gain, jtorch.nn.Parameter)
    assert j.gain.requires_grad and j.steps is sd["steps"]


def test_setattr_and_register_errors(pair):
    t, j = pair
    for fn in (
        lambda m, T: setattr(m, "gain", T.ones(1)),
        lambda m, T: setattr(m, "inner", 3),
        lambda m, T: setattr(m, "steps", 3),
        lambda m, T: m.register_buffer("a.b", T.ones(1)),
        lambda m, T: m.register_buffer("", T.ones(1)),
        lambda m, T: m.register_buffer("plain_attr", [1]),
        lambda m, T: m.register_parameter("first", T.nn.Parameter(T.ones(1))),
        lambda m, T: m.register_parameter("w", T.ones(1)),
        lambda m, T: m.register_parameter("w", T.ones(1, requires_grad=True) * 2),
        lambda m, T: m.add_module("x", 3),
        lambda m, T: m.add_module("a.b", T.nn.Module()),
        lambda m, T: m.get_submodule("inner.nothing"),
        lambda m, T: m.get_submodule("inner.second.weight"),
        lambda m, T: m.get_parameter("first.scale"),
        lambda m, T: m.get_buffer("first.weight"),
        lambda m, T: m.train("yes"),
        lambda m, T: m.no_such_attribute,
    ):
        te, tm = _error(lambda: fn(t, torch))
        je, jm = _error(lambda: fn(j, jtorch))
        assert je is te and te is not None, (tm, jm)
        if te is not TypeError:     # torch.typename differs in its module path
            assert jm == tm


def test_setattr_moves_between_tables(pair):
    for m, T in zip(pair, (torch, jtorch)):
        m.first.plain = T.nn.Parameter(T.ones(2))
        m.first.scale = None
        m.extra = T.nn.Buffer(T.ones(2), persistent=False)
        del m.first.bias
        m.gain = None
    t, j = pair
    assert list(j.state_dict()) == list(t.state_dict())
    assert [n for n, _ in j.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert isinstance(j.extra, jtorch.nn.Buffer) and not isinstance(j.first.plain,
                                                                    jtorch.nn.Buffer)


def test_get_submodule_parameter_buffer(pair):
    _, j = pair
    assert j.get_submodule("inner.second") is j.inner.second
    assert j.get_parameter("inner.second.weight") is j.inner.second.weight
    assert j.get_buffer("first.scale") is j.first.scale
    new = jtorch.nn.Module()
    j.set_submodule("inner.second", new)
    assert j.inner.second is new


def test_modes_requires_grad_zero_grad_apply(pair):
    t, j = pair
    for m, T in ((t, torch), (j, jtorch)):
        m.eval()
        assert not m.inner.second.training
        m.inner.train()
        m.first.requires_grad_(False)
        m(T.ones(2, 3)).sum().backward()
    assert [m.training for m in j.modules()] == [m.training for m in t.modules()]
    assert [p.requires_grad for p in j.parameters()] == [p.requires_grad for p in t.parameters()]
    assert [p.grad is None for p in j.parameters()] == [p.grad is None for p in t.parameters()]
    for (_, a), (_, b) in zip(j.named_parameters(), t.named_parameters()):
        if b.grad is not None:
            np.testing.assert_allclose(to_np(a.grad), to_np(b.grad), rtol=1e-5, atol=1e-6)
    j.zero_grad(set_to_none=False)
    assert all(p.grad is None or not p.grad.any() for p in j.parameters())
    j.zero_grad()
    assert all(p.grad is None for p in j.parameters())
    seen = []
    j.apply(lambda m: seen.append(type(m).__name__))
    t_seen = []
    t.apply(lambda m: t_seen.append(type(m).__name__))
    assert seen == t_seen


@pytest.mark.parametrize("convert", ["double", "half", "bfloat16", "float", "to_double",
                                     "type_double"])
def test_dtype_conversions_keep_parameter_objects(pair, convert):
    t, j = pair
    params = list(j.parameters())
    for m, T in ((t, torch), (j, jtorch)):
        if convert.startswith("to_"):
            m.to(T.float64)
        elif convert.startswith("type_"):
            m.type(T.float64)
        else:
            getattr(m, convert)()
    assert list(j.parameters()) == params     # the same objects, as torch's .data = path
    for (k, a), (_, b) in zip(j.state_dict().items(), t.state_dict().items()):
        assert str(a.dtype) == str(b.dtype), k
    with pytest.raises(TypeError):
        j.to(jtorch.int32)


def test_forward_hooks_order_kwargs_always_call(pair):
    results = []
    for m, T in zip(pair, (torch, jtorch)):
        log = []
        m.register_forward_pre_hook(lambda mod, args: log.append("pre") or (args[0] * 2,))
        m.register_forward_pre_hook(
            lambda mod, args, kwargs: log.append(("prekw", sorted(kwargs))) or
            (args, {**kwargs, "shift": 1.0}), with_kwargs=True)
        h = m.register_forward_hook(lambda mod, args, out: log.append("post") or out + 1)
        m.register_forward_hook(lambda mod, args, kwargs, out: log.append(("postkw", kwargs)),
                                with_kwargs=True, prepend=True)
        out1 = m(T.ones(2, 3), shift=0.0)
        h.remove()
        out2 = m(T.ones(2, 3))
        results.append((log, to_np(out1), to_np(out2)))

        class Boom(T.nn.Module):
            def forward(self, x):
                raise ValueError("boom")
        b = Boom()
        b.register_forward_hook(lambda mod, args, out: log.append(("always", out)),
                                always_call=True)
        with pytest.raises(ValueError):
            b(T.ones(1))
    (tl, t1, t2), (jl, j1, j2) = results
    assert jl == tl
    np.testing.assert_allclose(j1, t1, rtol=1e-5)
    np.testing.assert_allclose(j2, t2, rtol=1e-5)


def test_full_backward_hooks_match_torch(pair):
    records = []
    for m, T in zip(pair, (torch, jtorch)):
        rec = []
        leaf = m.inner.second

        def hook(mod, grad_in, grad_out, rec=rec):
            rec.append(("hook", [None if g is None else to_np(g) for g in grad_in],
                        [to_np(g) for g in grad_out]))
            return (grad_in[0] * 3,)

        def pre_hook(mod, grad_out, rec=rec):
            rec.append(("pre", [to_np(g) for g in grad_out]))
            return (grad_out[0] * 2,)
        leaf.register_full_backward_hook(hook)
        leaf.register_full_backward_pre_hook(pre_hook)
        x = T.linspace(-1, 1, 6).reshape(2, 3).requires_grad_()
        m(x).sum().backward()
        records.append((rec, to_np(x.grad), to_np(m.first.weight.grad)))
    (tr, tx, tw), (jr, jx, jw) = records
    assert [r[0] for r in jr] == [r[0] for r in tr]
    for a, b in zip(jr, tr):
        for x, y in zip(a[1:], b[1:]):
            for u, v in zip(x, y):
                np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jx, tx, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jw, tw, rtol=1e-5, atol=1e-6)


def test_backward_hook_when_no_input_requires_grad(pair):
    calls = []
    for m, T in zip(pair, (torch, jtorch)):
        rec = []
        m.first.register_full_backward_hook(
            lambda mod, gi, go, rec=rec: rec.append((gi, len(go))))
        with pytest.warns(UserWarning, match="no inputs require gradients"):
            m(T.ones(2, 3)).sum().backward()
        calls.append([(len(gi), gi[0] is None, n) for gi, n in rec])
    assert calls[0] == calls[1]


def test_state_dict_hooks(pair):
    outs = []
    for m, T in zip(pair, (torch, jtorch)):
        log = []
        m.register_state_dict_pre_hook(lambda mod, prefix, keep: log.append(("pre", prefix)))
        m.inner.register_state_dict_post_hook(
            lambda mod, sd, prefix, meta: log.append(("post", prefix, sorted(sd))))
        m.register_load_state_dict_pre_hook(
            lambda mod, sd, prefix, *rest: log.append(("lpre", prefix, len(sd))))
        m.first.register_load_state_dict_post_hook(
            lambda mod, keys: log.append(("lpost", list(keys.missing_keys))))
        sd = m.state_dict()
        m.load_state_dict(sd)
        outs.append(log)
    assert outs[0] == outs[1]


def test_repr_matches_torch(pair):
    t, j = pair
    assert repr(j) == repr(t)
    p = jtorch.nn.Parameter(jtorch.ones(2), requires_grad=False)
    assert repr(p) == repr(torch.nn.Parameter(torch.ones(2), requires_grad=False))
    assert repr(jtorch.nn.Parameter(jtorch.ones(2))) == repr(torch.nn.Parameter(torch.ones(2)))


def test_deepcopy_and_pickle():
    j = JNet()
    for clone in (copy.deepcopy(j), pickle.loads(pickle.dumps(j))):
        assert clone.inner.tied is clone.first
        assert isinstance(clone.gain, jtorch.nn.Parameter) and clone.gain is not j.gain
        assert clone.gain.requires_grad
        for (k, a), (_, b) in zip(clone.state_dict().items(), j.state_dict().items()):
            np.testing.assert_array_equal(to_np(a), to_np(b))
        with jtorch.no_grad():
            clone.gain.add_(1)
        assert float(j.gain) == 2.0


def test_parameter_shares_storage_and_buffer_marks():
    data = jtorch.zeros(3)
    p = jtorch.nn.Parameter(data)
    with jtorch.no_grad():
        p.add_(1)
    assert data.tolist() == [1.0, 1.0, 1.0]         # torch: Parameter(t) shares t's storage
    data.add_(1)
    assert p.tolist() == [2.0, 2.0, 2.0]
    assert p.is_leaf and p.requires_grad and type(p * 2) is jtorch.Tensor
    b = jtorch.nn.Buffer(jtorch.ones(2), persistent=False)
    assert isinstance(b, jtorch.nn.Buffer) and not isinstance(jtorch.ones(2), jtorch.nn.Buffer)
    with pytest.raises(RuntimeError):
        jtorch.nn.Parameter(jtorch.ones(2, dtype=jtorch.int64))


def test_uninitialized_parameter_materializes():
    p = jtorch.nn.UninitializedParameter()
    assert repr(p) == "<UninitializedParameter>"
    with pytest.raises(RuntimeError):
        p.shape
    with pytest.raises(ValueError):
        p.sum()
    p.materialize((2, 3))
    assert type(p) is jtorch.nn.Parameter and p.shape == (2, 3) and p.requires_grad


def test_forward_missing_raises():
    with pytest.raises(NotImplementedError, match="forward"):
        jtorch.nn.Module()(1)
    with pytest.raises(TypeError):
        jtorch.nn.Module(3)
