"""Class-index and ranking losses of torch.nn.functional (nll, cross entropy, margins, ctc)."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..._ops._util import torch_dtype
from ._common import fn_register, legacy_reduction, reduce_loss, opmath, _type_name

__all__ = []


def _class_dim(input):
    return 1 if input.ndim >= 2 else 0


def _check_targets(input, target, weight=None, size_average=None, ignore_index=-100, *args,
                   **kwargs):
    """Class indices must lie in [0, C) unless ignored (torch raises IndexError)."""
    if input.ndim == 0 or not isinstance(target, jax.Array):
        return
    if jnp.issubdtype(target.dtype, jnp.floating):
        return
    t = np.asarray(target)
    c = input.shape[_class_dim(input)]
    bad = (t != ignore_index) & ((t < 0) | (t >= c))
    if bad.any():
        raise IndexError(f"Target {int(t[bad].flat[0])} is out of bounds.")


def _check_shapes(input, target, name="nll_loss"):
    if input.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.ndim})")
    if input.ndim == 1:
        if target.ndim != 0:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        return
    if input.shape[0] != target.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target.shape[0]}).")
    if target.shape != input.shape[:1] + input.shape[2:]:
        raise RuntimeError(f"size mismatch (got input: {list(input.shape)}, target: "
                           f"{list(target.shape)})")


def _nll(logp, target, weight, ignore_index, reduction):
    """Negative log-likelihood of class indices; logp has the classes on dim 1 (or 0 if 1-D)."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if target.dtype not in (jnp.int64, jnp.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{_type_name(torch_dtype(target))}")
    cdim = _class_dim(logp)
    keep = target != ignore_index
    safe = jnp.where(keep, target, 0).astype(jnp.int32)
    picked = jnp.take_along_axis(logp, jnp.expand_dims(safe, cdim), axis=cdim).squeeze(cdim)
    w = jnp.ones((), logp.dtype) if weight is None else weight.astype(logp.dtype)[safe]
    w = jnp.where(keep, w, jnp.zeros((), logp.dtype))
    loss = -picked * w
    if reduction == "none":
        return loss
    if reduction == "sum":
        return jnp.sum(loss)
    return jnp.sum(loss) / jnp.sum(jnp.broadcast_to(w, loss.shape))


def _check_weight(input, weight):
    if weight is not None:
        c = input.shape[_class_dim(input)]
        if weight.ndim != 1 or weight.shape[0] != c:
            raise RuntimeError(f"weight tensor should be defined either for all {c} classes or "
                               f"no classes but got weight tensor of shape: {list(weight.shape)}")


@fn_register(check=_check_targets)
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_shapes(input, target)
    _check_weight(input, weight)
    x, back = opmath(input)
    return back(_nll(x, target, weight, ignore_index, reduction))


@fn_register(check=_check_targets)
def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    reduction = legacy_reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input.ndim == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    _check_weight(input, weight)
    x, back = opmath(input)
    cdim = _class_dim(x)
    n_classes = x.shape[cdim]
    logp = jax.nn.log_softmax(x, axis=cdim)
    wshape = [1] * x.ndim
    wshape[cdim] = n_classes
    if jnp.issubdtype(target.dtype, jnp.floating):
        return back(_cross_entropy_probs(logp, target.astype(x.dtype), weight, wshape, cdim,
                                         reduction, label_smoothing))
    _check_shapes(x, target, "cross_entropy")
    nll = _nll(logp, target, weight, ignore_index, reduction)
    if label_smoothing == 0:
        return back(nll)
    keep = target != ignore_index
    if weight is not None:
        smooth = -jnp.sum(logp * weight.astype(x.dtype).reshape(wshape), axis=cdim)
    else:
        smooth = -jnp.sum(logp, axis=cdim)
    smooth = jnp.where(keep, smooth, jnp.zeros((), x.dtype))
    if reduction == "mean":
        if weight is not None:
            safe = jnp.where(keep, target, 0)
            denom = jnp.sum(jnp.where(keep, weight.astype(x.dtype)[safe], 0))
        else:
            denom = jnp.sum(keep).astype(x.dtype)
        smooth = jnp.sum(smooth) / denom
    elif reduction == "sum":
        smooth = jnp.sum(smooth)
    return back((1 - label_smoothing) * nll + smooth * (label_smoothing / n_classes))


def _cross_entropy_probs(logp, target, weight, wshape, cdim, reduction, label_smoothing):
    if target.shape != logp.shape:
        raise RuntimeError(f"Expected target size {list(logp.shape)}, got {list(target.shape)}")
    n_classes = logp.shape[cdim]
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    terms = logp * target
    if weight is not None:
        terms = terms * weight.astype(logp.dtype).reshape(wshape)
    if reduction == "none":
        return -jnp.sum(terms, axis=cdim)
    if reduction == "sum":
        return -jnp.sum(terms)
    if reduction == "mean":
        return -jnp.sum(terms) / (logp.size // n_classes if logp.size else 0)
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _non_empty_classes(input):
    """torch's shape rule for the margin losses: a non-empty vector or an (N, C>0) matrix."""
    if not ((input.ndim == 2 and input.shape[1] != 0) or (input.ndim <= 1 and input.size)):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, "
                           f"but got: {list(input.shape)}")


def _multi_margin_args(input, target, p, weight, reduction):
    """multi_margin_loss's static checks, in torch's order (Python wrapper, then kernel)."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    _non_empty_classes(input)
    rows = input.shape[0] if input.ndim == 2 else 1
    classes = input.shape[-1] if input.ndim else 1
    if target.ndim > 1 or target.size != rows:
        raise RuntimeError(f"inconsistent target size, target tensor should be 1-D with size "
                           f"equal to the number of rows of input. Expected target size "
                           f"[{rows}], but got {list(target.shape)}")
    if weight is not None and weight.size != classes:
        raise RuntimeError(f"inconsistent weight size, expected {classes} but got "
                           f"{list(weight.shape)}")
    if target.dtype != jnp.int64:
        raise RuntimeError(f"expected scalar type Long but found "
                           f"{_type_name(torch_dtype(target))}")


def _check_margin_targets(input, target, p=1, margin=1.0, weight=None, size_average=None,
                          reduce=None, reduction="mean"):
    _multi_margin_args(input, target, p, weight,
                       legacy_reduction(size_average, reduce, reduction))
    t = np.asarray(target)
    c = input.shape[-1] if input.ndim else 1
    if t.size and ((t < 0) | (t >= c)).any():
        raise RuntimeError("target out of range")


@fn_register(check=_check_margin_targets)
def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    _multi_margin_args(input, target, p, weight, reduction)
    x, back = opmath(input)
    x2 = x.reshape(-1, x.shape[-1] if x.ndim else 1)
    t = target.reshape(-1).astype(jnp.int32)
    c = x2.shape[1]
    picked = jnp.take_along_axis(x2, t[:, None], axis=1)
    z = jnp.maximum(margin - picked + x2, 0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight.astype(x.dtype)[t][:, None]
    z = jnp.where(jnp.arange(c)[None, :] == t[:, None], 0, z)
    loss = jnp.sum(z, axis=1) / c
    if input.ndim < 2 and reduction == "none":
        loss = loss.reshape(target.shape)
    return back(reduce_loss(loss, reduction))


@fn_register()
def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    _non_empty_classes(input)
    if target.shape != input.shape:
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    x, back = opmath(input)
    x2 = x.reshape(-1, x.shape[-1] if x.ndim else 1)
    t = target.reshape(x2.shape).astype(jnp.int32)
    c = x2.shape[1]
    valid = jnp.cumprod(t >= 0, axis=1).astype(bool)        # targets stop at the first -1
    safe = jnp.where(valid, t, 0)
    is_target = jnp.any(valid[:, :, None] & (safe[:, :, None] == jnp.arange(c)), axis=1)
    picked = jnp.take_along_axis(x2, safe, axis=1)                          # (N, T)
    hinge = jnp.maximum(1 - picked[:, :, None] + x2[:, None, :], 0)         # (N, T, C)
    hinge = hinge * (valid[:, :, None] & ~is_target[:, None, :])
    loss = jnp.sum(hinge, axis=(1, 2)) / c
    if input.ndim < 2:
        loss = loss.reshape(())
    return back(reduce_loss(loss, reduction))


@fn_register()
def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    x, back = opmath(input)
    t = target.astype(x.dtype)
    logsig = lambda v: jnp.minimum(v, 0) - jnp.log1p(jnp.exp(-jnp.abs(v)))  # noqa: E731
    loss = -(t * logsig(x) + (1 - t) * logsig(-x))
    if weight is not None:
        loss = loss * weight.astype(x.dtype)
    cdim = x.ndim - 1
    loss = jnp.sum(loss, axis=cdim) / x.shape[cdim] if x.ndim else loss
    return back(reduce_loss(loss, reduction))


from .loss_extra import *  # noqa: E402,F401,F403  (ctc, triplet)
