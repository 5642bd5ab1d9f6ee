"""Every optimizer against torch on PyTorch's own `optim_db` option sets: STEPS steps on
the same parameters and gradients (the lr halved midway, as a scheduler would), then the
parameters, param groups and every state entry equal. Known failures are `optim:NAME:DESC`
lines of compat/opinfo_known_failures.txt."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")

import jtorch  # noqa: E402
from optim_harness import (STEPS, assert_errors_match, assert_same,  # noqa: E402
                           closure_pair, make_params, optim_db_inputs, set_grads,
                           to_jtorch)
from test_opinfo import KNOWN  # noqa: E402

INPUTS = list(optim_db_inputs())
COMPLEX = sorted({name for name, _, _, info in INPUTS if info.supports_complex})


def _build(name, kwargs, t_params, j_params):
    t_opt = getattr(torch.optim, name)(t_params, **kwargs)
    j_opt = getattr(jtorch.optim, name)(j_params, **to_jtorch(kwargs))
    return t_opt, j_opt


def _run(name, kwargs, info, rng, dtype=np.float32, steps=STEPS):
    if info.step_requires_closure:
        # LBFGS's line search and stopping tests branch on loss differences near float32's
        # rounding, where one ulp changes the path (torch against itself too): compare the
        # algorithm in float64
        dtype = np.complex128 if np.issubdtype(dtype, np.complexfloating) else np.float64
    t_params, j_params = make_params(rng, name, dtype=dtype)
    t_opt, j_opt = _build(name, kwargs, t_params, j_params)
    assert repr(j_opt) == repr(t_opt)
    if info.step_requires_closure:
        t_closure, j_closure = closure_pair(t_opt, j_opt, t_params, j_params, rng)
        steps = 3
    for step in range(steps):
        if step == steps // 2:
            for opt in (t_opt, j_opt):
                for group in opt.param_groups:
                    group["lr"] = group["lr"] * 0.5
        if info.step_requires_closure:
            t_loss, j_loss = t_opt.step(t_closure), j_opt.step(j_closure)
            np.testing.assert_allclose(j_loss.item(), t_loss.item(), rtol=1e-9)
        else:
            set_grads(rng, t_params, j_params)
            t_opt.step()
            j_opt.step()
    assert_same(t_opt, j_opt, t_params, j_params)


@pytest.mark.parametrize("name,desc,kwargs,info", INPUTS,
                         ids=[f"{n}-{d}" for n, d, _, _ in INPUTS])
def test_optim_db_steps_match_torch(name, desc, kwargs, info, request):
    if f"optim:{name}:{desc}" in KNOWN:
        request.applymarker(pytest.mark.xfail(reason="compat/opinfo_known_failures.txt",
                                              strict=True))
    _run(name, kwargs, info, np.random.default_rng(len(desc)))


@pytest.mark.parametrize("name", COMPLEX)
def test_complex_parameters_match_torch(name, request):
    """torch updates a complex parameter as its real view (two real parameters)."""
    if f"optim:{name}:complex" in KNOWN:
        request.applymarker(pytest.mark.xfail(reason="compat/opinfo_known_failures.txt",
                                              strict=True))
    info = next(i for n, _, _, i in INPUTS if n == name)
    _run(name, {}, info, np.random.default_rng(1), dtype=np.complex64, steps=6)


ERRORS = sorted({name for name, _, _, _ in INPUTS})


@pytest.mark.parametrize("name", ERRORS)
def test_optim_db_errors_match_torch(name, request):
    """torch's own error inputs for every optimizer (`optim_error_inputs_func`): the same
    class and message, at construction or at step."""
    if f"optim:{name}:errors" in KNOWN:
        request.applymarker(pytest.mark.xfail(reason="compat/opinfo_known_failures.txt",
                                              strict=True))
    info = next(i for n, _, _, i in INPUTS if n == name)
    assert_errors_match(name, [
        (e.error_on, e.error_type, e.optimizer_error_input.params,
         e.optimizer_error_input.kwargs)
        for e in info.optim_error_inputs_func(device="cpu", dtype=torch.float32)])
