"""torch.optim against torch: the Optimizer base (groups, state_dict format and interchange,
hooks, errors) and each optimizer's steps on the same parameters and gradients."""
from __future__ import annotations

import numpy as np
import pytest

import jtorch

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")

from optim_harness import (STEPS, assert_same, make_params,  # noqa: E402
                           optim_db_inputs, set_grads, to_jtorch, to_np, to_torch)

# option sets optim_db lacks (tests/optim/test_optim_db.py sweeps optim_db's own)
EXTRA = {
    "SGD": [dict(lr=0.05, momentum=0.5, dampening=0.3, maximize=True)],
    "Adam": [dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True),
             dict(lr=0.02, eps=1e-6, maximize=True, decoupled_weight_decay=True,
                  weight_decay=0.05)],
}
EXTRA_IDS = [(name, i) for name, sets in EXTRA.items() for i in range(len(sets))]
# mid-training interchange: every optimizer stepped by gradients, with optim_db's last
# (most option-laden) input
LAST_INPUTS = {name: kwargs for name, _, kwargs, info in optim_db_inputs()
               if not info.step_requires_closure}


def _optimizers(name, kwargs, t_params, j_params):
    return (getattr(torch.optim, name)(t_params, **kwargs),
            getattr(jtorch.optim, name)(j_params, **to_jtorch(kwargs)))


@pytest.mark.parametrize("name,index", EXTRA_IDS, ids=[f"{n}-{i}" for n, i in EXTRA_IDS])
def test_steps_match_torch(name, index):
    rng = np.random.default_rng(index)
    t_params, j_params = make_params(rng)
    t_opt, j_opt = _optimizers(name, EXTRA[name][index], t_params, j_params)
    assert repr(j_opt) == repr(t_opt)
    for step in range(STEPS):
        if step == STEPS // 2:      # a scheduler's change of lr takes effect
            for group in (*t_opt.param_groups, *j_opt.param_groups):
                group["lr"] *= 0.5
        set_grads(rng, t_params, j_params)
        t_opt.step()
        j_opt.step()
    assert_same(t_opt, j_opt, t_params, j_params)


@pytest.mark.parametrize("name", sorted(LAST_INPUTS))
def test_state_dict_interchange_mid_training(name):
    options = LAST_INPUTS[name]
    rng = np.random.default_rng(10)
    t_params, j_params = make_params(rng, name)
    t_opt, j_opt = _optimizers(name, options, t_params, j_params)
    for _ in range(5):
        set_grads(rng, t_params, j_params)
        t_opt.step()
    # torch -> jtorch: jtorch's parameters take torch's values, its optimizer torch's state
    with jtorch.no_grad():
        for tp, jp in zip(t_params, j_params):
            jp.copy_(jtorch.tensor(to_np(tp)))
    j_opt.load_state_dict(to_jtorch(t_opt.state_dict()))
    for _ in range(5):
        set_grads(rng, t_params, j_params)
        t_opt.step()
        j_opt.step()
    assert_same(t_opt, j_opt, t_params, j_params)
    # jtorch -> torch: a fresh torch optimizer resumes from jtorch's state
    t_params2 = [torch.nn.Parameter(torch.tensor(to_np(p))) for p in j_params]
    t_opt2 = getattr(torch.optim, name)(t_params2, **options)
    t_opt2.load_state_dict(to_torch(j_opt.state_dict()))
    for _ in range(3):
        set_grads(rng, t_params2, j_params)
        t_opt2.step()
        j_opt.step()
    assert_same(t_opt2, j_opt, t_params2, j_params)


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
    np.testing.assert_allclose(to_np(p), 1 - 0.1 - 0.5, rtol=1e-6)


def test_step_writes_in_place_through_views_and_tied_weights():
    """The update lands in the parameter's storage: views taken before the step, and a
    weight shared by two modules, see it; a parameter without a gradient is left alone."""
    results = []
    for T in (torch, jtorch):
        T.manual_seed(0)
        emb = T.nn.Embedding(4, 3)
        head = T.nn.Linear(3, 4, bias=False)
        head.weight = emb.weight                        # tied
        frozen = T.nn.Parameter(T.ones(2))
        row = emb.weight[1]                             # a view taken before the step
        with T.no_grad():
            emb.weight.copy_(T.arange(12.0).reshape(4, 3) / 8)
        with pytest.warns(UserWarning, match="duplicate parameters"):   # updated twice
            opt = T.optim.Adam([*emb.parameters(), *head.parameters(), frozen], lr=0.1)
        head(emb(T.tensor([0, 1, 1]))).pow(2).sum().backward()
        opt.step()
        results.append([to_np(row), to_np(head.weight), to_np(frozen),
                        len(opt.state), row._base is emb.weight])
    for mine, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)


def test_swap_in_optimizer_params_and_state():
    """A step inside the context acts on the swapped-in parameters and state (its tensors
    updated in place, hyper-parameters from the swapped-in groups); the live optimizer,
    parameters and state come back unchanged."""
    results = []
    for T in (torch, jtorch):
        model = T.nn.Linear(3, 2)
        with T.no_grad():
            model.weight.copy_(T.arange(6.0).reshape(2, 3) / 10)
            model.bias.fill_(0.5)
        opt = T.optim.Adam(model.parameters(), lr=0.1)
        model(T.ones(1, 3)).sum().backward()
        opt.step()
        saved = opt.state_dict()
        swap_state = {"state": {k: {n: v.clone() for n, v in s.items()}
                                for k, s in saved["state"].items()},
                      "param_groups": [dict(g, lr=0.01) for g in saved["param_groups"]]}
        swap_params = {n: p.detach().clone() for n, p in model.named_parameters()}
        for p in swap_params.values():
            p.grad = T.ones_like(p)
        params_before = [p.detach().clone() for p in model.parameters()]
        live_params_list = opt.param_groups[0]["params"]
        with T.optim.swap_in_optimizer_params_and_state(opt, swap_params, swap_state):
            opt.step()
        assert opt.param_groups[0]["lr"] == 0.1
        assert opt.param_groups[0]["params"] is live_params_list
        assert all(bool((a == b).all()) for a, b in zip(params_before, model.parameters()))
        with pytest.raises(RuntimeError, match="different number of parameter groups"):
            with T.optim.swap_in_optimizer_params_and_state(
                    opt, swap_params, dict(swap_state, param_groups=[])):
                pass
        results.append([to_np(p) for p in swap_params.values()]
                       + [to_np(v) for s in swap_state["state"].values() for v in s.values()])
    for mine, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)


def test_every_torch_optim_name_is_here_or_refused_by_name():
    """torch.optim's public names exist with torch's parameters (names, kinds, defaults);
    SparseAdam, which needs sparse gradients, is refused with an AttributeError naming it."""
    import inspect

    def params(obj):
        return [(p.name, p.kind, p.default) for p in inspect.signature(obj).parameters.values()]
    for name in torch.optim.__all__:
        if name == "SparseAdam":
            with pytest.raises(AttributeError, match="SparseAdam"):
                getattr(jtorch.optim, name)
            continue
        ours = getattr(jtorch.optim, name)
        if callable(ours):
            assert params(ours) == params(getattr(torch.optim, name)), name
