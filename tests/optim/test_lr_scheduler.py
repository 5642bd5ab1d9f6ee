"""jtorch.optim.lr_scheduler against torch: every scheduler's lr (and momentum or betas)
sequence, get_last_lr, state_dict and the reload of torch's state_dict, the signatures,
the warnings and the errors."""
from __future__ import annotations

import copy
import inspect
import math
import warnings

import pytest

import jtorch

torch = pytest.importorskip("torch")

STEPS = 100
RELOAD_AT = 50


def _half_every_10(epoch):
    return 0.5 ** (epoch // 10)


def _shrink(epoch):
    return 0.95


class Power:
    """A callable object: torch saves its __dict__ in the state_dict, plain functions not."""

    def __init__(self, base):
        self.base = base

    def __call__(self, x):
        return self.base ** (x % 7)


def _sgd(lib, lr=(0.1, 0.05)):
    # no gradients: step() updates nothing but still counts as a call (call-order checks)
    params = [lib.nn.Parameter(lib.ones(3)), lib.nn.Parameter(lib.ones(2))]
    return lib.optim.SGD([{"params": [params[0]], "lr": lr[0]},
                          {"params": [params[1]], "lr": lr[1]}], lr=0.3, momentum=0.9)


def _sgd_resumed(lib):
    """Groups that carry `initial_lr`, as a resumed run's do (schedulers built with
    last_epoch >= 0 require it)."""
    opt = _sgd(lib)
    for group, initial in zip(opt.param_groups, (0.2, 0.07)):
        group["initial_lr"] = initial
    return opt


def _adam(lib):
    params = [lib.nn.Parameter(lib.ones(3)), lib.nn.Parameter(lib.ones(2))]
    return lib.optim.Adam([{"params": [params[0]]},
                           {"params": [params[1]], "lr": 0.02, "betas": (0.8, 0.99)}], lr=0.1)


def _plain(lib):
    """An optimizer without momentum or betas (CyclicLR and OneCycleLR refuse it)."""
    cls = type("Plain", (lib.optim.Optimizer,), {"step": lambda self, closure=None: None})
    return cls([lib.nn.Parameter(lib.ones(2))], {"lr": 0.1})


def simple(name, **kwargs):
    return lambda m, opt: getattr(m, name)(opt, **kwargs)


def _sequential(m, opt):
    return m.SequentialLR(opt, [m.LinearLR(opt, start_factor=0.1, total_iters=10),
                                m.CosineAnnealingLR(opt, T_max=40)], milestones=[10])


def _sequential3(m, opt):
    return m.SequentialLR(opt, [m.ConstantLR(opt, factor=0.5, total_iters=3),
                                m.ExponentialLR(opt, gamma=0.9),
                                m.StepLR(opt, step_size=4)], milestones=[5, 30])


def _chained(m, opt):
    return m.ChainedScheduler([m.ConstantLR(opt, factor=0.5, total_iters=10),
                               m.ExponentialLR(opt, gamma=0.95)])


def _chained_opt(m, opt):
    return m.ChainedScheduler([m.LinearLR(opt, total_iters=20),
                               m.MultiStepLR(opt, milestones=[30, 60])], optimizer=opt)


# (test id, optimizer, scheduler builder over a lr_scheduler module, steps with a metric)
CASES = [
    ("LambdaLR-fn", _sgd, simple("LambdaLR", lr_lambda=_half_every_10), False),
    ("LambdaLR-list", _sgd, simple("LambdaLR", lr_lambda=[_half_every_10, Power(0.9)]),
     False),
    ("MultiplicativeLR-fn", _sgd, simple("MultiplicativeLR", lr_lambda=_shrink), False),
    ("MultiplicativeLR-list", _sgd,
     simple("MultiplicativeLR", lr_lambda=[_shrink, Power(0.99)]), False),
    ("StepLR", _sgd, simple("StepLR", step_size=7, gamma=0.5), False),
    ("StepLR-default", _sgd, simple("StepLR", step_size=3), False),
    ("MultiStepLR", _sgd, simple("MultiStepLR", milestones=[10, 30, 30, 80], gamma=0.5),
     False),
    ("MultiStepLR-default", _sgd, simple("MultiStepLR", milestones=[5, 50]), False),
    ("ConstantLR", _sgd, simple("ConstantLR"), False),
    ("ConstantLR-long", _sgd, simple("ConstantLR", factor=0.5, total_iters=20), False),
    ("LinearLR", _sgd, simple("LinearLR"), False),
    ("LinearLR-down", _sgd,
     simple("LinearLR", start_factor=1.0, end_factor=0.0, total_iters=50), False),
    ("LinearLR-mid", _sgd,
     simple("LinearLR", start_factor=0.1, end_factor=0.9, total_iters=40), False),
    ("ExponentialLR", _sgd, simple("ExponentialLR", gamma=0.97), False),
    ("PolynomialLR", _sgd, simple("PolynomialLR"), False),
    ("PolynomialLR-pow", _sgd, simple("PolynomialLR", total_iters=60, power=2.0), False),
    ("CosineAnnealingLR", _sgd, simple("CosineAnnealingLR", T_max=30), False),
    ("CosineAnnealingLR-eta", _sgd,
     simple("CosineAnnealingLR", T_max=17, eta_min=0.001), False),
    ("SequentialLR", _sgd, _sequential, False),
    ("SequentialLR-3", _sgd, _sequential3, False),
    ("ChainedScheduler", _sgd, _chained, False),
    ("ChainedScheduler-opt", _sgd, _chained_opt, False),
    ("ReduceLROnPlateau", _sgd, simple("ReduceLROnPlateau", patience=3), True),
    ("ReduceLROnPlateau-max", _sgd,
     simple("ReduceLROnPlateau", mode="max", threshold_mode="abs", threshold=0.01,
            cooldown=2, patience=2, min_lr=[0.001, 0.002]), True),
    ("ReduceLROnPlateau-eps", _sgd,
     simple("ReduceLROnPlateau", factor=0.5, patience=0, eps=0.01, min_lr=0.01), True),
    ("CyclicLR", _sgd, simple("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=7), False),
    ("CyclicLR-tri2-adam", _adam,
     simple("CyclicLR", base_lr=[0.01, 0.02], max_lr=0.2, step_size_up=5, step_size_down=9,
            mode="triangular2"), False),
    ("CyclicLR-exp", _sgd,
     simple("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=6, mode="exp_range",
            gamma=0.97, base_momentum=[0.7, 0.75], max_momentum=0.95), False),
    ("CyclicLR-fn", _sgd,
     simple("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=4, scale_fn=Power(0.9),
            scale_mode="iterations", cycle_momentum=False), False),
    ("CosineAnnealingWarmRestarts", _sgd, simple("CosineAnnealingWarmRestarts", T_0=10),
     False),
    ("CosineAnnealingWarmRestarts-mult", _sgd,
     simple("CosineAnnealingWarmRestarts", T_0=5, T_mult=2, eta_min=0.01), False),
    ("StepLR-resumed", _sgd_resumed, simple("StepLR", step_size=4, last_epoch=9), False),
    ("LinearLR-resumed", _sgd_resumed, simple("LinearLR", total_iters=20, last_epoch=3),
     False),
    ("CosineAnnealingLR-resumed", _sgd_resumed,
     simple("CosineAnnealingLR", T_max=12, eta_min=0.01, last_epoch=5), False),
    ("CosineAnnealingWarmRestarts-resumed", _sgd_resumed,
     simple("CosineAnnealingWarmRestarts", T_0=4, T_mult=3, last_epoch=2), False),
    ("CyclicLR-resumed", _sgd_resumed,
     simple("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=5, last_epoch=7), False),
    ("OneCycleLR", _sgd, simple("OneCycleLR", max_lr=0.5, total_steps=STEPS), False),
    ("OneCycleLR-linear-adam", _adam,
     simple("OneCycleLR", max_lr=[0.5, 0.3], epochs=10, steps_per_epoch=10,
            anneal_strategy="linear", pct_start=0.25), False),
    ("OneCycleLR-three", _adam,
     simple("OneCycleLR", max_lr=0.4, total_steps=120, three_phase=True, div_factor=10.0,
            final_div_factor=100.0, base_momentum=0.8, max_momentum=[0.9, 0.92]), False),
    ("OneCycleLR-nomomentum", _sgd,
     simple("OneCycleLR", max_lr=0.5, total_steps=STEPS, cycle_momentum=False), False),
]

# a metric that improves, stalls, then jitters (drives ReduceLROnPlateau both ways)
METRICS = [1.0 / (1 + i) for i in range(20)] + [0.05 + 0.01 * (i % 4) for i in range(80)]


def value(x):
    """A scheduler value as plain Python (tensors to floats), recursively."""
    if isinstance(x, (torch.Tensor, jtorch.Tensor)):
        return float(x)
    if isinstance(x, dict):
        return {k: value(v) for k, v in x.items()}
    if isinstance(x, list):
        return [value(v) for v in x]
    if isinstance(x, tuple):
        return tuple(value(v) for v in x)
    return x


def assert_close(got, want, where=""):
    """Equal, floats to 1e-12 relative (both sides compute in Python floats)."""
    got, want = value(got), value(want)
    if isinstance(want, float) and isinstance(got, (int, float)):
        assert got == want or math.isclose(got, want, rel_tol=1e-12), (where, got, want)
    elif isinstance(want, dict):
        assert set(got) == set(want), (where, sorted(got), sorted(want))
        for k in want:
            assert_close(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want), (where, got, want)
        for i, (g, w) in enumerate(zip(got, want)):
            assert_close(g, w, f"{where}[{i}]")
    else:
        assert got == want, (where, got, want)


def hyper(opt):
    return [{k: g.get(k) for k in ("lr", "momentum", "betas", "initial_lr")}
            for g in opt.param_groups]


def step(opt, sched, metric, i):
    opt.step()
    if metric:
        sched.step(METRICS[i])
    else:
        sched.step()


@pytest.mark.parametrize("make_opt,build,metric", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_schedule_matches_torch(make_opt, build, metric):
    t_opt, j_opt = make_opt(torch), make_opt(jtorch)
    t_sched = build(torch.optim.lr_scheduler, t_opt)
    j_sched = build(jtorch.optim.lr_scheduler, j_opt)
    assert_close(hyper(j_opt), hyper(t_opt), "init")
    assert_close(j_sched.get_last_lr(), t_sched.get_last_lr(), "init")
    resumed = None
    for i in range(STEPS):
        if i == RELOAD_AT:
            # a fresh jtorch scheduler from torch's mid-way state_dicts continues equal
            r_opt = make_opt(jtorch)
            resumed = (r_opt, build(jtorch.optim.lr_scheduler, r_opt))
            r_opt.load_state_dict(copy.deepcopy(t_opt.state_dict()))
            resumed[1].load_state_dict(copy.deepcopy(t_sched.state_dict()))
        step(t_opt, t_sched, metric, i)
        for opt, sched in [(j_opt, j_sched)] + ([resumed] if resumed else []):
            step(opt, sched, metric, i)
            assert_close(hyper(opt), hyper(t_opt), f"step {i}")
            assert_close(sched.get_last_lr(), t_sched.get_last_lr(), f"step {i}")
    assert_close(j_sched.state_dict(), t_sched.state_dict(), "state_dict")


def test_lambda_state_dict_keeps_callable_objects():
    lambdas = [_half_every_10, Power(0.9)]
    saved = jtorch.optim.lr_scheduler.LambdaLR(_sgd(jtorch), lambdas).state_dict()
    assert saved["lr_lambdas"] == [None, {"base": 0.9}]
    saved["lr_lambdas"][1] = {"base": 0.5}
    other = Power(0.9)
    jtorch.optim.lr_scheduler.LambdaLR(_sgd(jtorch), [_half_every_10, other]) \
        .load_state_dict(saved)
    assert other.base == 0.5 and "lr_lambdas" in saved


@pytest.mark.parametrize("name", ["StepLR", "ExponentialLR", "CosineAnnealingLR"])
def test_tensor_lr_is_filled_in_place(name):
    kwargs = {"StepLR": dict(step_size=2), "ExponentialLR": dict(gamma=0.9),
              "CosineAnnealingLR": dict(T_max=5)}[name]
    results = []
    for lib in (torch, jtorch):
        lr = lib.tensor(0.1)
        opt = lib.optim.SGD([lib.nn.Parameter(lib.ones(2))], lr=lr)
        sched = getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)
        seq = []
        for _ in range(6):
            opt.step()
            sched.step()
            last = sched.get_last_lr()[0]
            assert opt.param_groups[0]["lr"] is lr and isinstance(last, lib.Tensor)
            assert last is not lr
            seq.append(float(last))
        results.append(seq + [float(opt.param_groups[0]["initial_lr"])])
    assert results[0] == results[1]


def test_signatures_and_all():
    t_mod, j_mod = torch.optim.lr_scheduler, jtorch.optim.lr_scheduler
    assert sorted(j_mod.__all__) == sorted(t_mod.__all__)
    for name in t_mod.__all__ + ["_LRScheduler"]:
        t_cls, j_cls = getattr(t_mod, name), getattr(j_mod, name)
        assert inspect.signature(j_cls) == inspect.signature(t_cls), name
        assert issubclass(j_cls, j_mod.LRScheduler)
        for method in ("step", "get_last_lr", "state_dict", "load_state_dict"):
            t_sig = inspect.signature(getattr(t_cls, method))
            j_sig = inspect.signature(getattr(j_cls, method))
            assert list(j_sig.parameters) == list(t_sig.parameters), (name, method)


def _caught(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [(w.category, str(w.message)) for w in caught]


def _scheduler_first(lib):
    opt = _sgd(lib)
    sched = lib.optim.lr_scheduler.StepLR(opt, 3)
    sched.step()
    opt.step()
    return sched


def _overridden_step(lib):
    opt = _sgd(lib)
    sched = lib.optim.lr_scheduler.ExponentialLR(opt, 0.9)
    opt.step = lambda closure=None: None
    opt.step()
    sched.step()


def _right_order(lib):
    opt = _adam(lib)
    scheds = [lib.optim.lr_scheduler.OneCycleLR(opt, 0.5, total_steps=10),
              lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)]
    for _ in range(3):
        opt.step()
        for s in scheds:
            s.step()


def _get_lr_outside_step(lib):
    for name, kwargs in [("StepLR", dict(step_size=3)), ("OneCycleLR", dict(max_lr=0.3,
                         total_steps=10)), ("LambdaLR", dict(lr_lambda=_half_every_10))]:
        getattr(lib.optim.lr_scheduler, name)(_sgd(lib), **kwargs).get_lr()


def _epoch_argument(lib):
    opt = _sgd(lib)
    scheds = [lib.optim.lr_scheduler.StepLR(opt, 3), lib.optim.lr_scheduler.LinearLR(opt)]
    opt.step()
    for s in scheds:
        s.step(7)
    plateau = lib.optim.lr_scheduler.ReduceLROnPlateau(opt)
    plateau.step(1.0, epoch=3)
    restarts = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2)
    restarts.step(10.5)
    assert plateau.last_epoch == 3 and restarts.last_epoch == 10
    return [g["lr"] for g in opt.param_groups] + [restarts.T_cur, restarts.T_i]


@pytest.mark.parametrize("scenario", [_scheduler_first, _overridden_step, _right_order,
                                      _get_lr_outside_step, _epoch_argument],
                         ids=lambda f: f.__name__.strip("_"))
def test_warnings_match_torch(scenario):
    results = {}
    t_warnings = _caught(lambda: results.setdefault("torch", scenario(torch)))
    j_warnings = _caught(lambda: results.setdefault("jtorch", scenario(jtorch)))
    assert j_warnings == t_warnings
    if isinstance(results["torch"], list):
        assert_close(results["jtorch"], results["torch"])


def _err(builder, make_opt=_sgd, steps=0, nested=False):
    def run(lib):
        opt = make_opt(lib)
        before = copy.deepcopy(hyper(opt))
        try:
            sched = builder(lib.optim.lr_scheduler, opt)
        except Exception:
            # DESIGN.md 12: a refused scheduler leaves the optimizer as it was (nested
            # schedulers built before the refusal did set initial_lr)
            assert lib is torch or nested or hyper(opt) == before
            raise
        for _ in range(steps):
            sched.step()
    return run


def _plateau_new_group(lib):
    opt = _sgd(lib)
    sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, min_lr=[0.0, 0.0])
    opt.add_param_group({"params": [lib.nn.Parameter(lib.ones(1))]})
    sched.step(1.0)
    sched.step(2.0)


ERRORS = {
    "not-an-optimizer": lambda lib: lib.optim.lr_scheduler.StepLR(object(), 3),
    "resume-without-initial_lr": _err(simple("StepLR", step_size=3, last_epoch=4)),
    "lambda-count": _err(simple("LambdaLR", lr_lambda=[_shrink])),
    "multiplicative-not-callable": _err(simple("MultiplicativeLR", lr_lambda=[1, 2])),
    "constant-factor": _err(simple("ConstantLR", factor=1.5)),
    "linear-start": _err(simple("LinearLR", start_factor=0)),
    "linear-end": _err(simple("LinearLR", end_factor=1.5)),
    "sequential-empty": _err(lambda m, opt: m.SequentialLR(opt, [], [])),
    "sequential-milestones": _err(lambda m, opt: m.SequentialLR(
        opt, [m.StepLR(opt, 3), m.StepLR(opt, 4)], milestones=[]), nested=True),
    "sequential-plateau": _err(lambda m, opt: m.SequentialLR(
        opt, [m.StepLR(opt, 3), m.ReduceLROnPlateau(opt)], milestones=[3]), nested=True),
    "sequential-no-optimizer": _err(lambda m, opt: m.SequentialLR(opt, [object()], [])),
    "chained-empty": _err(lambda m, opt: m.ChainedScheduler([])),
    "plateau-factor": _err(simple("ReduceLROnPlateau", factor=1.0)),
    "plateau-mode": _err(simple("ReduceLROnPlateau", mode="mean")),
    "plateau-threshold-mode": _err(simple("ReduceLROnPlateau", threshold_mode="pct")),
    "plateau-min-lrs": _err(simple("ReduceLROnPlateau", min_lr=[0.1])),
    "plateau-new-group": _plateau_new_group,
    "cyclic-mode": _err(simple("CyclicLR", base_lr=0.1, max_lr=1.0, mode="sine")),
    "cyclic-no-momentum": _err(simple("CyclicLR", base_lr=0.1, max_lr=1.0), _plain),
    "cyclic-max-lr-count": _err(simple("CyclicLR", base_lr=0.1, max_lr=[1.0])),
    "cyclic-momentum-count": _err(simple("CyclicLR", base_lr=0.1, max_lr=1.0,
                                         base_momentum=[0.8])),
    "onecycle-max-lr-count": _err(simple("OneCycleLR", max_lr=[1.0], total_steps=9)),
    "onecycle-momentum-count": _err(simple("OneCycleLR", max_lr=1.0, total_steps=9,
                                           max_momentum=[0.9, 0.9, 0.9])),
    "restarts-T_0": _err(simple("CosineAnnealingWarmRestarts", T_0=0)),
    "restarts-T_mult": _err(simple("CosineAnnealingWarmRestarts", T_0=2, T_mult=0)),
    "restarts-eta_min": _err(simple("CosineAnnealingWarmRestarts", T_0=2, eta_min="0")),
    "restarts-negative-epoch": lambda lib: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        _sgd(lib), T_0=2).step(-1),
    "onecycle-total": _err(simple("OneCycleLR", max_lr=1.0, total_steps=0)),
    "onecycle-nothing": _err(simple("OneCycleLR", max_lr=1.0)),
    "onecycle-epochs": _err(simple("OneCycleLR", max_lr=1.0, epochs=0, steps_per_epoch=2)),
    "onecycle-steps": _err(simple("OneCycleLR", max_lr=1.0, epochs=2, steps_per_epoch=0.5)),
    "onecycle-pct": _err(simple("OneCycleLR", max_lr=1.0, total_steps=9, pct_start=1.5)),
    "onecycle-strategy": _err(simple("OneCycleLR", max_lr=1.0, total_steps=9,
                                     anneal_strategy="exp")),
    "onecycle-no-momentum": _err(simple("OneCycleLR", max_lr=1.0, total_steps=9), _plain),
    "onecycle-past-end": _err(simple("OneCycleLR", max_lr=1.0, total_steps=3), steps=4),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_match_torch(case):
    with pytest.raises(Exception) as t_err, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ERRORS[case](torch)
    with pytest.raises(type(t_err.value)) as j_err, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ERRORS[case](jtorch)
    assert str(j_err.value) == str(t_err.value)
