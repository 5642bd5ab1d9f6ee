"""jtorch.optim.swa_utils against torch: AveragedModel (SWA and EMA, per-tensor and
multi-tensor functions, with and without buffers), update_bn, SWALR, signatures, errors."""
from __future__ import annotations

import copy
import inspect
import math
import warnings

import numpy as np
import pytest

import jtorch

torch = pytest.importorskip("torch")


def _model(lib):
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.Linear(4, 2))


def _copy_into(j_model, t_model):
    j_model.load_state_dict({k: jtorch.tensor(v.numpy()) for k, v in
                             t_model.state_dict().items()})


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t._value)


def assert_state_close(j_state, t_state):
    assert list(j_state) == list(t_state)
    for key in t_state:
        # the default SWA divides by n + 1: XLA's CPU division by a scalar is a multiply by
        # the reciprocal, one ulp off torch's where it rounds differently
        np.testing.assert_allclose(_np(j_state[key]), _np(t_state[key]), rtol=1e-6,
                                   atol=1e-7, err_msg=key)
        assert _np(j_state[key]).dtype == _np(t_state[key]).dtype, key


AVERAGES = {
    "swa": lambda su: {},
    "swa-multi": lambda su: {"multi_avg_fn": su.get_swa_multi_avg_fn()},
    "ema-multi": lambda su: {"multi_avg_fn": su.get_ema_multi_avg_fn(0.9)},
    "ema-fn": lambda su: {"avg_fn": su.get_ema_avg_fn(0.8)},
    "swa-fn": lambda su: {"avg_fn": su.get_swa_avg_fn()},
}
# torch's multi-tensor SWA refuses integer buffers (num_batches_tracked): see test_errors
AVERAGE_CASES = [(kind, buffers) for kind in AVERAGES for buffers in (False, True)
                 if (kind, buffers) != ("swa-multi", True)]


@pytest.mark.parametrize("kind,use_buffers", AVERAGE_CASES,
                         ids=[f"{k}-{'buffers' if b else 'params'}" for k, b in AVERAGE_CASES])
def test_averaged_model_matches_torch(kind, use_buffers):
    t_model, j_model = _model(torch), _model(jtorch)
    _copy_into(j_model, t_model)
    t_avg, j_avg = (lib.optim.swa_utils.AveragedModel(
        model, use_buffers=use_buffers, **AVERAGES[kind](lib.optim.swa_utils))
        for lib, model in ((torch, t_model), (jtorch, j_model)))
    rng = np.random.default_rng(0)
    for _ in range(4):
        with torch.no_grad():
            for p in t_model.parameters():
                p.add_(torch.tensor(rng.standard_normal(p.shape).astype(np.float32)))
            t_model(torch.tensor(rng.standard_normal((6, 3)).astype(np.float32)))
        _copy_into(j_model, t_model)
        t_avg.update_parameters(t_model)
        j_avg.update_parameters(j_model)
        assert_state_close(j_avg.state_dict(), t_avg.state_dict())
    assert int(j_avg.n_averaged) == 4
    x = rng.standard_normal((5, 3)).astype(np.float32)
    t_avg.eval(), j_avg.eval()
    np.testing.assert_allclose(_np(j_avg(jtorch.tensor(x))), _np(t_avg(torch.tensor(x))),
                               rtol=1e-5, atol=1e-6)


def test_update_bn_matches_torch():
    t_model, j_model = _model(torch), _model(jtorch)
    rng = np.random.default_rng(1)
    batches = [rng.standard_normal((8, 3)).astype(np.float32) for _ in range(3)]
    with torch.no_grad():   # running stats that update_bn must forget
        t_model(torch.tensor(batches[0] * 3 + 1))
    _copy_into(j_model, t_model)
    t_model.eval(), j_model.eval()
    # batches as (input, target) pairs: update_bn takes the first element
    torch.optim.swa_utils.update_bn([(torch.tensor(b), 0) for b in batches], t_model)
    jtorch.optim.swa_utils.update_bn([(jtorch.tensor(b), 0) for b in batches], j_model)
    assert not j_model.training and j_model[1].momentum == 0.1
    t_state, j_state = t_model.state_dict(), j_model.state_dict()
    for key in t_state:
        np.testing.assert_allclose(_np(j_state[key]), _np(t_state[key]), rtol=1e-5,
                                   atol=1e-6, err_msg=key)
    linear = jtorch.nn.Linear(2, 2)
    jtorch.optim.swa_utils.update_bn([jtorch.ones(1, 2)], linear)     # no BatchNorm: no-op


def _sgd(lib):
    params = [lib.nn.Parameter(lib.ones(3)), lib.nn.Parameter(lib.ones(2))]
    return lib.optim.SGD([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.05}],
                         lr=0.1, momentum=0.9)


SWALR_CASES = [dict(swa_lr=0.01), dict(swa_lr=[0.02, 0.2], anneal_epochs=5,
                                       anneal_strategy="linear"),
               dict(swa_lr=0.5, anneal_epochs=0), dict(swa_lr=0.03, anneal_epochs=3)]


def _lrs(opt, sched):
    return [g["lr"] for g in opt.param_groups] + sched.get_last_lr()


@pytest.mark.parametrize("kwargs", SWALR_CASES, ids=range(len(SWALR_CASES)))
def test_swalr_matches_torch(kwargs):
    t_opt, j_opt = _sgd(torch), _sgd(jtorch)
    t_sched = torch.optim.swa_utils.SWALR(t_opt, **kwargs)
    j_sched = jtorch.optim.swa_utils.SWALR(j_opt, **kwargs)
    resumed = None
    for i in range(15):
        if i == 4:
            r_opt = _sgd(jtorch)
            resumed = (r_opt, jtorch.optim.swa_utils.SWALR(r_opt, **kwargs))
            r_opt.load_state_dict(copy.deepcopy(t_opt.state_dict()))
            resumed[1].load_state_dict(copy.deepcopy(t_sched.state_dict()))
        for opt, sched in [(t_opt, t_sched), (j_opt, j_sched)] + ([resumed] if resumed else []):
            opt.step()
            sched.step()
        for opt, sched in [(j_opt, j_sched)] + ([resumed] if resumed else []):
            for got, want in zip(_lrs(opt, sched), _lrs(t_opt, t_sched)):
                assert math.isclose(got, want, rel_tol=1e-12), (i, got, want)
    assert j_sched.state_dict() == t_sched.state_dict()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        j_sched.get_lr()
    assert [str(w.message) for w in caught] == [
        "To get the last learning rate computed by the scheduler, please use `get_last_lr()`."]


def test_signatures_and_all():
    t_mod, j_mod = torch.optim.swa_utils, jtorch.optim.swa_utils
    assert sorted(j_mod.__all__) == sorted(t_mod.__all__)
    for name in t_mod.__all__:
        assert inspect.signature(getattr(j_mod, name)) == \
            inspect.signature(getattr(t_mod, name)), name
    assert issubclass(j_mod.SWALR, jtorch.optim.lr_scheduler.LRScheduler)


def _multi_swa_on_integer_buffers(lib):
    model = _model(lib)
    avg = lib.optim.swa_utils.AveragedModel(
        model, use_buffers=True, multi_avg_fn=lib.optim.swa_utils.get_swa_multi_avg_fn())
    avg.update_parameters(model)
    avg.update_parameters(model)


ERRORS = {
    "ema-decay": lambda lib: lib.optim.swa_utils.get_ema_avg_fn(1.5),
    "ema-multi-decay": lambda lib: lib.optim.swa_utils.get_ema_multi_avg_fn(-0.1),
    "both-fns": lambda lib: lib.optim.swa_utils.AveragedModel(
        lib.nn.Linear(2, 2), avg_fn=lib.optim.swa_utils.get_swa_avg_fn(),
        multi_avg_fn=lib.optim.swa_utils.get_swa_multi_avg_fn()),
    "swalr-strategy": lambda lib: lib.optim.swa_utils.SWALR(_sgd(lib), 0.1,
                                                            anneal_strategy="exp"),
    "swalr-epochs": lambda lib: lib.optim.swa_utils.SWALR(_sgd(lib), 0.1, anneal_epochs=-1),
    "swalr-epochs-float": lambda lib: lib.optim.swa_utils.SWALR(_sgd(lib), 0.1,
                                                                anneal_epochs=2.5),
    "swalr-count": lambda lib: lib.optim.swa_utils.SWALR(_sgd(lib), [0.1]),
    "multi-swa-integers": _multi_swa_on_integer_buffers,
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_match_torch(case):
    with pytest.raises(Exception) as t_err:
        ERRORS[case](torch)
    with pytest.raises(type(t_err.value)) as j_err:
        ERRORS[case](jtorch)
    assert str(j_err.value) == str(t_err.value)
