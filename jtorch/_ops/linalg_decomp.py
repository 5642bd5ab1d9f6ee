"""torch.linalg decompositions: Cholesky, QR, eigen, SVD, triangular solves, lstsq.

Householder products are in linalg_householder.py, LDL in linalg_ldl.py."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax

from .registry import register, publish
from .linalg import (check_matrix, check_same_dtype, raise_on_info, mH, _mm, _batch_broadcast,
                     hermitian_from_triangle)

# ---------------------------------------------------------------- Cholesky


def _pivot_info(A):
    """LAPACK potrf's info: the order of the first leading minor that is not positive-definite."""
    n = A.shape[-1]
    rows = jnp.arange(n)

    def step(j, carry):
        L, info = carry
        lj = L[..., j, :]                              # row j, columns < j filled so far
        d = jnp.real(A[..., j, j]) - jnp.sum(jnp.abs(lj) ** 2, axis=-1)
        info = jnp.where((info == 0) & ~(d > 0), j + 1, info)
        root = jnp.sqrt(jnp.where(d > 0, d, 1))
        col = (A[..., :, j] - jnp.einsum("...ik,...k->...i", L, jnp.conj(lj))) / root[..., None]
        L = L.at[..., :, j].set(jnp.where(rows > j, col, jnp.where(rows == j, root[..., None], 0)))
        return L, info

    info = jnp.zeros(A.shape[:-2], jnp.int32)
    return lax.fori_loop(0, n, step, (jnp.zeros_like(A), info))[1]


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def _cholesky_factor(A, upper):
    # torch reads the lower triangle for upper=False, the upper one otherwise
    L = lax.linalg.cholesky(mH(A) if upper else A, symmetrize_input=False)
    return mH(L) if upper else L


def _cholesky_factor_fwd(A, upper):
    factor = _cholesky_factor(A, upper)
    return factor, factor


def _cholesky_factor_bwd(upper, factor, cotangent):
    # torch's gradient: a Hermitian part (jax's) plus, for complex input, a skew-Hermitian one
    # from the imaginary diagonal of tril(L^H G). It is L^-H P L^-1, where P is tril(L^H G)
    # with its strict lower part mirrored (conjugated) above, all halved.
    G = jnp.conj(cotangent)              # torch's gradient convention, as the formula's
    L, G = (mH(factor), mH(G)) if upper else (factor, G)
    P = jnp.tril(_mm(mH(L), G))
    P = (P + mH(jnp.tril(P, -1))) / 2
    P = lax.linalg.triangular_solve(L, P, left_side=True, lower=True, transpose_a=True,
                                    conjugate_a=True)
    grad = lax.linalg.triangular_solve(L, P, left_side=False, lower=True)
    return (jnp.conj(grad),)


_cholesky_factor.defvjp(_cholesky_factor_fwd, _cholesky_factor_bwd)


@functools.partial(jax.jit, static_argnums=1)
def _cholesky(A, upper):
    factor = _cholesky_factor(A, upper)
    if A.size == 0:
        return factor, jnp.zeros(A.shape[:-2], jnp.int32)
    failed = jnp.isnan(factor).any(axis=(-2, -1))
    info = lax.cond(failed.any(), _pivot_info, lambda a: jnp.zeros(a.shape[:-2], jnp.int32),
                    mH(A) if upper else A)
    return factor, info.astype(jnp.int32)


def _cholesky_message(name):
    return lambda p, i: (f"{name}: {p}The factorization could not be completed because the input "
                         f"is not positive-definite (the leading minor of order {i} is not "
                         f"positive-definite).")


def _check_cholesky(A, *, upper=False, check_errors=False):
    if check_errors and A.ndim >= 2:
        raise_on_info(_cholesky(A, upper)[1], _cholesky_message("linalg.cholesky_ex"))


@register(namespace="torch.linalg", method=False, out=True, returns=("L", "info"),
          check=_check_cholesky)
def cholesky_ex(A, *, upper=False, check_errors=False):
    """Mirrors `torch.linalg.cholesky_ex` (a failed factorization's L is nan, not partial)."""
    check_matrix("linalg.cholesky", A)
    return _cholesky(A, upper)


@register(namespace="torch.linalg", method=False, out=True, jit=False)
def cholesky(A, *, upper=False):
    """Mirrors `torch.linalg.cholesky`."""
    check_matrix("linalg.cholesky", A)
    L, info = _cholesky(A, upper)
    raise_on_info(info, _cholesky_message("linalg.cholesky"))
    return L


@register("cholesky", out=True, jit=False)
def cholesky_(input, upper=False):
    """Mirrors `torch.cholesky`."""
    check_matrix("cholesky", input)
    L, info = _cholesky(input, upper)
    raise_on_info(info, _cholesky_message("cholesky"))
    return L


def _cho_solve(L, B, upper):
    L, B = _batch_broadcast(L, B)
    if upper:
        L = mH(L)
    y = lax.linalg.triangular_solve(L, B, left_side=True, lower=True)
    return lax.linalg.triangular_solve(L, y, left_side=True, lower=True, transpose_a=True,
                                       conjugate_a=True)


@register(out=True)
def cholesky_solve(input, input2, upper=False):
    """Mirrors `torch.cholesky_solve`."""
    check_matrix("linalg.cholesky_solve", input2)
    check_same_dtype("cholesky_solve", input, input2, ("b", "A"))
    return _cho_solve(input2, input, upper)


@register(out=True)
def cholesky_inverse(input, upper=False):
    """Mirrors `torch.cholesky_inverse`."""
    check_matrix("cholesky_inverse", input)
    eye = jnp.broadcast_to(jnp.eye(input.shape[-1], dtype=input.dtype), input.shape)
    return _cho_solve(input, eye, upper)


# ---------------------------------------------------------------- triangular solves

@register(namespace="torch.linalg", method=False, out=True)
def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """Mirrors `torch.linalg.solve_triangular`."""
    check_matrix("linalg.solve_triangular", A)
    check_same_dtype("linalg.solve_triangular", A, B)
    A, B = _batch_broadcast(A, B)
    return lax.linalg.triangular_solve(A, B, left_side=left, lower=not upper,
                                       unit_diagonal=unitriangular)


@register(out=True, returns=("solution", "cloned_coefficient"))
def triangular_solve(input, A, upper=True, transpose=False, unitriangular=False):
    """Mirrors `torch.triangular_solve`."""
    check_matrix("triangular_solve", A)
    check_same_dtype("triangular_solve", input, A, ("b", "A"))
    A2, B2 = _batch_broadcast(A, input)
    x = lax.linalg.triangular_solve(A2, B2, left_side=True, lower=not upper,
                                    transpose_a=transpose, unit_diagonal=unitriangular)
    return x, A2


# ---------------------------------------------------------------- QR and Householder

@register(namespace="torch.linalg", method=False, out=True, returns=("Q", "R"))
def qr(A, mode="reduced"):
    """Mirrors `torch.linalg.qr` (Q's column signs are LAPACK's, as torch's)."""
    check_matrix("linalg.qr", A, square=False)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           f"'reduced' (default), 'r', or 'complete'")
    if mode == "r":
        return jnp.zeros((0,), A.dtype), jnp.linalg.qr(A, mode="r")
    return tuple(jnp.linalg.qr(A, mode=mode))


@register("qr", out=True, returns=("Q", "R"))
def qr_(input, some=True):
    """Mirrors `torch.qr`."""
    check_matrix("qr", input, square=False)
    return tuple(jnp.linalg.qr(input, mode="reduced" if some else "complete"))


@register(out=True, returns=("a", "tau"))
def geqrf(input):
    """Mirrors `torch.geqrf`."""
    check_matrix("geqrf", input, square=False)
    # numpy's "raw" mode is LAPACK geqrf's output, stored transposed (Fortran order)
    h, tau = jnp.linalg.qr(input, mode="raw")
    return jnp.swapaxes(h, -1, -2), tau


# ---------------------------------------------------------------- eigen and SVD

@register(namespace="torch.linalg", method=False, out=True,
          returns=("eigenvalues", "eigenvectors"))
def eigh(A, UPLO="L"):
    """Mirrors `torch.linalg.eigh` (eigenvector signs may differ from torch's)."""
    check_matrix("linalg.eigh", A)
    _check_uplo(UPLO)
    w, v = jnp.linalg.eigh(hermitian_from_triangle(A, UPLO), UPLO=UPLO,
                           symmetrize_input=False)
    return w, v


def _check_uplo(UPLO):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


@register(namespace="torch.linalg", method=False, out=True)
def eigvalsh(A, UPLO="L"):
    """Mirrors `torch.linalg.eigvalsh`."""
    check_matrix("linalg.eigvalsh", A)
    _check_uplo(UPLO)
    return jnp.linalg.eigvalsh(hermitian_from_triangle(A, UPLO), UPLO=UPLO,
                               symmetrize_input=False)


@register(namespace="torch.linalg", method=False, out=True,
          returns=("eigenvalues", "eigenvectors"))
def eig(A):
    """Mirrors `torch.linalg.eig` (eigenvectors are unique only up to a phase)."""
    check_matrix("linalg.eig", A)
    if A.size == 0:   # jax's eig derivative cannot trace empty matrices
        return tuple(jnp.linalg.eig(lax.stop_gradient(A)))
    w, v = lax.linalg.eig(A, compute_left_eigenvectors=False, enable_eigvec_derivs=True)
    return w, _unit_columns_tangent(v)


@jax.custom_jvp
def _unit_columns_tangent(v):
    """v itself (columns of norm 1), whose tangents keep the norms: torch differentiates its
    normalised eigenvectors, jax's eig derivative leaves their norm free."""
    return v


@_unit_columns_tangent.defjvp
def _unit_columns_tangent_jvp(primals, tangents):
    v, dv = primals[0], tangents[0]
    radial = jnp.real(jnp.sum(jnp.conj(v) * dv, axis=-2, keepdims=True))
    return v, dv - v * radial


@register(namespace="torch.linalg", method=False, out=True)
def eigvals(A):
    """Mirrors `torch.linalg.eigvals`."""
    check_matrix("linalg.eigvals", A)
    return jnp.linalg.eigvals(A)


@register(namespace="torch.linalg", method=False, out=True, returns=("U", "S", "Vh"))
def svd(A, full_matrices=True, *, driver=None):
    """Mirrors `torch.linalg.svd` (singular vectors are unique only up to sign/phase)."""
    check_matrix("linalg.svd", A, square=False)
    return tuple(jnp.linalg.svd(A, full_matrices=full_matrices))


@register("svd", out=True, returns=("U", "S", "V"))
def svd_(input, some=True, compute_uv=True):
    """Mirrors `torch.svd`."""
    check_matrix("svd", input, square=False)
    if not compute_uv:
        m, n = input.shape[-2:]
        s = jnp.linalg.svd(input, compute_uv=False)
        batch = input.shape[:-2]
        return (jnp.zeros(batch + (m, m), input.dtype), s, jnp.zeros(batch + (n, n), input.dtype))
    u, s, vh = jnp.linalg.svd(input, full_matrices=not some)
    return u, s, mH(vh)


@register(namespace="torch.linalg", method=False, out=True)
def svdvals(A, *, driver=None):
    """Mirrors `torch.linalg.svdvals`."""
    check_matrix("linalg.svdvals", A, square=False)
    return jnp.linalg.svd(A, compute_uv=False)


# ---------------------------------------------------------------- least squares

_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


@register(namespace="torch.linalg", method=False, out=True,
          returns=("solution", "residuals", "rank", "singular_values"), scalars=(), jit=False,
          differentiable=(0, 1))
def lstsq(A, B, rcond=None, *, driver=None):
    """Mirrors `torch.linalg.lstsq` (CPU drivers; every driver solves through the SVD)."""
    check_matrix("torch.linalg.lstsq", A, square=False)
    check_same_dtype("torch.linalg.lstsq", A, B)
    driver = driver or "gelsy"
    if driver not in _DRIVERS:
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of "
                           "(gels, gelsy, gelsd, gelss)")
    vector = B.ndim == A.ndim - 1
    B2 = B[..., None] if vector else B
    if A.shape[-2] != B2.shape[-2]:
        raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
    m, n = A.shape[-2:]
    A, B2 = _batch_broadcast(A, B2)
    real = jnp.finfo(A.dtype).dtype
    if rcond is None:
        rcond = float(jnp.finfo(A.dtype).eps) * max(m, n)
    s = jnp.linalg.svd(A, compute_uv=False)
    keep = s > rcond * jnp.max(s, axis=-1, keepdims=True, initial=0.0)
    # the minimum-norm solution (gelsy's, and gels's for full rank), through jnp's pinv for
    # its derivative that stays finite at repeated singular values
    x = _mm(jnp.linalg.pinv(A, rtol=rcond), B2)
    rank = jnp.sum(keep, axis=-1).astype(jnp.int64)
    empty = jnp.zeros((0,), real)
    residuals = empty
    # residuals exist only at full rank, so their shape needs the concrete rank: under jit
    # this raises jax's concretization error (autograd's replay then runs eagerly)
    if driver != "gelsy" and m > n and bool(jnp.all(rank == n)):
        residuals = jnp.sum(jnp.abs(_mm(A, x) - B2) ** 2, axis=-2).astype(real)
    if vector:
        x = x[..., 0]
    if driver == "gels":
        return x, residuals, jnp.zeros((0,), jnp.int64), empty
    return x, residuals, rank, (s if driver in ("gelsd", "gelss") else empty)


@register(out=True)
def matrix_exp(input):
    """Mirrors `torch.matrix_exp`."""
    check_matrix("linalg.matrix_exp", input)
    with jax.default_matmul_precision("highest"):
        return jax.scipy.linalg.expm(input)


@register("matrix_exp", namespace="torch.linalg", method=False)
def linalg_matrix_exp(A):
    """Mirrors `torch.linalg.matrix_exp`."""
    check_matrix("linalg.matrix_exp", A)
    with jax.default_matmul_precision("highest"):
        return jax.scipy.linalg.expm(A)


from . import linalg_ldl  # noqa: E402,F401
from . import linalg_householder  # noqa: E402,F401


# ---------------------------------------------------------------- randomized low-rank SVD
# Composites of public ops that draw from jtorch's default generator, so they are plain
# functions on Tensors rather than registered pure kernels.

def svd_lowrank(A, q=6, niter=2, M=None):
    """Mirrors `torch.svd_lowrank` (random, so U/V differ from torch's by sign and noise)."""
    import jtorch
    q = 6 if q is None else q
    if M is not None:
        A = A - M
    transposed = A.shape[-2] < A.shape[-1]
    if transposed:
        A = A.mH
    R = jtorch.randn(*A.shape[:-2], A.shape[-1], q, dtype=A.dtype)
    Q = jtorch.linalg.qr(A @ R).Q
    for _ in range(niter):
        Q = jtorch.linalg.qr(A.mH @ Q).Q
        Q = jtorch.linalg.qr(A @ Q).Q
    U, S, Vh = jtorch.linalg.svd(Q.mH @ A, full_matrices=False)
    U, V = Q @ U, Vh.mH
    return (V, S, U) if transposed else (U, S, V)


def pca_lowrank(A, q=None, center=True, niter=2):
    """Mirrors `torch.pca_lowrank` (random, as svd_lowrank)."""
    m, n = A.shape[-2:]
    q = min(6, m, n) if q is None else q
    if center:
        A = A - A.mean(dim=-2, keepdim=True)
    return svd_lowrank(A, q, niter)


publish(svd_lowrank, "svd_lowrank")
publish(pca_lowrank, "pca_lowrank")
