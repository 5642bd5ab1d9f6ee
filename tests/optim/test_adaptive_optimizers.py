"""RMSprop, Adagrad, Adadelta, Rprop against torch beyond the optim_db sweep: signatures,
argument errors, Adagrad's construction-time state and fused refusals, a state_dict
exchanged mid-training, the step's dtype under a float64 default."""
from __future__ import annotations


import numpy as np
import pytest

torch = pytest.importorskip("torch")

import jtorch  # noqa: E402
from optim_harness import (assert_same, make_params, set_grads)

NAMES = ["RMSprop", "Adagrad", "Adadelta", "Rprop"]


BAD = [("RMSprop", dict(lr=-1)), ("RMSprop", dict(eps=-1)), ("RMSprop", dict(momentum=-1)),
       ("RMSprop", dict(weight_decay=-1)), ("RMSprop", dict(alpha=-1)),
       ("Adagrad", dict(lr=-1)), ("Adagrad", dict(lr_decay=-1)),
       ("Adagrad", dict(weight_decay=-1)), ("Adagrad", dict(initial_accumulator_value=-1)),
       ("Adagrad", dict(eps=-1)), ("Adagrad", dict(fused=True, differentiable=True)),
       ("Adagrad", dict(fused=True, foreach=True)),
       ("Adadelta", dict(lr=-1)), ("Adadelta", dict(rho=1.5)), ("Adadelta", dict(eps=-1)),
       ("Adadelta", dict(weight_decay=-1)),
       ("Rprop", dict(lr=-1)), ("Rprop", dict(etas=(1.5, 2.0))),
       ("Rprop", dict(etas=(0.5, 0.9)))]


@pytest.mark.parametrize("name,kwargs", BAD, ids=[f"{n}-{k}" for n, k in BAD])
def test_argument_errors_match_torch(name, kwargs):
    errors = []
    for T in (torch, jtorch):
        with pytest.raises(Exception) as info:
            getattr(T.optim, name)([T.nn.Parameter(T.ones(2))], **kwargs)
        errors.append((type(info.value), str(info.value)))
    assert errors[1] == errors[0]


@pytest.mark.parametrize("name", NAMES)
def test_tensor_lr_of_two_elements_refused(name):
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        getattr(jtorch.optim, name)([jtorch.nn.Parameter(jtorch.ones(2))],
                                    lr=jtorch.tensor([0.1, 0.2]))


def test_adagrad_state_at_construction_and_for_added_groups():
    """torch fills Adagrad's state in the constructor; a group added later gets it at its
    first step, from the constructor's initial_accumulator_value."""
    rng = np.random.default_rng(0)
    t_params, j_params = make_params(rng, dtype=np.complex64)
    t_extra, j_extra = make_params(rng, shapes=[(2,)])
    t_opt = torch.optim.Adagrad(t_params, initial_accumulator_value=0.3)
    j_opt = jtorch.optim.Adagrad(j_params, initial_accumulator_value=0.3)
    assert_same(t_opt, j_opt, t_params, j_params)
    t_opt.add_param_group({"params": t_extra, "initial_accumulator_value": 5.0})
    j_opt.add_param_group({"params": j_extra, "initial_accumulator_value": 5.0})
    for _ in range(2):
        set_grads(rng, t_params + t_extra, j_params + j_extra)
        t_opt.step()
        j_opt.step()
    assert_same(t_opt, j_opt, t_params + t_extra, j_params + j_extra)


@pytest.mark.parametrize("complex_first", [True, False])
def test_adagrad_fused_refuses_complex_as_torch(complex_first):
    errors = []
    for T in (torch, jtorch):
        z = T.nn.Parameter(T.ones(2, dtype=T.complex64))
        x = T.nn.Parameter(T.ones(2))
        params = [z, x] if complex_first else [x, z]
        opt = T.optim.Adagrad(params, fused=True)
        for p in params:
            p.grad = T.ones_like(p)
        with pytest.raises(RuntimeError) as info:
            opt.step()
        errors.append(str(info.value).replace("torch.", ""))
    assert errors[1] == errors[0]


CASES = [("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1)),
         ("Adagrad", dict(lr=0.1, lr_decay=0.3, initial_accumulator_value=0.2)),
         ("Adadelta", dict(rho=0.8, maximize=True)),
         ("Rprop", dict(lr=0.05, etas=(0.4, 1.3), step_sizes=(1e-4, 0.5)))]


@pytest.mark.parametrize("name", NAMES)
def test_step_is_float64_under_float64_default(name):
    """torch's `_get_scalar_dtype`: the step count follows a float64 default dtype."""
    dtypes = []
    for T in (torch, jtorch):
        old = T.get_default_dtype()
        T.set_default_dtype(T.float64)
        try:
            p = T.nn.Parameter(T.ones(2))
            opt = getattr(T.optim, name)([p])
            p.grad = T.ones(2)
            opt.step()
            dtypes.append(str(opt.state[p]["step"].dtype))
        finally:
            T.set_default_dtype(old)
    assert dtypes[1] == dtypes[0] == "torch.float64"
