"""Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict and Container against
torch: each row builds and edits a container with the same calls in both libraries and
compares what it returns (reprs, keys, types, parameter names, exceptions)."""
from __future__ import annotations

import inspect
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import jtorch
from jtorch.nn.modules import container

torch = pytest.importorskip("torch")


def _observe(x):
    """What a row's result is compared by, the same for torch's and jtorch's objects."""
    if isinstance(x, (torch.nn.Module, jtorch.nn.Module)):
        return ("module", type(x).__name__, repr(x), list(x._modules),
                [(n, tuple(p.shape)) for n, p in x.named_parameters()], list(x.state_dict()))
    if isinstance(x, (torch.Tensor, jtorch.Tensor)):
        return ("tensor", type(x).__name__, tuple(x.shape), str(x.dtype), x.requires_grad)
    if isinstance(x, (str, int, float, bool, type(None))):
        return x
    if isinstance(x, dict):
        return [(k, _observe(v)) for k, v in x.items()]
    return [_observe(v) for v in x]


def _run(row, L):
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = _observe(row(L))
        return result, [(w.category.__name__, str(w.message)) for w in caught]
    except Exception as e:      # the exception class and message are part of the result
        return ("raises", type(e).__name__, str(e).replace("jtorch", "torch"))


def _mods(L, n=3):
    """n modules with distinct reprs and no parameters."""
    return [L.nn.Flatten(0, i) for i in range(n)]


def _edited(obj, *edits):
    for edit in edits:
        edit(obj)
    return obj


def _with_empty(L, obj, i):
    return L.nn.Identity() if i is None else obj


ROWS = {
    # Sequential
    "seq_args": lambda L: L.nn.Sequential(*_mods(L)),
    "seq_ordered_dict": lambda L: L.nn.Sequential(OrderedDict(zip("abc", _mods(L)))),
    "seq_index": lambda L: [L.nn.Sequential(*_mods(L))[i] for i in (0, -1, 2)],
    "seq_index_error": lambda L: L.nn.Sequential(*_mods(L))[3],
    "seq_index_empty": lambda L: L.nn.Sequential()[0],
    "seq_slice": lambda L: L.nn.Sequential(OrderedDict(zip("abcd", _mods(L, 4))))[1::2],
    "seq_setitem": lambda L: _edited(L.nn.Sequential(*_mods(L)),
                                     lambda s: s.__setitem__(-1, L.nn.Identity())),
    "seq_delitem": lambda L: _edited(L.nn.Sequential(OrderedDict(zip("abcd", _mods(L, 4)))),
                                     lambda s: s.__delitem__(1)),
    "seq_del_slice": lambda L: _edited(L.nn.Sequential(*_mods(L, 5)),
                                       lambda s: s.__delitem__(slice(0, 4, 2))),
    "seq_pop": lambda L: (lambda s: (s.pop(1), s))(L.nn.Sequential(*_mods(L))),
    "seq_append_extend": lambda L: L.nn.Sequential(_mods(L)[0]).append(L.nn.Identity())
    .extend(_mods(L, 2)),
    "seq_insert": lambda L: L.nn.Sequential(*_mods(L)).insert(-1, L.nn.Identity())
    .insert(4, L.nn.Identity()).insert(0, L.nn.Flatten()),
    "seq_insert_range": lambda L: L.nn.Sequential(*_mods(L)).insert(5, L.nn.Identity()),
    "seq_insert_type": lambda L: L.nn.Sequential().insert(0, 3),
    "seq_add": lambda L: L.nn.Sequential(*_mods(L, 2)) + L.nn.Sequential(L.nn.Identity()),
    "seq_add_error": lambda L: L.nn.Sequential() + L.nn.ModuleList(),
    "seq_iadd": lambda L: _edited(L.nn.Sequential(*_mods(L, 2)), lambda s: s.__iadd__(
        L.nn.Sequential(L.nn.Identity()))),
    "seq_mul": lambda L: [L.nn.Sequential(*_mods(L, 2)) * 2, 3 * L.nn.Sequential(*_mods(L, 1))],
    "seq_imul": lambda L: _edited(L.nn.Sequential(*_mods(L, 2)), lambda s: s.__imul__(3)),
    "seq_mul_errors": lambda L: [_run(lambda L: L.nn.Sequential() * 0, L),
                                 _run(lambda L: L.nn.Sequential() * 1.5, L)],
    "seq_len_iter_dir": lambda L: (lambda s: (len(s), [repr(m) for m in s],
                                              "0" in dir(s), "append" in dir(s)))(
        L.nn.Sequential(*_mods(L))),
    "seq_nested": lambda L: L.nn.Sequential(L.nn.Sequential(*_mods(L, 2)), L.nn.ModuleList(),
                                            L.nn.ModuleDict({"x": L.nn.Identity()})),
    # ModuleList
    "list_repr_runs": lambda L: L.nn.ModuleList([L.nn.Identity()] * 3 + _mods(L, 2)
                                                + [L.nn.Flatten(0, 1)] * 2
                                                + [L.nn.Sequential(L.nn.Identity())] * 2),
    "list_empty": lambda L: L.nn.ModuleList(),
    "list_index": lambda L: [L.nn.ModuleList(_mods(L))[i] for i in (0, -1)],
    "list_index_error": lambda L: L.nn.ModuleList(_mods(L))[-4],
    "list_slice": lambda L: L.nn.ModuleList(_mods(L, 5))[::-2],
    "list_setitem": lambda L: _edited(L.nn.ModuleList(_mods(L)),
                                      lambda s: s.__setitem__(1, L.nn.Identity())),
    "list_delitem": lambda L: _edited(L.nn.ModuleList(_mods(L, 5)),
                                      lambda s: s.__delitem__(slice(1, None, 2)),
                                      lambda s: s.__delitem__(-1)),
    "list_pop": lambda L: (lambda s: (s.pop(-2), s))(L.nn.ModuleList(_mods(L))),
    "list_insert": lambda L: _edited(L.nn.ModuleList(_mods(L)),
                                     lambda s: s.insert(1, L.nn.Identity()),
                                     lambda s: s.insert(4, L.nn.Flatten())),
    "list_extend_append": lambda L: L.nn.ModuleList().append(L.nn.Identity())
    .extend(_mods(L, 2)),
    "list_extend_error": lambda L: L.nn.ModuleList().extend(L.nn.Identity()),
    "list_add": lambda L: L.nn.ModuleList(_mods(L, 2)) + [L.nn.Identity()],
    "list_iadd": lambda L: _edited(L.nn.ModuleList(_mods(L, 1)),
                                   lambda s: s.__iadd__(_mods(L, 2))),
    "list_not_module": lambda L: L.nn.ModuleList([3]),
    # ModuleDict
    "dict_mapping": lambda L: L.nn.ModuleDict({"b": L.nn.Identity(), "a": L.nn.Flatten()}),
    "dict_pairs": lambda L: L.nn.ModuleDict([("x", L.nn.Identity()), ["y", L.nn.Flatten()]]),
    "dict_from_dict": lambda L: L.nn.ModuleDict(L.nn.ModuleDict({"z": L.nn.Identity()})),
    "dict_ops": lambda L: (lambda d: (list(d.keys()), [k for k, _ in d.items()], len(d),
                                      "a" in d, "q" in d, list(d), repr(d.pop("a")), d,
                                      [repr(v) for v in d.values()]))(
        L.nn.ModuleDict({"b": L.nn.Identity(), "a": L.nn.Flatten()})),
    "dict_set_del_clear": lambda L: (lambda d: (
        _edited(d, lambda d: d.__setitem__("c", L.nn.Identity()),
                lambda d: d.__delitem__("b")), repr(d), d.clear(), d))(
        L.nn.ModuleDict({"b": L.nn.Identity()})),
    "dict_update_errors": lambda L: [
        _run(lambda L: L.nn.ModuleDict().update(3), L),
        _run(lambda L: L.nn.ModuleDict().update([3]), L),
        _run(lambda L: L.nn.ModuleDict().update([("a", L.nn.Identity(), 1)]), L),
        _run(lambda L: L.nn.ModuleDict({"a.b": L.nn.Identity()}), L),
        _run(lambda L: L.nn.ModuleDict({"": L.nn.Identity()}), L),
        _run(lambda L: L.nn.ModuleDict()["missing"], L)],
    # ParameterList
    "plist_values": lambda L: L.nn.ParameterList(
        [L.zeros(3), L.nn.Parameter(L.ones(2, 2)), "a",
         L.zeros(1, dtype=L.float64), L.nn.Parameter(L.ones(2), requires_grad=False),
         L.nn.Identity(), None]),
    "plist_ops": lambda L: (lambda p: (len(p), p[0], p[-1], p[1:], list(p), "0" in dir(p)))(
        L.nn.ParameterList([L.zeros(3), L.ones(2)])),
    "plist_edit": lambda L: _edited(L.nn.ParameterList([L.zeros(3)]),
                                    lambda p: p.append(L.ones(1)),
                                    lambda p: p.extend([L.ones(2), 5]),
                                    lambda p: p.__setitem__(-1, L.zeros(4)),
                                    lambda p: p.__iadd__((L.ones(3),))),
    "plist_errors": lambda L: [
        _run(lambda L: L.nn.ParameterList([L.zeros(3)])[1], L),
        _run(lambda L: L.nn.ParameterList().extend(L.zeros(3)), L),
        _run(lambda L: L.nn.ParameterList().extend(3), L),
        _run(lambda L: L.nn.ParameterList([L.zeros(3)])(), L),
        _run(lambda L: L.nn.ParameterList([L.zeros(3, dtype=L.int64)]), L)],
    "plist_in_module": lambda L: L.nn.Sequential(L.nn.ParameterList([L.zeros(2)])),
    # ParameterDict
    "pdict_dict_sorted": lambda L: L.nn.ParameterDict(
        {"b": L.zeros(3), "a": L.nn.Parameter(L.ones(2, 2)), "c": "text",
         "d": L.zeros(1, dtype=L.float64)}),
    "pdict_ordered": lambda L: L.nn.ParameterDict(
        OrderedDict([("b", L.zeros(3)), ("a", L.ones(1))])),
    "pdict_pairs": lambda L: L.nn.ParameterDict([("y", L.zeros(1)), ("x", L.ones(2))]),
    "pdict_ops": lambda L: (lambda d: (
        len(d), list(d), list(reversed(d)), list(d.keys()), list(d.values()), list(d.items()),
        "a" in d, d.get("a"), d.get("zz", 7), d.setdefault("e", L.ones(4)),
        d.setdefault("a"), d.pop("b"), d.popitem(), d, d.copy(),
        d.fromkeys(["p", "q"], L.zeros(2))))(
        L.nn.ParameterDict(OrderedDict([("b", L.zeros(3)), ("a", L.ones(1))]))),
    "pdict_or": lambda L: (lambda a, b: (a | b, b | a, _edited(a, lambda a: a.__ior__(b))))(
        L.nn.ParameterDict({"x": L.zeros(1)}), L.nn.ParameterDict({"y": L.ones(2),
                                                                  "x": L.ones(3)})),
    "pdict_del_clear": lambda L: (lambda d: (
        _edited(d, lambda d: d.__delitem__("a")), d.clear(), d, len(d)))(
        L.nn.ParameterDict({"a": L.zeros(1), "b": L.zeros(2)})),
    "pdict_errors": lambda L: [
        _run(lambda L: L.nn.ParameterDict()[3], L),
        _run(lambda L: L.nn.ParameterDict()["x"], L),
        _run(lambda L: L.nn.ParameterDict().update(3), L),
        _run(lambda L: L.nn.ParameterDict().update([(1, 2, 3)]), L),
        _run(lambda L: L.nn.ParameterDict().popitem(), L),
        _run(lambda L: L.nn.ParameterDict({"a": L.zeros(1)})(L.zeros(1)), L)],
    # Container
    "container": lambda L: L.nn.Container(a=L.nn.Identity(), b=L.nn.Flatten()),
}


@pytest.mark.parametrize("row", ROWS)
def test_row(row):
    assert _run(ROWS[row], jtorch) == _run(ROWS[row], torch)


def test_all_names_and_signatures():
    assert container.__all__ == torch.nn.modules.container.__all__
    for name in container.__all__:
        j_cls, t_cls = getattr(container, name), getattr(torch.nn, name)
        for attr in ["__init__"] + [a for a in vars(t_cls) if not a.startswith("_")]:
            if callable(getattr(t_cls, attr, None)):
                j_sig, t_sig = (inspect.signature(getattr(c, attr)) for c in (j_cls, t_cls))
                assert [(p.name, p.kind, p.default) for p in j_sig.parameters.values()] == \
                    [(p.name, p.kind, p.default) for p in t_sig.parameters.values()], \
                    (name, attr)


def test_sequential_forward_and_gradients():
    torch.manual_seed(0)
    t_seq = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Flatten(0), torch.nn.Identity())
    j_seq = jtorch.nn.Sequential(jtorch.nn.Linear(3, 4), jtorch.nn.Flatten(0),
                                 jtorch.nn.Identity())
    j_seq.load_state_dict({k: jtorch.tensor(v.numpy()) for k, v in t_seq.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    t_x, j_x = torch.tensor(x, requires_grad=True), jtorch.tensor(x, requires_grad=True)
    t_out, j_out = t_seq(t_x), j_seq(j_x)
    np.testing.assert_allclose(j_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    (t_out ** 2).sum().backward()
    (j_out ** 2).sum().backward()
    np.testing.assert_allclose(j_x.grad.numpy(), t_x.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(j_seq[0].weight.grad.numpy(), t_seq[0].weight.grad.numpy(),
                               rtol=1e-5, atol=1e-6)
    # a Sequential slice shares its modules; a deletion renumbers the state_dict keys
    assert j_seq[1:][0] is j_seq[1]
    del j_seq[0]
    assert list(j_seq.state_dict()) == [] and list(j_seq._modules) == ["0", "1"]


def test_parameter_containers_register_parameters():
    plist = jtorch.nn.ParameterList([jtorch.zeros(2), jtorch.ones(3)])
    pdict = jtorch.nn.ParameterDict({"w": jtorch.zeros(2)})
    model = jtorch.nn.Module()
    model.plist, model.pdict = plist, pdict
    assert [n for n, _ in model.named_parameters()] == ["plist.0", "plist.1", "pdict.w"]
    assert all(isinstance(p, jtorch.nn.Parameter) and p.requires_grad
               for p in model.parameters())
    keep = plist[0]
    plist[0] = jtorch.nn.Parameter(jtorch.ones(2))      # a Parameter is stored as it is
    assert plist[0] is not keep and isinstance(plist[0], jtorch.nn.Parameter)
