"""Adamax, NAdam and RAdam against torch where the optim_db sweep does not look: argument
checks, signatures, state_dicts moved both ways mid-training, old state_dicts with number
steps, a Tensor lr and the scalar state's dtype under a float64 default."""
from __future__ import annotations


import numpy as np
import pytest

torch = pytest.importorskip("torch")

import jtorch  # noqa: E402
from optim_harness import (assert_same, make_params, set_grads, to_jtorch,  # noqa: E402
                           )

NAMES = ["Adamax", "NAdam", "RAdam"]
# one option set each that the interchange test runs (decay paths included)
OPTIONS = {"Adamax": dict(lr=0.01, weight_decay=0.1),
           "NAdam": dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
           "RAdam": dict(lr=0.01, weight_decay=0.1)}


BAD = {"lr": dict(lr=-1.0), "eps": dict(eps=-1e-8), "beta0": dict(betas=(1.0, 0.999)),
       "beta1": dict(betas=(0.9, -0.1)), "weight_decay": dict(weight_decay=-0.1),
       "tensor_lr": "tensor_lr", "momentum_decay": dict(momentum_decay=-1.0)}
ERROR_CASES = [(name, case) for name in NAMES for case in BAD
               if case != "momentum_decay" or name == "NAdam"]

@pytest.mark.parametrize("name,case", ERROR_CASES, ids=[f"{n}-{c}" for n, c in ERROR_CASES])
def test_errors_match_torch(name, case):
    bad = BAD[case]
    errors = []
    for T in (torch, jtorch):
        kwargs = dict(lr=T.tensor([0.1, 0.2])) if bad == "tensor_lr" else bad
        with pytest.raises(Exception) as info:
            getattr(T.optim, name)([T.nn.Parameter(T.ones(2))], **kwargs)
        errors.append((type(info.value), str(info.value)))
    assert errors[1] == errors[0]


def _pair(name, rng, options):
    t_params, j_params = make_params(rng)
    return (t_params, j_params, getattr(torch.optim, name)(t_params, **options),
            getattr(jtorch.optim, name)(j_params, **to_jtorch(options)))


def test_old_state_dict_with_number_steps():
    """torch's NAdam `__setstate__` turns Python-number `step` and `mu_product` into 0-d
    tensors; a state_dict saved that way still loads and continues."""
    rng = np.random.default_rng(4)
    t_params, j_params, t_opt, j_opt = _pair("NAdam", rng, OPTIONS["NAdam"])
    for _ in range(3):
        set_grads(rng, t_params, j_params)
        t_opt.step()
    saved = t_opt.state_dict()
    for state in saved["state"].values():
        state["step"], state["mu_product"] = state["step"].item(), state["mu_product"].item()
    with jtorch.no_grad():
        for tp, jp in zip(t_params, j_params):
            jp.copy_(to_jtorch(tp.detach()))
    t_opt.load_state_dict(saved)
    j_opt.load_state_dict(to_jtorch(saved))
    for _ in range(2):
        set_grads(rng, t_params, j_params)
        t_opt.step()
        j_opt.step()
    assert_same(t_opt, j_opt, t_params, j_params)


def test_tensor_lr_matches_torch():
    rng = np.random.default_rng(5)
    t_params, j_params, t_opt, j_opt = _pair("RAdam", rng, dict(lr=torch.tensor(0.01)))
    for step in range(8):
        if step == 4:
            for opt in (t_opt, j_opt):
                opt.param_groups[0]["lr"].fill_(0.005)
        set_grads(rng, t_params, j_params)
        t_opt.step()
        j_opt.step()
    assert_same(t_opt, j_opt, t_params, j_params)


def test_scalar_state_dtype_follows_default_dtype():
    """torch's `_get_scalar_dtype`: `step` and `mu_product` are float64 under a float64
    default dtype."""
    dtypes = []
    for T in (torch, jtorch):
        previous = T.get_default_dtype()
        T.set_default_dtype(T.float64)
        try:
            p = T.nn.Parameter(T.ones(2, dtype=T.float32))
            p.grad = T.ones(2, dtype=T.float32)
            opt = T.optim.NAdam([p])
            opt.step()
            dtypes.append([str(v.dtype) for v in opt.state[p].values()])
        finally:
            T.set_default_dtype(previous)
    assert dtypes[1] == dtypes[0]
