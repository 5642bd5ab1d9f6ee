"""Mirrors `torch.nn.utils.clip_grad`: gradient clipping by total norm or by value.

Each public function runs one jitted kernel over all the gradients at once (torch's
`foreach` path); `foreach=` is accepted and ignored (STYLE.md)."""
from __future__ import annotations

import functools
import types
import warnings
from typing import Iterable

import jax.numpy as jnp

from ... import _dtype
from ..._ops.registry import register, write_inplace
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]

_tensor_or_tensors = Tensor | Iterable[Tensor]


def _vector_norm(x, norm_type: float):
    """torch.linalg.vector_norm of a flattened array (computed in at least float32)."""
    wide = x.astype(jnp.promote_types(x.dtype, jnp.float32)).reshape(-1)
    if x.size == 0:
        return jnp.zeros((), x.dtype)
    return jnp.linalg.vector_norm(wide, ord=norm_type).astype(x.dtype)


def _total_norm(tensors, norm_type):
    # torch: the norm of the stack of the per-tensor norms (stack promotes their dtypes)
    norms = [_vector_norm(t, norm_type) for t in tensors]
    dtype = functools.reduce(jnp.promote_types, [n.dtype for n in norms])
    return _vector_norm(jnp.stack([n.astype(dtype) for n in norms]), norm_type)


def _scaled(grads, max_norm, total_norm):
    coef = jnp.minimum(max_norm / (total_norm + 1e-6), 1.0)
    return tuple((g * coef.astype(g.dtype)).astype(g.dtype) for g in grads)


@register(name="_get_total_norm", namespace="jtorch._private", method=False, function=False,
          scalars=(), differentiable=False)
def _total_norm_kernel(tensors, norm_type):
    return _total_norm(tensors, norm_type)


@register(name="_clip_grads_with_norm", namespace="jtorch._private", method=False,
          function=False, scalars=("max_norm",), differentiable=False)
def _clip_with_norm_kernel(grads, max_norm, total_norm):
    return _scaled(grads, max_norm, total_norm)


@register(name="_clip_grad_norm", namespace="jtorch._private", method=False, function=False,
          scalars=("max_norm",), differentiable=False)
def _clip_norm_kernel(grads, max_norm, norm_type):
    total = _total_norm(grads, norm_type)
    return total, _scaled(grads, max_norm, total)


@register(name="_clip_grad_value", namespace="jtorch._private", method=False, function=False,
          scalars=("clip_value",), differentiable=False)
def _clip_value_kernel(grads, clip_value):
    return tuple(jnp.clip(g, -clip_value, clip_value).astype(g.dtype) for g in grads)


def _as_list(tensors) -> list:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _write_back(grads, values, name):
    for g, v in zip(grads, values):
        write_inplace(g, v, name)


def _check_finite(total_norm, norm_type, error_if_nonfinite):
    if error_if_nonfinite and not bool(jnp.isfinite(total_norm._value)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` "
                           "is non-finite, so it cannot be clipped. To disable this error and "
                           "scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")


def get_total_norm(tensors: _tensor_or_tensors, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Mirrors `torch.nn.utils.get_total_norm`."""
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    with no_grad():
        if not tensors:
            return Tensor._wrap(jnp.zeros((), _dtype.get_default_dtype()._np))
        total = _total_norm_kernel(tensors, norm_type)
    _check_finite(total, norm_type, error_if_nonfinite)
    return total


def clip_grads_with_norm_(parameters: _tensor_or_tensors, max_norm: float, total_norm: Tensor,
                          foreach: bool | None = None) -> None:
    """Mirrors `torch.nn.utils.clip_grads_with_norm_`."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    with no_grad():
        _write_back(grads, _clip_with_norm_kernel(grads, float(max_norm), total_norm),
                    "clip_grads_with_norm_")


def clip_grad_norm_(parameters: _tensor_or_tensors, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Mirrors `torch.nn.utils.clip_grad_norm_`."""
    is_generator = isinstance(parameters, types.GeneratorType)
    parameters = _as_list(parameters)
    if is_generator and not parameters:
        warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.",
                      stacklevel=2)
    grads = [p.grad for p in parameters if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return get_total_norm(grads, norm_type, error_if_nonfinite)
    with no_grad():
        total, clipped = _clip_norm_kernel(grads, float(max_norm), norm_type)
    _check_finite(total, norm_type, error_if_nonfinite)   # before any gradient changes
    with no_grad():
        _write_back(grads, clipped, "clip_grad_norm_")
    return total


def clip_grad_norm(parameters: _tensor_or_tensors, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Mirrors `torch.nn.utils.clip_grad_norm` (deprecated in torch for `clip_grad_norm_`)."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: _tensor_or_tensors, clip_value: float,
                     foreach: bool | None = None) -> None:
    """Mirrors `torch.nn.utils.clip_grad_value_`."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    with no_grad():
        _write_back(grads, _clip_value_kernel(grads, float(clip_value)), "clip_grad_value_")
