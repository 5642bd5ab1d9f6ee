"""torch.linalg factorizations and solvers (LU, Cholesky, QR, eigen, SVD) and their torch.* forms.

Ops whose errors depend on values (a singular matrix) run a jitted kernel that also returns
LAPACK's `info`, then raise torch.linalg.LinAlgError from the concrete `info` (`jit=False`).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .registry import register, publish
from ._util import torch_dtype
from .matmul import type_name


class LinAlgError(RuntimeError):
    """Mirrors `torch.linalg.LinAlgError`."""


LinAlgError.__module__ = "torch.linalg"
# torch.linalg.LinAlgError: the namespace module copies the registry's table at import
publish(LinAlgError, "LinAlgError", "torch.linalg")


def mT(x):
    return jnp.swapaxes(x, -1, -2)


def mH(x):
    return jnp.conj(mT(x))


def _mm(a, b):
    return jnp.matmul(a, b)


@jax.custom_jvp
def hermitian_tangent(A):
    """A itself, whose tangents are made Hermitian: torch's gradients of eigh and eigvalsh,
    which read one triangle of a Hermitian input, are the Hermitian part of jax's."""
    return A


@hermitian_tangent.defjvp
def _hermitian_tangent_jvp(primals, tangents):
    return primals[0], (tangents[0] + mH(tangents[0])) / 2


def hermitian_from_triangle(A, UPLO="L"):
    """The Hermitian matrix that torch's eigh reads from one triangle of A, with Hermitian
    tangents. (jax's eigh derivative re-factors (A + A^H) / 2, not the triangle.)"""
    A = hermitian_tangent(A)
    if UPLO == "L":
        return jnp.tril(A) + mH(jnp.tril(A, -1))
    return jnp.triu(A) + mH(jnp.triu(A, 1))


def check_matrix(name, A, *, square=True, floating=True, what="A"):
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor {what} must have at least 2 dimensions.")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: {what} must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if floating and torch_dtype(A)._category <= 1:
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                           f"{type_name(A)}")
    if floating and A.dtype in (jnp.float16, jnp.bfloat16):
        # torch's CPU LAPACK kernels have no half-precision versions
        raise NotImplementedError(f'"{name}" not implemented for \'{type_name(A)}\'')


def check_same_dtype(name, A, B, names=("A", "B")):
    if A.dtype != B.dtype:
        raise RuntimeError(f"{name}: Expected {names[0]} and {names[1]} to have the same dtype, "
                           f"but found {names[0]} of type {type_name(A)} and {names[1]} of type "
                           f"{type_name(B)} instead")


def raise_on_info(info, message, error=LinAlgError):
    """Raise error(message(value)) for the first non-zero `info` (skipped when traced)."""
    if isinstance(info, jax.core.Tracer):
        return
    flat = np.asarray(info).ravel()
    bad = np.flatnonzero(flat)
    if bad.size:
        first = int(bad[0])
        prefix = f"(Batch element {first}): " if np.ndim(info) else ""
        raise error(message(prefix, int(flat[first])))


def _batch_broadcast(A, B):
    batch = jnp.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    return (jnp.broadcast_to(A, batch + A.shape[-2:]), jnp.broadcast_to(B, batch + B.shape[-2:]))


# ---------------------------------------------------------------- LU

@jax.jit
def _lu(A):
    """(LU, 1-based int32 pivots, info) as LAPACK's getrf gives them."""
    lu, piv, _ = lax.linalg.lu(A)
    if min(A.shape[-2:]) == 0:
        return lu, piv.astype(jnp.int32) + 1, jnp.zeros(A.shape[:-2], jnp.int32)
    diag = jnp.diagonal(lu, axis1=-2, axis2=-1)
    zero = diag == 0
    first = jnp.argmax(zero, axis=-1).astype(jnp.int32) + 1
    info = jnp.where(jnp.any(zero, axis=-1), first, 0).astype(jnp.int32)
    return lu, piv.astype(jnp.int32) + 1, info


def _permutation(pivots, m):
    """Row permutation `perm` (A[perm] = L U) from 1-based LAPACK pivots."""
    return lax.linalg.lu_pivots_to_permutation(pivots - 1, m)


def _lu_solve(lu, pivots, B, left=True, adjoint=False):
    n = lu.shape[-1]
    if not left:   # X A = B  <=>  A^H X^H = B^H
        return mH(_lu_solve(lu, pivots, mH(B), True, not adjoint))
    lu, B = _batch_broadcast(lu, B)
    pivots = jnp.broadcast_to(pivots, lu.shape[:-2] + pivots.shape[-1:])
    perm = _permutation(pivots, n)
    solve = functools.partial(lax.linalg.triangular_solve, left_side=True)
    if not adjoint:
        x = jnp.take_along_axis(B, perm[..., :, None], axis=-2)
        x = solve(lu, x, lower=True, unit_diagonal=True)
        return solve(lu, x, lower=False)
    x = solve(lu, B, lower=False, transpose_a=True, conjugate_a=True)
    x = solve(lu, x, lower=True, unit_diagonal=True, transpose_a=True, conjugate_a=True)
    inverse = jnp.argsort(perm, axis=-1)
    return jnp.take_along_axis(x, inverse[..., :, None], axis=-2)


def _lu_message(p, i):
    return (f"torch.linalg.lu_factor: {p}U[{i},{i}] is zero and using it on lu_solve would "
            f"result in a division by zero. If you still want to perform the factorization, "
            f"consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")


def _check_lu(A, *, pivot=True, check_errors=False):
    # check_errors=True: factor once more, eagerly, so the jitted kernel stays value-free
    if check_errors and pivot:
        raise_on_info(_lu(A)[2], _lu_message, RuntimeError)


@register(namespace="torch.linalg", method=False, out=True, returns=("LU", "pivots", "info"),
          check=_check_lu)
def lu_factor_ex(A, *, pivot=True, check_errors=False):
    """Mirrors `torch.linalg.lu_factor_ex`."""
    check_matrix("torch.linalg.lu_factor_ex", A, square=False)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    return _lu(A)


@register(namespace="torch.linalg", method=False, out=True, returns=("LU", "pivots"), jit=False)
def lu_factor(A, *, pivot=True):
    """Mirrors `torch.linalg.lu_factor`."""
    check_matrix("torch.linalg.lu_factor", A, square=False)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    lu, piv, info = _lu(A)
    raise_on_info(info, _lu_message, RuntimeError)   # torch: not LinAlgError
    return lu, piv


@register("lu", method=True, jit=False)
def lu_(A, pivot=True, get_infos=False):
    """Mirrors `torch.lu`."""
    check_matrix("torch.lu", A, square=False)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    lu, piv, info = _lu(A)
    return (lu, piv, info) if get_infos else (lu, piv)


def _unpack_permutation(pivots, m, dtype):
    perm = _permutation(pivots, m)
    # A = P L U with (P^T A) = A[perm], i.e. P[perm[i], i] = 1
    return jnp.swapaxes(jax.nn.one_hot(perm, m, dtype=dtype), -1, -2)


def _unpack_data(lu):
    m, n = lu.shape[-2:]
    k = min(m, n)
    L = jnp.tril(lu[..., :, :k], -1) + jnp.eye(m, k, dtype=lu.dtype)
    U = jnp.triu(lu[..., :k, :])
    return L, U


@register(namespace="torch.linalg", method=False, out=True, returns=("P", "L", "U"))
def lu(A, *, pivot=True):
    """Mirrors `torch.linalg.lu`."""
    check_matrix("linalg.lu", A, square=False)
    if not pivot:
        raise RuntimeError("linalg.lu: LU without pivoting is not implemented on the CPU")
    lu_, piv, _ = _lu(A)
    L, U = _unpack_data(lu_)
    return _unpack_permutation(piv, A.shape[-2], A.dtype), L, U


@register(out=True, returns=("P", "L", "U"), method=False)
def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):
    """Mirrors `torch.lu_unpack`."""
    empty = jnp.zeros((0,), LU_data.dtype)
    L, U = _unpack_data(LU_data) if unpack_data else (empty, empty)
    P = _unpack_permutation(LU_pivots, LU_data.shape[-2], LU_data.dtype) if unpack_pivots \
        else empty
    return P, L, U


@register(namespace="torch.linalg", method=False, out=True)
def lu_solve(LU, pivots, B, *, left=True, adjoint=False):
    """Mirrors `torch.linalg.lu_solve`."""
    check_matrix("linalg.lu_solve", LU)
    check_same_dtype("linalg.lu_solve", LU, B, ("LU", "B"))
    return _lu_solve(LU, pivots, B, left, adjoint)


@register("lu_solve")
def lu_solve_(input, LU_data, LU_pivots):
    """Mirrors `torch.lu_solve`."""
    return _lu_solve(LU_data, LU_pivots, input)


def _solve_info(A, B, left):
    lu_, piv, info = _lu(A)
    return _lu_solve(lu_, piv, B, left), info


def _as_matrix_rhs(A, B, left):
    # torch treats B as a (batch of) vector(s) when B.ndim == 1 or B.shape == A.shape[:-1]
    vector = B.ndim == 1 or (left and B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    if vector:
        B = B[..., :, None] if left else B[..., None, :]
    return B, vector


def _solve_message(p, i):
    return f"torch.linalg.solve: {p}The solver failed because the input matrix is singular."


def _check_solve(A, B, *, left=True, check_errors=False):
    if check_errors and A.ndim >= 2:
        raise_on_info(_lu(A)[2], _solve_message)


@register(namespace="torch.linalg", method=False, out=True, returns=("result", "info"),
          check=_check_solve)
def solve_ex(A, B, *, left=True, check_errors=False):
    """Mirrors `torch.linalg.solve_ex`."""
    check_matrix("linalg.solve", A)
    check_same_dtype("linalg.solve", A, B)
    B2, vector = _as_matrix_rhs(A, B, left)
    x, info = _solve_info(A, B2, left)
    return (x[..., 0] if left else x[..., 0, :]) if vector else x, info


@register(namespace="torch.linalg", method=False, out=True, jit=False)
def solve(A, B, *, left=True):
    """Mirrors `torch.linalg.solve`."""
    check_matrix("linalg.solve", A)
    check_same_dtype("linalg.solve", A, B)
    B2, vector = _as_matrix_rhs(A, B, left)
    if (A.shape[-1] != B2.shape[-2]) if left else (A.shape[-2] != B2.shape[-1]):
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({A.shape[-2]}x{A.shape[-1]} and "
                           f"{B2.shape[-2]}x{B2.shape[-1]})")
    x, info = _jit_solve(A, B2, left)
    raise_on_info(info, _solve_message)
    return (x[..., 0] if left else x[..., 0, :]) if vector else x


_jit_solve = jax.jit(_solve_info, static_argnums=2)


@jax.jit
def _inv_info(A):
    lu_, piv, info = _lu(A)
    eye = jnp.broadcast_to(jnp.eye(A.shape[-1], dtype=A.dtype), A.shape)
    return _lu_solve(lu_, piv, eye), info


def _check_inv(A, *, check_errors=False):
    if check_errors and A.ndim >= 2:
        raise_on_info(_lu(A)[2], _inv_message("linalg.inv_ex"))


@register(namespace="torch.linalg", method=False, out=True, returns=("inverse", "info"),
          check=_check_inv)
def inv_ex(A, *, check_errors=False):
    """Mirrors `torch.linalg.inv_ex`."""
    check_matrix("linalg.inv", A)
    return _inv_info(A)


def _inv_message(name):
    return lambda p, i: (f"{name}: {p}The diagonal element {i} is zero, the inversion could not "
                         f"be completed because the input matrix is singular.")


@register(namespace="torch.linalg", method=False, out=True, jit=False)
def inv(A):
    """Mirrors `torch.linalg.inv`."""
    check_matrix("linalg.inv", A)
    x, info = _inv_info(A)
    raise_on_info(info, _inv_message("linalg.inv"))
    return x


@register("inverse", out=True, jit=False)
def inverse(input):
    """Mirrors `torch.inverse`."""
    check_matrix("linalg.inv", input)
    x, info = _inv_info(input)
    raise_on_info(info, _inv_message("linalg.inv"))
    return x


# ---------------------------------------------------------------- determinants

@register(namespace="torch.linalg", method=False, out=True)
def det(A):
    """Mirrors `torch.linalg.det`."""
    check_matrix("linalg.det", A)
    return _det(A)


@register("det")
def det_(input):
    """Mirrors `torch.det`."""
    check_matrix("linalg.det", input)
    return _det(input)


def _det(A):
    if A.shape[-1] == 0:   # jax's det derivative fails on 0x0 matrices; det is 1 there
        return jnp.ones(A.shape[:-2], A.dtype)
    return jnp.linalg.det(A)


@register(namespace="torch.linalg", method=False, out=True, returns=("sign", "logabsdet"))
def slogdet(A):
    """Mirrors `torch.linalg.slogdet`."""
    check_matrix("linalg.slogdet", A)
    sign, logabs = jnp.linalg.slogdet(A)
    return sign.astype(A.dtype), logabs


@register("slogdet", returns=("sign", "logabsdet"))
def slogdet_(input):
    """Mirrors `torch.slogdet`."""
    check_matrix("linalg.slogdet", input)
    sign, logabs = jnp.linalg.slogdet(input)
    return sign.astype(input.dtype), logabs


@register()
def logdet(input):
    """Mirrors `torch.logdet`."""
    check_matrix("linalg.slogdet", input)
    sign, logabs = jnp.linalg.slogdet(input)
    if jnp.iscomplexobj(input):
        return jnp.log(sign) + logabs
    # torch: nan for a negative determinant, -inf for a zero one
    return jnp.where(sign < 0, jnp.nan, logabs).astype(input.dtype)


from . import linalg_decomp  # noqa: E402,F401  (Cholesky, QR, eigen, SVD, LDL)
from . import linalg_norm  # noqa: E402,F401  (norms, rank, pinv, powers, cdist)
