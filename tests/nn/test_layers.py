"""Linear, conv, lazy, fold, padding, pixel shuffle, upsampling, distance and channel shuffle
modules against torch: signature, repr, parameters, default init bounds, forward and
gradients, one table row per module and constructor-argument set; then torch's errors."""
from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

import jtorch
from jtorch.nn.modules import (
    channelshuffle,
    conv,
    distance,
    flatten,
    fold,
    lazy,
    linear,
    padding,
    pixelshuffle,
    upsampling,
)

torch = pytest.importorskip("torch")

FAMILIES = {"linear": linear, "conv": conv, "flatten": flatten, "fold": fold,
            "padding": padding, "pixelshuffle": pixelshuffle, "upsampling": upsampling,
            "distance": distance, "channelshuffle": channelshuffle, "lazy": lazy}
_rng = np.random.default_rng(0)


def _np(t):
    return t.detach().numpy()


def _params(sig):
    return [(p.name, p.kind, p.default) for p in sig.parameters.values()]


@pytest.mark.parametrize("family", FAMILIES)
def test_names_and_signatures(family):
    t_family = getattr(torch.nn.modules, family)
    assert sorted(FAMILIES[family].__all__) == sorted(t_family.__all__)
    for name in t_family.__all__:
        j_cls, t_cls = getattr(FAMILIES[family], name), getattr(t_family, name)
        # annotations are not compared: torch's name its own aliases (_size_2_t ...)
        assert _params(inspect.signature(j_cls)) == _params(inspect.signature(t_cls)), name
        if hasattr(t_cls, "forward") and name != "LazyModuleMixin":
            assert _params(inspect.signature(j_cls.forward)) == \
                _params(inspect.signature(t_cls.forward)), name


# name, constructor args, constructor kwargs, input shapes, forward kwargs; the parameter
# shapes repeat where they can: each new shape compiles its own initialisation kernels
CASES = [
    ("Identity", (3,), {"unused": 1}, [(2, 3)], {}),
    ("Linear", (3, 4), {}, [(2, 3)], {}),
    ("Linear", (3, 4), {"bias": False}, [(3,)], {}),
    ("Bilinear", (2, 3, 4), {}, [(5, 2), (5, 3)], {}),
    ("Bilinear", (2, 3, 4), {"bias": False}, [(3, 2), (3, 3)], {}),
    ("Conv1d", (4, 6, 3), {"stride": 2, "padding": 1, "groups": 2}, [(2, 4, 7)], {}),
    ("Conv1d", (4, 6, 3), {"padding": "same", "dilation": 2, "padding_mode": "circular",
                           "groups": 2}, [(4, 7)], {}),
    ("Conv2d", (2, 4, (3, 2)), {"padding": (1, 2), "padding_mode": "reflect", "bias": False},
     [(1, 2, 5, 6)], {}),
    ("Conv2d", (2, 4, (3, 2)), {"padding": "same", "padding_mode": "replicate"}, [(2, 5, 6)],
     {}),
    ("Conv3d", (1, 2, 2), {"padding": "valid", "stride": (1, 2, 1), "dilation": (2, 1, 1)},
     [(1, 4, 5, 3)], {}),
    ("ConvTranspose1d", (4, 2, 3), {"stride": 2, "output_padding": 1, "groups": 2},
     [(2, 4, 5)], {}),
    ("ConvTranspose2d", (2, 3, (3, 2)), {"stride": 2, "padding": 1, "dilation": 2,
                                         "bias": False}, [(1, 2, 4, 5)], {}),
    ("ConvTranspose2d", (2, 2, 3), {"stride": 2}, [(2, 2, 3)], {"output_size": [2, 6, 8]}),
    ("ConvTranspose3d", (2, 2, 2), {"stride": 2}, [(1, 2, 2, 3, 2)], {}),
    ("Flatten", (), {}, [(2, 3, 4)], {}),
    ("Flatten", (0, 1), {}, [(2, 3, 4)], {}),
    ("Unflatten", (1, (2, 3)), {}, [(4, 6)], {}),
    ("Unflatten", (-1, [2, -1]), {}, [(2, 6)], {}),
    ("Fold", ((4, 5), 2), {"padding": 1, "stride": 2}, [(1, 12, 9)], {}),
    ("Fold", (3, (2, 1)), {"dilation": (1, 2)}, [(4, 6)], {}),
    ("Unfold", (2,), {"dilation": 2, "padding": 1, "stride": 2}, [(1, 3, 5, 5)], {}),
    ("ZeroPad1d", ((1, 2),), {}, [(2, 3)], {}),
    ("ZeroPad2d", (1,), {}, [(1, 2, 2, 3)], {}),
    ("ZeroPad3d", ((1, 0, 0, 2, 1, 1),), {}, [(1, 2, 2, 2)], {}),
    ("ConstantPad1d", (2, 3.5), {}, [(1, 2, 3)], {}),
    ("ConstantPad2d", ((1, 0, 2, 1), -1.0), {}, [(2, 2, 3)], {}),
    ("ConstantPad3d", (1, 0.5), {}, [(1, 1, 2, 2, 2)], {}),
    ("ReflectionPad1d", (2,), {}, [(1, 2, 4)], {}),
    ("ReflectionPad2d", ((1, 2, 0, 1),), {}, [(2, 3, 4)], {}),
    ("ReflectionPad3d", (1,), {}, [(1, 1, 2, 3, 3)], {}),
    ("ReplicationPad1d", ((0, 3),), {}, [(2, 3)], {}),
    ("ReplicationPad2d", (2,), {}, [(1, 1, 2, 3)], {}),
    ("ReplicationPad3d", ((1, 0, 1, 0, 0, 2),), {}, [(1, 2, 2, 2)], {}),
    ("CircularPad1d", (1,), {}, [(1, 2, 3)], {}),
    ("CircularPad2d", ((1, 0, 2, 1),), {}, [(2, 3, 4)], {}),
    ("CircularPad3d", (1,), {}, [(1, 1, 2, 2, 2)], {}),
    ("PixelShuffle", (2,), {}, [(1, 8, 2, 3)], {}),
    ("PixelUnshuffle", (2,), {}, [(2, 4, 6)], {}),
    ("Upsample", (), {"scale_factor": 2}, [(1, 2, 3, 4)], {}),
    ("Upsample", (), {"size": (5, 7), "mode": "bilinear"}, [(1, 2, 3, 4)], {}),
    ("Upsample", (), {"scale_factor": (2, 1.5), "mode": "bicubic", "align_corners": True},
     [(1, 1, 3, 4)], {}),
    ("Upsample", (), {"size": 5, "mode": "linear"}, [(1, 2, 3)], {}),
    ("Upsample", (4,), {"mode": "trilinear", "recompute_scale_factor": None},
     [(1, 1, 2, 3, 2)], {}),
    ("UpsamplingNearest2d", (), {"scale_factor": 2}, [(1, 2, 2, 3)], {}),
    ("UpsamplingBilinear2d", ((4, 5),), {}, [(1, 2, 2, 3)], {}),
    ("PairwiseDistance", (), {"p": 1.0, "keepdim": True}, [(3, 4), (3, 4)], {}),
    ("PairwiseDistance", (), {}, [(3, 4), (4,)], {}),
    ("CosineSimilarity", (), {"eps": 1e-3}, [(2, 3, 2), (2, 3, 2)], {}),
    ("ChannelShuffle", (2,), {}, [(1, 4, 2, 2)], {}),
    ("LazyLinear", (4,), {}, [(2, 3)], {}),
    ("LazyConv1d", (6, 3), {"groups": 2, "padding_mode": "reflect", "padding": 1},
     [(1, 4, 5)], {}),
    ("LazyConv2d", (4, (3, 2)), {"padding": "same", "bias": False}, [(2, 4, 5)], {}),
    ("LazyConv3d", (2, 2), {}, [(1, 1, 3, 3, 3)], {}),
    ("LazyConvTranspose1d", (2, 3), {"stride": 2, "groups": 2}, [(1, 4, 4)], {}),
    ("LazyConvTranspose2d", (2, 3), {"output_padding": 1, "stride": 2}, [(1, 2, 3, 3)], {}),
    ("LazyConvTranspose3d", (2, 2), {"dilation": 2}, [(2, 2, 2, 2)], {}),
]


def _init_bound(name, mod):
    """torch's default init bound for the weight and bias of a layer, else None."""
    if name.startswith("Bilinear"):
        return 1 / math.sqrt(mod.weight.shape[1])
    if "Linear" in name or "Conv" in name:
        w = mod.weight
        return 1 / math.sqrt(w.shape[1] * math.prod(w.shape[2:]))
    return None


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("name,args,kwargs,shapes,fwd_kwargs", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_module(name, args, kwargs, shapes, fwd_kwargs):
    torch.manual_seed(0)
    t_mod = getattr(torch.nn, name)(*args, **kwargs)
    j_mod = getattr(jtorch.nn, name)(*args, **kwargs)
    assert repr(j_mod) == repr(t_mod)
    arrays = [_rng.standard_normal(s).astype(np.float32) for s in shapes]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    j_in = [jtorch.tensor(a, requires_grad=True) for a in arrays]
    if name.startswith("Lazy"):
        assert list(j_mod.state_dict()) == list(t_mod.state_dict())
        becomes = t_mod.cls_to_become.__name__
        with torch.no_grad():
            t_mod(*t_in, **fwd_kwargs)
        j_mod(*j_in, **fwd_kwargs)
        assert type(j_mod).__name__ == type(t_mod).__name__ == becomes
        assert repr(j_mod) == repr(t_mod)
    t_state = t_mod.state_dict()
    assert [(k, tuple(v.shape), str(v.dtype)) for k, v in j_mod.state_dict().items()] == \
        [(k, tuple(v.shape), str(v.dtype)) for k, v in t_state.items()]
    assert [n for n, _ in j_mod.named_parameters()] == [n for n, _ in t_mod.named_parameters()]
    bound = _init_bound(name, j_mod)
    for p in j_mod.parameters():     # U(-bound, bound): inside, and not all near 0
        values = np.abs(_np(p))
        assert values.max() <= bound + 1e-7
        assert values.size < 8 or values.max() > bound / 4     # fails with p < 2e-5
    j_mod.load_state_dict({k: jtorch.tensor(v.numpy()) for k, v in t_state.items()})
    t_params = dict(t_mod.named_parameters())

    t_out, j_out = t_mod(*t_in, **fwd_kwargs), j_mod(*j_in, **fwd_kwargs)
    np.testing.assert_allclose(_np(j_out), _np(t_out), rtol=1e-5, atol=1e-5)
    if not t_params:    # the input gradients of F's functions are tested with F
        return
    t_out.sum().backward()
    j_out.sum().backward()
    for t, j in zip(t_in, j_in):
        np.testing.assert_allclose(_np(j.grad), _np(t.grad), rtol=1e-4, atol=1e-5)
    for n, p in j_mod.named_parameters():
        np.testing.assert_allclose(_np(p.grad), _np(t_params[n].grad), rtol=1e-4, atol=1e-5)


def test_factory_kwargs_and_dtypes():
    j_mod = jtorch.nn.Linear(2, 3, device="cpu", dtype=jtorch.float64)
    t_mod = torch.nn.Linear(2, 3, device="cpu", dtype=torch.float64)
    assert [str(p.dtype) for p in j_mod.parameters()] == \
        [str(p.dtype) for p in t_mod.parameters()] == ["torch.float64"] * 2
    lazy_mod = jtorch.nn.LazyLinear(3, dtype=jtorch.float64)
    lazy_mod(jtorch.ones(1, 2, dtype=jtorch.float64))
    assert lazy_mod.weight.dtype == jtorch.float64 and lazy_mod.weight.shape == (3, 2)


def test_lazy_state_dict_and_load():
    t_mod, j_mod = torch.nn.LazyLinear(3), jtorch.nn.LazyLinear(3)
    assert [type(v).__name__ for v in j_mod.state_dict().values()] == \
        [type(v).__name__ for v in t_mod.state_dict().values()] == ["UninitializedParameter"] * 2
    assert j_mod.has_uninitialized_params() and jtorch.nn.parameter.is_lazy(j_mod.weight)
    source = jtorch.nn.Linear(4, 3)
    j_mod.load_state_dict(source.state_dict())      # materializes without a forward
    assert type(j_mod) is jtorch.nn.LazyLinear and not j_mod.has_uninitialized_params()
    assert j_mod.weight.shape == (3, 4) and type(j_mod.weight) is jtorch.nn.Parameter
    x = jtorch.randn(2, 4)
    np.testing.assert_allclose(_np(j_mod(x)), _np(source(x)), rtol=1e-6)
    assert type(j_mod) is jtorch.nn.Linear and repr(j_mod) == repr(torch.nn.Linear(4, 3))
    conv_mod = jtorch.nn.LazyConvTranspose2d(2, 3)
    conv_mod.load_state_dict(jtorch.nn.ConvTranspose2d(2, 2, 3).state_dict())
    assert conv_mod.weight.shape == (2, 2, 3, 3) and conv_mod.in_channels == 0
    # a lazy module's optimizer sees the same Parameter objects after materialization
    lazy_mod = jtorch.nn.LazyLinear(4)
    params = list(lazy_mod.parameters())
    lazy_mod(jtorch.ones(1, 3))
    assert all(a is b for a, b in zip(params, lazy_mod.parameters()))


def test_lazy_copy_and_conversion():
    import copy
    original = jtorch.nn.LazyLinear(3)
    clone = copy.deepcopy(original)
    clone(jtorch.ones(1, 2))                # initialising the copy leaves the original lazy
    assert type(clone) is jtorch.nn.Linear and type(original) is jtorch.nn.LazyLinear
    assert original(jtorch.ones(1, 4)).shape == (1, 3) and original.in_features == 4
    converted = jtorch.nn.LazyLinear(3).double()    # torch converts the placeholders too
    assert converted.weight.dtype == jtorch.float64
    assert converted(jtorch.ones(1, 2, dtype=jtorch.float64)).dtype == jtorch.float64


ERRORS = [
    (lambda L: L.nn.Conv2d(2, 2, 3, groups=0), ValueError, "groups must be a positive integer"),
    (lambda L: L.nn.Conv1d(3, 2, 3, groups=2), ValueError, "in_channels must be divisible"),
    (lambda L: L.nn.Conv1d(2, 3, 3, groups=2), ValueError, "out_channels must be divisible"),
    (lambda L: L.nn.Conv2d(2, 2, 3, padding="full"), ValueError, "Invalid padding string"),
    (lambda L: L.nn.Conv2d(2, 2, 3, padding="same", stride=2), ValueError,
     "padding='same' is not supported for strided"),
    (lambda L: L.nn.Conv3d(2, 2, 3, padding_mode="wrap"), ValueError,
     "padding_mode must be one of"),
    (lambda L: L.nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect"), ValueError,
     'Only "zeros" padding mode is supported for ConvTranspose2d'),
    (lambda L: L.nn.ConvTranspose2d(2, 2, 3, stride=2)(L.ones(1, 2, 3, 3),
                                                       output_size=[9, 9]),
     ValueError, r"requested an output size of \[9, 9\], but valid sizes range from"),
    (lambda L: L.nn.ConvTranspose2d(2, 2, 3, stride=2)(L.ones(2, 3, 3), output_size=(9, 9)),
     ValueError, r"requested an output size of \(9, 9\), but valid sizes range from"),
    (lambda L: L.nn.ConvTranspose1d(2, 2, 3)(L.ones(1, 2, 3), output_size=[1, 1, 1, 5]),
     ValueError, "ConvTranspose1D: for 3D input, output_size must have 1 or 3 elements"),
    (lambda L: L.nn.LazyConv2d(2, 3)(L.ones(2, 3)), RuntimeError,
     r"Expected 3D \(unbatched\) or 4D \(batched\) input to LazyConv2d"),
    (lambda L: L.nn.LazyConv1d(2, 3, groups=2)(L.ones(1, 3, 4)), ValueError,
     "in_channels must be divisible by groups"),
    (lambda L: L.nn.Unflatten(1, 6), TypeError, "unflattened_size must be a tuple of ints"),
    (lambda L: L.nn.Unflatten(1, (2, 3.0)), TypeError, "found element of type float at pos 1"),
    (lambda L: L.nn.CircularPad2d(1)(L.ones(2, 3)), ValueError,
     r"expected 3D or 4D input \(got 2D input\)"),
    (lambda L: L.nn.Linear(2, 3, 4, 5, 6, 7), TypeError, None),
]


@pytest.mark.parametrize("build,exc,match", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_errors(build, exc, match):
    for lib in (torch, jtorch):
        with pytest.raises(exc, match=match):
            build(lib)
