"""torch.optim against torch: the Optimizer base (groups, state_dict format and interchange,
hooks, errors) and each optimizer's steps on the same parameters and gradients."""
from __future__ import annotations

import numpy as np
import pytest

import jtorch

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (4,), ()]
STEPS = 20

# optimizer name -> option sets (each compared over STEPS steps)
CASES = {
    "SGD": [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.05, momentum=0.9,
                                                            nesterov=True, weight_decay=0.01),
            dict(lr=0.05, momentum=0.5, dampening=0.3, maximize=True)],
    "Adam": [dict(lr=0.01), dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True),
             dict(lr=0.02, eps=1e-6, maximize=True, decoupled_weight_decay=True,
                  weight_decay=0.05)],
    "AdamW": [dict(lr=0.01), dict(lr=0.01, amsgrad=True, weight_decay=0.2)],
}
IDS = [(name, i) for name, sets in CASES.items() for i in range(len(sets))]


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.array(t.detach()._value)


def _pair(rng):
    values = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    return ([torch.nn.Parameter(torch.tensor(v)) for v in values],
            [jtorch.nn.Parameter(jtorch.tensor(v)) for v in values])


def _set_grads(rng, t_params, j_params):
    for tp, jp in zip(t_params, j_params):
        g = rng.standard_normal(tuple(tp.shape)).astype(np.float32)
        tp.grad, jp.grad = torch.tensor(g), jtorch.tensor(g)


def _to_jtorch(value):
    if isinstance(value, torch.Tensor):
        return jtorch.tensor(value.detach().numpy())
    if isinstance(value, dict):
        return {k: _to_jtorch(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_jtorch(v) for v in value]
    return value


def _to_torch(value):
    if isinstance(value, jtorch.Tensor):
        return torch.tensor(_np(value))
    if isinstance(value, dict):
        return {k: _to_torch(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_torch(v) for v in value]
    return value


def _assert_same(t_opt, j_opt, t_params, j_params):
    for tp, jp in zip(t_params, j_params):
        np.testing.assert_allclose(_np(jp), _np(tp), rtol=1e-5, atol=1e-6)
    ts, js = t_opt.state_dict(), j_opt.state_dict()
    assert js["param_groups"] == ts["param_groups"]
    assert list(js["state"]) == list(ts["state"])
    for k, t_state in ts["state"].items():
        assert list(js["state"][k]) == list(t_state)
        for name, value in t_state.items():
            np.testing.assert_allclose(_np(js["state"][k][name]), _np(value), rtol=1e-5,
                                       atol=1e-6, err_msg=name)


@pytest.mark.parametrize("name,index", IDS, ids=[f"{n}-{i}" for n, i in IDS])
def test_steps_match_torch(name, index):
    options = CASES[name][index]
    rng = np.random.default_rng(index)
    t_params, j_params = _pair(rng)
    t_opt = getattr(torch.optim, name)(t_params, **options)
    j_opt = getattr(jtorch.optim, name)(j_params, **options)
    assert repr(j_opt) == repr(t_opt)
    for step in range(STEPS):
        if step == STEPS // 2:      # a scheduler's change of lr takes effect
            for group in (*t_opt.param_groups, *j_opt.param_groups):
                group["lr"] *= 0.5
        _set_grads(rng, t_params, j_params)
        t_opt.step()
        j_opt.step()
    _assert_same(t_opt, j_opt, t_params, j_params)


@pytest.mark.parametrize("name,index", IDS, ids=[f"{n}-{i}" for n, i in IDS])
def test_state_dict_interchange_mid_training(name, index):
    options = CASES[name][index]
    rng = np.random.default_rng(10 + index)
    t_params, j_params = _pair(rng)
    t_opt = getattr(torch.optim, name)(t_params, **options)
    j_opt = getattr(jtorch.optim, name)(j_params, **options)
    for _ in range(5):
        _set_grads(rng, t_params, j_params)
        t_opt.step()
    # torch -> jtorch: jtorch's parameters take torch's values, its optimizer torch's state
    with jtorch.no_grad():
        for tp, jp in zip(t_params, j_params):
            jp.copy_(jtorch.tensor(_np(tp)))
    j_opt.load_state_dict(_to_jtorch(t_opt.state_dict()))
    for _ in range(5):
        _set_grads(rng, t_params, j_params)
        t_opt.step()
        j_opt.step()
    _assert_same(t_opt, j_opt, t_params, j_params)
    # jtorch -> torch: a fresh torch optimizer resumes from jtorch's state
    t_params2 = [torch.nn.Parameter(torch.tensor(_np(p))) for p in j_params]
    t_opt2 = getattr(torch.optim, name)(t_params2, **options)
    t_opt2.load_state_dict(_to_torch(j_opt.state_dict()))
    for _ in range(3):
        _set_grads(rng, t_params2, j_params)
        t_opt2.step()
        j_opt.step()
    _assert_same(t_opt2, j_opt, t_params2, j_params)


def test_groups_hooks_closure_zero_grad():
    for T in (torch, jtorch):
        a, b = T.nn.Parameter(T.ones(2)), T.nn.Parameter(T.ones(3))
        opt = T.optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
        log = []
        opt.register_step_pre_hook(lambda o, args, kwargs: log.append("pre"))
        h = opt.register_step_post_hook(lambda o, args, kwargs: log.append("post"))

        def closure():
            opt.zero_grad()
            loss = (a * 2).sum() + (b ** 2).sum()
            loss.backward()
            return loss
        loss = opt.step(closure)
        h.remove()
        opt.step(closure)
        assert loss.item() == 7.0 and log == ["pre", "post", "pre"]
        assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
        opt.zero_grad(set_to_none=False)
        assert a.grad is not None and float(a.grad.abs().sum()) == 0
        opt.zero_grad()
        assert a.grad is None


@pytest.mark.parametrize("case", ["empty", "tensor", "set", "overlap", "non_leaf", "lr",
                                  "nesterov", "groups", "group_size"])
def test_errors_match_torch(case):
    def run(T):
        p, q = T.nn.Parameter(T.ones(2)), T.nn.Parameter(T.ones(2))
        if case == "empty":
            T.optim.SGD([], lr=0.1)
        elif case == "tensor":
            T.optim.SGD(p, lr=0.1)
        elif case == "set":
            T.optim.SGD([{"params": {p}}], lr=0.1)
        elif case == "overlap":
            T.optim.SGD([{"params": [p]}, {"params": [p, q]}], lr=0.1)
        elif case == "non_leaf":
            T.optim.SGD([p * 2], lr=0.1)
        elif case == "lr":
            T.optim.SGD([p], lr=-1)
        elif case == "nesterov":
            T.optim.SGD([p], lr=0.1, nesterov=True)
        elif case == "groups":
            T.optim.SGD([p], lr=0.1).load_state_dict(
                T.optim.SGD([{"params": [p]}, {"params": [q]}], lr=0.1).state_dict())
        elif case == "group_size":
            T.optim.SGD([p], lr=0.1).load_state_dict(T.optim.SGD([p, q], lr=0.1).state_dict())

    errors = []
    for T in (torch, jtorch):
        with pytest.raises(Exception) as info:
            run(T)
        errors.append((type(info.value), str(info.value)))
    assert errors[1][0] is errors[0][0]
    if errors[0][0] is not TypeError:       # torch.typename names differ
        assert errors[1][1] == errors[0][1]


def test_tensor_lr_changes_without_recompiling():
    p = jtorch.nn.Parameter(jtorch.ones(3))
    lr = jtorch.tensor(0.1)
    opt = jtorch.optim.SGD([p], lr=lr)
    p.grad = jtorch.ones(3)
    opt.step()
    lr.fill_(0.5)
    opt.step()
    np.testing.assert_allclose(_np(p), 1 - 0.1 - 0.5, rtol=1e-6)
