"""Embeddings and one_hot of torch.nn.functional."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..._ops.registry import write_inplace
from ..._tensor import Tensor
from ._common import fn_register, OVERRIDES, TORCH_EXPORTS

__all__ = []


def _check_indices(input, weight, *args, **kwargs):
    if weight.ndim != 2:
        return  # the kernel raises torch's error for this
    idx = np.asarray(input)
    if idx.size and ((idx < 0) | (idx >= weight.shape[0])).any():
        raise IndexError("index out of range in self")


def _renorm_rows(weight, input, max_norm, norm_type):
    """torch's max_norm: rows looked up by `input` are rescaled to norm <= max_norm."""
    rows = jnp.unique(jnp.asarray(input).reshape(-1))
    w = weight[rows]
    if norm_type == float("inf"):
        norms = jnp.max(jnp.abs(w), axis=1)
    else:
        norms = jnp.sum(jnp.abs(w) ** norm_type, axis=1) ** (1.0 / norm_type)
    scale = jnp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(weight.dtype)
    return weight.at[rows].set(w * scale[:, None])


@fn_register(name="embedding", function=False, check=_check_indices)
def _embedding_kernel(input, weight, padding_idx, scale_grad_by_freq=False):
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    if not jnp.issubdtype(input.dtype, jnp.integer):
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           "following scalar types: Long, Int")
    out = weight[input]
    if padding_idx is not None:
        # the padding row gets no gradient
        out = jnp.where((input == padding_idx)[..., None], jax.lax.stop_gradient(out), out)
    if scale_grad_by_freq:
        out = _scale_grad_by_freq(out, input, weight.shape[0])
    return out


def _scale_grad_by_freq(rows, indices, num):
    """Same values; the gradient of each row is divided by its index's count in the batch."""
    counts = jnp.zeros(num, rows.dtype).at[indices.reshape(-1)].add(1)[indices]
    fixed = jax.lax.stop_gradient(rows)
    return fixed + (rows - fixed) / counts[..., None]


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Mirrors `torch.nn.functional.embedding` (`sparse` gradients are dense here)."""
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    if padding_idx is not None:
        if padding_idx > 0 and padding_idx >= weight.shape[0]:
            raise AssertionError("Padding_idx must be within num_embeddings")
        if padding_idx < 0:
            if padding_idx < -weight.shape[0]:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = weight.shape[0] + padding_idx
    if max_norm is not None:
        _renorm_in_place(input, weight, max_norm, norm_type)
    return _embedding_kernel(input, weight, padding_idx, scale_grad_by_freq)


def _renorm_in_place(input, weight, max_norm, norm_type):
    _check_indices(input._value, weight)
    new = _renorm_rows(weight._value, input._value, max_norm, norm_type)
    from ...autograd.grad_mode import no_grad
    with no_grad():     # torch renormalises the weight outside autograd
        write_inplace(weight, Tensor._wrap(new), "embedding_renorm_")


OVERRIDES["embedding"] = embedding
TORCH_EXPORTS["embedding"] = lambda weight, indices, padding_idx=-1, scale_grad_by_freq=False, \
    sparse=False: embedding(indices, weight, None if padding_idx == -1 else padding_idx)


def _one_hot_check(tensor, num_classes=-1):
    t = np.asarray(tensor)
    if not np.issubdtype(t.dtype, np.integer):
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if t.size and t.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes != -1 and t.size and t.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    if num_classes == -1 and t.size == 0:
        raise RuntimeError("Can not infer total number of classes from empty tensor.")


@fn_register(jit=False, check=_one_hot_check)
def one_hot(tensor, num_classes=-1):
    if num_classes == -1:
        num_classes = int(jnp.max(tensor)) + 1
    return (tensor[..., None] == jnp.arange(num_classes)).astype(jnp.int64)


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2,
                  scale_grad_by_freq=False, mode="mean", sparse=False, per_sample_weights=None,
                  include_last_offset=False, padding_idx=None):
    """Mirrors `torch.nn.functional.embedding_bag` (`sparse` gradients are dense here)."""
    if max_norm is not None:
        _renorm_in_place(input, weight, max_norm, norm_type)
    return _embedding_bag_kernel(input, weight, offsets, scale_grad_by_freq, mode,
                                 per_sample_weights, include_last_offset, padding_idx)


OVERRIDES["embedding_bag"] = embedding_bag


@fn_register(name="embedding_bag", function=False,
             check=lambda input, weight, *a, **k: _check_indices(input, weight))
def _embedding_bag_kernel(input, weight, offsets, scale_grad_by_freq, mode, per_sample_weights,
                          include_last_offset, padding_idx):
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. "
                                      f"per_sample_weights is only supported for mode='sum' "
                                      f"(got mode='{mode}'). Please open a feature request on "
                                      f"the Pytorch GitHub.")
        if per_sample_weights.shape != input.shape:
            raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape})"
                             f" is not None, then it must have the same shape as the input "
                             f"({input.shape})")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated "
                             "is a mini-batch of fixed length sequences.")
        bags, length = input.shape
        flat = input.reshape(-1)
        segment = jnp.repeat(jnp.arange(bags), length)
        psw = None if per_sample_weights is None else per_sample_weights.reshape(-1)
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        bags = offsets.shape[0] - (1 if include_last_offset else 0)
        flat, psw = input, per_sample_weights
        segment = jnp.searchsorted(offsets, jnp.arange(input.shape[0]), side="right") - 1
        if include_last_offset:
            segment = jnp.where(jnp.arange(input.shape[0]) >= offsets[-1], bags, segment)
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.ndim}")
    keep = jnp.ones(flat.shape, bool) if padding_idx is None else flat != padding_idx
    segment = jnp.where(keep, segment, bags)          # dropped rows go to an extra bag
    rows = weight[flat]
    if scale_grad_by_freq:
        rows = _scale_grad_by_freq(rows, flat, weight.shape[0])
    if psw is not None:
        rows = rows * psw[:, None].astype(rows.dtype)
    if mode == "max":
        out = jax.ops.segment_max(rows, segment, num_segments=bags + 1)[:bags]
        counts = jax.ops.segment_sum(keep.astype(jnp.int32), segment, num_segments=bags + 1)[:bags]
        return jnp.where(counts[:, None] > 0, out, jnp.zeros((), out.dtype))
    out = jax.ops.segment_sum(rows, segment, num_segments=bags + 1)[:bags]
    if mode == "mean":
        counts = jax.ops.segment_sum(keep.astype(out.dtype), segment, num_segments=bags + 1)[:bags]
        out = jnp.where(counts[:, None] > 0, out / jnp.maximum(counts, 1)[:, None], 0)
    return out.astype(weight.dtype)
