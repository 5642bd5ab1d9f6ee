"""Shape and distance helpers of torch.nn.functional: pad, pixel/channel shuffle, norms."""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from ..._ops._util import wrap_dim, result_type, float_dtype, to_float
from ._common import broadcast_shape, fn_register, TORCH_EXPORTS


def _pad_pairs(input, pad):
    """torch's flat pad list (last dim first) as jnp.pad-style pairs for every dim."""
    pad = tuple(pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{input.ndim}")
    pairs = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        pairs[input.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return pairs


def _crop_negative(x, pairs):
    """Apply the negative parts of the pads as crops; returns the non-negative pads."""
    index = tuple(slice(max(-lo, 0), x.shape[d] - max(-hi, 0)) for d, (lo, hi) in
                  enumerate(pairs))
    for d, (lo, hi) in enumerate(pairs):
        if x.shape[d] + lo + hi < 0 or (x.shape[d] and x.shape[d] + min(lo, 0) + min(hi, 0) < 0):
            raise RuntimeError(f"The input size {x.shape[d]}, plus negative padding {lo} and "
                               f"{hi} resulted in a negative output size, which is invalid. "
                               f"Check dimension {d} of your input.")
    return x[index], [(max(lo, 0), max(hi, 0)) for lo, hi in pairs]


@fn_register()
def pad(input, pad, mode="constant", value=None):
    pairs = _pad_pairs(input, pad)
    n = len(tuple(pad)) // 2
    if mode == "constant":
        x, positive = _crop_negative(input, pairs)
        fill = 0 if value is None else value
        return jnp.pad(x, positive, constant_values=jnp.asarray(fill).astype(input.dtype))
    if value is not None and value != 0:
        raise ValueError(f'Padding mode "{mode}" doesn\'t take in value argument.')
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if n > 3 or input.ndim not in (n + 1, n + 2):
        raise NotImplementedError("Only 2D, 3D, 4D, 5D padding with non-constant padding are "
                                  "supported for now")
    if mode == "reflect":
        for d, (lo, hi) in enumerate(pairs):
            if (lo or hi) and (lo >= input.shape[d] or hi >= input.shape[d]):
                raise RuntimeError(f"Argument #4: Padding size should be less than the "
                                   f"corresponding input dimension, but got: padding ({lo}, "
                                   f"{hi}) at dimension {d} of input {list(input.shape)}")
    if mode == "circular":
        for d, (lo, hi) in enumerate(pairs):
            if lo > input.shape[d] or hi > input.shape[d]:
                raise RuntimeError("Padding value causes wrapping around more than once.")
    if mode == "replicate":
        # negative pads of replicate still clamp into the uncropped input, as in torch
        return _gather_pad(input, pairs, lambda i, n: np.clip(i, 0, n - 1))
    x, positive = _crop_negative(input, pairs)
    if mode == "circular":
        return _gather_pad(x, positive, lambda i, n: i % n)
    return _gather_pad(x, positive, lambda i, n: np.abs((i + n - 1) % (2 * n - 2) - (n - 1))
                       if n > 1 else np.zeros_like(i))


def _gather_pad(input, pairs, index_of):
    """Pad by gathering: index_of(positions, size) maps out-of-range positions into the input."""
    out = input
    for d, (lo, hi) in enumerate(pairs):
        if lo == 0 and hi == 0:
            continue
        size = input.shape[d]
        positions = np.arange(-lo, size + hi)
        if size == 0:
            raise RuntimeError(f"pad: input dimension {d} is empty")
        out = jnp.take(out, jnp.asarray(index_of(positions, size)), axis=d)
    return out


@fn_register()
def pixel_shuffle(input, upscale_factor):
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.ndim} dimension(s)")
    r = upscale_factor
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    x = input.reshape(tuple(lead) + (c // (r * r), r, r, h, w))
    k = len(lead)
    x = jnp.transpose(x, tuple(range(k)) + (k, k + 3, k + 1, k + 4, k + 2))
    return x.reshape(tuple(lead) + (c // (r * r), h * r, w * r))


@fn_register()
def pixel_unshuffle(input, downscale_factor):
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    r = downscale_factor
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by "
                           f"downscale_factor, but got {h} and {w} for {r}")
    x = input.reshape(tuple(lead) + (c, h // r, r, w // r, r))
    k = len(lead)
    x = jnp.transpose(x, tuple(range(k)) + (k, k + 2, k + 4, k + 1, k + 3))
    return x.reshape(tuple(lead) + (c * r * r, h // r, w // r))


TORCH_EXPORTS["pixel_shuffle"] = pixel_shuffle
TORCH_EXPORTS["pixel_unshuffle"] = pixel_unshuffle


@fn_register()
def channel_shuffle(input, groups):
    if input.ndim < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but "
                           f"got input with sizes {list(input.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{groups}")
    n, c = input.shape[:2]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {groups} groups.")
    rest = input.shape[2:]
    x = input.reshape((n, groups, c // groups) + rest)
    return jnp.swapaxes(x, 1, 2).reshape(input.shape)


TORCH_EXPORTS["channel_shuffle"] = channel_shuffle


def vector_norm(x, p, axis, keepdims=False):
    a = jnp.abs(x)
    if p == math.inf:
        return jnp.max(a, axis=axis, keepdims=keepdims, initial=0)
    if p == -math.inf:
        return jnp.min(a, axis=axis, keepdims=keepdims)
    if p == 0:
        return jnp.sum(a != 0, axis=axis, keepdims=keepdims).astype(x.dtype)
    if p == 1:
        return jnp.sum(a, axis=axis, keepdims=keepdims)
    total = jnp.sum(a * a if p == 2 else a ** p, axis=axis, keepdims=keepdims)
    # a zero vector's norm has gradient 0 in torch, not the NaN of d/dx x**(1/p) at 0
    zero = total == 0
    safe = jnp.where(zero, jnp.ones((), total.dtype), total)
    root = jnp.sqrt(safe) if p == 2 else safe ** (1.0 / p)
    return jnp.where(zero, jnp.zeros((), total.dtype), root)


@fn_register()
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    if out is not None:
        raise NotImplementedError("normalize(out=...) is not supported by jtorch")
    d = wrap_dim(dim, input.ndim)
    norm = vector_norm(input, p, d if input.ndim else None, keepdims=True)
    return input / jnp.maximum(norm, jnp.asarray(eps, input.dtype))


@fn_register()
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    if x1.ndim == 0 and x2.ndim == 0:
        return cosine_similarity._op.impl(x1[None], x2[None], 0, eps)
    d = result_type(x1, x2)
    if not d.is_floating_point:
        raise RuntimeError("cosine_similarity requires floating point inputs")
    a, b = x1.astype(d._np), x2.astype(d._np)
    shape = broadcast_shape(a, b)
    a, b = jnp.broadcast_to(a, shape), jnp.broadcast_to(b, shape)
    axis = wrap_dim(dim, len(shape))
    na = jnp.maximum(vector_norm(a, 2, axis, True), eps)
    nb = jnp.maximum(vector_norm(b, 2, axis, True), eps)
    return jnp.sum((a / na) * (b / nb), axis=axis)


TORCH_EXPORTS["cosine_similarity"] = cosine_similarity


@fn_register()
def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    d = float_dtype(result_type(x1, x2))
    broadcast_shape(x1, x2)
    ndim = max(x1.ndim, x2.ndim)
    diff = x1.astype(d._np) - x2.astype(d._np) + jnp.asarray(eps, d._np)
    if ndim == 0:
        return jnp.abs(diff)
    return vector_norm(diff, p, ndim - 1, keepdim)


TORCH_EXPORTS["pairwise_distance"] = pairwise_distance


@fn_register()
def pdist(input, p=2):
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    n = input.shape[0]
    i, j = np.triu_indices(n, 1)
    x = to_float(input)
    return vector_norm(x[i] - x[j], p, 1)


TORCH_EXPORTS["pdist"] = pdist


from .embedding import *  # noqa: E402,F401,F403
