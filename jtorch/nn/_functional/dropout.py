"""Random regularisers of torch.nn.functional: the dropout family and rrelu's training mode.

The random bits come from jtorch's default Generator (`_common.next_key()`, a (seed, offset)
state passed into the jitted kernel as data, so a new draw never recompiles):
`torch.manual_seed` makes them repeatable, though the numbers differ from torch's."""
from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp

from ..._ops.registry import register, write_inplace
from ._common import OVERRIDES, TORCH_EXPORTS, next_key, random_key

_SELU_ALPHA_PRIME = 1.7580993408473766    # -selu(-inf): alpha dropout's saturation value


def _check_p(p):
    if p < 0 or p > 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


@register(name="_dropout_kernel", namespace="jtorch._private", method=False, function=False)
def _dropout_kernel(input, key, p, kind, mask_dims):
    """kind: 'plain' or 'alpha'; mask_dims: how many leading dims the mask varies over
    (None: every element; 2 for the channel-wise feature dropouts)."""
    shape = input.shape if mask_dims is None else input.shape[:mask_dims] + (1,) * (
        input.ndim - mask_dims)
    key = random_key(key)
    x = input
    compute = jnp.float32 if x.dtype in (jnp.float16, jnp.bfloat16) else x.dtype
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        compute = jnp.float32
    keep = jax.random.bernoulli(key, 1 - p, shape)
    if kind == "plain":
        if p == 1:
            return x * jnp.zeros((), x.dtype)
        scale = jnp.asarray(1 / (1 - p), compute)
        return jnp.where(keep, x.astype(compute) * scale, 0).astype(x.dtype)
    if p == 1:
        return x * jnp.zeros((), x.dtype)
    a = (_SELU_ALPHA_PRIME ** 2 * p + 1) * (1 - p)
    a = 1 / a ** 0.5
    noise = keep.astype(compute)
    b = (noise - 1) * (_SELU_ALPHA_PRIME * a) + _SELU_ALPHA_PRIME * a * p
    return (x.astype(compute) * (noise * a) + b).astype(x.dtype)


def _run(input, p, training, inplace, kind, mask_dims, name, rank=None):
    """`rank`: the rank torch's feature dropout sees (it unsqueezes unbatched inputs)."""
    _check_p(p)
    if not training or p == 0:
        return input
    if mask_dims is not None and p < 1 and (input.ndim if rank is None else rank) < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    out = _dropout_kernel(input, next_key(), p, kind, mask_dims)
    if inplace:
        return write_inplace(input, out, name)
    return out


def dropout(input, p=0.5, training=True, inplace=False):
    """Mirrors `torch.nn.functional.dropout`."""
    return _run(input, p, training, inplace, "plain", None, "dropout")


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Mirrors `torch.nn.functional.alpha_dropout`."""
    return _run(input, p, training, inplace, "alpha", None, "alpha_dropout")


def _deprecated_rank(name, input, expected, spatial):
    if input.ndim not in expected:
        warnings.warn(f"{name}: Received a {input.ndim}-D input to {name}, which is deprecated "
                      "and will result in an error in a future release. To retain the behavior "
                      "and silence this warning, please use dropout instead. Note that "
                      f"{name} exists to provide channel-wise dropout on inputs with {spatial} "
                      "spatial dimensions, a channel dimension, and an optional batch dimension "
                      f"(i.e. {expected[0]}D or {expected[1]}D inputs).", stacklevel=3)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Mirrors `torch.nn.functional.dropout1d`."""
    _check_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D "
                           "input. Note that dropout1d exists to provide channel-wise dropout "
                           "on inputs with 1 spatial dimension, a channel dimension, and an "
                           "optional batch dimension (i.e. 2D or 3D inputs).")
    # unbatched (C, L): one mask entry per channel
    return _run(input, p, training, inplace, "plain", input.ndim - 1, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Mirrors `torch.nn.functional.dropout2d`: as there, a 3D input is read as (N, C, L)."""
    _check_p(p)
    _deprecated_rank("dropout2d", input, (3, 4), 2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim. This behavior will change "
                      "in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise "
                      "dropout behavior, please switch to using dropout1d instead.",
                      stacklevel=2)
    return _run(input, p, training, inplace, "plain", 2, "dropout2d")


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Mirrors `torch.nn.functional.dropout3d`: any input but 5D is unbatched, as there."""
    _check_p(p)
    _deprecated_rank("dropout3d", input, (4, 5), 3)
    batched = input.ndim == 5
    return _run(input, p, training, inplace, "plain", 2 if batched else 1, "dropout3d",
                rank=input.ndim if batched else input.ndim + 1)


def feature_alpha_dropout(input, p=0.5, training=True, inplace=False):
    _check_p(p)
    return _run(input, p, training, inplace, "alpha", 2, "feature_alpha_dropout")


def _feature_alpha_default(input, p=0.5, training=False, inplace=False):
    return feature_alpha_dropout(input, p, training, inplace)


_feature_alpha_default.__name__ = "feature_alpha_dropout"
_feature_alpha_default.__doc__ = "Mirrors `torch.nn.functional.feature_alpha_dropout`."

OVERRIDES.update(dropout=dropout, alpha_dropout=alpha_dropout, dropout1d=dropout1d,
                 dropout2d=dropout2d, dropout3d=dropout3d,
                 feature_alpha_dropout=_feature_alpha_default)
TORCH_EXPORTS.update(
    dropout=lambda input, p, train: dropout(input, p, train),
    alpha_dropout=lambda input, p, train: alpha_dropout(input, p, train),
    feature_dropout=lambda input, p, train: _run(input, p, train, False, "plain", 2,
                                                 "feature_dropout"),
    feature_alpha_dropout=lambda input, p, train: feature_alpha_dropout(input, p, train))


@register(name="_rrelu_kernel", namespace="jtorch._private", method=False, function=False)
def _rrelu_kernel(input, key, lower, upper):
    slope = jax.random.uniform(random_key(key), input.shape, jnp.float32,
                               lower, upper).astype(input.dtype)
    return jnp.where(input >= 0, input, input * slope)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Mirrors `torch.nn.functional.rrelu`."""
    from .activation import rrelu as _eval_rrelu
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if not training:
        out = _eval_rrelu(input, lower, upper, False)
    else:
        out = _rrelu_kernel(input, next_key(), lower, upper)
    return write_inplace(input, out, "rrelu_") if inplace else out


OVERRIDES["rrelu"] = rrelu
def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """Mirrors `torch.nn.functional.rrelu_`."""
    return rrelu(input, lower, upper, training, True)


OVERRIDES["rrelu_"] = rrelu_
TORCH_EXPORTS["rrelu"] = rrelu
TORCH_EXPORTS["rrelu_"] = OVERRIDES["rrelu_"]


@register(name="_gumbel_softmax_kernel", namespace="jtorch._private", method=False,
          function=False)
def _gumbel_softmax_kernel(logits, key, tau, hard, dim):
    from ..._ops._util import wrap_dim
    axis = wrap_dim(dim, logits.ndim)
    gumbels = -jnp.log(jax.random.exponential(random_key(key), logits.shape,
                                              logits.dtype))
    soft = jax.nn.softmax((logits + gumbels) / tau, axis=axis)
    if not hard:
        return soft
    index = jnp.argmax(soft, axis=axis, keepdims=True)
    one_hot = (jnp.arange(soft.shape[axis]).reshape(
        [-1 if d == axis else 1 for d in range(soft.ndim)]) == index).astype(soft.dtype)
    # straight-through: the value of the hard sample, the gradient of the soft one
    return one_hot - jax.lax.stop_gradient(soft) + soft


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """Mirrors `torch.nn.functional.gumbel_softmax` (`eps` is unused there too)."""
    return _gumbel_softmax_kernel(logits, next_key(), tau, hard, dim)


OVERRIDES["gumbel_softmax"] = gumbel_softmax
