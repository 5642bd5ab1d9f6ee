"""Resampling of torch.nn.functional: interpolate (every mode), upsample*, grid_sample."""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from ._common import fn_register, OVERRIDES
from .pooling_adaptive import _adaptive_avg

_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}
_CUBIC_A = -0.75     # torch's bicubic kernel coefficient


def _sizes(input, size, scale_factor, recompute_scale_factor, n):
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        sizes = [size] * n if isinstance(size, int) else list(size)
        if len(sizes) != n:
            raise ValueError(f"Input and output must have the same number of spatial dimensions,"
                             f" but got input with spatial dimensions of "
                             f"{list(input.shape[2:])} and output size of {sizes}. Please "
                             f"provide input tensor in (N, C, d1, d2, ...,dK) format and output "
                             f"size in (o1, o2, ...,oK) format.")
        return sizes, [None] * n
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    scales = [scale_factor] * n if isinstance(scale_factor, (int, float)) else list(scale_factor)
    if len(scales) != n:
        raise ValueError(f"Input and scale_factor must have the same number of spatial "
                         f"dimensions, but got input with spatial dimensions of "
                         f"{list(input.shape[2:])} and scale_factor of shape {scales}. Please "
                         f"provide input tensor in (N, C, d1, d2, ...,dK) format and "
                         f"scale_factor in (s1, s2, ...,sK) format.")
    sizes = [math.floor(float(s * f)) for s, f in zip(input.shape[2:], scales)]
    return sizes, ([None] * n if recompute_scale_factor else scales)


def _scale(in_size, out_size, scale, align_corners):
    """torch's area_pixel_compute_scale, in float32 as torch's CPU kernels compute it."""
    if align_corners:
        return np.float32((in_size - 1) / (out_size - 1)) if out_size > 1 else np.float32(0)
    if scale is not None and scale > 0:
        return np.float32(1.0 / scale)
    return np.float32(in_size / out_size)


def _source(out_size, scale, align_corners, cubic=False):
    dst = np.arange(out_size, dtype=np.float32)
    if align_corners:
        return dst * scale
    src = scale * (dst + np.float32(0.5)) - np.float32(0.5)
    return src if cubic else np.maximum(src, np.float32(0))


def _nearest_index(in_size, out_size, scale, exact):
    if out_size == in_size and not exact:
        return np.arange(out_size)
    s = _scale(in_size, out_size, scale, False)
    dst = np.arange(out_size, dtype=np.float32)
    src = np.floor((dst + np.float32(0.5)) * s if exact else dst * s).astype(np.int64)
    return np.minimum(src, in_size - 1)


def _linear_axis(x, axis, out_size, scale, align_corners):
    in_size = x.shape[axis]
    src = _source(out_size, _scale(in_size, out_size, scale, align_corners), align_corners)
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    i1 = np.minimum(i0 + 1, in_size - 1)
    lam = (src - i0).astype(np.float32)
    shape = [1] * x.ndim
    shape[axis] = out_size
    lam = jnp.asarray(lam, x.dtype).reshape(shape)
    return jnp.take(x, i0, axis=axis) * (1 - lam) + jnp.take(x, i1, axis=axis) * lam


def _cubic_weights(t):
    a = _CUBIC_A

    def near(v):      # |v| <= 1
        return ((a + 2) * v - (a + 3)) * v * v + 1

    def far(v):       # 1 < |v| < 2
        return ((a * v - 5 * a) * v + 8 * a) * v - 4 * a
    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _cubic_axis(x, axis, out_size, scale, align_corners):
    in_size = x.shape[axis]
    src = _source(out_size, _scale(in_size, out_size, scale, align_corners), align_corners,
                  cubic=True)
    base = np.floor(src).astype(np.int64)
    t = (src - base).astype(np.float32)
    shape = [1] * x.ndim
    shape[axis] = out_size
    out = 0
    for k, w in zip(range(-1, 3), _cubic_weights(t)):
        idx = np.clip(base + k, 0, in_size - 1)
        out = out + jnp.take(x, idx, axis=axis) * jnp.asarray(w, x.dtype).reshape(shape)
    return out


@fn_register()
def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    n = input.ndim - 2
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    if antialias and not (mode in ("bilinear", "bicubic") and n == 2):
        raise ValueError("Anti-alias option is restricted to bilinear and bicubic modes and "
                         "requires a 4-D tensor as input")
    if antialias:
        raise NotImplementedError("interpolate(antialias=True) is not implemented in jtorch yet")
    if n < 1 or n > 3:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported "
                                  f"(got {input.ndim}D) for the modes: nearest | linear | "
                                  f"bilinear | bicubic | trilinear | area | nearest-exact "
                                  f"(got {mode})")
    needed = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}.get(mode)
    if needed is not None and needed != n:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs "
                                  f"{needed + 2}D input")
    if mode not in ("nearest", "area", "nearest-exact", "linear", "bilinear", "trilinear",
                    "bicubic"):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported "
                                  f"(got {input.ndim}D) for the modes: nearest | linear | "
                                  f"bilinear | bicubic | trilinear | area | nearest-exact "
                                  f"(got {mode})")
    sizes, scales = _sizes(input, size, scale_factor, recompute_scale_factor, n)
    if mode == "area":
        return _adaptive_avg(input, tuple(sizes), n)
    x = input
    for i, (out_size, scale) in enumerate(zip(sizes, scales)):
        axis = 2 + i
        if mode in ("nearest", "nearest-exact"):
            x = jnp.take(x, _nearest_index(x.shape[axis], out_size, scale,
                                           mode == "nearest-exact"), axis=axis)
        elif mode == "bicubic":
            x = _cubic_axis(x, axis, out_size, scale, align_corners)
        else:
            x = _linear_axis(x, axis, out_size, scale, align_corners)
    return x


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Mirrors `torch.nn.functional.upsample` (deprecated there, an alias of interpolate)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Mirrors `torch.nn.functional.upsample_nearest`."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Mirrors `torch.nn.functional.upsample_bilinear`."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


OVERRIDES.update(upsample=upsample, upsample_nearest=upsample_nearest,
                 upsample_bilinear=upsample_bilinear)


def _base_coords(steps, align_corners):
    if steps <= 1:
        return np.zeros(max(steps, 0))
    coords = np.linspace(-1.0, 1.0, steps)
    return coords if align_corners else coords * (steps - 1) / steps


@fn_register()
def affine_grid(theta, size, align_corners=None):
    if not jnp.issubdtype(theta.dtype, jnp.floating):
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(size)
    n = len(size) - 2
    if n not in (2, 3):
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {list(size)}.")
    if theta.ndim != 3 or theta.shape[1:] != (n, n + 1) or theta.shape[0] != size[0]:
        raise ValueError(f"Expected a batch of {n}D affine matrices of shape Nx{n}x{n + 1} for "
                         f"size {list(size)}. Got {list(theta.shape)}.")
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {list(size)}")
    spatial = size[2:]
    # grid columns are (x, y[, z], 1): x runs along the last spatial dim
    axes = [_base_coords(s, bool(align_corners)) for s in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")
    base = np.stack([mesh[n - 1 - d] for d in range(n)] + [np.ones(spatial)], axis=-1)
    base = jnp.asarray(base.reshape(-1, n + 1), theta.dtype)
    grid = jnp.einsum("pk,bjk->bpj", base, theta, precision="highest")
    return grid.reshape((size[0],) + spatial + (n,))
