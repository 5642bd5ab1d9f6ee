"""Mirrors `torch.nn.utils.convert_parameters`."""
from __future__ import annotations

from typing import Iterable

import jax.numpy as jnp

from ..._ops.registry import register
from ..._tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


@register(name="_flatten_cat", namespace="jtorch._private", method=False, function=False,
          scalars=())
def _flatten_cat(tensors):
    return jnp.concatenate([t.reshape(-1) for t in tensors])


def _check_same_device(params: list) -> None:
    if len({p.device for p in params}) > 1:
        raise TypeError("Found two parameters on different devices, this is currently not "
                        "supported.")


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Mirrors `torch.nn.utils.parameters_to_vector` (one concatenation kernel)."""
    params = list(parameters)
    if not params:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    _check_same_device(params)
    return _flatten_cat(params)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Mirrors `torch.nn.utils.vector_to_parameters`: each parameter's `.data` becomes a view
    of `vec`, as in torch."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__qualname__}")
    params = list(parameters)
    _check_same_device(params)
    pointer = 0
    for param in params:
        count = param.numel()
        param.data = vec[pointer:pointer + count].view_as(param).data
        pointer += count
