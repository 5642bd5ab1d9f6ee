"""Normalization of torch.nn.functional: batch, layer, group, instance, rms, local response."""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
from jax import lax

from ..._ops.registry import write_inplace
from ..._tensor import Tensor
from ._common import fn_register, OVERRIDES, TORCH_EXPORTS, opmath


def _affine(y, weight, bias, shape):
    if weight is not None:
        y = y * weight.reshape(shape).astype(y.dtype)
    if bias is not None:
        y = y + bias.reshape(shape).astype(y.dtype)
    return y


def _moments(x, axes):
    mean = jnp.mean(x, axis=axes, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=axes, keepdims=True)
    return mean, var


@fn_register(name="batch_norm", function=False)
def _batch_norm_kernel(input, running_mean, running_var, weight, bias, training, momentum, eps):
    if input.ndim < 2:
        if input.size == 0:
            return input, running_mean, running_var
        raise ValueError(f"Expected 2D or 3D input (got {input.ndim}D input)")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.size != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.size}")
    shape = (1, c) + (1,) * (input.ndim - 2)
    x, back = opmath(input)
    axes = (0,) + tuple(range(2, x.ndim))
    new_mean = new_var = None
    if training:
        count = x.size // c
        if count == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size torch.Size({list(input.shape)})")
        mean, var = _moments(x, axes)
        if running_mean is not None:
            new_mean = ((1 - momentum) * running_mean + momentum * mean.reshape(c)).astype(
                running_mean.dtype)
        if running_var is not None:
            unbiased = var.reshape(c) * (count / (count - 1))
            new_var = ((1 - momentum) * running_var + momentum * unbiased).astype(
                running_var.dtype)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
        mean = running_mean.reshape(shape).astype(x.dtype)
        var = running_var.reshape(shape).astype(x.dtype)
    y = (x - mean) * lax.rsqrt(var + eps)
    return back(_affine(y, weight, bias, shape)), new_mean, new_var


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Mirrors `torch.nn.functional.batch_norm` (running stats are updated in place)."""
    out, new_mean, new_var = _batch_norm_kernel(input, running_mean, running_var, weight, bias,
                                                training, momentum, eps)
    if training:
        for buffer, value in ((running_mean, new_mean), (running_var, new_var)):
            if isinstance(buffer, Tensor) and value is not None:
                write_inplace(buffer, value.detach(), "batch_norm")
    return out


OVERRIDES["batch_norm"] = batch_norm
TORCH_EXPORTS["batch_norm"] = lambda input, weight, bias, running_mean, running_var, training, \
    momentum, eps, cudnn_enabled=True: batch_norm(input, running_mean, running_var, weight,
                                                  bias, training, momentum, eps)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Mirrors `torch.nn.functional.instance_norm`."""
    out, new_mean, new_var = _instance_norm_kernel(input, running_mean, running_var, weight,
                                                   bias, use_input_stats, momentum, eps)
    if use_input_stats:
        for buffer, value in ((running_mean, new_mean), (running_var, new_var)):
            if isinstance(buffer, Tensor) and value is not None:
                write_inplace(buffer, value.detach(), "instance_norm")
    return out


@fn_register(name="instance_norm", function=False)
def _instance_norm_kernel(input, running_mean, running_var, weight, bias, use_input_stats,
                          momentum, eps):
    if input.ndim < 2:
        raise ValueError(f"instance_norm: expected at least 2D input (got {input.ndim}D)")
    n, c = input.shape[:2]
    if use_input_stats and math.prod(input.shape[2:]) <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{list(input.shape)}")
    # instance norm is batch norm over the (1, N*C, ...) reshape, as torch computes it
    x = input.reshape((1, n * c) + input.shape[2:])
    rm = None if running_mean is None else jnp.tile(running_mean, n)
    rv = None if running_var is None else jnp.tile(running_var, n)
    w = None if weight is None else jnp.tile(weight, n)
    b = None if bias is None else jnp.tile(bias, n)
    out, new_mean, new_var = _batch_norm_kernel._op.impl(x, rm, rv, w, b, use_input_stats,
                                                         momentum, eps)
    if new_mean is not None:
        new_mean = new_mean.reshape(n, c).mean(0).astype(running_mean.dtype)
    if new_var is not None:
        new_var = new_var.reshape(n, c).mean(0).astype(running_var.dtype)
    return out.reshape(input.shape), new_mean, new_var


OVERRIDES["instance_norm"] = instance_norm
TORCH_EXPORTS["instance_norm"] = lambda input, weight, bias, running_mean, running_var, \
    use_input_stats, momentum, eps, cudnn_enabled=True: instance_norm(
        input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def _normalized_axes(input, normalized_shape, name):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    n = len(shape)
    if n == 0 or input.ndim < n or tuple(input.shape[-n:]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size"
                           f"{list(input.shape)}")
    return shape, tuple(range(input.ndim - n, input.ndim))


def _check_affine(shape, **params):
    for label, value in params.items():
        if value is not None and tuple(value.shape) != shape:
            raise RuntimeError(f"Expected {label} to be of same shape as normalized_shape, but "
                               f"got {label} of shape {list(value.shape)} and normalized_shape "
                               f"= {list(shape)}")


@fn_register()
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    shape, axes = _normalized_axes(input, normalized_shape, "layer_norm")
    _check_affine(shape, weight=weight, bias=bias)
    x, back = opmath(input)
    mean, var = _moments(x, axes)
    y = (x - mean) * lax.rsqrt(var + eps)
    return back(_affine(y, weight, bias, shape))


TORCH_EXPORTS["layer_norm"] = layer_norm


@fn_register()
def rms_norm(input, normalized_shape, weight=None, eps=None):
    shape, axes = _normalized_axes(input, normalized_shape, "rms_norm")
    _check_affine(shape, weight=weight)
    x, back = opmath(input)
    if eps is None:
        eps = float(jnp.finfo(input.dtype).eps)
    y = x * lax.rsqrt(jnp.mean(jnp.square(x), axis=axes, keepdims=True) + eps)
    return back(_affine(y, weight, None, shape))


TORCH_EXPORTS["rms_norm"] = rms_norm


@fn_register()
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.ndim}")
    n, c = input.shape[:2]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    x, back = opmath(input)
    g = x.reshape((n, num_groups, -1))
    mean, var = _moments(g, (2,))
    y = ((g - mean) * lax.rsqrt(var + eps)).reshape(input.shape)
    return back(_affine(y, weight, bias, (1, c) + (1,) * (input.ndim - 2)))


TORCH_EXPORTS["group_norm"] = group_norm


@fn_register()
def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} "
                         f"dimensions)")
    if input.size == 0:
        return input
    integer = not jnp.issubdtype(input.dtype, jnp.inexact)
    sq = input * input
    # a window of `size` channels, zero padded size//2 before and (size-1)//2 after
    pads = [(0, 0), (size // 2, (size - 1) // 2)] + [(0, 0)] * (input.ndim - 2)
    window = (1, size) + (1,) * (input.ndim - 2)
    # a concrete init lets jax pick its differentiable window-sum primitive
    total = lax.reduce_window(sq, np.zeros((), sq.dtype), lax.add, window, (1,) * input.ndim,
                              pads)
    if integer:
        from ..._ops._util import to_float
        avg = to_float(lax.div(total, jnp.asarray(size, total.dtype)))
        x = to_float(input)
    else:
        avg, x = total / size, input
    return x / (avg * alpha + k) ** beta
