"""Mirrors `torch.nn.utils.spectral_norm`: the hooks-based spectral normalisation."""
from __future__ import annotations

from typing import Any, TypeVar

import jax
import jax.numpy as jnp

from ..._ops.registry import register, write_inplace
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from .. import functional as F
from ..modules.module import Module
from ..parameter import Parameter, UninitializedParameter

__all__ = ["SpectralNorm", "SpectralNormLoadStateDictPreHook", "SpectralNormStateDictHook",
           "spectral_norm", "remove_spectral_norm"]



def _as_matrix(weight, dim: int):
    if dim != 0:
        weight = jnp.moveaxis(weight, dim, 0)
    return weight.reshape(weight.shape[0], -1)


def _normalize(x, eps):
    return x / jnp.maximum(jnp.linalg.vector_norm(x), eps)


@register(name="_spectral_power_iteration", namespace="jtorch._private", method=False,
          function=False, scalars=("eps",), differentiable=False)
def _power_iteration(weight, u, v, dim, n_power_iterations, eps, u_first=False):
    """`n_power_iterations` steps of the power method on the weight's matrix: new (u, v).
    The hooks API updates v first with W^T; parametrizations.spectral_norm u first, W^H."""
    mat = _as_matrix(weight, dim)
    mat_t = jnp.conj(mat).T if u_first else mat.T
    for _ in range(n_power_iterations):
        if u_first:
            u = _normalize(jnp.matmul(mat, v), eps)
        v = _normalize(jnp.matmul(mat_t, u), eps)
        if not u_first:
            u = _normalize(jnp.matmul(mat, v), eps)
    return u, v


@register(name="_spectral_divide", namespace="jtorch._private", method=False, function=False,
          scalars=())
def _spectral_divide(weight, u, v, dim, conjugate=False):
    """weight / sigma with sigma = u . (W v), W the weight as a matrix (u conjugated for
    parametrizations.spectral_norm, which uses vdot)."""
    u = jnp.conj(u) if conjugate else u
    sigma = jnp.dot(u, jnp.matmul(_as_matrix(weight, dim), v))
    return weight / sigma


def power_iteration_(weight: Tensor, u: Tensor, v: Tensor, dim: int, n_power_iterations: int,
                     eps: float, u_first: bool = False) -> None:
    """Update the buffers `u` and `v` in place (torch writes them through `out=`)."""
    with no_grad():
        new_u, new_v = _power_iteration(weight, u, v, dim, n_power_iterations, float(eps),
                                        u_first)
        write_inplace(v, new_v, "spectral_norm")
        write_inplace(u, new_u, "spectral_norm")


def initial_vectors(weight: Tensor, dim: int, eps: float) -> tuple[Tensor, Tensor]:
    """torch's starting u, v: normalised standard normal draws (from the default generator)."""
    with no_grad():
        shape = weight.shape
        height = shape[dim]
        width = weight.numel() // height if height else 0
        u = F.normalize(weight.new_empty(height).normal_(0, 1), dim=0, eps=eps)
        v = F.normalize(weight.new_empty(width).normal_(0, 1), dim=0, eps=eps)
    return u, v


class SpectralNorm:
    """Mirrors `torch.nn.utils.spectral_norm.SpectralNorm` (a forward pre-hook)."""

    _version: int = 1
    name: str
    dim: int
    n_power_iterations: int
    eps: float

    def __init__(self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        self.name = name
        self.dim = dim
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *[d for d in range(weight.dim()) if d != self.dim])
        return weight.reshape(weight.size(0), -1)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        if do_power_iteration:
            power_iteration_(weight, u, v, self.dim % max(weight.dim(), 1),
                             self.n_power_iterations, self.eps)
            u, v = u.clone(), v.clone()
        return _spectral_divide(weight, u, v, self.dim % max(weight.dim(), 1))

    def remove(self, module: Module) -> None:
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module,
                                                       do_power_iteration=module.training))

    def _solve_v_and_rescale(self, weight_mat, u, target_sigma):
        from ... import linalg
        v = linalg.multi_dot([weight_mat.t().mm(weight_mat).pinverse(), weight_mat.t(),
                              u.unsqueeze(1)]).squeeze(1)
        return v.mul_(target_sigma / u.dot(weight_mat.mv(v)))

    @staticmethod
    def apply(module: Module, name: str, n_power_iterations: int, dim: int,
              eps: float) -> "SpectralNorm":
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError("Cannot register two spectral_norm hooks on the same "
                                   f"parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        if weight is None:
            raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
        if isinstance(weight, UninitializedParameter):
            raise ValueError("The module passed to `SpectralNorm` can't have uninitialized "
                             "parameters. Make sure to run the dummy forward before applying "
                             "spectral normalization")
        u, v = initial_vectors(weight, dim, fn.eps)
        delattr(module, fn.name)
        module.register_parameter(fn.name + "_orig", weight)
        # a plain attribute until the first forward recomputes it (torch does the same)
        setattr(module, fn.name, weight.data)
        module.register_buffer(fn.name + "_u", u)
        module.register_buffer(fn.name + "_v", v)
        module.register_forward_pre_hook(fn)
        module._register_state_dict_hook(SpectralNormStateDictHook(fn))
        module._register_load_state_dict_pre_hook(SpectralNormLoadStateDictPreHook(fn))
        return fn


class SpectralNormLoadStateDictPreHook:
    """Mirrors torch's: upgrades checkpoints from before `weight_v` was saved."""

    def __init__(self, fn) -> None:
        self.fn = fn

    def __call__(self, state_dict, prefix, local_metadata, strict, missing_keys,
                 unexpected_keys, error_msgs) -> None:
        fn = self.fn
        version = local_metadata.get("spectral_norm", {}).get(fn.name + ".version", None)
        if version is not None and version >= 1:
            return
        weight_key = prefix + fn.name
        if (version is None and weight_key not in state_dict
                and all(weight_key + s in state_dict for s in ("_orig", "_u", "_v"))):
            return
        has_missing_keys = False
        for suffix in ("_orig", "", "_u"):
            if weight_key + suffix not in state_dict:
                has_missing_keys = True
                if strict:
                    missing_keys.append(weight_key + suffix)
        if has_missing_keys:
            return
        with no_grad():
            weight_orig = state_dict[weight_key + "_orig"]
            weight = state_dict.pop(weight_key)
            sigma = (weight_orig / weight).mean()
            weight_mat = fn.reshape_weight_to_matrix(weight_orig)
            u = state_dict[weight_key + "_u"]
            state_dict[weight_key + "_v"] = fn._solve_v_and_rescale(weight_mat, u, sigma)


class SpectralNormStateDictHook:
    """Mirrors torch's: records the format version in the state_dict's metadata."""

    def __init__(self, fn) -> None:
        self.fn = fn

    def __call__(self, module, state_dict, prefix, local_metadata) -> None:
        versions = local_metadata.setdefault("spectral_norm", {})
        key = self.fn.name + ".version"
        if key in versions:
            raise RuntimeError(f"Unexpected key in metadata['spectral_norm']: {key}")
        versions[key] = self.fn._version


T_module = TypeVar("T_module", bound=Module)


def _default_dim(module) -> int:
    from .. import modules
    transposed = tuple(getattr(modules, n) for n in
                       ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d")
                       if hasattr(modules, n))
    return 1 if transposed and isinstance(module, transposed) else 0


def spectral_norm(module: T_module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> T_module:
    """Mirrors `torch.nn.utils.spectral_norm`."""
    SpectralNorm.apply(module, name, n_power_iterations,
                       _default_dim(module) if dim is None else dim, eps)
    return module


def remove_spectral_norm(module: T_module, name: str = "weight") -> T_module:
    """Mirrors `torch.nn.utils.remove_spectral_norm`."""
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            break
    else:
        raise ValueError(f"spectral_norm of '{name}' not found in {module}")
    for table, kind in ((module._state_dict_hooks, SpectralNormStateDictHook),
                        (module._load_state_dict_pre_hooks, SpectralNormLoadStateDictPreHook)):
        for key, hook in table.items():
            hook = getattr(hook, "hook", hook)   # load pre-hooks may be wrapped
            if isinstance(hook, kind) and hook.fn.name == name:
                del table[key]
                break
    return module
