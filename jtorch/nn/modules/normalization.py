"""Mirrors `torch.nn.modules.normalization`: LayerNorm, GroupNorm, RMSNorm and the local
response norms."""
from __future__ import annotations

import functools
import numbers

import numpy as np

from ..._ops.creation import empty, tensor
from ...autograd.function import Function
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["CrossMapLRN2d", "GroupNorm", "LayerNorm", "LocalResponseNorm", "RMSNorm"]


class LocalResponseNorm(Module):
    """Mirrors `torch.nn.LocalResponseNorm`."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75,
                 k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


@functools.cache
def _cross_map_window(channels: int, size: int) -> np.ndarray:
    """(C, C) 0/1 matrix: row c says which squared channels torch's CrossMapLRN2d sums for c.

    torch builds the sums with a running add/subtract over channels whose windows are not
    all centred (the first channel is never subtracted); replaying that recurrence on the
    identity gives exactly its windows.
    """
    pre_pad = int((size - 1) / 2 + 1)
    square = np.eye(channels)
    scale = np.zeros((channels, channels))
    scale[0] = square[:min(pre_pad, channels)].sum(0)
    for c in range(1, channels):
        scale[c] = scale[c - 1]
        if c < channels - pre_pad + 1:
            scale[c] += square[c + pre_pad - 1]
        if c > pre_pad:
            scale[c] -= square[c - pre_pad]
    return scale


@functools.cache
def _cross_map_backward_window(channels: int, size: int) -> np.ndarray:
    """(C, C) 0/1 matrix of the centred windows torch's CrossMapLRN2d backward sums over."""
    start = int(size - (size - 1) / 2)
    c = np.arange(channels)
    offset = c[None, :] - c[:, None] + start   # position of channel j in c's window
    return ((offset >= 0) & (offset < size)).astype(np.float64)


def _channel_sums(window, x):
    matrix = tensor(window, dtype=x.dtype, device=x.device)
    return (matrix @ x.flatten(2)).view(x.shape)


class _CrossMapLRN2dFunction(Function):
    # torch's backward is hand-written for centred windows, so it is not the exact gradient
    # of its forward near the first channels; this reproduces torch's numbers
    @staticmethod
    def forward(ctx, input, size, alpha, beta, k):
        scale = _channel_sums(_cross_map_window(input.size(1), size), input * input)
        scale = scale * (alpha / size) + k
        output = input * scale.pow(-beta)
        ctx.constants = (size, alpha, beta)
        ctx.save_for_backward(input, output, scale)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        input, output, scale = ctx.saved_tensors
        size, alpha, beta = ctx.constants
        ratio = _channel_sums(_cross_map_backward_window(input.size(1), size),
                              grad_output * output / scale)
        grad = scale.pow(-beta) * grad_output - (2 * alpha * beta / size) * input * ratio
        return grad, None, None, None, None


class CrossMapLRN2d(Module):
    """Mirrors `torch.nn.CrossMapLRN2d` (its forward and its hand-written backward)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        if input.dim() != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D "
                             f"instead.")
        return _CrossMapLRN2dFunction.apply(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


def _shape_tuple(normalized_shape) -> tuple:
    if isinstance(normalized_shape, numbers.Integral):
        return (normalized_shape,)
    return tuple(normalized_shape)


def _affine_parameters(module, affine, bias, shape, device, dtype):
    """weight and bias (each registered as None when off), uninitialised."""
    def make():
        return Parameter(empty(shape, device=device, dtype=dtype))
    module.register_parameter("weight", make() if affine else None)
    module.register_parameter("bias", make() if affine and bias else None)


def _ones_zeros(module, names):
    init.ones_(getattr(module, names[0]))
    if len(names) > 1 and getattr(module, names[1]) is not None:
        init.zeros_(getattr(module, names[1]))


class LayerNorm(Module):
    """Mirrors `torch.nn.LayerNorm`."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, elementwise_affine, bias, self.normalized_shape, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            _ones_zeros(self, ("weight", "bias"))

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Mirrors `torch.nn.GroupNorm`."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _affine_parameters(self, affine, bias, num_channels, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.affine:
            _ones_zeros(self, ("weight", "bias"))

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    """Mirrors `torch.nn.RMSNorm`."""

    def __init__(self, normalized_shape, eps: float | None = None,
                 elementwise_affine: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(empty(self.normalized_shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            _ones_zeros(self, ("weight",))

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
