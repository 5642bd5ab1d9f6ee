"""scaled_dot_product_attention and grid_sample of torch.nn.functional."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from ..._ops.registry import register
from ._common import OVERRIDES, next_key, random_key, fn_register
from .interpolate import _cubic_weights



@register(name="scaled_dot_product_attention", namespace="jtorch._private", method=False,
          function=False)
def _sdpa_kernel(query, key, value, attn_mask, rng, dropout_p, is_causal, scale, enable_gqa):
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError("scaled_dot_product_attention: query, key and value must be at least "
                           "2-D")
    if query.dtype != key.dtype or query.dtype != value.dtype:
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {query.dtype} key.dtype: {key.dtype} and value.dtype: "
                           f"{value.dtype} instead.")
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        repeat = query.shape[-3] // key.shape[-3]
        key = jnp.repeat(key, repeat, axis=-3)
        value = jnp.repeat(value, repeat, axis=-3)
    length, source = query.shape[-2], key.shape[-2]
    factor = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = jnp.matmul(query, jnp.swapaxes(key, -1, -2)) * factor
    neg_inf = jnp.asarray(-jnp.inf, scores.dtype)
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                               "set when is_causal=True")
        causal = jnp.tril(jnp.ones((length, source), bool))
        scores = jnp.where(causal, scores, neg_inf)
    if attn_mask is not None:
        if attn_mask.dtype == jnp.bool_:
            scores = jnp.where(attn_mask, scores, neg_inf)
        else:
            scores = scores + attn_mask.astype(scores.dtype)
    weights = jax.nn.softmax(scores, axis=-1)
    # rows with every position masked give zeros, as torch's math kernel (_safe_softmax) does
    weights = jnp.where(jnp.all(scores == neg_inf, axis=-1, keepdims=True), 0, weights)
    if dropout_p > 0:
        keep = jax.random.bernoulli(random_key(rng), 1 - dropout_p, weights.shape)
        weights = jnp.where(keep, weights / (1 - dropout_p), 0)
    return jnp.matmul(weights.astype(value.dtype), value)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """Mirrors `torch.nn.functional.scaled_dot_product_attention` (the math kernel)."""
    rng = next_key() if dropout_p > 0 else None
    return _sdpa_kernel(query, key, value, attn_mask, rng, dropout_p, is_causal, scale,
                        enable_gqa)


OVERRIDES["scaled_dot_product_attention"] = scaled_dot_product_attention


def _unnormalize(coord, size, align_corners):
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _reflect(coord, low, high):
    """Reflect coordinates into [low/2, high/2] (twice-scaled bounds, as torch writes them)."""
    if low == high:
        return jnp.zeros_like(coord)
    mn, span = low / 2, (high - low) / 2
    c = jnp.abs(coord - mn)
    extra = jnp.fmod(c, span)
    flips = jnp.floor(c / span)
    return jnp.where(flips % 2 == 0, extra + mn, span - extra + mn)


def _pad_coord(coord, size, padding_mode, align_corners):
    if padding_mode == "border":
        return jnp.clip(coord, 0, size - 1)
    if padding_mode == "reflection":
        if align_corners:
            coord = _reflect(coord, 0, 2 * (size - 1))
        else:
            coord = _reflect(coord, -1, 2 * size - 1)
        return jnp.clip(coord, 0, size - 1)
    return coord


def _gather(flat, spatial, indices):
    """flat (N, C, prod(spatial)); indices: per-dim integer arrays (N, *out); zero outside."""
    inside = jnp.ones(indices[0].shape, bool)
    linear = jnp.zeros(indices[0].shape, jnp.int64)
    for idx, size in zip(indices, spatial):
        inside = inside & (idx >= 0) & (idx < size)
        linear = linear * size + jnp.clip(idx, 0, size - 1)
    n = flat.shape[0]
    values = jnp.take_along_axis(flat, linear.reshape(n, 1, -1), axis=2)
    values = values.reshape(flat.shape[:2] + indices[0].shape[1:])
    return jnp.where(inside[:, None], values, 0)


@fn_register()
def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    align_corners = bool(align_corners)
    n = input.ndim - 2
    if n not in (2, 3) or grid.ndim != input.ndim or grid.shape[-1] != n or \
            grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {n} in last dimension "
                           f"and matching batch, but got grid with sizes {list(grid.shape)}")
    if mode == "bicubic" and n != 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    spatial = input.shape[2:]
    flat = input.reshape(input.shape[:2] + (-1,))
    # grid's last dim is (x, y[, z]): x indexes the last spatial dim
    coords = [grid[..., n - 1 - d] for d in range(n)]
    coords = [_unnormalize(c, s, align_corners) for c, s in zip(coords, spatial)]
    if mode == "bicubic":
        return _bicubic(flat, spatial, coords, padding_mode, align_corners)
    coords = [_pad_coord(c, s, padding_mode, align_corners) for c, s in zip(coords, spatial)]
    if mode == "nearest":
        return _gather(flat, spatial, [jnp.round(c).astype(jnp.int64) for c in coords])
    base = [jnp.floor(c) for c in coords]
    frac = [c - b for c, b in zip(coords, base)]
    out = 0
    for corner in np.ndindex(*(2,) * n):
        weight = 1
        for d, bit in enumerate(corner):
            weight = weight * (frac[d] if bit else 1 - frac[d])
        idx = [(b + bit).astype(jnp.int64) for b, bit in zip(base, corner)]
        out = out + _gather(flat, spatial, idx) * weight[:, None]
    return out


def _bicubic(flat, spatial, coords, padding_mode, align_corners):
    y, x = coords
    y0, x0 = jnp.floor(y), jnp.floor(x)
    wy, wx = _cubic_weights(y - y0), _cubic_weights(x - x0)
    out = 0
    for i in range(4):
        for j in range(4):
            iy = _pad_coord(y0 - 1 + i, spatial[0], padding_mode, align_corners)
            ix = _pad_coord(x0 - 1 + j, spatial[1], padding_mode, align_corners)
            tap = _gather(flat, spatial, [iy.astype(jnp.int64), ix.astype(jnp.int64)])
            out = out + tap * (wy[i] * wx[j])[:, None]
    return out
