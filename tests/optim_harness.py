"""Shared by tests/optim: the same parameters and gradients in torch and jtorch, optimizers
built from PyTorch's own `optim_db` inputs, and a comparison of parameters and every state
entry."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.testing._internal.common_optimizers import OptimizerErrorEnum, optim_db

import jtorch

SHAPES = [(3, 4), (4,), ()]
# torch's Muon takes matrices only (a tall one exercises its transpose)
SHAPES_FOR = {"Muon": [(3, 4), (5, 2)]}
STEPS = 20
# optimizers of torch.optim jtorch refuses by name (module __getattr__): no sparse tensors
NOT_IMPLEMENTED = {"SparseAdam"}


def optim_db_inputs():
    """(optimizer name, input description, kwargs, OptimizerInfo) for every CPU input of
    every optim_db entry jtorch implements."""
    for info in optim_db:
        if info.name in NOT_IMPLEMENTED:
            continue
        for item in info.optim_inputs_func(device="cpu"):
            yield info.name, item.desc, item.kwargs, info


def to_np(t):
    if isinstance(t, torch.Tensor):
        return t.detach().resolve_conj().numpy()
    return np.array(t.detach()._value)


def to_jtorch(value):
    if isinstance(value, torch.Tensor):
        return jtorch.tensor(to_np(value))
    if isinstance(value, dict):
        return {k: to_jtorch(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_jtorch(v) for v in value)
    return value


def to_torch(value):
    if isinstance(value, jtorch.Tensor):
        return torch.tensor(to_np(value))
    if isinstance(value, dict):
        return {k: to_torch(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_torch(v) for v in value)
    return value


def _draw(rng, shape, dtype):
    value = rng.standard_normal(shape)
    if np.issubdtype(dtype, np.complexfloating):
        value = value + 1j * rng.standard_normal(shape)
    return np.asarray(value, dtype)


def make_params(rng, name=None, dtype=np.float32, shapes=None):
    """The same fresh parameters in both libraries: of `shapes`, or of the shapes optimizer
    `name` takes."""
    values = [_draw(rng, s, dtype) for s in shapes or SHAPES_FOR.get(name, SHAPES)]
    return ([torch.nn.Parameter(torch.tensor(v)) for v in values],
            [jtorch.nn.Parameter(jtorch.tensor(v)) for v in values])


def set_grads(rng, t_params, j_params):
    for tp, jp in zip(t_params, j_params):
        g = _draw(rng, tuple(tp.shape), to_np(tp).dtype)
        tp.grad, jp.grad = torch.tensor(g), jtorch.tensor(g)


def closure_pair(t_opt, j_opt, t_params, j_params, rng):
    """The same smooth non-quadratic real loss in both libraries, as `step(closure)` wants
    (a complex parameter enters as its real view)."""
    def real(T, p):
        return T.view_as_real(p) if p.is_complex() else p
    targets = [_draw(rng, tuple(real(torch, p).shape), np.float64) for p in t_params]

    def make(T, opt, params):
        consts = [T.tensor(c, dtype=real(T, p).dtype) for c, p in zip(targets, params)]

        def closure():
            opt.zero_grad()
            loss = sum(((real(T, p) - c) ** 2).sum() + 0.1 * (real(T, p) ** 4).sum()
                       for p, c in zip(params, consts))
            loss.backward()
            return loss
        return closure
    return make(torch, t_opt, t_params), make(jtorch, j_opt, j_params)


def assert_same(t_opt, j_opt, t_params, j_params, rtol=1e-5, atol=1e-6):
    """Parameters, param groups and every state entry (names, order, values) equal."""
    for tp, jp in zip(t_params, j_params):
        np.testing.assert_allclose(to_np(jp), to_np(tp), rtol=rtol, atol=atol)
    ts, js = t_opt.state_dict(), j_opt.state_dict()
    t_groups = [{k: to_np(v) if isinstance(v, torch.Tensor) else v for k, v in g.items()}
                for g in ts["param_groups"]]
    j_groups = [{k: to_np(v) if isinstance(v, jtorch.Tensor) else v for k, v in g.items()}
                for g in js["param_groups"]]
    assert repr(j_groups) == repr(t_groups)
    assert list(js["state"]) == list(ts["state"])
    for k, t_state in ts["state"].items():
        assert list(js["state"][k]) == list(t_state)
        for name, value in t_state.items():
            _assert_value(js["state"][k][name], value, name, rtol, atol)


def _assert_value(mine, value, name, rtol, atol):
    if isinstance(value, torch.Tensor):
        assert isinstance(mine, jtorch.Tensor), name
        assert str(mine.dtype) == str(value.dtype), name
        np.testing.assert_allclose(to_np(mine), to_np(value), rtol=rtol, atol=atol,
                                   err_msg=name)
    elif isinstance(value, (list, tuple)):
        assert type(mine) is type(value) and len(mine) == len(value), name
        for m, v in zip(mine, value):
            _assert_value(m, v, name, rtol, atol)
    elif isinstance(value, float):
        np.testing.assert_allclose(mine, value, rtol=rtol, atol=atol, err_msg=name)
    else:
        assert mine == value, name


class _Convert:
    """torch's error inputs in jtorch, with the same parameters shared where torch's are."""

    def __init__(self):
        self.seen = {}

    def __call__(self, value):
        if isinstance(value, torch.Tensor):
            if id(value) not in self.seen:
                data = jtorch.tensor(value.detach().numpy())
                mine = jtorch.nn.Parameter(data) if value.requires_grad else data
                if value.grad is not None:
                    mine.grad = jtorch.tensor(value.grad.numpy())
                self.seen[id(value)] = mine
            return self.seen[id(value)]
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self(v) for v in value)
        return value


def _outcome(T, error_on, params, kwargs, name):
    kwargs = dict(kwargs)
    added = kwargs.pop("added", None)
    with pytest.raises(Exception) as info:
        opt = getattr(T.optim, name)(params, **kwargs)
        if added:
            opt.add_param_group({"params": added})
        if error_on == OptimizerErrorEnum.STEP_ERROR:
            opt.step()
    return type(info.value), str(info.value)


def assert_errors_match(name, cases):
    """Each (error_on, error_type, params, kwargs) case raises in jtorch what it raises in
    torch, at construction or at step: the same class and, but for TypeErrors (torch's
    type names differ), the same message."""
    for error_on, error_type, params, kwargs in cases:
        if issubclass(error_type, Warning):
            with pytest.warns(error_type, match="duplicate parameters"):
                getattr(jtorch.optim, name)(_Convert()(params), **kwargs)
            continue
        expected = _outcome(torch, error_on, params, kwargs, name)
        got = _outcome(jtorch, error_on, *_Convert()((params, kwargs)), name)
        assert got[0] is expected[0], (kwargs, got, expected)
        if expected[0] is not TypeError:      # torch.typename names differ
            assert got[1] == expected[1]
