"""Adaptive pooling, max_unpool and lp_pool of torch.nn.functional."""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from ._common import fn_register, TORCH_EXPORTS, OVERRIDES
from .conv import _tuple

__all__ = []


def _adaptive_sizes(input, output_size, n, name):
    if n > 1 and not isinstance(output_size, int) and input.ndim <= n:
        # torch's Python wrapper rejects this before the kernel sees it
        raise ValueError(f"Input dimension should be at least {n + 1}")
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{name}(): Expected {n + 1}D or {n + 2}D tensor, but got "
                           f"{list(input.shape)}")
    for i in range(input.ndim - n, input.ndim):
        if input.shape[i] == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(input.shape)} with "
                               f"dimension {i} being empty")
    sizes = _tuple(output_size, n, "output_size") if not isinstance(output_size, int) else \
        (output_size,) * n
    out = tuple(s if o is None else o for o, s in zip(sizes, input.shape[-n:]))
    if any(o < 0 for o in out):
        if "max" in name:
            raise RuntimeError(f"Trying to create tensor with negative dimension: "
                               f"{list(input.shape[:-n] + out)}")
        raise RuntimeError(f"{name}: elements of output_size must be greater than or equal to "
                           f"0 but received {list(out)}")
    return out


def _bins(size, out):
    """torch's adaptive windows: [floor(i*size/out), ceil((i+1)*size/out))."""
    starts = [(i * size) // out for i in range(out)]
    ends = [-(-((i + 1) * size) // out) for i in range(out)]
    return starts, ends


def _adaptive_avg(input, output_size, n):
    name = f"adaptive_avg_pool{n}d"
    out = _adaptive_sizes(input, output_size, n, name)
    x = input
    for axis_from_end, o in zip(range(n, 0, -1), out):
        axis = x.ndim - axis_from_end
        size = x.shape[axis]
        starts, ends = _bins(size, o)
        m = np.zeros((o, size))
        for i, (a, b) in enumerate(zip(starts, ends)):
            m[i, a:b] = 1.0 / (b - a)
        # a per-dim averaging matrix: adaptive averaging is separable
        x = jnp.moveaxis(jnp.tensordot(x, jnp.asarray(m, x.dtype), axes=([axis], [1]),
                                       precision="highest"), -1, axis)
    return x


def _adaptive_avg_fn(n):
    def adaptive_avg_pool(input, output_size):
        return _adaptive_avg(input, output_size, n)
    adaptive_avg_pool.__doc__ = f"Mirrors `torch.nn.functional.adaptive_avg_pool{n}d`."
    public = fn_register(name=f"adaptive_avg_pool{n}d")(adaptive_avg_pool)
    if n == 1:
        TORCH_EXPORTS["adaptive_avg_pool1d"] = public
    return public


adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d = (
    _adaptive_avg_fn(1), _adaptive_avg_fn(2), _adaptive_avg_fn(3))


def _adaptive_max(input, output_size, return_indices, n):
    from .pooling import _argmax_last
    name = f"adaptive_max_pool{n}d"
    out = _adaptive_sizes(input, output_size, n, name)
    spatial = input.shape[-n:]
    x = input
    flat_pos = np.zeros((), np.int64)
    window = 1
    # gather each dim's windows (padded by repeating the window's last element)
    for i, (size, o) in enumerate(zip(spatial, out)):
        starts, ends = _bins(size, o)
        width = max((b - a for a, b in zip(starts, ends)), default=1)
        idx = np.array([[min(a + j, b - 1) for j in range(width)] for a, b in zip(starts, ends)],
                       dtype=np.int64).reshape(o, width)
        window *= width
        axis = input.ndim - n + 2 * i
        x = jnp.take(x, jnp.asarray(idx.reshape(-1)), axis=axis)
        x = x.reshape(x.shape[:axis] + (o, width) + x.shape[axis + 1:])
        stride = math.prod(spatial[i + 1:])
        flat_pos = flat_pos[..., None, None] + idx * stride
    lead = input.ndim - n
    perm = tuple(range(lead)) + tuple(lead + 2 * i for i in range(n)) + \
        tuple(lead + 2 * i + 1 for i in range(n))
    x = jnp.transpose(x, perm).reshape(input.shape[:lead] + out + (window,))
    pos = np.transpose(flat_pos, tuple(2 * i for i in range(n)) +
                       tuple(2 * i + 1 for i in range(n))).reshape(out + (window,))
    values, indices = _argmax_last(x, jnp.asarray(pos))
    return (values, indices) if return_indices else values


def _adaptive_max_fn(n):
    def adaptive_max_pool(input, output_size, return_indices=False):
        return _adaptive_max(input, output_size, return_indices, n)
    adaptive_max_pool.__doc__ = f"Mirrors `torch.nn.functional.adaptive_max_pool{n}d`."
    public = fn_register(name=f"adaptive_max_pool{n}d")(adaptive_max_pool)
    if n == 1:
        TORCH_EXPORTS["adaptive_max_pool1d"] = public
    return public


adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d = (
    _adaptive_max_fn(1), _adaptive_max_fn(2), _adaptive_max_fn(3))


def _max_unpool(input, indices, kernel_size, stride, padding, output_size, n):
    kernel = _tuple(kernel_size, n)
    stride = kernel if stride is None else _tuple(stride, n)
    padding = _tuple(padding, n)
    default = [(s - 1) * st - 2 * p + k for s, st, p, k in
               zip(input.shape[-n:], stride, padding, kernel)]
    if output_size is None:
        size = default
    else:
        size = list(output_size)
        if len(size) == n + 2:
            size = size[2:]
        if len(size) != n:
            raise ValueError(f"output_size must have {n} or {n + 2} elements (got "
                             f"{len(list(output_size))})")
        for s, d, st in zip(size, default, stride):
            if not d - st < s < d + st:
                raise ValueError(f"invalid output_size {tuple(output_size)} (dim must be between "
                                 f"{[d - st for d, st in zip(default, stride)]} and "
                                 f"{[d + st for d, st in zip(default, stride)]})")
    if indices.shape != input.shape:
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape)}) but got indices tensor with shape: "
                           f"{list(indices.shape)}")
    lead = input.shape[:-n]
    planes = math.prod(lead)
    total = math.prod(size)
    vals = input.reshape(planes, -1)
    idx = indices.reshape(planes, -1)
    return _unpool_scatter(vals, idx, total).reshape(tuple(lead) + tuple(size))


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _unpool_scatter(vals, idx, total):
    """Each plane's values written at their indices; differentiated as torch does: every
    input element gets the output gradient at its index, duplicates included."""
    out = jnp.zeros((vals.shape[0], total), vals.dtype)
    return out.at[jnp.arange(vals.shape[0])[:, None], idx].set(vals, mode="drop")


@_unpool_scatter.defjvp
def _unpool_scatter_jvp(total, primals, tangents):
    (vals, idx), (t, _) = primals, tangents
    # an add (whose transpose is a gather) where the forward sets
    out = jnp.zeros((vals.shape[0], total), t.dtype)
    tangent = out.at[jnp.arange(vals.shape[0])[:, None], idx].add(t, mode="drop")
    return _unpool_scatter(vals, idx, total), tangent


def _check_unpool(input, indices, *args, **kwargs):
    idx = np.asarray(indices)
    if idx.size and (idx < 0).any():
        raise RuntimeError(f"Found an invalid max index: {int(idx[idx < 0].flat[0])}")


def _max_unpool_fn(n):
    def max_unpool(input, indices, kernel_size, stride=None, padding=0, output_size=None):
        return _max_unpool(input, indices, kernel_size, stride, padding, output_size, n)
    max_unpool.__doc__ = f"Mirrors `torch.nn.functional.max_unpool{n}d`."
    return fn_register(name=f"max_unpool{n}d", check=_check_unpool)(max_unpool)


max_unpool1d, max_unpool2d, max_unpool3d = (_max_unpool_fn(1), _max_unpool_fn(2),
                                            _max_unpool_fn(3))


def _with_indices(name):
    public = OVERRIDES.get(name) or globals()[name]

    def fn(input, output_size, return_indices=True):
        return public(input, output_size, True)
    fn.__name__ = fn.__qualname__ = name + "_with_indices"
    fn.__doc__ = f"Mirrors `torch.nn.functional.{name}_with_indices`."
    return fn


def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, n):
    from .pooling import _avg_pool
    kernel = _tuple(kernel_size, n, "kernel_size")
    out = _avg_pool(input ** norm_type, kernel, stride, 0, ceil_mode, True, None, n)
    # torch: sign(out) * relu(|out|) keeps the sign of odd powers before the root
    out = jnp.sign(out) * jnp.maximum(jnp.abs(out), 0) * math.prod(kernel)
    return out ** (1.0 / norm_type)


def _lp_pool_fn(n):
    def lp_pool(input, norm_type, kernel_size, stride=None, ceil_mode=False):
        return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, n)
    lp_pool.__doc__ = f"Mirrors `torch.nn.functional.lp_pool{n}d`."
    return fn_register(name=f"lp_pool{n}d")(lp_pool)


lp_pool1d, lp_pool2d, lp_pool3d = _lp_pool_fn(1), _lp_pool_fn(2), _lp_pool_fn(3)
for _n in (1, 2, 3):
    OVERRIDES[f"adaptive_max_pool{_n}d_with_indices"] = _with_indices(f"adaptive_max_pool{_n}d")
