"""ASGD, Adafactor and Muon against torch where the optim_db sweep does not reach: Muon's
other options, ASGD past t0, Adafactor on 3-d parameters, more errors."""
from __future__ import annotations


import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")

from optim_harness import (assert_errors_match, assert_same, make_params, set_grads,
                           to_jtorch)
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


# beyond optim_db's inputs (swept in test_optim_db.py)
MUON_INPUTS = [
    ("plain momentum, match_rms_adamw",
     {"nesterov": False, "adjust_lr_fn": "match_rms_adamw", "lr": 0.02}),
    ("original, no weight decay", {"adjust_lr_fn": "original", "weight_decay": 0.0})]


@pytest.mark.parametrize("desc,kwargs", MUON_INPUTS, ids=[d for d, _ in MUON_INPUTS])
def test_muon_steps_match_torch(desc, kwargs):
    """Muon's other lr adjustment and plain momentum."""
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


@pytest.mark.parametrize("name", NAMES)
def test_more_errors_match_torch(name):
    """Errors torch's table (swept in test_optim_db.py) leaves out: same class and message."""
    cases = [(on, Exception, params, kwargs) for on, params, kwargs in _extra_errors(name)]
    assert_errors_match(name, cases)
