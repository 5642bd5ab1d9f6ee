"""torch.linalg norms, ranks, pseudo-inverses, powers, tensor solves, and the distance ops."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from .registry import register
from ._util import torch_dtype, wrap_dim, wrap_dims, result_type, as_dtype
from .matmul import type_name, _mm
from .linalg import (check_matrix, mH, mT, raise_on_info, _inv_info, _inv_message,
                     hermitian_from_triangle)

_INF = math.inf


def _norm_input(name, x, dtype):
    d = torch_dtype(x)
    if dtype is not None:
        if not (dtype.is_floating_point or dtype.is_complex):
            raise RuntimeError(f"{name}: dtype should be floating point or complex, but got "
                               f"{dtype}")
        if d.is_complex and not dtype.is_complex:
            raise RuntimeError(f"{name}: dtype should be complex for complex inputs, but got "
                               f"{dtype}")
        x = x.astype(dtype._np)
    elif d._category <= 1:
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                           f"{type_name(x)}")
    return x


def _root(total, power):
    # total ** (1 / power) with a zero (not nan) derivative at total == 0, as torch's backward
    zero = total == 0
    out = jnp.where(zero, 1, total) ** (1.0 / power)
    return jnp.where(zero, 0, out)


def _abs(x):
    # |x| whose derivative at 0 is 0, torch's sgn(0), where jax's abs has slope 1
    return jnp.where(x == 0, 0, jnp.abs(x))


def _vector_norm(x, ord, axes, keepdim):
    a = _abs(x)
    if ord == _INF:
        return jnp.max(a, axis=axes, keepdims=keepdim)
    if ord == -_INF:
        return jnp.min(a, axis=axes, keepdims=keepdim)
    if ord == 0:
        return jnp.sum(a != 0, axis=axes, keepdims=keepdim).astype(a.dtype)
    if ord == 1:
        return jnp.sum(a, axis=axes, keepdims=keepdim)
    if ord == 2:
        return _root(jnp.sum(a * a, axis=axes, keepdims=keepdim), 2)
    # torch's subgradient: zero entries get a zero derivative (a ** ord has none there)
    zero = a == 0
    powers = jnp.where(zero, jnp.inf if ord < 0 else 0, jnp.where(zero, 1, a) ** ord)
    if ord < 0:   # zero entries give 0 through inf, without nan derivatives
        return jnp.sum(powers, axis=axes, keepdims=keepdim) ** (1.0 / ord)
    return _root(jnp.sum(powers, axis=axes, keepdims=keepdim), ord)


@register(namespace="torch.linalg", method=False, out=True, scalars=())
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """Mirrors `torch.linalg.vector_norm`."""
    x = _norm_input("linalg.vector_norm", x, dtype)
    if isinstance(ord, jax.Array):
        raise NotImplementedError("linalg.vector_norm: ord given as a tensor")
    axes = wrap_dims(dim, x.ndim)
    if axes == ():
        axes = None
    if ord < 0 or ord == _INF:
        sizes = x.shape if axes is None or x.ndim == 0 else [x.shape[a] for a in axes]
        if x.size == 0 and (ord < 0 or 0 in sizes):
            raise RuntimeError(f"linalg.vector_norm cannot compute the {ord} norm on an empty "
                               f"tensor because the operation does not have an identity")
    if x.ndim == 0:
        return _vector_norm(x, ord, None, keepdim)
    return _vector_norm(x, ord, axes, keepdim)


def _matrix_norm(A, ord, dim, keepdim):
    r, c = dim
    if ord == "fro":
        return _vector_norm(A, 2, (r, c), keepdim)
    if ord in ("nuc", 2, -2):
        moved = jnp.moveaxis(A, (r, c), (-2, -1))
        s = jnp.linalg.svd(moved, compute_uv=False)
        out = jnp.sum(s, -1) if ord == "nuc" else jnp.max(s, -1) if ord == 2 else jnp.min(s, -1)
        if keepdim:
            for axis in sorted((r, c)):
                out = jnp.expand_dims(out, axis)
        return out
    # 1 / inf: the largest column / row absolute sum (min for the negative orders)
    inner, outer = (r, c) if abs(ord) == 1 else (c, r)
    sums = jnp.sum(_abs(A), axis=inner, keepdims=True)
    reduce = jnp.max if ord > 0 else jnp.min
    out = reduce(sums, axis=outer, keepdims=True)
    return out if keepdim else jnp.squeeze(out, (r, c))


_MATRIX_ORDS = ("fro", "nuc", 1, -1, 2, -2, _INF, -_INF)


@register(namespace="torch.linalg", method=False, out=True, scalars=())
def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """Mirrors `torch.linalg.matrix_norm`."""
    A = _norm_input("linalg.matrix_norm", A, dtype)
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    dim = wrap_dims(tuple(dim), A.ndim)
    if len(dim) != 2:
        raise RuntimeError("linalg.matrix_norm: dim must be a 2-tuple. Got "
                           + " ".join(str(d) for d in dim))
    if ord not in _MATRIX_ORDS:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    return _matrix_norm(A, ord, dim, keepdim)


@register(namespace="torch.linalg", method=False, out=True, scalars=())
def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """Mirrors `torch.linalg.norm`."""
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None and len(dim) == 2:
        return matrix_norm._op.impl(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if ord is not None and dim is None:
        if A.ndim == 2:
            return matrix_norm._op.impl(A, ord, (-2, -1), keepdim, dtype=dtype)
        if A.ndim != 1:
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must "
                               f"be 1D or 2D. Got {A.ndim}D.")
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: Order {ord} not supported.")
    return vector_norm._op.impl(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


@register(namespace="torch.linalg", method=False, out=True, scalars=())
def cond(A, p=None):
    """Mirrors `torch.linalg.cond`."""
    if p is None or p in (2, -2):
        check_matrix("linalg.cond", A, square=False)
        s = jnp.linalg.svd(A, compute_uv=False)
        big, small = jnp.max(s, -1), jnp.min(s, -1)
        return small / big if p == -2 else big / small
    check_matrix("linalg.cond", A)
    if p not in _MATRIX_ORDS:
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    inverse, info = _inv_info(A)
    dims = (A.ndim - 2, A.ndim - 1)
    out = _matrix_norm(A, p, dims, False) * _matrix_norm(inverse, p, dims, False)
    # torch: a singular matrix has infinite condition number
    return jnp.where(info > 0, jnp.inf, out)


def _tolerance(s_max, atol, rtol, m, n, dtype):
    eps = float(jnp.finfo(dtype).eps)
    if rtol is None:
        rtol = eps * max(m, n) if atol is None or _is_zero(atol) else 0.0
    atol = 0.0 if atol is None else atol
    if isinstance(atol, jax.Array):
        atol = atol[..., None] if atol.ndim else atol
    if isinstance(rtol, jax.Array):
        rtol = rtol[..., None] if rtol.ndim else rtol
    return jnp.maximum(atol, rtol * s_max)


def _is_zero(v):
    return not isinstance(v, jax.Array) and v == 0


def _singular_values(A, hermitian):
    if hermitian:
        return jnp.abs(jnp.linalg.eigvalsh(A, symmetrize_input=False))
    return jnp.linalg.svd(A, compute_uv=False)


@register(namespace="torch.linalg", method=False, out=True, scalars=())
def matrix_rank(A, tol=None, hermitian=False, *, atol=None, rtol=None):
    """Mirrors `torch.linalg.matrix_rank`."""
    check_matrix("torch.linalg.matrix_rank", A, square=hermitian)
    if tol is not None:   # the deprecated overload: an absolute tolerance
        atol, rtol = tol, 0.0
    s = _singular_values(A, hermitian)
    m, n = A.shape[-2:]
    s_max = jnp.max(s, -1, keepdims=True, initial=0.0)
    cutoff = _tolerance(s_max, atol, rtol, m, n, A.dtype)
    return jnp.sum(s > cutoff, axis=-1).astype(jnp.int64)


def _pinv(A, atol, rtol, hermitian):
    m, n = A.shape[-2:]
    if hermitian:
        w, v = jnp.linalg.eigh(hermitian_from_triangle(A), symmetrize_input=False)
        cutoff = _tolerance(jnp.max(jnp.abs(w), -1, keepdims=True, initial=0.0), atol, rtol,
                            m, n, A.dtype)
        keep = jnp.abs(w) > cutoff
        inv_w = jnp.where(keep, 1 / jnp.where(keep, w, 1), 0).astype(A.dtype)
        return _with_pinv_derivative(A, _mm(v * inv_w[..., None, :], mH(v)))
    if atol is None and not isinstance(rtol, jax.Array):
        # jnp's pinv carries a custom derivative that stays finite at repeated singular values
        eps = float(jnp.finfo(A.dtype).eps)
        return jnp.linalg.pinv(A, rtol=eps * max(m, n) if rtol is None else rtol)
    u, s, vh = jnp.linalg.svd(A, full_matrices=False)
    cutoff = _tolerance(jnp.max(s, -1, keepdims=True, initial=0.0), atol, rtol, m, n, A.dtype)
    keep = s > cutoff
    inv_s = jnp.where(keep, 1 / jnp.where(keep, s, 1), 0).astype(A.dtype)
    return _with_pinv_derivative(A, _mm(mH(vh) * inv_s[..., None, :], mH(u)))


@jax.custom_vjp
def _with_pinv_derivative(A, P):
    """P = pinv(A), differentiated as torch does: by the pseudo-inverse's own derivative
    (Golub & Pereyra) in the full A, even where `hermitian=True` read one triangle of it."""
    return P


def _pinv_derivative_fwd(A, P):
    return P, (A, P)


def _pinv_derivative_bwd(saved, cotangent):
    A, P = saved
    P = _with_pinv_derivative(A, P)    # so that higher orders differentiate P as torch does
    G = jnp.conj(cotangent)      # torch's gradient convention, in which the formula is written
    Ph, Gh = mH(P), mH(G)
    grad = (-_mm(_mm(Ph, G), Ph)
            + _mm(Gh - _mm(_mm(A, P), Gh), _mm(P, Ph))
            + _mm(_mm(Ph, P), Gh - _mm(_mm(Gh, P), A)))
    return jnp.conj(grad), jnp.zeros_like(P)


_with_pinv_derivative.defvjp(_pinv_derivative_fwd, _pinv_derivative_bwd)


@register(namespace="torch.linalg", method=False, out=True, scalars=())
def pinv(A, rcond=None, hermitian=False, *, atol=None, rtol=None):
    """Mirrors `torch.linalg.pinv`."""
    check_matrix("linalg.pinv", A, square=hermitian)
    if rcond is not None:   # the overload pinv(input, rcond): rcond is rtol
        rtol = rcond
    return _pinv(A, atol, rtol, hermitian)


@register(scalars=())
def pinverse(input, rcond=1e-15):
    """Mirrors `torch.pinverse`."""
    check_matrix("linalg.pinv", input, square=False)
    return _pinv(input, None, rcond, False)


@register(namespace="torch.linalg", method=False, out=True, jit=False)
def matrix_power(A, n):
    """Mirrors `torch.linalg.matrix_power`."""
    check_matrix("linalg.matrix_power", A, floating=False)
    if n < 0:
        check_matrix("linalg.inv", A)
        inverse, info = _inv_info(A)
        raise_on_info(info, _inv_message("linalg.inv"))
        return _power(inverse, -n)
    return _power(A, n)


@register("matrix_power", method=True, function=True, jit=False)
def matrix_power_(input, n):
    """Mirrors `torch.matrix_power`."""
    return matrix_power._op.impl(input, n)


def _power(A, n):
    if n == 0:
        return jnp.broadcast_to(jnp.eye(A.shape[-1], dtype=A.dtype), A.shape)
    result = None
    base = A
    while n:   # square-and-multiply, as torch does
        if n & 1:
            result = base if result is None else _mm(result, base)
        n >>= 1
        if n:
            base = _mm(base, base)
    return result


@register(namespace="torch.linalg", method=False, out=True, jit=False)
def tensorinv(A, ind=2):
    """Mirrors `torch.linalg.tensorinv`."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = A.shape[:ind], A.shape[ind:]
    if math.prod(rows) != math.prod(cols):
        raise RuntimeError("Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           "prod(self.shape[:ind]), but got " f"{math.prod(cols)} != "
                           f"{math.prod(rows)}")
    square = A.reshape(math.prod(rows), math.prod(cols))
    check_matrix("linalg.inv", square)
    inverse, info = _inv_info(square)
    raise_on_info(info, _inv_message("linalg.inv"))
    return inverse.reshape(cols + rows)


@register(namespace="torch.linalg", method=False, out=True, jit=False)
def tensorsolve(A, B, dims=None):
    """Mirrors `torch.linalg.tensorsolve`."""
    from .linalg import _jit_solve
    if dims is not None:
        dims = tuple(wrap_dim(d, A.ndim) for d in dims)
        rest = [d for d in range(A.ndim) if d not in dims]
        A = jnp.transpose(A, rest + list(dims))
    out_shape = A.shape[B.ndim:]
    rows, cols = math.prod(A.shape[:B.ndim]), math.prod(out_shape)
    if rows != cols or math.prod(B.shape) != rows:
        raise RuntimeError("Expected self to satisfy the requirement prod(self.shape[other.ndim:])"
                           f" == prod(self.shape[:other.ndim]), but got {cols} != {rows}")
    x, info = _jit_solve(A.reshape(rows, cols), B.reshape(rows, 1), True)
    raise_on_info(info, lambda p, i: f"torch.linalg.solve: {p}The solver failed because the "
                  f"input matrix is singular.")
    return x.reshape(out_shape)


@register(namespace="torch.linalg", method=False, out=True)
def vander(x, *, N=None):
    """Mirrors `torch.linalg.vander`."""
    if x.ndim == 0:
        x = x[None]
    n = x.shape[-1] if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    if x.dtype == jnp.bool_:
        x = x.astype(jnp.int64)
    # cumulative products, as torch computes them (not pow), so the values agree exactly
    powers = jnp.cumprod(jnp.broadcast_to(x[..., None], x.shape + (n - 1,)), axis=-1)
    return jnp.concatenate([jnp.ones(x.shape + (1,), x.dtype), powers], -1)


@register(method=False, scalars=())
def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """Mirrors `torch.cdist` (always the exact difference form, never the mm shortcut)."""
    for name, x in (("X1", x1), ("X2", x2)):
        if torch_dtype(x)._category != 2:
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{type_name(x)}")
        if x.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {x.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if x1.dtype != x2.dtype:
        raise RuntimeError(f"expected scalar type {type_name(x1)} but found {type_name(x2)}")
    P, R, features = x1.shape[-2], x2.shape[-2], x1.shape[-1]
    use_mm = compute_mode == "use_mm_for_euclid_dist" or (
        compute_mode == "use_mm_for_euclid_dist_if_necessary" and P * R * features > 1 << 24)
    if p == 2 and use_mm:
        # torch's matmul form |a|^2 + |b|^2 - 2ab, which avoids the P x R x M difference tensor
        x1_norm = jnp.sum(x1 * x1, -1, keepdims=True)
        x2_norm = jnp.sum(x2 * x2, -1, keepdims=True)
        squared = x1_norm + mT(x2_norm) - 2 * _mm(x1, mT(x2))
        return jnp.sqrt(jnp.maximum(squared, 1e-30))
    diff = x1[..., :, None, :] - x2[..., None, :, :]
    return _vector_norm(diff, p, -1, False)


@register(scalars=("input", "other"))
def dist(input, other, p=2):
    """Mirrors `torch.dist`."""
    d = result_type(input, other)
    if d._category <= 1:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {d}")
    diff = as_dtype(input, d) - as_dtype(other, d)
    if isinstance(p, jax.Array):
        raise NotImplementedError("dist: p given as a tensor")
    return _vector_norm(diff, p, None, False)
