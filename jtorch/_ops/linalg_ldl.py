"""torch.linalg.ldl_factor / ldl_solve: Bunch-Kaufman LDL^T, as LAPACK's sytrf/sytrs compute it.

XLA has no symmetric-indefinite factorization, and the pivot choices are data-dependent
branches, so these run eagerly in NumPy on the host (jit=False, not differentiable) and
reproduce LAPACK's lower-triangular pivots and factors exactly (real dtypes only).
"""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from .registry import register
from .linalg import check_matrix, check_same_dtype, raise_on_info

_ALPHA = (1 + math.sqrt(17)) / 8   # LAPACK's Bunch-Kaufman threshold


def _swap(a, i, j):
    a[[i, j]] = a[[j, i]]


def _sytf2(a):
    """One matrix, in place (lower): returns (pivots, info) as LAPACK's dsytf2."""
    n = a.shape[0]
    piv = np.zeros(n, np.int32)
    info = 0
    k = 0
    while k < n:
        kstep = 1
        absakk = abs(a[k, k])
        if k < n - 1:
            imax = k + 1 + int(np.argmax(np.abs(a[k + 1:, k])))
            colmax = abs(a[imax, k])
        else:
            imax, colmax = k, 0.0
        if max(absakk, colmax) == 0 or np.isnan(absakk):
            info = info or k + 1
            kp = k
        else:
            if absakk >= _ALPHA * colmax:
                kp = k
            else:
                jmax = k + int(np.argmax(np.abs(a[imax, k:imax])))
                rowmax = abs(a[imax, jmax])
                if imax < n - 1:
                    rowmax = max(rowmax, np.max(np.abs(a[imax + 1:, imax])))
                if absakk >= _ALPHA * colmax * (colmax / rowmax):
                    kp = k
                elif abs(a[imax, imax]) >= _ALPHA * rowmax:
                    kp = imax
                else:
                    kp, kstep = imax, 2
            kk = k + kstep - 1
            if kp != kk:   # interchange rows and columns kk and kp of the trailing block
                if kp < n - 1:
                    a[kp + 1:, [kk, kp]] = a[kp + 1:, [kp, kk]]
                seg = a[kk + 1:kp, kk].copy()
                a[kk + 1:kp, kk] = a[kp, kk + 1:kp]
                a[kp, kk + 1:kp] = seg
                a[kk, kk], a[kp, kp] = a[kp, kp], a[kk, kk]
                if kstep == 2:
                    a[k + 1, k], a[kp, k] = a[kp, k], a[k + 1, k]
            if kstep == 1:
                if k < n - 1:
                    d11 = 1 / a[k, k]
                    col = a[k + 1:, k].copy()
                    a[k + 1:, k + 1:] -= d11 * np.tril(np.outer(col, col))
                    a[k + 1:, k] = col * d11
            elif k < n - 2:
                d21 = a[k + 1, k]
                d11 = a[k + 1, k + 1] / d21
                d22 = a[k, k] / d21
                t = 1 / (d11 * d22 - 1)
                d21 = t / d21
                wk = d21 * (d11 * a[k + 2:, k] - a[k + 2:, k + 1])
                wkp1 = d21 * (d22 * a[k + 2:, k + 1] - a[k + 2:, k])
                a[k + 2:, k + 2:] -= np.tril(np.outer(a[k + 2:, k], wk)
                                             + np.outer(a[k + 2:, k + 1], wkp1))
                a[k + 2:, k] = wk
                a[k + 2:, k + 1] = wkp1
        if kstep == 1:
            piv[k] = kp + 1
        else:
            piv[k] = piv[k + 1] = -(kp + 1)
        k += kstep
    return piv, info


def _factor(A, hermitian):
    if np.iscomplexobj(A):
        raise NotImplementedError("linalg.ldl_factor: complex inputs are not supported in jtorch")
    a = np.tril(np.array(A, copy=True))
    batch = a.shape[:-2]
    if a.size == 0:
        return (jnp.asarray(a), jnp.zeros(batch + a.shape[-1:], jnp.int32),
                jnp.zeros(batch, jnp.int32))
    flat = a.reshape((-1,) + a.shape[-2:])
    pivots = np.zeros(flat.shape[:-1], np.int32)
    info = np.zeros(flat.shape[0], np.int32)
    for b in range(flat.shape[0]):
        pivots[b], info[b] = _sytf2(flat[b])
        flat[b] = np.tril(flat[b])
    return (jnp.asarray(flat.reshape(a.shape)), jnp.asarray(pivots.reshape(batch + a.shape[-1:])),
            jnp.asarray(info.reshape(batch)))


@register(namespace="torch.linalg", method=False, out=True, jit=False, differentiable=False,
          returns=("LD", "pivots", "info"))
def ldl_factor_ex(A, *, hermitian=False, check_errors=False):
    """Mirrors `torch.linalg.ldl_factor_ex` (eager NumPy, real dtypes)."""
    check_matrix("torch.linalg.ldl_factor_ex", A)
    return _factor(A, hermitian)


@register(namespace="torch.linalg", method=False, out=True, jit=False, differentiable=False,
          returns=("LD", "pivots"))
def ldl_factor(A, *, hermitian=False):
    """Mirrors `torch.linalg.ldl_factor` (eager NumPy, real dtypes)."""
    check_matrix("torch.linalg.ldl_factor", A)
    LD, pivots, info = _factor(A, hermitian)
    raise_on_info(info, lambda p, i: f"torch.linalg.ldl_factor: {p}The factorization could not "
                  f"be completed because the input is singular (D[{i},{i}] is zero).")
    return LD, pivots


def _sytrs(a, piv, b):
    """Solve with one factorization (lower), in place on b, as LAPACK's dsytrs."""
    n = a.shape[0]
    k = 0
    while k < n:   # L D X = B
        if piv[k] > 0:
            kp = piv[k] - 1
            if kp != k:
                _swap(b, k, kp)
            b[k + 1:] -= np.outer(a[k + 1:, k], b[k])
            b[k] /= a[k, k]
            k += 1
        else:
            kp = -piv[k] - 1
            if kp != k + 1:
                _swap(b, k + 1, kp)
            b[k + 2:] -= np.outer(a[k + 2:, k], b[k]) + np.outer(a[k + 2:, k + 1], b[k + 1])
            akm1k = a[k + 1, k]
            akm1, ak = a[k, k] / akm1k, a[k + 1, k + 1] / akm1k
            denom = akm1 * ak - 1
            bkm1, bk = b[k] / akm1k, b[k + 1] / akm1k
            b[k], b[k + 1] = (ak * bkm1 - bk) / denom, (akm1 * bk - bkm1) / denom
            k += 2
    k = n - 1
    while k >= 0:   # L^T X = B
        if piv[k] > 0:
            b[k] -= a[k + 1:, k] @ b[k + 1:]
            kp = piv[k] - 1
            if kp != k:
                _swap(b, k, kp)
            k -= 1
        else:
            b[k] -= a[k + 1:, k] @ b[k + 1:]
            b[k - 1] -= a[k + 1:, k - 1] @ b[k + 1:]
            kp = -piv[k] - 1
            if kp != k:
                _swap(b, k, kp)
            k -= 2
    return b


@register(namespace="torch.linalg", method=False, out=True, jit=False, differentiable=False)
def ldl_solve(LD, pivots, B, *, hermitian=False):
    """Mirrors `torch.linalg.ldl_solve` (eager NumPy, real dtypes)."""
    check_matrix("torch.linalg.ldl_solve", LD)
    check_same_dtype("torch.linalg.ldl_solve", LD, B, ("LD", "B"))
    if np.iscomplexobj(LD):
        raise NotImplementedError("linalg.ldl_solve: complex inputs are not supported in jtorch")
    batch = np.broadcast_shapes(LD.shape[:-2], pivots.shape[:-1], B.shape[:-2])
    if math.prod(batch + B.shape[-2:]) == 0:
        return jnp.zeros(batch + B.shape[-2:], B.dtype)
    a = np.broadcast_to(np.asarray(LD), batch + LD.shape[-2:]).reshape((-1,) + LD.shape[-2:])
    p = np.broadcast_to(np.asarray(pivots), batch + pivots.shape[-1:]).reshape(
        (-1, pivots.shape[-1]))
    b = np.array(np.broadcast_to(np.asarray(B), batch + B.shape[-2:])).reshape(
        (-1,) + B.shape[-2:])
    for i in range(b.shape[0]):
        _sytrs(a[i], p[i], b[i])
    return jnp.asarray(b.reshape(batch + B.shape[-2:]))
