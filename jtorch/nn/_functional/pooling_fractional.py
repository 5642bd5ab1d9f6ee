"""Fractional max pooling of torch.nn.functional (Graham, arXiv:1412.6071).

The window starts follow torch's rule from one uniform sample per plane and spatial dim, so
with the same `_random_samples` the outputs and indices equal torch's; without them the
samples come from jtorch's generator and differ from torch's draws.
"""
from __future__ import annotations

import jax.numpy as jnp

from ._common import OVERRIDES, float_input, fn_register
from .conv import _tuple

__all__ = ["fractional_max_pool2d", "fractional_max_pool2d_with_indices",
           "fractional_max_pool3d", "fractional_max_pool3d_with_indices"]

_DIM_WORDS = {2: ("height", "width"), 3: ("time", "height", "width")}


def _window_starts(sample, size, out, kernel):
    """torch's interval sequence: `out` window starts in [0, size - kernel] for each sample
    (an array of samples, computed in the samples' dtype as torch does)."""
    i = jnp.arange(out - 1, dtype=sample.dtype)
    sample = sample[..., None]
    if out > 1:
        alpha = jnp.asarray((size - kernel) / (out - 1), sample.dtype)
        starts = ((i + sample) * alpha).astype(jnp.int32) - (sample * alpha).astype(jnp.int32)
    else:
        starts = jnp.zeros(sample.shape[:-1] + (0,), jnp.int32)
    last = jnp.full(sample.shape[:-1] + (1,), size - kernel, jnp.int32)
    return jnp.concatenate([starts, last], axis=-1)


def _sample_index(n, dim):
    # torch: 2d planes hold (sample for W, sample for H); 3d planes (T, H, W)
    return 1 - dim if n == 2 else dim


@fn_register(name="fractional_max_pool", function=False, differentiable=(0,))
def _fractional_max_pool_kernel(input, kernel, output_size, samples, n):
    float_input(input, f"fractional_max_pool{n}d_out_frame")
    unbatched = input.ndim == n + 1
    x = input[None] if unbatched else input
    lead = x.shape[:2]
    spatial = x.shape[2:]
    windows, flat_index = x, 0
    for dim in range(n):
        starts = _window_starts(samples[..., _sample_index(n, dim)], spatial[dim],
                                output_size[dim], kernel[dim])
        # positions (N, C, out, k) along this dim, gathered one dim at a time
        pos = starts[..., None] + jnp.arange(kernel[dim], dtype=jnp.int32)
        index = pos.reshape(lead + (1,) * dim + (-1,) + (1,) * (n - dim - 1))
        windows = jnp.take_along_axis(windows, index, axis=2 + dim)
        stride = 1
        for later in spatial[dim + 1:]:
            stride *= later
        shape = lead + (1,) * (2 * dim) + pos.shape[2:] + (1,) * (2 * (n - dim - 1))
        flat_index = flat_index + (pos * stride).reshape(shape)
    # windows: (N, C, o0*k0, o1*k1, ...) -> (N, C, o0, o1, ..., k0*k1*...)
    split = lead + tuple(s for d in range(n) for s in (output_size[d], kernel[d]))
    order = (0, 1) + tuple(2 + 2 * d for d in range(n)) + tuple(3 + 2 * d for d in range(n))
    windows = windows.reshape(split).transpose(order).reshape(lead + tuple(output_size) + (-1,))
    flat_index = jnp.broadcast_to(flat_index, split).transpose(order).reshape(windows.shape)
    best = jnp.argmax(windows, axis=-1)[..., None]
    out = jnp.take_along_axis(windows, best, axis=-1)[..., 0]
    indices = jnp.take_along_axis(flat_index, best, axis=-1)[..., 0].astype(jnp.int64)
    if unbatched:
        out, indices = out[0], indices[0]
    return out, indices


def _fractional_max_pool(input, kernel_size, output_size, output_ratio, _random_samples, n):
    name = f"fractional_max_pool{n}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an "
                         f"output_ratio")
    if output_size is None:
        # torch's functional takes len() of a scalar ratio and fails; a scalar is accepted here
        ratio = tuple(output_ratio) if isinstance(output_ratio, (tuple, list)) \
            else (output_ratio,) * n
        if len(ratio) > n:
            raise ValueError(f"{name} requires output_ratio to either be a single Int or "
                             f"tuple of Ints.")
        ratio = ratio * n if len(ratio) == 1 else ratio
        output_size = [int(input.size(d - n) * ratio[d]) for d in range(n)]
    kernel = _tuple(kernel_size, n, "kernel_size")
    sizes = (output_size,) * n if isinstance(output_size, int) else tuple(output_size)
    if len(sizes) != n:
        count = "Ints" if n == 2 else "three Ints"
        raise RuntimeError(f"{name}: output_size must either be a single Int or tuple of "
                           f"{count}")
    if input.dim() not in (n + 1, n + 2):
        raise RuntimeError(f"{name}(): Expected {n + 1}D or {n + 2}D tensor, but got: "
                           f"{list(input.shape)}")
    for dim in range(1, input.dim()):
        if input.size(dim) == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but got{list(input.shape)} with dimension {dim} "
                               f"being empty.")
    spatial = input.shape[-n:]
    for word, size, k, o in zip(_DIM_WORDS[n], spatial, kernel, sizes):
        if o + k - 1 > size:
            where = "" if n == 2 else "_out"
            raise RuntimeError(f"{name}{where}(): pool {word} {k} too large relative to input "
                               f"{word} {size}")
    if _random_samples is None:
        from ..._ops.random import rand
        batch = 1 if input.dim() == n + 1 else input.size(0)
        _random_samples = rand(batch, input.size(-n - 1), n, dtype=input.dtype,
                               device=input.device)
    else:
        _check_samples(_random_samples, input, n)
        batch = 1 if input.dim() == n + 1 else input.size(0)
        if _random_samples.size(0) != batch:   # torch reads the first `batch` rows only
            _random_samples = _random_samples[:batch]
    return _fractional_max_pool_kernel(input, kernel, sizes, _random_samples, n)


def _check_samples(samples, input, n):
    if samples.dim() != 3:
        raise RuntimeError(f"Expect _random_samples to have 3 dimensions, got {samples.dim()}")
    if input.dim() == n + 2 and samples.size(0) < input.size(0):
        raise RuntimeError("Expect _random_samples.size(0) no less then input batch size.")
    if samples.size(1) != input.size(-n - 1):
        raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
    if samples.size(2) != n:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to {n}; got "
                           f"{samples.size(2)}.")
    if samples.dtype != input.dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")


def _public(n):
    def with_indices(input, kernel_size, output_size=None, output_ratio=None,
                     return_indices=False, _random_samples=None):
        return _fractional_max_pool(input, kernel_size, output_size, output_ratio,
                                    _random_samples, n)

    def pool(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
             _random_samples=None):
        out = with_indices(input, kernel_size, output_size, output_ratio, return_indices,
                           _random_samples)
        return out if return_indices else out[0]

    for fn, name in ((with_indices, f"fractional_max_pool{n}d_with_indices"),
                     (pool, f"fractional_max_pool{n}d")):
        fn.__name__ = fn.__qualname__ = name
        fn.__doc__ = f"Mirrors `torch.nn.functional.{name}` (samples: see the module doc)."
        OVERRIDES[name] = fn
    return pool, with_indices


fractional_max_pool2d, fractional_max_pool2d_with_indices = _public(2)
fractional_max_pool3d, fractional_max_pool3d_with_indices = _public(3)
