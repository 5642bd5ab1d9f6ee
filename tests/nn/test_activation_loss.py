"""Activation, dropout and loss modules against torch: signature, repr, state, forward and
gradients, one table row per module and constructor-argument set."""
from __future__ import annotations

import inspect
import typing
import warnings

import numpy as np
import pytest

import jtorch
from jtorch.nn.modules import activation, dropout, loss

torch = pytest.importorskip("torch")

_rng = np.random.default_rng(0)


def _randn(*shape):
    return _rng.standard_normal(shape).astype(np.float32)


def _log_probs(*shape, dim=1):
    x = _randn(*shape)
    return (x - np.log(np.exp(x).sum(dim, keepdims=True))).astype(np.float32)


def _signs(*shape):
    return np.where(_rng.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)


def _labels(n, classes):
    return _rng.integers(0, classes, n).astype(np.int64)


def _to(T, value, requires_grad=False):
    """A numpy array as a tensor of `T`; `callable(T)` entries build library objects."""
    if isinstance(value, np.ndarray):
        t = T.tensor(value)
        return t.requires_grad_() if requires_grad else t
    if callable(value) and not isinstance(value, type):
        return value(T)
    return value


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


# -- signatures ----------------------------------------------------------------------------
_NO_ANNOTATION = (inspect.Parameter.empty, typing.Any, "Any", "None", None)


def _annotation(a):
    if a in _NO_ANNOTATION:
        return None
    return str(a).replace("jtorch._tensor.Tensor", "torch.Tensor")


def _signature(cls, skip=()):
    sig = inspect.signature(cls)
    return [(p.name, p.kind, p.default, None if p.name in skip else _annotation(p.annotation))
            for p in sig.parameters.values()], _annotation(sig.return_annotation)


FAMILIES = {"activation": activation, "dropout": dropout, "loss": loss}


@pytest.mark.parametrize("family", FAMILIES)
def test_all_names_and_signatures(family):
    t_family = getattr(torch.nn.modules, family)
    expected = [n for n in t_family.__all__ if n != "MultiheadAttention"]
    assert FAMILIES[family].__all__ == expected
    for name in expected:
        # jtorch has no LinearCrossEntropyOptions class to annotate `options` with
        skip = ("options",) if name == "LinearCrossEntropyLoss" else ()
        assert _signature(getattr(FAMILIES[family], name), skip) == \
            _signature(getattr(torch.nn, name), skip), name


# -- activations ---------------------------------------------------------------------------
ACTIVATIONS = [
    ("Threshold", (0.1, 20.0), {}), ("Threshold", (0.0, -1.0), {"inplace": True}),
    ("ReLU", (), {}), ("ReLU", (), {"inplace": True}),
    ("RReLU", (), {}), ("RReLU", (0.1, 0.2), {"inplace": True}),
    ("Hardtanh", (), {}), ("Hardtanh", (-0.5, 0.7), {"inplace": True}),
    ("ReLU6", (), {}), ("ReLU6", (), {"inplace": True}),
    ("Sigmoid", (), {}), ("Hardsigmoid", (), {}), ("Hardsigmoid", (), {"inplace": True}),
    ("Tanh", (), {}), ("SiLU", (), {}), ("SiLU", (), {"inplace": True}),
    ("Mish", (), {}), ("Hardswish", (), {}), ("Hardswish", (), {"inplace": True}),
    ("ELU", (), {}), ("ELU", (0.5,), {"inplace": True}), ("CELU", (), {}), ("CELU", (2.0,), {}),
    ("SELU", (), {}), ("SELU", (), {"inplace": True}), ("GLU", (), {}), ("GLU", (1,), {}),
    ("GELU", (), {}), ("GELU", ("tanh",), {}), ("Hardshrink", (), {}), ("Hardshrink", (1.0,), {}),
    ("LeakyReLU", (), {}), ("LeakyReLU", (0.2,), {"inplace": True}), ("LogSigmoid", (), {}),
    ("Softplus", (), {}), ("Softplus", (2.0, 1.0), {}), ("Softshrink", (), {}),
    ("Softshrink", (0.25,), {}), ("PReLU", (), {}), ("PReLU", (4,), {"init": 0.1}),
    ("Softsign", (), {}), ("Tanhshrink", (), {}), ("Softmin", (1,), {}),
    ("Softmax", (), {"dim": -1}), ("Softmax2d", (), {}), ("LogSoftmax", (0,), {}),
]


def _compare_modules(t_mod, j_mod):
    assert repr(j_mod) == repr(t_mod)
    t_state, j_state = t_mod.state_dict(), j_mod.state_dict()
    assert [(k, tuple(v.shape), str(v.dtype)) for k, v in j_state.items()] == \
        [(k, tuple(v.shape), str(v.dtype)) for k, v in t_state.items()]
    j_mod.load_state_dict({k: jtorch.tensor(_np(v)) for k, v in t_state.items()})


def _first_rows(table):
    """Each module's first row: the gradient tests run these only."""
    first = {}
    for i, (name, *_) in enumerate(table):
        first.setdefault(name, i)
    return list(first.values())


def _compare_gradients(cases, rtol, atol):
    """One backward through the sum of every case's output, in each library (one replay
    compile instead of one per module); then every input's and parameter's gradient."""
    t_total = sum(t_out.sum() for _, (t_mod, _), (_, _), (t_out, _) in cases)
    j_total = sum(j_out.sum() for _, (_, j_mod), (_, _), (_, j_out) in cases)
    t_total.backward()
    j_total.backward()
    for name, (t_mod, j_mod), (t_inputs, j_inputs), _ in cases:
        for i, (t, j) in enumerate(zip(t_inputs, j_inputs)):
            if isinstance(t, torch.Tensor) and t.requires_grad:
                np.testing.assert_allclose(_np(j.grad), _np(t.grad), rtol=rtol, atol=atol,
                                           err_msg=f"{name} input {i}")
        t_params = dict(t_mod.named_parameters())
        for p_name, p in j_mod.named_parameters():
            np.testing.assert_allclose(_np(p.grad), _np(t_params[p_name].grad), rtol=rtol,
                                       atol=atol, err_msg=f"{name}.{p_name}")


_ACTIVATION_INPUT = _randn(2, 4, 3, 2) * 3


def _activation_case(row, requires_grad):
    name, args, kwargs = ACTIVATIONS[row]
    t_mod = getattr(torch.nn, name)(*args, **kwargs).eval()
    j_mod = getattr(activation, name)(*args, **kwargs).eval()
    _compare_modules(t_mod, j_mod)
    t_leaf = _to(torch, _ACTIVATION_INPUT, requires_grad)
    j_leaf = _to(jtorch, _ACTIVATION_INPUT, requires_grad)
    # an in-place module needs a non-leaf input; the gradient still reaches the leaf
    t_in, j_in = (t_leaf * 1, j_leaf * 1) if kwargs.get("inplace") else (t_leaf, j_leaf)
    t_out, j_out = t_mod(t_in), j_mod(j_in)
    if kwargs.get("inplace"):
        assert j_out is j_in
    np.testing.assert_allclose(_np(j_out), _np(t_out), rtol=1e-5, atol=1e-5, err_msg=name)
    return name, (t_mod, j_mod), ([t_leaf], [j_leaf]), (t_out, j_out)


@pytest.mark.parametrize("row", range(len(ACTIVATIONS)),
                         ids=[f"{n}-{i}" for i, (n, *_) in enumerate(ACTIVATIONS)])
def test_activation(row):
    _activation_case(row, requires_grad=False)


def test_activation_gradients():
    _compare_gradients([_activation_case(row, True) for row in _first_rows(ACTIVATIONS)],
                       rtol=1e-5, atol=1e-5)


def test_rrelu_training_draws_slopes_in_range():
    x = -np.ones((2000,), np.float32)
    out = _np(activation.RReLU(0.1, 0.3)(jtorch.tensor(x)))
    assert out.min() >= -0.3 - 1e-6 and out.max() <= -0.1 + 1e-6 and out.std() > 0.03


def test_activation_errors_and_deprecations():
    with pytest.raises(AssertionError, match="must be greater than min_val"):
        activation.Hardtanh(1.0, 0.0)
    with pytest.warns(FutureWarning, match="min_value"):
        m = activation.Hardtanh(min_value=-2.0)
    assert repr(m) == repr(torch.nn.Hardtanh(-2.0)) and isinstance(activation.ReLU6(),
                                                                    activation.Hardtanh)
    with pytest.raises(ValueError, match="expected input to be 3D or 4D, got 2D"):
        activation.Softmax2d()(jtorch.ones(2, 3))
    with pytest.raises(TypeError):
        activation.Threshold(0.1)
    with pytest.raises(TypeError):
        activation.Sigmoid(1)


# -- losses --------------------------------------------------------------------------------
def _w(n):
    return (_rng.random(n) + 0.5).astype(np.float32)


def _distance_module(T):
    class L1Distance(T.nn.Module):
        def forward(self, a, b):
            return (a - b).abs().sum(-1)
    return L1Distance()


# name, constructor kwargs (arrays become tensors, functions of the library are called),
# inputs [(array, requires_grad)]
LOSSES = [
    ("L1Loss", {}, [(_randn(3, 4), True), (_randn(3, 4), False)]),
    ("NLLLoss", {"weight": _w(3)}, [(_log_probs(4, 3), True), (_labels(4, 3), False)]),
    ("NLLLoss", {"ignore_index": 1, "reduction": "none"},
     [(_log_probs(5, 3), True), (_labels(5, 3), False)]),
    ("NLLLoss2d", {}, [(_log_probs(2, 3, 2, 2), True),
                       (_labels(8, 3).reshape(2, 2, 2), False)]),
    ("PoissonNLLLoss", {}, [(_randn(6), True), (_rng.poisson(2, 6).astype(np.float32), False)]),
    ("PoissonNLLLoss", {"log_input": False, "full": True, "reduction": "sum"},
     [(np.abs(_randn(6)) + 0.1, True), (_rng.poisson(3, 6).astype(np.float32), False)]),
    ("GaussianNLLLoss", {}, [(_randn(4, 2), True), (_randn(4, 2), False),
                             (np.abs(_randn(4, 2)) + 0.1, True)]),
    ("GaussianNLLLoss", {"full": True, "reduction": "sum"},
     [(_randn(4, 2), True), (_randn(4, 2), True), (np.abs(_randn(4, 1)) + 0.1, False)]),
    ("KLDivLoss", {"reduction": "batchmean"}, [(_log_probs(3, 4), True),
                                               (np.exp(_log_probs(3, 4)), False)]),
    ("KLDivLoss", {"log_target": True, "reduction": "sum"},
     [(_log_probs(3, 4), True), (_log_probs(3, 4), True)]),
    ("MSELoss", {}, [(_randn(3, 4), True), (_randn(3, 4), True)]),
    ("BCELoss", {"weight": _w(2), "reduction": "sum"},
     [(_rng.uniform(0.05, 0.95, (3, 2)).astype(np.float32), True),
      (_rng.random((3, 2)).astype(np.float32), False)]),
    ("BCEWithLogitsLoss", {"weight": _w(3), "pos_weight": _w(3)},
     [(_randn(2, 3), True), (_rng.random((2, 3)).astype(np.float32), False)]),
    ("HingeEmbeddingLoss", {"margin": 0.5}, [(_randn(6), True), (_signs(6), False)]),
    ("MultiLabelMarginLoss", {}, [(_randn(2, 4), True),
                                  (np.array([[3, 0, -1, 1], [1, 2, 3, -1]]), False)]),
    ("SmoothL1Loss", {"beta": 0.5}, [(_randn(3, 4), True), (_randn(3, 4), False)]),
    ("HuberLoss", {"delta": 0.5, "reduction": "sum"}, [(_randn(3, 4), True),
                                                       (_randn(3, 4), True)]),
    ("SoftMarginLoss", {}, [(_randn(3, 4), True), (_signs(3, 4), False)]),
    ("CrossEntropyLoss", {"weight": _w(3), "label_smoothing": 0.1},
     [(_randn(4, 3), True), (_labels(4, 3), False)]),
    ("CrossEntropyLoss", {"ignore_index": 0, "reduction": "sum"},
     [(_randn(2, 3, 2), True), (_labels(4, 3).reshape(2, 2), False)]),
    ("CrossEntropyLoss", {}, [(_randn(4, 3), True), (np.exp(_log_probs(4, 3)), False)]),
    ("MultiLabelSoftMarginLoss", {"weight": _w(4)},
     [(_randn(3, 4), True), ((_rng.random((3, 4)) < 0.5).astype(np.float32), False)]),
    ("CosineEmbeddingLoss", {"margin": 0.2}, [(_randn(3, 4), True), (_randn(3, 4), True),
                                              (_signs(3), False)]),
    ("MarginRankingLoss", {"margin": 0.1}, [(_randn(5), True), (_randn(5), True),
                                            (_signs(5), False)]),
    ("MultiMarginLoss", {}, [(_randn(4, 3), True), (_labels(4, 3), False)]),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5, "weight": _w(3)},
     [(_randn(4, 3), True), (_labels(4, 3), False)]),
    ("TripletMarginLoss", {}, [(_randn(3, 4), True), (_randn(3, 4), True),
                               (_randn(3, 4), True)]),
    ("TripletMarginLoss", {"p": 1.0, "swap": True, "reduction": "none"},
     [(_randn(3, 4), True), (_randn(3, 4), False), (_randn(3, 4), True)]),
    ("TripletMarginWithDistanceLoss",
     {"distance_function": _distance_module, "margin": 2.0, "swap": True},
     [(_randn(3, 4), True), (_randn(3, 4), True), (_randn(3, 4), True)]),
    ("TripletMarginWithDistanceLoss",
     {"distance_function": lambda T: lambda a, b: ((a - b) ** 2).sum(-1)},
     [(_randn(3, 4), True), (_randn(3, 4), True), (_randn(3, 4), True)]),
    ("TripletMarginWithDistanceLoss", {}, [(_randn(3, 4), True), (_randn(3, 4), True),
                                           (_randn(3, 4), True)]),
    ("CTCLoss", {"blank": 3, "reduction": "sum", "zero_infinity": True},
     [(_log_probs(4, 2, 4, dim=2), True), (np.array([0, 1, 1, 2, 1, 0]), False),
      (np.array([4, 4]), False), (np.array([4, 2]), False)]),
    ("LinearCrossEntropyLoss", {"in_features": 3, "num_classes": 4, "bias": True},
     [(_randn(5, 3), True), (_labels(5, 4), False)]),
]


def _has_family(name, kwargs):
    """Losses whose sub-module comes from another family file: is that file there yet?"""
    family = {"LinearCrossEntropyLoss": "linear", "TripletMarginWithDistanceLoss": "distance"}
    if name not in family or (name != "LinearCrossEntropyLoss" and "distance_function" in kwargs):
        return True
    try:
        __import__(f"jtorch.nn.modules.{family[name]}")
    except ModuleNotFoundError:
        return False
    return True


def _loss_case(row, requires_grad):
    name, kwargs, inputs = LOSSES[row]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)   # NLLLoss2d's deprecation
        t_mod = getattr(torch.nn, name)(**{k: _to(torch, v) for k, v in kwargs.items()})
        j_mod = getattr(loss, name)(**{k: _to(jtorch, v) for k, v in kwargs.items()})
    assert [n for n, _ in j_mod.named_children()] == [n for n, _ in t_mod.named_children()]
    assert [n for n, _ in j_mod.named_buffers()] == [n for n, _ in t_mod.named_buffers()]
    _compare_modules(t_mod, j_mod)
    t_in = [_to(torch, a, g and requires_grad) for a, g in inputs]
    j_in = [_to(jtorch, a, g and requires_grad) for a, g in inputs]
    t_out, j_out = t_mod(*t_in), j_mod(*j_in)
    np.testing.assert_allclose(_np(j_out), _np(t_out), rtol=1e-4, atol=1e-5, err_msg=name)
    return name, (t_mod, j_mod), (t_in, j_in), (t_out, j_out)


@pytest.mark.parametrize("row", range(len(LOSSES)),
                         ids=[f"{n}-{i}" for i, (n, *_) in enumerate(LOSSES)])
def test_loss(row):
    if not _has_family(*LOSSES[row][:2]):
        pytest.skip("needs a module family file not written yet")
    _loss_case(row, requires_grad=False)


def test_loss_gradients():
    _compare_gradients([_loss_case(row, True) for row in _first_rows(LOSSES)
                        if _has_family(*LOSSES[row][:2])], rtol=1e-4, atol=1e-5)


def test_legacy_reduction_flags():
    for flags, expected in [({"size_average": False}, "sum"), ({"reduce": False}, "none"),
                            ({"size_average": True, "reduce": True}, "mean")]:
        with pytest.warns(UserWarning, match=f"please use reduction='{expected}'"):
            j = loss.CrossEntropyLoss(**flags)
        with pytest.warns(UserWarning):
            t = torch.nn.CrossEntropyLoss(**flags)
        assert j.reduction == t.reduction == expected
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert loss.L1Loss(reduction="sum").reduction == "sum"


def test_loss_errors_and_deprecations():
    with pytest.warns(FutureWarning, match="`NLLLoss2d` has been deprecated"):
        m = loss.NLLLoss2d()
    assert isinstance(m, loss.NLLLoss)
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        loss.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="expected weight to be None or 1D tensor, got 2D"):
        loss.MultiMarginLoss(weight=jtorch.ones(2, 2))
    with pytest.raises(TypeError, match="delta must be a float or int"):
        loss.HuberLoss(delta="1")
    with pytest.raises(ValueError, match="expected margin to be greater than 0"):
        loss.TripletMarginLoss(margin=0)
    with pytest.raises(ValueError, match="expected margin to be greater than 0"):
        loss.TripletMarginWithDistanceLoss(margin=-1.0, distance_function=lambda a, b: a)
    with pytest.raises(RuntimeError, match="label_smoothing to be in range"):
        loss.LinearCrossEntropyLoss(3, 4, label_smoothing=2.0)


# -- dropout -------------------------------------------------------------------------------
# Dropout2d of a 3D input masks (N, C) as torch does (with a warning), like Dropout1d
DROPOUTS = [("Dropout", (50, 40)), ("Dropout1d", (40, 50, 2)), ("Dropout2d", (20, 100, 2, 1)),
            ("Dropout2d", (40, 50, 2)), ("Dropout3d", (20, 100, 1, 2, 1)),
            ("AlphaDropout", (50, 40)), ("FeatureAlphaDropout", (20, 100, 2))]


@pytest.mark.filterwarnings("ignore:.*channel-wise 1D dropout behavior:UserWarning")
@pytest.mark.parametrize("name,shape", DROPOUTS)
def test_dropout(name, shape):
    p = 0.25
    t_mod, j_mod = getattr(torch.nn, name)(p), getattr(dropout, name)(p)
    _compare_modules(t_mod, j_mod)
    assert repr(getattr(dropout, name)(0.1, True)) == repr(getattr(torch.nn, name)(0.1, True))
    x = np.abs(_randn(*shape)) + 0.5
    j_x = _to(jtorch, x, True)
    assert j_mod.eval()(j_x) is j_x   # eval: the input itself, as torch returns it
    # train: torch's scaling, a dropped fraction near p, whole channels masked; the gradient
    # for Dropout only (each backward compiles)
    backward = name == "Dropout"
    j_x = _to(jtorch, x, backward)
    j_out = j_mod.train()(j_x)
    assert j_out.shape == j_x.shape and j_out.dtype == jtorch.float32
    out = _np(j_out)
    if "Alpha" in name:   # kept: a * x + b; dropped: the saturation value times a, plus b
        a = 1 / np.sqrt((1.7580993408473766 ** 2 * p + 1) * (1 - p))
        dropped = np.isclose(out, out.min())
        np.testing.assert_allclose((out - a * x)[~dropped], (out - a * x)[~dropped].min(),
                                   atol=1e-5)
        t_out = _np(t_mod.train()(torch.tensor(x)))
        np.testing.assert_allclose(out.min(), t_out.min(), rtol=1e-5)
    else:
        dropped = out == 0
        np.testing.assert_allclose(out[~dropped] / x[~dropped], 1 / (1 - p), rtol=1e-5)
    if backward:
        j_out.sum().backward()
        np.testing.assert_allclose(_np(j_x.grad), np.where(dropped, 0, 1 / (1 - p)), rtol=1e-5)
    assert abs(dropped.mean() - p) < 0.05
    if name != "Dropout" and name != "AlphaDropout":   # channel-wise: (N, C) decides
        flat = dropped.reshape(shape[0], shape[1], -1)
        assert (flat.all(-1) | ~flat.any(-1)).all()


def test_dropout_inplace_p_bounds_and_edges():
    x = jtorch.ones(50, 40)
    assert dropout.Dropout(0.25, inplace=True)(x) is x
    assert np.allclose(np.unique(_np(x)), [0, 4 / 3])
    assert np.array_equal(_np(dropout.Dropout(1.0)(jtorch.ones(3, 4))), np.zeros((3, 4)))
    y = jtorch.ones(3, 4)
    assert np.array_equal(_np(dropout.Dropout(0.0)(y)), _np(y))
    with pytest.warns(UserWarning, match=r"interpreted as shape \(N, C, L\)"):
        dropout.Dropout2d(1.0)(jtorch.ones(2, 3, 4))
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout3d"):
        dropout.Dropout3d(0.0)(jtorch.ones(2, 3))
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received "
                                           "a 4D input"):
        dropout.Dropout1d()(jtorch.ones(1, 2, 3, 4))
    for cls in (dropout.Dropout, dropout.Dropout2d, dropout.AlphaDropout):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, "
                                             "but got 1.5"):
            cls(1.5)
        with pytest.raises(ValueError):
            cls(-0.1)
