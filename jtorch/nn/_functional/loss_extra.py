"""CTC and triplet losses of torch.nn.functional."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ..._ops._util import result_type, float_dtype
from ._common import fn_register, OVERRIDES, reduce_loss, legacy_reduction
from .misc import pairwise_distance

__all__ = []


def _triplet_dims(anchor, positive, negative):
    a, p, n = anchor.ndim, positive.ndim, negative.ndim
    if not (a == p == n):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {a}D, positive {p}D, and "
                           f"negative {n}D inputs")


@fn_register(name="triplet_margin_loss")
def _triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                         size_average=None, reduce=None, reduction="mean"):
    """Mirrors `torch.nn.functional.triplet_margin_loss`."""
    _triplet_dims(anchor, positive, negative)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    reduction = legacy_reduction(size_average, reduce, reduction)
    distance = pairwise_distance._op.impl
    d_pos = distance(anchor, positive, p, eps)
    d_neg = distance(anchor, negative, p, eps)
    if swap:
        d_neg = jnp.minimum(d_neg, distance(positive, negative, p, eps))
    return _triplet_from_distances._op.impl(d_pos, d_neg, margin, reduction)


@fn_register(name="triplet_margin_from_distances", function=False)
def _triplet_from_distances(d_pos, d_neg, margin, reduction):
    d = float_dtype(result_type(d_pos, d_neg))
    loss = jnp.maximum(margin + d_pos.astype(d._np) - d_neg.astype(d._np), 0)
    return reduce_loss(loss, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """Mirrors `torch.nn.functional.triplet_margin_with_distance_loss`."""
    _triplet_dims(anchor, positive, negative)
    if margin <= 0:
        raise ValueError(f"triplet_margin_with_distance_loss: expected margin to be greater "
                         f"than 0, got {margin} instead")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    distance = distance_function if distance_function is not None else pairwise_distance
    d_pos = distance(anchor, positive)
    d_neg = distance(anchor, negative)
    if swap:
        d_swap = distance(positive, negative)
        d_neg = _minimum(d_neg, d_swap)
    return _triplet_from_distances(d_pos, d_neg, margin, reduction)


@fn_register(name="triplet_minimum", function=False)
def _minimum(a, b):
    return jnp.minimum(a, b)


OVERRIDES["triplet_margin_with_distance_loss"] = triplet_margin_with_distance_loss


def _check_ctc(log_probs, targets, input_lengths, target_lengths, blank=0, *args, **kwargs):
    il = np.asarray(input_lengths)
    t_max = log_probs.shape[0]
    if il.size and (il > t_max).any():
        raise RuntimeError(f"Expected input_lengths to have value at most {t_max}, but got "
                           f"value {int(il.max())}")
    if not 0 <= blank < log_probs.shape[-1]:
        raise RuntimeError("blank must be in label range")


@fn_register(check=_check_ctc)
def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = log_probs[:, None]
        targets = targets[None] if targets.ndim == 1 else targets
        input_lengths = jnp.reshape(input_lengths, (1,))
        target_lengths = jnp.reshape(target_lengths, (1,))
    t_max, batch, _ = log_probs.shape
    input_lengths = jnp.broadcast_to(jnp.asarray(input_lengths), (batch,)).astype(jnp.int32)
    target_lengths = jnp.broadcast_to(jnp.asarray(target_lengths), (batch,)).astype(jnp.int32)
    if targets.ndim == 1:
        # concatenated targets: cut them into a padded (batch, max_len) array
        starts = jnp.concatenate([jnp.zeros(1, jnp.int32), jnp.cumsum(target_lengths)[:-1]])
        width = max(targets.shape[0], 1)
        idx = starts[:, None] + jnp.arange(width)[None, :]
        padded = jnp.take(targets, jnp.clip(idx, 0, max(targets.shape[0] - 1, 0)), axis=0) \
            if targets.shape[0] else jnp.zeros((batch, 1), jnp.int32)
    else:
        padded = targets if targets.shape[1] else jnp.zeros((batch, 1), targets.dtype)
    padded = padded.astype(jnp.int32)
    nll = _ctc_nll(log_probs, padded, input_lengths, target_lengths, blank, zero_infinity)
    if zero_infinity:
        nll = jnp.where(jnp.isinf(nll), jnp.zeros((), nll.dtype), nll)
    if reduction == "mean":
        return jnp.mean(nll / jnp.maximum(target_lengths, 1).astype(nll.dtype))
    if reduction == "sum":
        return jnp.sum(nll)
    if reduction != "none":
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return nll[0] if unbatched else nll


@functools.partial(jax.custom_jvp, nondiff_argnums=(4, 5))
def _ctc_nll(log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
    """The per-sequence CTC loss, differentiated as torch does (below)."""
    return _ctc_alpha_nll(log_probs, targets, input_lengths, target_lengths, blank)


@_ctc_nll.defjvp
def _ctc_nll_jvp(blank, zero_infinity, primals, tangents):
    # torch's CTC gradient is the log-probabilities' true gradient plus exp(log_probs) over
    # each sequence's input length (the term a preceding log_softmax cancels); an infinite
    # loss gives NaN there, or zeros with zero_infinity
    log_probs, targets, input_lengths, target_lengths = primals
    nll, pullback = jax.vjp(lambda lp: _ctc_alpha_nll(lp, targets, input_lengths,
                                                      target_lengths, blank), log_probs)
    grad, = pullback(jnp.ones_like(nll))
    inside = (jnp.arange(log_probs.shape[0])[:, None] < input_lengths[None, :])[..., None]
    grad = grad + jnp.where(inside, jnp.exp(log_probs), 0)
    infinite = jnp.isinf(nll)[None, :, None] & inside
    grad = jnp.where(infinite, 0 if zero_infinity else jnp.nan, grad).astype(log_probs.dtype)
    return nll, jnp.sum(grad * tangents[0], axis=(0, 2))


@jax.custom_jvp
def _logaddexp(a, b):
    return jnp.logaddexp(a, b)


@_logaddexp.defjvp
def _logaddexp_jvp(primals, tangents):
    # jnp.logaddexp's derivative is NaN where both terms are -inf (unreachable CTC states)
    (a, b), (ta, tb) = primals, tangents
    out = _logaddexp(a, b)
    unreached = out == -jnp.inf
    wa = jnp.where(unreached, 0, jnp.exp(a - jnp.where(unreached, 0, out)))
    wb = jnp.where(unreached, 0, jnp.exp(b - jnp.where(unreached, 0, out)))
    return out, wa * ta + wb * tb


def _ctc_alpha_nll(log_probs, targets, input_lengths, target_lengths, blank):
    """The CTC forward (alpha) recursion over the blank-extended label sequence."""
    t_max, batch, _ = log_probs.shape
    s_len = 2 * targets.shape[1] + 1
    ext = jnp.full((batch, s_len), blank, jnp.int32).at[:, 1::2].set(targets)
    valid = jnp.arange(s_len)[None, :] < (2 * target_lengths[:, None] + 1)
    neg_inf = jnp.asarray(-jnp.inf, log_probs.dtype)
    # s-2 transitions are allowed onto a label that differs from the label two back
    skip = jnp.concatenate([jnp.zeros((batch, 2), bool),
                            (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])], axis=1)
    emit = jnp.take_along_axis(log_probs, jnp.broadcast_to(ext[None], (t_max, batch, s_len)),
                               axis=2)
    alpha0 = jnp.full((batch, s_len), neg_inf)
    alpha0 = alpha0.at[:, 0].set(emit[0, :, 0])
    alpha0 = alpha0.at[:, 1].set(jnp.where(target_lengths > 0, emit[0, :, 1], neg_inf))
    alpha0 = jnp.where(valid, alpha0, neg_inf)

    def step(alpha, inputs):
        t, e = inputs
        prev1 = jnp.concatenate([jnp.full((batch, 1), neg_inf), alpha[:, :-1]], axis=1)
        prev2 = jnp.concatenate([jnp.full((batch, 2), neg_inf), alpha[:, :-2]], axis=1)
        prev2 = jnp.where(skip, prev2, neg_inf)
        new = _logaddexp(_logaddexp(alpha, prev1), prev2) + e
        new = jnp.where(valid, new, neg_inf)
        # sequences already past their input length keep their final alphas
        return jnp.where((t < input_lengths)[:, None], new, alpha), None

    if t_max > 1:
        alpha, _ = jax.lax.scan(step, alpha0, (jnp.arange(1, t_max), emit[1:]))
    else:
        alpha = alpha0
    last = 2 * target_lengths
    end1 = jnp.take_along_axis(alpha, last[:, None], axis=1)[:, 0]
    end2 = jnp.take_along_axis(alpha, jnp.maximum(last - 1, 0)[:, None], axis=1)[:, 0]
    end2 = jnp.where(target_lengths > 0, end2, neg_inf)
    ll = _logaddexp(end1, end2)
    return jnp.where(input_lengths > 0, -ll, jnp.where(target_lengths > 0, jnp.inf, 0.0)).astype(
        log_probs.dtype)


def _check_linear_ce_targets(input, linear_weight, target, *, ignore_index=None, **kwargs):
    t = np.asarray(target)
    if np.issubdtype(t.dtype, np.integer) and t.size:
        ignore = -100 if ignore_index is None else ignore_index
        bad = (t != ignore) & ((t < 0) | (t >= linear_weight.shape[0]))
        if bad.any():
            raise IndexError(f"Target {int(t[bad].flat[0])} is out of bounds.")


@fn_register(check=_check_linear_ce_targets)
def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None,
                         reduction="mean", ignore_index=None, label_smoothing=0.0, options=None):
    """Mirrors `torch.nn.functional.linear_cross_entropy`.

    `options` (torch's batch-chunking, a memory saving) is accepted and ignored: XLA
    schedules the whole computation."""
    from .conv import linear
    from .loss_class import cross_entropy
    if input.ndim < 1 or input.ndim > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.ndim}")
    if linear_weight.ndim < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got "
                           f"{linear_weight.ndim}")
    if input.shape[-1] != linear_weight.shape[-1]:
        raise RuntimeError(f"expected equal input and linear_weight last dimensions "
                           f"(in_features), got {input.shape[-1]} and "
                           f"{linear_weight.shape[-1]}, respectively")
    batches, classes = tuple(input.shape[:-1]), linear_weight.shape[0]
    out_features = tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(classes, *out_features)}, got "
                           f"{tuple(linear_bias.shape)}")
    if out_features and not batches:
        raise RuntimeError(f"K-dimensional loss defined by linear_weight shape "
                           f"{tuple(linear_weight.shape)} requires batched input, (N, "
                           f"{input.shape[-1]}), got unbatched input with shape "
                           f"{tuple(input.shape)}")
    logits_shape = (*batches, classes, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    rows = 1
    for s in (classes, *out_features):
        rows *= s
    w = linear_weight.reshape(rows, input.shape[-1])
    b = None if linear_bias is None else linear_bias.reshape(rows)
    logits = linear._op.impl(input, w, b).reshape(logits_shape)
    return cross_entropy._op.impl(logits, target, weight=weight, reduction=reduction,
                                  ignore_index=-100 if ignore_index is None else ignore_index,
                                  label_smoothing=label_smoothing)
