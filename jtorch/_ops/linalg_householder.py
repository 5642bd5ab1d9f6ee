"""Householder products: torch.linalg.householder_product and torch.ormqr.

The values come from LAPACK (orgqr / ormqr through jax.lax.linalg), which jax cannot
differentiate; their derivatives are those of the same product written as one reflector at a
time in jnp ops (`_apply_reflectors`), so forward values stay LAPACK's.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax

from .registry import register
from .linalg import check_matrix, mH, _mm


def _apply_reflectors(V, tau, C, left, transpose):
    """op(Q) @ C (left) or C @ op(Q), op = conjugate transpose when `transpose`, for
    Q = H_1 ... H_k, H_i = I - tau_i v_i v_i^H; v_i is column i of V below the diagonal with an
    implicit 1 on it (LAPACK's storage; the rest of V is not read)."""
    if V.size == 0 or tau.shape[-1] == 0:
        return C     # no reflectors, or C is empty too
    rows = jnp.arange(V.shape[-2])

    def step(C, i):
        column = jnp.take(V, i, axis=-1)
        v = jnp.where(rows > i, column, (rows == i).astype(V.dtype))[..., :, None]
        t = jnp.take(tau, i, axis=-1)[..., None, None]
        t = jnp.conj(t) if transpose else t
        if left:       # H C = C - tau v (v^H C)
            return C - t * _mm(v, _mm(mH(v), C)), None
        return C - t * _mm(_mm(C, v), mH(v)), None     # C H = C - tau (C v) v^H

    # Q C and C Q^H apply H_k first; Q^H C and C Q apply H_1 first
    C, _ = lax.scan(step, C, jnp.arange(tau.shape[-1]), reverse=left != transpose)
    return C


@functools.partial(jax.custom_jvp, nondiff_argnums=(3, 4))
def _ormqr(V, tau, C, left, transpose):
    return lax.linalg.ormqr(V, tau, C, left=left, transpose=transpose)


@_ormqr.defjvp
def _ormqr_jvp(left, transpose, primals, tangents):
    _, tangent = jax.jvp(lambda *p: _apply_reflectors(*p, left, transpose), primals, tangents)
    return _ormqr(*primals, left, transpose), tangent


@jax.custom_jvp
def _householder_product(V, tau):
    # reflectors beyond tau's length act as the identity (tau = 0)
    n = V.shape[-1]
    padded = jnp.concatenate([tau, jnp.zeros(tau.shape[:-1] + (n - tau.shape[-1],), tau.dtype)],
                             -1)
    return lax.linalg.householder_product(V, padded)


@_householder_product.defjvp
def _householder_product_jvp(primals, tangents):
    V, tau = primals
    m, n = V.shape[-2:]
    eye = jnp.broadcast_to(jnp.eye(m, n, dtype=V.dtype), V.shape)
    _, tangent = jax.jvp(lambda V, tau: _apply_reflectors(V, tau, eye, True, False), primals,
                         tangents)
    return _householder_product(V, tau), tangent


@register(namespace="torch.linalg", method=False, out=True)
def householder_product(A, tau):
    """Mirrors `torch.linalg.householder_product`."""
    check_matrix("householder_product", A, square=False)
    if A.shape[-2] < A.shape[-1]:
        raise RuntimeError("torch.linalg.householder_product: input.shape[-2] must be greater "
                           "than or equal to input.shape[-1]")
    if tau.shape[-1] > A.shape[-1]:
        raise RuntimeError("torch.linalg.householder_product: input.shape[-1] must be greater "
                           "than or equal to tau.shape[-1]")
    return _householder_product(A, tau)


@register(out=True)
def ormqr(input, input2, input3, left=True, transpose=False):
    """Mirrors `torch.ormqr`."""
    check_matrix("ormqr", input, square=False)
    return _ormqr(input, input2, input3, left, transpose)
