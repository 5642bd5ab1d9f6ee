"""Leftover aten-level ops torch exposes at top level (native_layer_norm, stft, ...).

These are the functions torch's own decompositions and autograd formulas call: the
normalisations that also return their statistics, the backward helpers of softmax and
dropout, segment reductions, `_chunk_cat` and `Tensor.resize_`.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from .. import _alias
from .._tensor import Tensor, cast_value
from .registry import register, OPS
from ._util import torch_dtype, promote, wrap_dim
from .registry import publish
from .unary import not_implemented_for

_LOW_PRECISION = (jnp.float16, jnp.bfloat16)


def _require_float(x, kernel):
    d = torch_dtype(x)
    if not d.is_floating_point:
        raise not_implemented_for(kernel, d)


def _moments(x, axes):
    """x in its compute dtype (half types widened, as torch's CPU kernels do), its mean and
    biased variance over `axes` (kept as size-one dims)."""
    xf = x.astype(jnp.float32) if x.dtype in _LOW_PRECISION else x
    mean = jnp.mean(xf, axis=axes, keepdims=True)
    var = jnp.mean(jnp.square(xf - mean), axis=axes, keepdims=True)
    return xf, mean, var


def _affine(out, weight, bias, shape):
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


# -- normalisations that return their statistics ----------------------------------------

# torch differentiates only the output, not the saved statistics
@register(method=False, scalars=(), differentiable=(0,))
def native_layer_norm(input, normalized_shape, weight, bias, eps):
    """Mirrors `torch.native_layer_norm`: (output, mean, rstd)."""
    _require_float(input, "LayerNormKernelImpl")
    shape = tuple(normalized_shape)
    axis = input.ndim - len(shape)
    if not shape or axis < 0 or tuple(input.shape[axis:]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size"
                           f"{list(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {list(t.shape)} and normalized_shape = "
                               f"{list(shape)}")
    xf, mean, var = _moments(input, tuple(range(axis, input.ndim)))
    rstd = jax.lax.rsqrt(var + eps)
    out = _affine((xf - mean) * rstd, weight, bias, shape)
    d = input.dtype
    return out.astype(d), mean.astype(d), rstd.astype(d)


@register(method=False, scalars=())
def native_group_norm(input, weight, bias, N, C, HxW, group, eps):
    """Mirrors `torch.native_group_norm`: (output, mean, rstd), statistics of shape (N, group)."""
    _require_float(input, "GroupNormKernelImpl")
    if group <= 0 or C % group:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={group}")
    if math.prod(input.shape) != N * C * HxW:
        raise RuntimeError(f"Expected the input of shape {list(input.shape)} to have N * C * HxW "
                           f"= {N * C * HxW} elements")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (C,):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of "
                               f"channels in input, but got {name} of shape {list(t.shape)} "
                               f"and input of shape {list(input.shape)}")
    xf, mean, var = _moments(input.reshape(N, group, -1), (2,))
    rstd = jax.lax.rsqrt(var + eps)
    out = ((xf - mean) * rstd).reshape(N, C, HxW)
    out = _affine(out, weight, bias, (1, C, 1)).reshape(input.shape)
    d = input.dtype
    return out.astype(d), mean.reshape(N, group).astype(d), rstd.reshape(N, group).astype(d)


@register(name="_batch_norm_kernel", method=False, function=False, scalars=(),
          differentiable=(0,))
def _batch_norm_kernel(input, weight, bias, running_mean, running_var, training, momentum, eps):
    """(output, save_mean, save_invstd, new running_mean, new running_var): pure, the callers
    write the running statistics back in place."""
    _require_float(input, "batch_norm")
    if input.ndim < 2:
        raise RuntimeError(f"batch_norm: expected input with at least 2 dims, but got "
                           f"{input.ndim}")
    C = input.shape[1]
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and t.size != C:
            raise RuntimeError(f"batch_norm: expected {name} to have {C} elements, but got "
                               f"{name} of shape {list(t.shape)}")
    shape = (1, C) + (1,) * (input.ndim - 2)
    d = input.dtype
    if training:
        axes = (0,) + tuple(range(2, input.ndim))
        xf, mean, var = _moments(input, axes)
        invstd = jax.lax.rsqrt(var + eps)
        out = _affine((xf - mean) * invstd, weight, bias, shape)
        mean, var = mean.reshape(C), var.reshape(C)
        new_mean = new_var = None
        if running_mean is not None:
            new_mean = (1 - momentum) * running_mean + momentum * mean
        if running_var is not None:
            n = math.prod(input.shape) // C
            # torch: the running variance tracks the unbiased estimate
            unbiased = var * (n / (n - 1)) if n > 1 else var * jnp.inf
            new_var = (1 - momentum) * running_var + momentum * unbiased
        return (out.astype(d), mean.astype(d), invstd.reshape(C).astype(d),
                _cast_like(new_mean, running_mean), _cast_like(new_var, running_var))
    if running_mean is None or running_var is None:
        raise RuntimeError("batch_norm: running_mean and running_var must be defined in "
                           "evaluation mode")
    xf = input.astype(jnp.float32) if d in _LOW_PRECISION else input
    invstd = jax.lax.rsqrt(running_var.astype(xf.dtype) + eps)
    out = (xf - running_mean.astype(xf.dtype).reshape(shape)) * invstd.reshape(shape)
    out = _affine(out, weight, bias, shape)
    empty = jnp.zeros((0,), d)
    return out.astype(d), empty, empty, None, None


def _cast_like(value, like):
    return None if value is None else value.astype(like.dtype)


_BATCH_NORM = OPS["torch._batch_norm_kernel"]


def _batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    out, save_mean, save_invstd, new_mean, new_var = _BATCH_NORM(
        input, weight, bias, running_mean, running_var, bool(training), float(momentum),
        float(eps))
    # torch updates the running statistics in place
    for stat, new in ((running_mean, new_mean), (running_var, new_var)):
        if new is not None:
            stat._set_value(cast_value(new._value, stat._value.dtype))
    return out, save_mean, save_invstd


def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    """Mirrors `torch.native_batch_norm`: (output, save_mean, save_invstd)."""
    return _batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)


def _native_batch_norm_legit(input, weight, bias, *args):
    """Mirrors `torch._native_batch_norm_legit`, both overloads: (running_mean, running_var,
    training, momentum, eps) and, without running statistics, (training, momentum, eps)."""
    if len(args) == 3:
        training, momentum, eps = args
        if not training:
            raise RuntimeError("_native_batch_norm_legit: evaluation mode needs running_mean "
                               "and running_var")
        return _batch_norm(input, weight, bias, None, None, training, momentum, eps)
    if len(args) != 5:
        raise TypeError("_native_batch_norm_legit() expects (input, weight, bias, running_mean, "
                        "running_var, training, momentum, eps) or (input, weight, bias, "
                        "training, momentum, eps)")
    return _batch_norm(input, weight, bias, *args)


def _batch_norm_with_update(input, weight, bias, running_mean, running_var, momentum, eps):
    """Mirrors `torch._batch_norm_with_update`: training mode, plus an empty reserve tensor."""
    out = _batch_norm(input, weight, bias, running_mean, running_var, True, momentum, eps)
    return (*out, Tensor._wrap(jnp.zeros((0,), jnp.uint8)))


def _batch_norm_no_update(input, weight, bias, running_mean, running_var, momentum, eps):
    """Mirrors `torch._batch_norm_no_update`: running statistics used when given, else
    batch statistics, never updated."""
    training = running_mean is None or running_var is None
    out = _BATCH_NORM(input, weight, bias, running_mean, running_var, training,
                      float(momentum), float(eps))[:3]
    return (*out, Tensor._wrap(jnp.zeros((0,), jnp.uint8)))


for _fn in (native_batch_norm, _native_batch_norm_legit, _batch_norm_with_update,
            _batch_norm_no_update):
    publish(_fn, _fn.__name__, op=_BATCH_NORM)


# -- backward helpers ----------------------------------------------------------------------

def _backward_dtype(grad_output, input_dtype):
    # torch's half-to-float path: a float32 gradient for a half input comes back as half
    if grad_output.dtype == jnp.float32 and input_dtype._np in _LOW_PRECISION:
        return input_dtype._np
    return grad_output.dtype


@register(name="_softmax_backward_data", method=False, scalars=())
def _softmax_backward_data(grad_output, output, dim, input_dtype):
    """Mirrors `torch._softmax_backward_data`."""
    dim = wrap_dim(dim, grad_output.ndim)
    dot = jnp.sum(grad_output * output, axis=dim, keepdims=True)
    return (output * (grad_output - dot)).astype(_backward_dtype(grad_output, input_dtype))


@register(name="_log_softmax_backward_data", method=False, scalars=())
def _log_softmax_backward_data(grad_output, output, dim, input_dtype):
    """Mirrors `torch._log_softmax_backward_data`."""
    dim = wrap_dim(dim, grad_output.ndim)
    total = jnp.sum(grad_output, axis=dim, keepdims=True)
    return (grad_output - jnp.exp(output) * total).astype(
        _backward_dtype(grad_output, input_dtype))


@register(name="_safe_softmax", method=False, scalars=())
def _safe_softmax(input, dim, dtype=None):
    """Mirrors `torch._safe_softmax`: softmax, with 0 where a whole slice is -inf."""
    x = input if dtype is None else input.astype(dtype._np)
    _require_float(x, "softmax_lastdim_kernel_impl")
    dim = wrap_dim(dim, x.ndim)
    xf = (x.astype(jnp.float32) if x.dtype in _LOW_PRECISION else x).reshape(
        x.shape or (1,))
    masked = jnp.all(xf == -jnp.inf, axis=dim, keepdims=True)
    # fully masked slices get a finite stand-in so their (zero) gradient is not NaN
    out = jnp.where(masked, 0, jax.nn.softmax(jnp.where(masked, 0, xf), axis=dim))
    return out.reshape(x.shape).astype(x.dtype)


@register(method=False, scalars=("scale",))
def native_dropout_backward(grad_output, mask, scale):
    """Mirrors `torch.native_dropout_backward`."""
    (grad, factor), _ = promote(grad_output, scale)
    return grad * mask.astype(grad.dtype) * factor


# -- _chunk_cat ----------------------------------------------------------------------------

@register(name="_chunk_cat", method=False, out=True, scalars=())
def _chunk_cat(tensors, dim, num_chunks):
    """Mirrors `torch._chunk_cat`."""
    if not tensors:
        raise RuntimeError("_chunk_cat expects a non-empty input tensor list")
    if num_chunks < 1:
        raise RuntimeError("_chunk_cat expects positive num_chunks")
    first = tensors[0]
    if any(t.size == 0 for t in tensors):
        raise RuntimeError("_chunk_cat expects non-empty tensor")
    if any(t.dtype != first.dtype for t in tensors):
        raise RuntimeError("_chunk_cat expects all input tensors with the same dtype")
    if dim < 0 and any(t.ndim != first.ndim for t in tensors):
        raise RuntimeError("_chunk_cat expects non-negative dim when input tensors have "
                           "different ndims")
    if first.ndim == 0 or any(t.ndim <= (dim % first.ndim) for t in tensors):
        raise RuntimeError("_chunk_cat expects dim < ndim for all input tensors")
    dim = wrap_dim(dim, first.ndim)
    lead = first.shape[:dim]
    pieces = []
    for t in tensors:
        if t.shape[:dim] != lead:
            raise RuntimeError("_chunk_cat expects same sizes of 0,...,dim-1 dimensions for all "
                               "tensors")
        chunk = -(-t.shape[dim] // num_chunks)
        pad = [(0, 0)] * t.ndim
        pad[dim] = (0, chunk * num_chunks - t.shape[dim])
        pieces.append(jnp.pad(t, pad).reshape(*lead, num_chunks, -1))
    return jnp.concatenate(pieces, axis=dim + 1)


# -- segment_reduce ------------------------------------------------------------------------

_SEGMENT_REDUCTIONS = {"sum": "sum", "prod": "prod", "mean": "mean", "max": "max",
                       "amax": "max", "min": "min", "amin": "min"}


def _check_segments(data, reduce, *, lengths=None, indices=None, offsets=None, axis=0,
                    unsafe=False, initial=None):
    if lengths is not None:
        if bool(jnp.any(lengths < 0)):
            raise RuntimeError("lengths contains negative value!")
        if not unsafe and bool(jnp.any(jnp.sum(lengths, axis=-1) != data.shape[axis])):
            raise RuntimeError("segment_reduce(): Expected all rows of lengths along axis to "
                               "sum to data.size(lengths.dim()-1) when !unsafe.")
    elif offsets is not None and offsets.shape[-1] > 1:
        if bool(jnp.any(jnp.diff(offsets, axis=-1) < 0)):
            raise RuntimeError("Expected segment_length >= 0 to be true, but got false.")


def _reduce_segments(x, bounds, reduce, initial):
    """One row: x of shape (N, *rest), bounds the S+1 segment offsets."""
    num = bounds.shape[0] - 1
    pos = jnp.arange(x.shape[0])
    seg = jnp.searchsorted(bounds[1:], pos, side="right")
    # elements before the first offset or past the last belong to no segment: bucket `num`
    seg = jnp.where((pos >= bounds[0]) & (seg < num), seg, num)
    segments = num + 1
    if reduce in ("sum", "mean"):
        out = jax.ops.segment_sum(x, seg, segments)[:num]
        if initial is not None:
            out = out + initial
        if reduce == "mean":
            count = jnp.diff(bounds).reshape((num,) + (1,) * (x.ndim - 1))
            empty = jnp.nan if initial is None else initial
            out = jnp.where(count > 0, out / jnp.maximum(count, 1), empty)
        return out
    if reduce == "prod":
        out = jax.ops.segment_prod(x, seg, segments)[:num]
        return out if initial is None else out * initial
    find = jax.ops.segment_max if reduce == "max" else jax.ops.segment_min
    out = find(x, seg, segments)[:num]
    if initial is not None:
        out = (jnp.maximum if reduce == "max" else jnp.minimum)(out, initial)
    # torch propagates nan through max and min
    has_nan = jax.ops.segment_max(jnp.isnan(x), seg, segments)[:num]
    return jnp.where(has_nan, jnp.nan, out)


@register(name="segment_reduce", method=False, scalars=(), aliases=("_segment_reduce",),
          check=_check_segments)
def segment_reduce(data, reduce, *, lengths=None, indices=None, offsets=None, axis=0,
                   unsafe=False, initial=None):
    """Mirrors `torch.segment_reduce`."""
    if reduce not in _SEGMENT_REDUCTIONS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    reduce = _SEGMENT_REDUCTIONS[reduce]
    if indices is not None:
        raise RuntimeError("segment_reduce(): indices based reduction is not supported yet.")
    if lengths is None and offsets is None:
        raise RuntimeError("segment_reduce(): Either lengths or offsets must be defined.")
    d = torch_dtype(data)
    if not d.is_floating_point:
        raise not_implemented_for("_segment_reduce_cpu", d)
    given = lengths if lengths is not None else offsets
    if not torch_dtype(given).is_signed or torch_dtype(given).is_floating_point:
        raise not_implemented_for("_segment_reduce_lengths_cpu_kernel1", torch_dtype(given))
    axis = wrap_dim(axis, data.ndim)
    if axis != given.ndim - 1:
        raise RuntimeError(f"segment_reduce(): Expected axis to be the last dimension of "
                           f"lengths but got {axis}.")
    if lengths is not None:
        bounds = jnp.cumsum(lengths, axis=-1)
        bounds = jnp.concatenate([jnp.zeros_like(bounds[..., :1]), bounds], axis=-1)
    else:
        bounds = offsets
    batch = data.shape[:axis]
    compute = jnp.float32 if data.dtype in _LOW_PRECISION else data.dtype
    rows = data.astype(compute).reshape((-1,) + data.shape[axis:])
    bounds = bounds.reshape(-1, bounds.shape[-1])
    out = jax.vmap(lambda x, b: _reduce_segments(x, b, reduce, initial))(rows, bounds)
    return out.reshape(batch + out.shape[1:]).astype(data.dtype)


# -- grid_sampler ----------------------------------------------------------------------------

_GRID_MODES = ("bilinear", "nearest", "bicubic")
_GRID_PADDINGS = ("zeros", "border", "reflection")


def _grid_sampler(dims):
    def grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners):
        # aten's enum arguments: the codes F.grid_sample passes down
        from ..nn import functional
        if dims and input.ndim != dims + 2:
            raise RuntimeError(f"grid_sampler_{dims}d(): expected {dims + 2}D input, but got "
                               f"input with sizes {list(input.shape)}")
        if interpolation_mode not in (0, 1, 2) or padding_mode not in (0, 1, 2):
            raise RuntimeError(f"{name}(): unknown interpolation_mode {interpolation_mode} or "
                               f"padding_mode {padding_mode}")
        return functional.grid_sample(input, grid, _GRID_MODES[interpolation_mode],
                                      _GRID_PADDINGS[padding_mode], align_corners)
    name = f"grid_sampler_{dims}d" if dims else "grid_sampler"
    grid_sampler.__doc__ = f"Mirrors `torch.{name}`."
    publish(grid_sampler, name)


for _dims in (0, 2, 3):
    _grid_sampler(_dims)


# -- resize_ -------------------------------------------------------------------------------

def _as_shape(sizes):
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = sizes[0]
    shape = tuple(int(s) for s in sizes)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: "
                           f"{list(shape)}")
    return shape


def _resize(self, shape):
    if self.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    if self._view is not None and self._view.chain.steps:
        # a view keeps its storage: torch lays the new shape out contiguously from the view's
        # offset, which needs the view to be contiguous and the storage to be large enough
        if math.prod(shape) > self._value.size or not self.is_contiguous():
            raise NotImplementedError("jtorch: resize_ of a view that would need more storage "
                                      "or is not contiguous")
        strides = _alias.contiguous_strides(shape)
        _alias.take_layout(self, self.as_strided(shape, strides, self.storage_offset()))
        return self
    flat = self._value.reshape(-1)
    n = math.prod(shape)
    if n <= flat.shape[0]:
        flat = flat[:n]
    else:
        # torch leaves the new elements uninitialised; zeros keep results deterministic
        flat = jnp.concatenate([flat, jnp.zeros((n - flat.shape[0],), flat.dtype)])
    self._set_value(flat.reshape(shape), resize=True)
    return self


def resize_(self, *sizes, memory_format=None):
    """Mirrors `Tensor.resize_`: leading elements kept, new ones zero (torch: uninitialised)."""
    return _resize(self, _as_shape(sizes))


def resize_as_(input, the_template, *, memory_format=None):
    """Mirrors `torch.resize_as_`: leading elements kept, new ones zero."""
    return _resize(input, tuple(the_template.shape))


Tensor.resize_ = resize_
Tensor.resize_as_ = resize_as_
publish(resize_as_, "resize_as_")

from . import native_stft  # noqa: E402,F401
