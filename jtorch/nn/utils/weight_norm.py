"""Mirrors `torch.nn.utils.weight_norm`: the hooks-based weight normalisation (deprecated in
torch in favour of `parametrizations.weight_norm`)."""
from __future__ import annotations

import warnings
from typing import Any, TypeVar

import jax.numpy as jnp

from ..._ops.registry import register
from ..modules.module import Module
from ..parameter import Parameter, UninitializedParameter

__all__ = ["WeightNorm", "weight_norm", "remove_weight_norm"]


def _other_axes(ndim: int, dim: int) -> tuple:
    # torch's norm_except_dim: dim == -1 means "the whole tensor"; other dims wrap
    if dim == -1:
        return tuple(range(ndim))
    dim = dim % ndim if ndim else 0
    return tuple(a for a in range(ndim) if a != dim)


def _norm_keep(v, dim: int):
    axes = _other_axes(v.ndim, dim)
    norm = jnp.sqrt(jnp.sum(jnp.square(v), axis=axes, keepdims=dim != -1))
    return norm.astype(v.dtype)


@register(name="norm_except_dim", namespace="jtorch._private", method=False, function=False,
          scalars=())
def _norm_except_dim(v, pow: float = 2, dim: int = 0):
    if pow != 2:
        axes = _other_axes(v.ndim, dim)
        return (jnp.sum(jnp.abs(v) ** pow, axis=axes, keepdims=dim != -1) ** (1 / pow)
                ).astype(v.dtype)
    return _norm_keep(v, dim)


@register(name="_weight_norm", namespace="jtorch._private", method=False, function=False,
          scalars=())
def _weight_norm(v, g, dim: int = 0):
    """torch._weight_norm: v * (g / ||v||), the norm over every axis but `dim`."""
    return v * (g / _norm_keep(v, dim))


class WeightNorm:
    """Mirrors `torch.nn.utils.weight_norm.WeightNorm` (a forward pre-hook)."""

    name: str
    dim: int

    def __init__(self, name: str, dim: int) -> None:
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module: Module) -> Any:
        return _weight_norm(getattr(module, self.name + "_v"), getattr(module, self.name + "_g"),
                            self.dim)

    @staticmethod
    def apply(module, name: str, dim: int) -> "WeightNorm":
        warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                      "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning,
                      stacklevel=3)
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError("Cannot register two weight_norm hooks on the same parameter "
                                   f"{name}")
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        if isinstance(weight, UninitializedParameter):
            raise ValueError("The module passed to `WeightNorm` can't have uninitialized "
                             "parameters. Make sure to run the dummy forward before applying "
                             "weight normalization")
        del module._parameters[name]
        module.register_parameter(name + "_g",
                                  Parameter(_norm_except_dim(weight, 2, fn.dim).data))
        module.register_parameter(name + "_v", Parameter(weight.data))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module: Module) -> None:
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.data))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module))


T_module = TypeVar("T_module", bound=Module)


def weight_norm(module: T_module, name: str = "weight", dim: int = 0) -> T_module:
    """Mirrors `torch.nn.utils.weight_norm`."""
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module: T_module, name: str = "weight") -> T_module:
    """Mirrors `torch.nn.utils.remove_weight_norm`."""
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, WeightNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")
