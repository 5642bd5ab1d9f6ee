"""Loss functions of torch.nn.functional."""
from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from ..._ops._util import result_type, float_dtype
from ._common import (broadcast_shape, fn_register, legacy_reduction, reduce_loss, opmath,
                      as_scalar, float_input)


def _same_size_warning(input, target):
    if input.shape != target.shape:
        warnings.warn(f"Using a target size ({_size(target.shape)}) that is different to the "
                      f"input size ({_size(input.shape)}). This will likely lead to incorrect "
                      f"results due to broadcasting. Please ensure they have the same size.",
                      stacklevel=4)


def _size(shape):
    return f"torch.Size({list(shape)})"


def _broadcast(input, target):
    try:
        shape = jnp.broadcast_shapes(input.shape, target.shape)
    except ValueError:
        raise RuntimeError(f"The size of tensor a ({input.shape}) must match the size of tensor b "
                           f"({target.shape})") from None
    return jnp.broadcast_to(input, shape), jnp.broadcast_to(target, shape)


def _weighted(loss, weight, reduction, input, mean_by_weight=True):
    """l1/mse/huber with `weight=`: torch normalises 'mean' by sum(weight) (huber: by count)."""
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return jnp.sum(loss)
    if reduction == "mean":
        return jnp.sum(loss) / jnp.sum(weight) if mean_by_weight else jnp.mean(loss)
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', "
                     f"'sum'.")


def _pointwise_loss(fn, weighted=False, mean_by_weight=True):
    """input/target elementwise losses (l1, mse, huber ...)."""
    def loss(input, target, reduction, weight=None):
        _same_size_warning(input, target)
        (x, t) = _broadcast(input, target)
        d = result_type(input, target)
        x, t = x.astype(d._np), t.astype(d._np)
        values = fn(x, t)
        if weight is not None:
            return _weighted(values, weight, reduction, input, mean_by_weight)
        return reduce_loss(values, reduction)
    return loss


_l1 = _pointwise_loss(lambda x, t: jnp.abs(x - t))
_mse = _pointwise_loss(lambda x, t: (x - t) ** 2)


@fn_register()
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    return _l1(input, target, legacy_reduction(size_average, reduce, reduction), weight)


@fn_register()
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    return _mse(input, target, legacy_reduction(size_average, reduce, reduction), weight)


def _huber_values(d, delta):
    a = jnp.abs(d)
    return jnp.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))


@fn_register()
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    fn = _pointwise_loss(lambda x, t: _huber_values(x - t, delta), mean_by_weight=False)
    return fn(input, target, reduction, weight)


@fn_register()
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")

    def values(x, t):
        a = jnp.abs(x - t)
        if beta == 0:
            return a
        return jnp.where(a < beta, 0.5 * a * a / beta, a - 0.5 * beta)
    return _pointwise_loss(values)(input, target, legacy_reduction(size_average, reduce, reduction))


@fn_register()
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    x, t = _broadcast(input, target)
    loss = jnp.log1p(jnp.exp(-t * x))
    return reduce_loss(loss, legacy_reduction(size_average, reduce, reduction))


def _check_bce_values(input, target, weight=None, *args, **kwargs):
    x = np.asarray(input)
    if x.size and ((x < 0) | (x > 1)).any():
        raise RuntimeError("all elements of input should be between 0 and 1")


@fn_register(check=_check_bce_values)
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({_size(target.shape)}) that is different to the "
                         f"input size ({_size(input.shape)}) is deprecated. Please ensure they "
                         f"have the same size.")
    float_input(input, "binary_cross_entropy")
    x, back = opmath(input)
    t = target.astype(x.dtype)
    # torch clamps each log at -100 so that 0 * log(0) stays finite
    loss = -(t * jnp.maximum(jnp.log(x), -100) + (1 - t) * jnp.maximum(jnp.log1p(-x), -100))
    if weight is not None:
        loss = loss * weight.astype(x.dtype)
    return back(reduce_loss(loss, reduction))


@fn_register()
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    reduction = legacy_reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({_size(target.shape)}) must be the same as input size "
                         f"({_size(input.shape)})")
    x, back = opmath(input)
    t = target.astype(x.dtype)
    softplus_neg = jnp.maximum(-x, 0) + jnp.log1p(jnp.exp(-jnp.abs(x)))   # log(1 + exp(-x))
    if pos_weight is not None:
        coeff = 1 + (pos_weight.astype(x.dtype) - 1) * t
        loss = (1 - t) * x + coeff * softplus_neg
    else:
        loss = (1 - t) * x + softplus_neg
    if weight is not None:
        loss = loss * weight.astype(x.dtype)
    return back(reduce_loss(loss, reduction))


@fn_register()
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=3)
    x, t = _broadcast(input, target)
    if log_target:
        loss = jnp.exp(t) * (t - x)
    else:
        loss = jax.scipy.special.xlogy(t, t) - t * x
    if reduction == "batchmean":
        total = jnp.sum(loss)
        return total / input.shape[0] if input.ndim else total
    return reduce_loss(loss, reduction)


@fn_register()
def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    broadcast_shape(input, target)
    d = float_dtype(result_type(input, target))
    x, t = input.astype(d._np), target.astype(d._np)
    if log_input:
        loss = jnp.exp(x) - t * x
    else:
        loss = x - t * jnp.log(x + eps)
    if full:
        stirling = t * jnp.log(t) - t + 0.5 * jnp.log(2 * math.pi * t)
        loss = loss + jnp.where(t > 1, stirling, 0).astype(loss.dtype)
    return reduce_loss(loss, reduction)


def _check_gaussian_var(input, target, var, *args, **kwargs):
    if isinstance(var, (int, float)):
        bad = var < 0
    else:
        bad = bool((np.asarray(var) < 0).any())
    if bad:
        raise ValueError("var has negative entry/entries")


@fn_register(check=_check_gaussian_var)
def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    if isinstance(var, (int, float)):
        var = jnp.full(input.shape, var, input.dtype)
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = var[..., None]
        elif input.ndim == var.ndim and sum(
                y for x, y in zip(input.shape, var.shape) if x != y) == 1:
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    broadcast_shape(input, target, var)
    # torch clamps var under no_grad: the clamp is invisible to autograd
    var = var + jax.lax.stop_gradient(jnp.maximum(var, eps) - var)
    loss = 0.5 * (jnp.log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_loss(loss, reduction)


@fn_register()
def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    x, t = _broadcast(input, target)
    zero = jnp.zeros((), x.dtype)
    margin_part = jnp.where(t != 1, jnp.maximum(margin - x, 0), zero)
    self_part = jnp.where(t != -1, x, zero)
    return reduce_loss(margin_part + self_part, legacy_reduction(size_average, reduce, reduction))


@fn_register()
def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {_size(input1.shape)}, input2: "
                           f"{_size(input2.shape)}, target: {_size(target.shape)} ")
    d = float_dtype(result_type(input1, input2, target))
    x1, x2, t = (a.astype(d._np) for a in (input1, input2, target))
    loss = jnp.maximum(-t * (x1 - x2) + as_scalar(margin, x1), 0)
    return reduce_loss(loss, legacy_reduction(size_average, reduce, reduction))


@fn_register()
def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    if input1.ndim != input2.ndim or input1.shape != input2.shape:
        raise RuntimeError(f"cosine_embedding_loss : input1 and input2 should have the same "
                           f"shape, but got {list(input1.shape)} and {list(input2.shape)}")
    if input1.ndim not in (1, 2) or target.ndim != input1.ndim - 1:
        raise RuntimeError(f"{input1.ndim}D target tensor expects {input1.ndim - 1}D input "
                           f"tensors, but found inputs with sizes {list(input1.shape)}, "
                           f"{list(input2.shape)}, and {list(target.shape)}.")
    d = float_dtype(result_type(input1, input2))
    x1, x2 = input1.astype(d._np), input2.astype(d._np)
    eps = 1e-12
    prod = jnp.sum(x1 * x2, -1)
    cos = prod / jnp.sqrt((jnp.sum(x1 * x1, -1) + eps) * (jnp.sum(x2 * x2, -1) + eps))
    zero = jnp.zeros_like(cos)
    loss = (jnp.where(target == 1, 1 - cos, zero)
            + jnp.where(target == -1, jnp.maximum(cos - margin, 0), zero))
    return reduce_loss(loss, legacy_reduction(size_average, reduce, reduction))


from .loss_class import *  # noqa: E402,F401,F403  (the class-index losses)
