"""jtorch.nn.utils against torch.nn.utils: gradient clipping, parameter vectors, the hooks
API of weight_norm/spectral_norm and the parametrizations, with torch's state_dict keys."""
from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import torch

import jtorch
from jtorch import nn
from jtorch.nn.utils import parametrizations, parametrize

IN, OUT = 3, 4


def _j(t):
    return jtorch.tensor(t.detach().numpy())


def _close(a, b, atol=1e-5):
    np.testing.assert_allclose(np.asarray(b.detach().numpy()), a.detach().numpy(), atol=atol,
                               rtol=1e-4)


def _load(j_mod, t_mod):
    return j_mod.load_state_dict({k: _j(v) for k, v in t_mod.state_dict().items()})


def _linears(**kwargs):
    """A torch Linear and a jtorch Linear with the same weights."""
    t_mod = torch.nn.Linear(IN, OUT, **kwargs)
    j_mod = nn.Linear(IN, OUT, **kwargs)
    _load(j_mod, t_mod)
    return t_mod, j_mod


def _forward_backward(t_mod, j_mod, atol=1e-5):
    """Compare outputs and every parameter's gradient for one input batch."""
    x = np.random.default_rng(0).standard_normal((2, IN)).astype(np.float32)
    t_out, j_out = t_mod(torch.tensor(x)), j_mod(jtorch.tensor(x))
    _close(t_out, j_out, atol)
    t_out.square().sum().backward()
    j_out.square().sum().backward()
    j_params = dict(j_mod.named_parameters())
    assert list(j_params) == [n for n, _ in t_mod.named_parameters()]
    for name, p in t_mod.named_parameters():
        _close(p.grad, j_params[name].grad, atol)


# ---------------------------------------------------------------- names and signatures

FUNCTIONS = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "get_total_norm",
             "clip_grads_with_norm_", "parameters_to_vector", "vector_to_parameters",
             "weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm",
             "parametrize.register_parametrization", "parametrize.remove_parametrizations",
             "parametrize.is_parametrized", "parametrize.cached",
             "parametrize.type_before_parametrizations",
             "parametrize.transfer_parametrizations_and_params",
             "parametrizations.weight_norm", "parametrizations.spectral_norm",
             "parametrizations.orthogonal"]


def _resolve(root, path):
    for part in path.split("."):
        root = getattr(root, part)
    return root


@pytest.mark.parametrize("name", FUNCTIONS)
def test_signature(name):
    def shape(fn):     # annotations name torch's types: compare names, kinds, defaults
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]
    assert shape(_resolve(jtorch.nn.utils, name)) == shape(_resolve(torch.nn.utils, name))


def test_module_all():
    assert sorted(parametrize.__all__) == sorted(torch.nn.utils.parametrize.__all__)
    assert sorted(parametrizations.__all__) == sorted(torch.nn.utils.parametrizations.__all__)


# ---------------------------------------------------------------- gradient clipping

def _grad_pairs(dtype=np.float32, scale=3.0, seed=0):
    rng = np.random.default_rng(seed)
    values = [rng.standard_normal(s).astype(dtype) for s in ((OUT, IN), (OUT,), (2,))]
    t_params = [torch.nn.Parameter(torch.tensor(v)) for v in values]
    j_params = [nn.Parameter(jtorch.tensor(v)) for v in values]
    for tp, jp, v in zip(t_params, j_params, values):
        tp.grad, jp.grad = torch.tensor(v * scale), jtorch.tensor(v * scale)
    t_params[2].grad = j_params[2].grad = None        # parameters without grad are skipped
    return t_params, j_params


@pytest.mark.parametrize("norm_type,max_norm", [(2.0, 1.0), (float("inf"), 0.5), (1, 100.0),
                                                (3.0, 2.0)])
def test_clip_grad_norm(norm_type, max_norm):
    t_params, j_params = _grad_pairs()
    t_total = torch.nn.utils.clip_grad_norm_(t_params, max_norm, norm_type)
    j_total = jtorch.nn.utils.clip_grad_norm_(j_params, max_norm, norm_type=norm_type,
                                              foreach=True)
    assert isinstance(j_total, jtorch.Tensor) and j_total.dtype == jtorch.float32
    _close(t_total, j_total)
    for tp, jp in zip(t_params[:2], j_params[:2]):
        _close(tp.grad, jp.grad)
    assert j_params[2].grad is None


def test_total_norm_and_clip_with_norm():
    t_params, j_params = _grad_pairs(np.float64)
    t_total = torch.nn.utils.get_total_norm([p.grad for p in t_params[:2]], 2.0)
    j_total = jtorch.nn.utils.get_total_norm([p.grad for p in j_params[:2]], 2.0)
    assert j_total.dtype == jtorch.float64
    _close(t_total, j_total)
    torch.nn.utils.clip_grads_with_norm_(t_params, 1.0, t_total)
    jtorch.nn.utils.clip_grads_with_norm_(j_params, 1.0, j_total)
    for tp, jp in zip(t_params[:2], j_params[:2]):
        _close(tp.grad, jp.grad)
    assert jtorch.nn.utils.get_total_norm([]).item() == 0.0


def test_clip_grad_value_and_single_tensor():
    t_params, j_params = _grad_pairs()
    torch.nn.utils.clip_grad_value_(t_params, 0.5)
    jtorch.nn.utils.clip_grad_value_(j_params, 0.5)
    for tp, jp in zip(t_params[:2], j_params[:2]):
        _close(tp.grad, jp.grad)
    _close(torch.nn.utils.clip_grad_norm_(t_params[0], 0.1),
           jtorch.nn.utils.clip_grad_norm_(j_params[0], 0.1))
    _close(t_params[0].grad, j_params[0].grad)


def test_clip_grad_norm_errors():
    _, j_params = _grad_pairs()
    j_params[0].grad[0, 0] = float("nan")
    before = j_params[1].grad.numpy().copy()
    with pytest.raises(RuntimeError, match="non-finite"):
        jtorch.nn.utils.clip_grad_norm_(j_params, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(j_params[1].grad.numpy(), before)   # left as it was
    with pytest.warns(UserWarning, match="empty generator"):
        total = jtorch.nn.utils.clip_grad_norm_((p for p in []), 1.0)
    assert total.item() == 0.0
    with pytest.warns(FutureWarning):
        jtorch.nn.utils.clip_grad_norm(j_params[1:], 1.0)


# ---------------------------------------------------------------- parameters <-> vector

def test_parameters_to_vector_and_back():
    t_mod, j_mod = _linears()
    t_vec = torch.nn.utils.parameters_to_vector(t_mod.parameters())
    j_vec = jtorch.nn.utils.parameters_to_vector(j_mod.parameters())
    _close(t_vec, j_vec)
    weights = np.arange(t_vec.numel(), dtype=np.float32)
    (t_vec * torch.tensor(weights)).sum().backward()
    (j_vec * jtorch.tensor(weights)).sum().backward()
    _close(t_mod.weight.grad, j_mod.weight.grad)
    source = jtorch.tensor(weights)
    jtorch.nn.utils.vector_to_parameters(source, j_mod.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(weights), t_mod.parameters())
    _close(t_mod.weight, j_mod.weight)
    _close(t_mod.bias, j_mod.bias)
    assert j_mod.weight.is_leaf and isinstance(j_mod.weight, nn.Parameter)
    source.add_(1.0)                 # as in torch, the parameters now view the vector
    assert j_mod.bias[0].item() == weights[OUT * IN] + 1
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        jtorch.nn.utils.vector_to_parameters([1.0], j_mod.parameters())


# ---------------------------------------------------------------- hooks-based weight/spectral norm

@pytest.mark.parametrize("dim", [1, None])
def test_weight_norm_hooks(dim):
    t_mod, j_mod = _linears()
    with pytest.warns(FutureWarning):
        torch.nn.utils.weight_norm(t_mod, dim=dim)
    with pytest.warns(FutureWarning):
        assert jtorch.nn.utils.weight_norm(j_mod, dim=dim) is j_mod
    assert [(k, tuple(v.shape)) for k, v in j_mod.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t_mod.state_dict().items()]
    _close(t_mod.weight_g, j_mod.weight_g)
    _forward_backward(t_mod, j_mod)
    with pytest.raises(RuntimeError, match="Cannot register two weight_norm"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        jtorch.nn.utils.weight_norm(j_mod, dim=dim)
    jtorch.nn.utils.remove_weight_norm(j_mod)
    torch.nn.utils.remove_weight_norm(t_mod)
    assert list(j_mod.state_dict()) == list(t_mod.state_dict()) == ["bias", "weight"]
    _close(t_mod.weight, j_mod.weight)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        jtorch.nn.utils.remove_weight_norm(j_mod)


def test_spectral_norm_hooks():
    t_mod, j_mod = _linears()
    torch.nn.utils.spectral_norm(t_mod)
    jtorch.nn.utils.spectral_norm(j_mod)
    assert list(j_mod.state_dict()) == list(t_mod.state_dict()) == \
        ["bias", "weight_orig", "weight_u", "weight_v"]
    assert j_mod.state_dict()._metadata == t_mod.state_dict()._metadata
    _load(j_mod, t_mod)
    _forward_backward(t_mod, j_mod)          # training: one power iteration updates u, v
    _close(t_mod.weight_u, j_mod.weight_u)
    _close(t_mod.weight_v, j_mod.weight_v)
    t_mod.eval()
    j_mod.eval()
    x = np.ones((1, IN), np.float32)
    _close(t_mod(torch.tensor(x)), j_mod(jtorch.tensor(x)))
    torch.nn.utils.remove_spectral_norm(t_mod)
    jtorch.nn.utils.remove_spectral_norm(j_mod)
    assert list(j_mod.state_dict()) == ["bias", "weight"]
    assert not j_mod._state_dict_hooks and not j_mod._load_state_dict_pre_hooks
    _close(t_mod.weight, j_mod.weight)


# ---------------------------------------------------------------- parametrizations

def test_parametrizations_weight_norm():
    t_mod, j_mod = _linears()
    torch.nn.utils.parametrizations.weight_norm(t_mod)
    parametrizations.weight_norm(j_mod)
    assert type(j_mod).__name__ == "ParametrizedLinear"
    assert list(j_mod.state_dict()) == list(t_mod.state_dict()) == \
        ["bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    _close(t_mod.parametrizations.weight.original0, j_mod.parametrizations.weight.original0)
    _forward_backward(t_mod, j_mod)
    # checkpoints of the hooks API load into the parametrization
    old = torch.nn.Linear(IN, OUT)
    with pytest.warns(FutureWarning):
        torch.nn.utils.weight_norm(old)
    _load(j_mod, old)
    _close(old.weight_g, j_mod.parametrizations.weight.original0)
    parametrize.remove_parametrizations(j_mod, "weight")
    assert type(j_mod) is nn.Linear and list(j_mod.state_dict()) == ["bias", "weight"]


def test_parametrizations_spectral_norm():
    t_mod, j_mod = _linears()
    torch.nn.utils.parametrizations.spectral_norm(t_mod)
    parametrizations.spectral_norm(j_mod)
    assert list(j_mod.state_dict()) == list(t_mod.state_dict()) == \
        ["bias", "parametrizations.weight.original", "parametrizations.weight.0._u",
         "parametrizations.weight.0._v"]
    _load(j_mod, t_mod)
    _forward_backward(t_mod, j_mod)
    _close(t_mod.parametrizations.weight[0]._u, j_mod.parametrizations.weight[0]._u)
    # 15 power iterations at registration: sigma is close to the largest singular value
    weight = j_mod.parametrizations.weight.original.detach().numpy()
    _close(torch.tensor(weight / np.linalg.svd(weight, compute_uv=False)[0]), j_mod.weight,
           atol=1e-3)
    with pytest.raises(IndexError):
        parametrizations.spectral_norm(nn.Linear(IN, OUT), dim=2)


@pytest.mark.parametrize("orthogonal_map", ["householder"])   # matrix_exp: seconds to compile
def test_parametrizations_orthogonal(orthogonal_map):
    t_mod, j_mod = _linears()
    torch.nn.utils.parametrizations.orthogonal(t_mod, orthogonal_map=orthogonal_map)
    parametrizations.orthogonal(j_mod, orthogonal_map=orthogonal_map)
    assert list(j_mod.state_dict()) == list(t_mod.state_dict())
    _load(j_mod, t_mod)
    x = np.ones((1, IN), np.float32)      # forward only: geqrf's backward takes seconds to compile
    _close(t_mod(torch.tensor(x)), j_mod(jtorch.tensor(x)), atol=1e-4)
    weight = j_mod.weight.detach().numpy()             # (4, 3): orthonormal columns
    np.testing.assert_allclose(weight.T @ weight, np.eye(IN), atol=1e-5)


class _Symmetric(jtorch.nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).mT

    def right_inverse(self, a):
        return a.triu()


class _Flatten(jtorch.nn.Module):
    def forward(self, x):
        return x.reshape(-1)


class _Scale(jtorch.nn.Module):
    def forward(self, x):
        return 2 * x


def test_register_parametrization():
    module = nn.Linear(IN, IN)
    parametrize.register_parametrization(module, "weight", _Symmetric())
    assert parametrize.is_parametrized(module) and parametrize.is_parametrized(module, "weight")
    assert not parametrize.is_parametrized(module, "bias")
    assert parametrize.type_before_parametrizations(module) is nn.Linear
    assert list(module.state_dict()) == ["bias", "parametrizations.weight.original"]
    weight = module.weight.detach().numpy()
    np.testing.assert_allclose(weight, weight.T)
    with parametrize.cached():
        assert module.weight is module.weight
    assert module.weight is not module.weight
    parametrize.register_parametrization(module, "weight", _Scale())
    np.testing.assert_allclose(module.weight.detach().numpy(), 2 * weight)
    with pytest.raises(RuntimeError, match="_Scale does not implement right_inverse"):
        module.weight = jtorch.ones(IN, IN)
    with pytest.raises(ValueError, match="may not change the shape"):
        parametrize.register_parametrization(nn.Linear(IN, OUT), "weight", _Flatten())
    with pytest.raises(ValueError, match="does not have a parameter"):
        parametrize.register_parametrization(module, "nothing", _Scale())


def test_right_inverse_and_remove():
    module = nn.Linear(IN, IN)
    parametrize.register_parametrization(module, "weight", _Symmetric())
    target = np.arange(IN * IN, dtype=np.float32).reshape(IN, IN)
    module.weight = jtorch.tensor(target)      # stored through right_inverse
    np.testing.assert_allclose(module.parametrizations.weight.original.detach().numpy(),
                               np.triu(target))
    parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
    assert type(module) is nn.Linear and isinstance(module.weight, nn.Parameter)
    np.testing.assert_allclose(module.weight.detach().numpy(),
                               np.triu(target) + np.triu(target, 1).T)
    assert list(module.state_dict()) == ["bias", "weight"]
    with pytest.raises(ValueError, match="does not have a parametrization"):
        parametrize.remove_parametrizations(module, "weight")
    parametrize.register_parametrization(module, "bias", _Scale())
    before = module.parametrizations.bias.original.detach().numpy().copy()
    parametrize.remove_parametrizations(module, "bias", leave_parametrized=False)
    np.testing.assert_array_equal(module.bias.detach().numpy(), before)
