"""ASGD, Adafactor and Muon against torch where the optim_db sweep does not reach: Muon's
2-d parameters, torch's own error inputs, signatures, and a state_dict taken from torch
mid-training."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")

from optim_harness import assert_same, make_params, set_grads, to_jtorch, to_torch
from torch.testing._internal.common_optimizers import OptimizerErrorEnum, optim_db

import jtorch

NAMES = ["ASGD", "Adafactor", "Muon"]
INFOS = {info.name: info for info in optim_db if info.name in NAMES}
# Muon takes 2-d parameters only; a tall one is orthogonalised through its transpose
MATRICES = [(3, 4), (5, 2)]
SHAPES = {"ASGD": [(3, 4), (4,), ()], "Adafactor": [(2, 3, 4), (4,), ()], "Muon": MATRICES}


def _steps(name, kwargs, rng, steps=8, shapes=None):
    """Both optimizers after `steps` steps on the same gradients, the lr halved midway."""
    t_params, j_params = make_params(rng, shapes=shapes or SHAPES[name])
    t_opt = getattr(torch.optim, name)(t_params, **kwargs)
    j_opt = getattr(jtorch.optim, name)(j_params, **to_jtorch(kwargs))
    assert repr(j_opt) == repr(t_opt)
    for step in range(steps):
        if step == steps // 2:
            for opt in (t_opt, j_opt):
                opt.param_groups[0]["lr"] = opt.param_groups[0]["lr"] * 0.5
        set_grads(rng, t_params, j_params)
        t_opt.step()
        j_opt.step()
    return t_opt, j_opt, t_params, j_params


MUON_INPUTS = [(item.desc, item.kwargs) for item in
               INFOS["Muon"].optim_inputs_func(device="cpu")] + [
    ("plain momentum, match_rms_adamw",
     {"nesterov": False, "adjust_lr_fn": "match_rms_adamw", "lr": 0.02}),
    ("original, no weight decay", {"adjust_lr_fn": "original", "weight_decay": 0.0})]


@pytest.mark.parametrize("desc,kwargs", MUON_INPUTS, ids=[d for d, _ in MUON_INPUTS])
def test_muon_steps_match_torch(desc, kwargs):
    """optim_db's Muon inputs on 2-d parameters (the sweep's shapes include 1-d ones)."""
    assert_same(*_steps("Muon", kwargs, np.random.default_rng(len(desc)), steps=20))


def test_asgd_averages_after_t0():
    """optim_db's t0 (100) is past the sweep's 20 steps: here ax averages from step 3."""
    assert_same(*_steps("ASGD", {"t0": 2, "lambd": 0.01, "alpha": 0.5, "lr": 0.05},
                        np.random.default_rng(5)))


def test_adafactor_factors_the_last_two_dims():
    t_opt, j_opt, t_params, j_params = _steps(
        "Adafactor", {"lr": 0.05, "eps": (1e-20, 1e-3), "d": 1.2, "weight_decay": 0.01},
        np.random.default_rng(3), shapes=[(2, 3, 4), (5, 1), (1,)])
    assert_same(t_opt, j_opt, t_params, j_params)
    assert tuple(j_opt.state[j_params[0]]["row_var"].shape) == (2, 3, 1)
    assert tuple(j_opt.state[j_params[0]]["col_var"].shape) == (2, 1, 4)


@pytest.mark.parametrize("name", NAMES)
def test_signature_matches_torch(name):
    def described(cls):
        return [(p.name, p.kind, p.default) for p in
                inspect.signature(cls.__init__).parameters.values()]
    assert described(getattr(jtorch.optim, name)) == described(getattr(torch.optim, name))


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_from_torch_mid_training(name):
    """torch's state_dict after a few steps, loaded into jtorch, continues equal."""
    rng = np.random.default_rng(7)
    t_opt, _, t_params, _ = _steps(name, {}, rng, steps=3)
    j_params = [jtorch.nn.Parameter(jtorch.tensor(p.detach().numpy())) for p in t_params]
    j_opt = getattr(jtorch.optim, name)(j_params)
    j_opt.load_state_dict(to_jtorch(t_opt.state_dict()))
    assert_same(t_opt, j_opt, t_params, j_params)
    for _ in range(3):
        set_grads(rng, t_params, j_params)
        t_opt.step()
        j_opt.step()
    assert_same(t_opt, j_opt, t_params, j_params)
    # and back: jtorch's state_dict loads into torch
    t_again = getattr(torch.optim, name)(t_params)
    t_again.load_state_dict(to_torch(j_opt.state_dict()))
    assert_same(t_again, j_opt, t_params, j_params)


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


def _extra_errors(name):
    """Checks torch's error table leaves out: (error_on, params, kwargs)."""
    def matrix():
        p = torch.nn.Parameter(torch.ones(2, 3))
        p.grad = torch.ones(2, 3)
        return [p]
    construction, step = OptimizerErrorEnum.CONSTRUCTION_ERROR, OptimizerErrorEnum.STEP_ERROR
    cases = [(construction, matrix(), {"lr": -1.0}),
             (construction, matrix(), {"weight_decay": -0.1})]
    if name == "Adafactor":
        cases += [(construction, matrix(), {"eps": (None, -1.0)})]
    if name == "Muon":
        vector = torch.nn.Parameter(torch.ones(3))
        vector.grad = torch.ones(3)
        cases += [(construction, matrix(), {"momentum": -0.5}),
                  (step, matrix(), {"ns_steps": 100}),
                  (step, matrix(), {"ns_coefficients": (1.0, 2.0)}),
                  # torch checks the shapes of parameters added later only in step
                  (step, [{"params": matrix()}], {"added": [vector]})]
    return cases


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


@pytest.mark.parametrize("name", NAMES)
def test_errors_match_torch(name):
    """torch's own error inputs (optim_db) and a few more: same class, same message."""
    cases = [(e.error_on, e.error_type, e.optimizer_error_input.params,
              e.optimizer_error_input.kwargs)
             for e in INFOS[name].optim_error_inputs_func(device="cpu", dtype=torch.float32)]
    cases += [(on, Exception, params, kwargs) for on, params, kwargs in _extra_errors(name)]
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
