"""multi_head_attention_forward of torch.nn.functional (the math of nn.MultiheadAttention)."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from ..._ops.registry import register
from ._common import OVERRIDES, next_key, random_key



def _float_mask(mask, dtype):
    """torch's canonical mask: bool True means 'masked' and becomes -inf; floats are added."""
    if mask is None:
        return None
    if mask.dtype == jnp.bool_:
        return jnp.where(mask, jnp.asarray(-jnp.inf, dtype), jnp.zeros((), dtype))
    if not jnp.issubdtype(mask.dtype, jnp.floating):
        raise AssertionError("only bool and floating types of masks are supported")
    return mask.astype(dtype)


@register(name="multi_head_attention_forward", namespace="jtorch._private", method=False,
          function=False)
def _mha_kernel(query, key, value, num_heads, in_proj_weight, in_proj_bias, bias_k, bias_v,
                add_zero_attn, dropout_p, out_proj_weight, out_proj_bias, key_padding_mask,
                need_weights, attn_mask, q_proj_weight, k_proj_weight, v_proj_weight,
                static_k, static_v, average_attn_weights, rng):
    batched = query.ndim == 3
    if not batched:
        query, key, value = query[:, None], key[:, None], value[:, None]
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask[None]
    length, batch, embed = query.shape
    head_dim = embed // num_heads
    if head_dim * num_heads != embed:
        raise AssertionError(f"embed_dim {embed} not divisible by num_heads {num_heads}")
    dtype = query.dtype
    if q_proj_weight is None:
        w_q, w_k, w_v = jnp.split(in_proj_weight, 3)
    else:
        w_q, w_k, w_v = q_proj_weight, k_proj_weight, v_proj_weight
    b_q = b_k = b_v = None
    if in_proj_bias is not None:
        b_q, b_k, b_v = jnp.split(in_proj_bias, 3)

    def project(x, w, b):
        y = jnp.matmul(x, w.T)
        return y if b is None else y + b
    q, k, v = project(query, w_q, b_q), project(key, w_k, b_k), project(value, w_v, b_v)
    attn_mask = _float_mask(attn_mask, dtype)
    if attn_mask is not None and attn_mask.ndim == 2:
        attn_mask = attn_mask[None]
    key_padding_mask = _float_mask(key_padding_mask, dtype)
    if bias_k is not None:
        k = jnp.concatenate([k, jnp.broadcast_to(bias_k.reshape(1, 1, embed), (1, batch, embed))])
        v = jnp.concatenate([v, jnp.broadcast_to(bias_v.reshape(1, 1, embed), (1, batch, embed))])
        attn_mask = None if attn_mask is None else jnp.pad(attn_mask, ((0, 0), (0, 0), (0, 1)))
        key_padding_mask = None if key_padding_mask is None else jnp.pad(key_padding_mask,
                                                                          ((0, 0), (0, 1)))
    # (seq, batch, embed) -> (batch * heads, seq, head_dim)
    q = q.reshape(length, batch * num_heads, head_dim).transpose(1, 0, 2)
    k = (static_k if static_k is not None else
         k.reshape(k.shape[0], batch * num_heads, head_dim).transpose(1, 0, 2))
    v = (static_v if static_v is not None else
         v.reshape(v.shape[0], batch * num_heads, head_dim).transpose(1, 0, 2))
    if add_zero_attn:
        k = jnp.pad(k, ((0, 0), (0, 1), (0, 0)))
        v = jnp.pad(v, ((0, 0), (0, 1), (0, 0)))
        attn_mask = None if attn_mask is None else jnp.pad(attn_mask, ((0, 0), (0, 0), (0, 1)))
        key_padding_mask = None if key_padding_mask is None else jnp.pad(key_padding_mask,
                                                                          ((0, 0), (0, 1)))
    source = k.shape[1]
    if key_padding_mask is not None:
        padding = jnp.broadcast_to(key_padding_mask.reshape(batch, 1, 1, source),
                                   (batch, num_heads, 1, source))
        padding = padding.reshape(batch * num_heads, 1, source)
        attn_mask = padding if attn_mask is None else attn_mask + padding
    scores = jnp.matmul(q * math.sqrt(1.0 / head_dim), k.transpose(0, 2, 1))
    if attn_mask is not None:
        scores = scores + attn_mask
    weights = jax.nn.softmax(scores, axis=-1)
    if dropout_p > 0:
        keep = jax.random.bernoulli(random_key(rng), 1 - dropout_p, weights.shape)
        weights = jnp.where(keep, weights / (1 - dropout_p), jnp.zeros((), weights.dtype))
    out = jnp.matmul(weights, v)                 # (B*H, L, hd)
    out = out.transpose(1, 0, 2).reshape(length * batch, embed)
    out = jnp.matmul(out, out_proj_weight.T)
    if out_proj_bias is not None:
        out = out + out_proj_bias
    out = out.reshape(length, batch, embed)
    averaged = None
    if need_weights:
        averaged = weights.reshape(batch, num_heads, length, source)
        if average_attn_weights:
            averaged = averaged.mean(axis=1)
        if not batched:
            averaged = averaged[0]
    return (out if batched else out[:, 0]), averaged


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """Mirrors `torch.nn.functional.multi_head_attention_forward`."""
    if query.shape[-1] != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {query.shape[-1]}")
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if use_separate_proj_weight and q_proj_weight is None:
        raise AssertionError("use_separate_proj_weight is True but q_proj_weight is None")
    if not use_separate_proj_weight:
        q_proj_weight = k_proj_weight = v_proj_weight = None
    p = dropout_p if training else 0.0
    rng = next_key() if p > 0 else None
    return _mha_kernel(query, key, value, num_heads, in_proj_weight, in_proj_bias, bias_k,
                       bias_v, add_zero_attn, p, out_proj_weight, out_proj_bias,
                       key_padding_mask, need_weights, attn_mask, q_proj_weight, k_proj_weight,
                       v_proj_weight, static_k, static_v, average_attn_weights, rng)


OVERRIDES["multi_head_attention_forward"] = multi_head_attention_forward
