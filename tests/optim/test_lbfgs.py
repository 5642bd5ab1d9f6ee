"""torch.optim.LBFGS against torch, what tests/optim/test_optim_db.py misses: argument
errors and signature, every loss evaluation and the state after several steps on Rosenbrock
and least-squares problems (both line searches, a history shorter than the iterations,
complex parameters, a tensor lr), and state_dict interchange mid-training.

Most runs are in float64: L-BFGS feeds rounding back through its history, so float32 runs
agree to float32 tolerance only while far from convergence (one float32 run checks the
state's dtypes)."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import jtorch

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")

from optim_harness import assert_same, to_jtorch, to_np, to_torch

START = np.array([-1.2, 1.0, -0.5, 0.8, 0.3, -0.7])
MATRIX = np.random.default_rng(0).standard_normal((8, 6))
TARGET = np.random.default_rng(1).standard_normal(8)


def rosenbrock(T, x):
    a, b = x[0::2], x[1::2]
    return (100 * (b - a * a) * (b - a * a) + (1 - a) * (1 - a)).sum()


def least_squares(T, x):
    r = (T.tensor(MATRIX, dtype=x.dtype) * x).sum(1) - T.tensor(TARGET, dtype=x.dtype)
    return (r * r).sum()


def _params(T, dtype):
    """Two real parameters, or three complex ones, holding START's six numbers."""
    if dtype == "complex128":
        return [T.nn.Parameter(T.tensor(START[0::2] + 1j * START[1::2]))]
    dtype = getattr(T, dtype)
    return [T.nn.Parameter(T.tensor(START[:4].reshape(2, 2), dtype=dtype)),
            T.nn.Parameter(T.tensor(START[4:], dtype=dtype))]


def _closure(T, opt, params, loss_fn, losses):
    def closure():
        opt.zero_grad()
        x = T.cat([T.view_as_real(p).reshape(-1) if p.is_complex() else p.reshape(-1)
                   for p in params])
        loss = loss_fn(T, x)
        loss.backward()
        losses.append(float(loss.detach()))
        return loss
    return closure


def _kind(value):
    if isinstance(value, (torch.Tensor, jtorch.Tensor)):
        return "Tensor"
    if isinstance(value, list):
        return [_kind(v) for v in value]
    return type(value).__name__


def _assert_same_state(t_opt, j_opt, t_params, j_params, rtol=1e-5, atol=1e-6):
    """assert_same, plus each state entry of the same kind (tensor, int, float, list)."""
    assert_same(t_opt, j_opt, t_params, j_params, rtol=rtol, atol=atol)
    t_state, j_state = t_opt.state[t_params[0]], j_opt.state[j_params[0]]
    assert {k: _kind(v) for k, v in j_state.items()} == \
        {k: _kind(v) for k, v in t_state.items()}


class _Pair:
    """The same problem and LBFGS options in torch and jtorch; `losses` records every
    closure evaluation."""

    def __init__(self, loss_fn, dtype, **options):
        self.t_params, self.j_params = _params(torch, dtype), _params(jtorch, dtype)
        self.t_opt = torch.optim.LBFGS(self.t_params, **options)
        self.j_opt = jtorch.optim.LBFGS(self.j_params, **to_jtorch(options))
        self.t_losses, self.j_losses = [], []
        self.t_closure = _closure(torch, self.t_opt, self.t_params, loss_fn, self.t_losses)
        self.j_closure = _closure(jtorch, self.j_opt, self.j_params, loss_fn, self.j_losses)

    def steps(self, count, rtol, atol=0.0):
        for _ in range(count):
            t_loss = self.t_opt.step(self.t_closure)
            j_loss = self.j_opt.step(self.j_closure)
            np.testing.assert_allclose(float(j_loss), float(t_loss.detach()), rtol=rtol,
                                       atol=atol)
        # the same evaluations: same iteration and line-search counts, same losses
        assert len(self.j_losses) == len(self.t_losses)
        np.testing.assert_allclose(self.j_losses, self.t_losses, rtol=rtol, atol=atol)


WOLFE = {"line_search_fn": "strong_wolfe"}
# name: (loss, dtype, LBFGS options); the histories are shorter than the iterations
RUNS = {
    "rosenbrock-fixed-step-history-3":
        (rosenbrock, "float64", {"lr": 0.5, "max_iter": 8, "history_size": 3}),
    "rosenbrock-wolfe-history-3":
        (rosenbrock, "float64", {"max_iter": 8, "history_size": 3, **WOLFE}),
    "least-squares-fixed-step": (least_squares, "float64", {"max_iter": 10}),
    "least-squares-wolfe-history-2": (least_squares, "float64", {"history_size": 2, **WOLFE}),
    "rosenbrock-complex-wolfe":
        (rosenbrock, "complex128", {"max_iter": 6, "history_size": 4, **WOLFE}),
    "least-squares-float32-wolfe":
        (least_squares, "float32", {"max_iter": 3, "history_size": 2, **WOLFE}),
}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_runs_match_torch(name):
    loss_fn, dtype, options = RUNS[name]
    pair = _Pair(loss_fn, dtype, **options)
    float32 = dtype == "float32"
    pair.steps(1 if float32 else 4, *((1e-5, 1e-6) if float32 else (1e-9, 0.0)))
    _assert_same_state(pair.t_opt, pair.j_opt, pair.t_params, pair.j_params,
                       *((1e-5, 1e-6) if float32 else (1e-8, 1e-10)))


def test_tensor_lr_is_kept_as_the_step():
    """torch's `t = lr` keeps the group's lr tensor itself in state["t"]."""
    pair = _Pair(rosenbrock, "float64", lr=torch.tensor(0.5, dtype=torch.float64),
                 max_iter=4, history_size=3)
    pair.steps(2, rtol=1e-9)
    _assert_same_state(pair.t_opt, pair.j_opt, pair.t_params, pair.j_params, 1e-8, 1e-10)
    assert pair.t_opt.state[pair.t_params[0]]["t"] is pair.t_opt.param_groups[0]["lr"]
    assert pair.j_opt.state[pair.j_params[0]]["t"] is pair.j_opt.param_groups[0]["lr"]


def test_state_dict_interchange_mid_training():
    options = {"max_iter": 5, "history_size": 3, "line_search_fn": "strong_wolfe"}
    pair = _Pair(rosenbrock, "float64", **options)
    pair.t_opt.step(pair.t_closure)
    # torch -> jtorch: jtorch's parameters take torch's values, its optimizer torch's state
    with jtorch.no_grad():
        for tp, jp in zip(pair.t_params, pair.j_params):
            jp.copy_(jtorch.tensor(to_np(tp)))
    pair.j_opt.load_state_dict(to_jtorch(pair.t_opt.state_dict()))
    pair.t_losses.clear()
    pair.steps(2, rtol=1e-9)
    _assert_same_state(pair.t_opt, pair.j_opt, pair.t_params, pair.j_params, 1e-8, 1e-10)
    # jtorch -> torch: a fresh torch optimizer resumes from jtorch's state
    t_params = [torch.nn.Parameter(torch.tensor(to_np(p))) for p in pair.j_params]
    t_opt = torch.optim.LBFGS(t_params, **options)
    t_opt.load_state_dict(to_torch(pair.j_opt.state_dict()))
    pair.t_params, pair.t_opt = t_params, t_opt
    pair.t_closure = _closure(torch, t_opt, t_params, rosenbrock, pair.t_losses)
    pair.t_losses.clear()
    pair.j_losses.clear()
    pair.steps(2, rtol=1e-9)
    _assert_same_state(t_opt, pair.j_opt, t_params, pair.j_params, 1e-8, 1e-10)


def test_signature_matches_torch():
    for name in ("__init__", "step"):
        mine = inspect.signature(getattr(jtorch.optim.LBFGS, name)).parameters
        theirs = inspect.signature(getattr(torch.optim.LBFGS, name)).parameters
        assert [(p.name, p.kind, p.default) for p in mine.values()] == \
            [(p.name, p.kind, p.default) for p in theirs.values()]


def _error(T, make):
    with pytest.raises(Exception) as info:
        make(T)
    return type(info.value).__name__, str(info.value)


@pytest.mark.parametrize("case", ["negative lr", "two-element lr", "two groups",
                                  "no closure", "unknown line search"])
def test_errors_match_torch(case):
    def make(T):
        a, b = T.nn.Parameter(T.ones(2)), T.nn.Parameter(T.ones(3))
        if case == "negative lr":
            T.optim.LBFGS([a], lr=-1.0)
        elif case == "two-element lr":
            T.optim.LBFGS([a], lr=T.tensor([0.1, 0.2]))
        elif case == "two groups":
            T.optim.LBFGS([{"params": [a]}, {"params": [b], "lr": 0.1}])
        else:
            opt = T.optim.LBFGS([a], line_search_fn="cubic")
            if case == "no closure":
                opt.step()

            def closure():
                opt.zero_grad()
                loss = (a * a).sum()
                loss.backward()
                return loss
            opt.step(closure)
    assert _error(jtorch, make) == _error(torch, make)
