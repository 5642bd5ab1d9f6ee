"""Matmul, torch.linalg and torch.fft against real torch: one table row per case."""
from __future__ import annotations

import numpy as np
import pytest

import jtorch

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
M = RNG.standard_normal((4, 4)).astype(np.float32)
N = RNG.standard_normal((4, 3)).astype(np.float32)
B3 = RNG.standard_normal((2, 4, 4)).astype(np.float32)
V = RNG.standard_normal(4).astype(np.float32)
W = RNG.standard_normal(3).astype(np.float32)
I = RNG.integers(-5, 5, (3, 3))
SPD = (M @ M.T + 4 * np.eye(4)).astype(np.float32)
SPD3 = (B3 @ B3.transpose(0, 2, 1) + 4 * np.eye(4)).astype(np.float32)
C = (RNG.standard_normal((4, 4)) + 1j * RNG.standard_normal((4, 4))).astype(np.complex64)
X8 = RNG.standard_normal((3, 8)).astype(np.float32)


def t(lib, a):
    return lib.from_numpy(np.array(a))


# id -> f(lib): the same expression run with lib = torch and lib = jtorch
VALUES = {
    "matmul_mm": lambda L: L.matmul(t(L, M), t(L, N)),
    "matmul_vec_mat": lambda L: L.matmul(t(L, V), t(L, N)),
    "matmul_batch_vec": lambda L: t(L, B3) @ t(L, V),
    "matmul_int": lambda L: t(L, I) @ t(L, I),
    "mm": lambda L: t(L, M).mm(t(L, N)),
    "bmm": lambda L: L.bmm(t(L, B3), t(L, B3)),
    "mv": lambda L: L.mv(t(L, N.T), t(L, V)),
    "dot": lambda L: L.dot(t(L, V), t(L, V)),
    "vdot_complex": lambda L: L.vdot(t(L, C[0]), t(L, C[1])),
    "inner": lambda L: L.inner(t(L, M), t(L, M)),
    "outer": lambda L: L.outer(t(L, V), t(L, W)),
    "kron": lambda L: L.kron(t(L, N), t(L, I.astype(np.float32))),
    "einsum": lambda L: L.einsum("bij,bjk->bik", t(L, B3), t(L, B3)),
    "einsum_list": lambda L: L.einsum("ij,j->i", [t(L, N), t(L, W)]),
    "tensordot": lambda L: L.tensordot(t(L, B3), t(L, M), dims=([2], [0])),
    "tensordot_tensor_dims": lambda L: L.tensordot(t(L, B3), t(L, M), dims=t(L, np.array([[2], [0]]))),
    "einsum_sublist": lambda L: L.einsum(t(L, N), [0, 1], t(L, W), [1], [0]),
    "addmm": lambda L: L.addmm(t(L, V), t(L, M), t(L, M), beta=0.5, alpha=2),
    "addmm_int_float_scalars": lambda L: L.addmm(t(L, I), t(L, I), t(L, I), beta=1.7, alpha=2.6),
    "addmv": lambda L: L.addmv(t(L, W), t(L, N.T), t(L, V), alpha=3),
    "addr": lambda L: L.addr(t(L, N), t(L, V), t(L, W)),
    "baddbmm": lambda L: L.baddbmm(t(L, B3), t(L, B3), t(L, B3), beta=0),
    "addbmm": lambda L: L.addbmm(t(L, M), t(L, B3), t(L, B3)),
    "trace_int": lambda L: L.trace(t(L, I.astype(np.int32))),
    "cross": lambda L: L.linalg.cross(t(L, N), t(L, N[::-1].copy())),
    "cdist": lambda L: L.cdist(t(L, M), t(L, N.T), p=1.5),
    "cdist_mm": lambda L: L.cdist(t(L, X8.T), t(L, M[:, :3]), compute_mode="use_mm_for_euclid_dist"),
    "dist": lambda L: L.dist(t(L, M), t(L, SPD), p=3),
    "multi_dot": lambda L: L.linalg.multi_dot([t(L, V), t(L, M), t(L, N), t(L, W)]),
    "vecdot": lambda L: L.linalg.vecdot(t(L, M), t(L, SPD)),
    "det": lambda L: L.linalg.det(t(L, B3)),
    "slogdet": lambda L: L.linalg.slogdet(t(L, M)),
    "logdet_negative": lambda L: L.logdet(t(L, -SPD[:3, :3])),
    "inv": lambda L: L.linalg.inv(t(L, SPD3)),
    "inv_ex": lambda L: L.linalg.inv_ex(t(L, M)),
    "solve_vector": lambda L: L.linalg.solve(t(L, M), t(L, V)),
    "solve_right": lambda L: L.linalg.solve(t(L, M), t(L, N.T), left=False),
    "solve_triangular": lambda L: L.linalg.solve_triangular(t(L, np.triu(SPD)), t(L, N),
                                                            upper=True),
    "cholesky": lambda L: L.linalg.cholesky(t(L, SPD3)),
    "cholesky_upper": lambda L: L.linalg.cholesky(t(L, SPD), upper=True),
    "cholesky_ex_fail": lambda L: L.linalg.cholesky_ex(t(L, SPD - 6 * np.eye(4, dtype=np.float32)))[1],
    "cholesky_solve": lambda L: L.cholesky_solve(t(L, N), L.linalg.cholesky(t(L, SPD))),
    "cholesky_inverse": lambda L: L.cholesky_inverse(L.linalg.cholesky(t(L, SPD))),
    "lu_factor": lambda L: L.linalg.lu_factor(t(L, B3)),
    "lu": lambda L: L.linalg.lu(t(L, N)),
    "lu_solve": lambda L: L.linalg.lu_solve(*L.linalg.lu_factor(t(L, M)), t(L, N), adjoint=True),
    "lu_unpack": lambda L: L.lu_unpack(*L.linalg.lu_factor(t(L, M))),
    "ldl_factor": lambda L: L.linalg.ldl_factor(t(L, M + M.T)),
    "ldl_solve": lambda L: L.linalg.ldl_solve(*L.linalg.ldl_factor(t(L, M + M.T)), t(L, N)),
    "lstsq_gelsd": lambda L: L.linalg.lstsq(t(L, N), t(L, M), driver="gelsd"),
    "eigvalsh": lambda L: L.linalg.eigvalsh(t(L, SPD3)),
    "eigvals": lambda L: L.linalg.eigvals(t(L, SPD)),
    "svdvals": lambda L: L.linalg.svdvals(t(L, N)),
    "pinv": lambda L: L.linalg.pinv(t(L, N)),
    "pinv_hermitian": lambda L: L.linalg.pinv(t(L, SPD), hermitian=True),
    "matrix_rank": lambda L: L.linalg.matrix_rank(t(L, N @ N.T)),
    "matrix_power_neg": lambda L: L.linalg.matrix_power(t(L, SPD), -2),
    "matrix_power_int": lambda L: L.linalg.matrix_power(t(L, I), 3),
    "matrix_exp": lambda L: L.matrix_exp(t(L, M / 4)),
    "vector_norm": lambda L: L.linalg.vector_norm(t(L, B3), ord=3, dim=(0, 2)),
    "matrix_norm_nuc": lambda L: L.linalg.matrix_norm(t(L, B3), ord="nuc", keepdim=True),
    "norm_inf": lambda L: L.linalg.norm(t(L, M), ord=float("inf")),
    "cond": lambda L: L.linalg.cond(t(L, M), p="fro"),
    "tensorinv": lambda L: L.linalg.tensorinv(t(L, SPD.reshape(4, 2, 2)), ind=1),
    "vander": lambda L: L.linalg.vander(t(L, I[0]), N=4),
    "householder_product": lambda L: L.linalg.householder_product(*L.geqrf(t(L, N))),
    "ormqr": lambda L: L.ormqr(*L.geqrf(t(L, N)), t(L, M), transpose=True),
    "fft_int": lambda L: L.fft.fft(t(L, I), n=5, dim=0, norm="ortho"),
    "rfft2": lambda L: L.fft.rfft2(t(L, X8)),
    "irfftn": lambda L: L.fft.irfftn(L.fft.rfftn(t(L, X8)), s=(3, 8)),
    "hfft": lambda L: L.fft.hfft(t(L, C), n=6, norm="forward"),
    "ihfft2": lambda L: L.fft.ihfft2(t(L, X8)),
    "hfftn": lambda L: L.fft.hfftn(t(L, C), dim=(0, 1)),
    "fftshift": lambda L: L.fft.fftshift(t(L, X8), dim=1),
    "ifftshift": lambda L: L.fft.ifftshift(t(L, X8)),
    "fftfreq": lambda L: L.fft.fftfreq(7, 0.5),
    "rfftfreq": lambda L: L.fft.rfftfreq(8, dtype=L.float64),
}


def _compare(expected, actual, name):
    if isinstance(expected, tuple):
        assert type(actual).__name__ == type(expected).__name__, name
        if hasattr(expected, "_fields"):
            assert actual._fields == expected._fields
        for e, a in zip(expected, actual):
            _compare(e, a, name)
        return
    assert str(actual.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1], name
    assert tuple(actual.shape) == tuple(expected.shape), name
    np.testing.assert_allclose(np.asarray(actual._value), expected.numpy(), rtol=2e-4,
                               atol=2e-5, err_msg=name)


@pytest.mark.parametrize("name", sorted(VALUES))
def test_values(name):
    fn = VALUES[name]
    _compare(fn(torch), fn(jtorch), name)


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a._value), np.asarray(b._value), rtol=1e-4, atol=1e-4)


# decompositions unique only up to sign or phase: check that they reconstruct their input
RECONSTRUCT = {
    "svd": (N, lambda A: (lambda U, S, Vh: U[:, :3] * S @ Vh)(*jtorch.linalg.svd(A))),
    "svd_legacy": (N, lambda A: (lambda U, S, V: U * S @ V.mT)(*jtorch.svd(A))),
    "qr": (N, lambda A: (lambda Q, R: Q @ R)(*jtorch.linalg.qr(A))),
    "qr_complete": (N, lambda A: (lambda Q, R: Q @ R)(*jtorch.linalg.qr(A, mode="complete"))),
    "eigh": (SPD, lambda A: (lambda w, Q: Q * w @ Q.mT)(*jtorch.linalg.eigh(A))),
    "eig": (M, lambda A: (lambda w, Q: (Q * w @ jtorch.linalg.inv(Q)).real)(*jtorch.linalg.eig(A))),
}


@pytest.mark.parametrize("name", sorted(RECONSTRUCT))
def test_reconstruction(name):
    A, rebuild = RECONSTRUCT[name]
    A = jtorch.from_numpy(A.copy())
    _close(rebuild(A), A)


ERRORS = {
    "mm_shapes": lambda L: L.mm(t(L, M), t(L, N.T)),
    "mm_dtypes": lambda L: L.mm(t(L, M), t(L, M).double()),
    "matmul_0d": lambda L: L.matmul(t(L, np.float32(1)), t(L, V)),
    "bmm_2d": lambda L: L.bmm(t(L, M), t(L, M)),
    "dot_sizes": lambda L: L.dot(t(L, V), t(L, W)),
    "bool_mm": lambda L: L.mm(t(L, I > 0), t(L, I > 0)),
    "addr_int_float_beta": lambda L: L.addr(t(L, I), t(L, I[0]), t(L, I[0]), beta=1.5),
    "einsum_sizes": lambda L: L.einsum("ij,jk", t(L, N), t(L, N)),
    "det_not_square": lambda L: L.linalg.det(t(L, N)),
    "det_int": lambda L: L.linalg.det(t(L, I)),
    "inv_singular": lambda L: L.linalg.inv(t(L, np.zeros((2, 3, 3), np.float32))),
    "solve_singular": lambda L: L.linalg.solve(t(L, np.zeros((3, 3), np.float32)), t(L, W)),
    "cholesky_not_pd": lambda L: L.linalg.cholesky(t(L, -SPD)),
    "cholesky_ex_check_errors": lambda L: L.linalg.cholesky_ex(t(L, -SPD), check_errors=True),
    "inv_ex_check_errors": lambda L: L.linalg.inv_ex(t(L, 0 * M), check_errors=True),
    "lu_factor_singular": lambda L: L.linalg.lu_factor(t(L, 0 * M)),
    "det_half": lambda L: L.linalg.det(t(L, M).half()),
    "fft_half": lambda L: L.fft.fft(t(L, V).half()),
    "dot_bool": lambda L: L.dot(t(L, V > 0), t(L, V > 0)),
    "cross_size": lambda L: L.linalg.cross(t(L, M), t(L, M)),
    "vector_norm_int": lambda L: L.linalg.vector_norm(t(L, I)),
    "cdist_columns": lambda L: L.cdist(t(L, M), t(L, N)),
    "multi_dot_one": lambda L: L.linalg.multi_dot([t(L, M)]),
    "fft_bad_n": lambda L: L.fft.fft(t(L, V), n=0),
    "fft_bad_norm": lambda L: L.fft.fft(t(L, V), norm="foo"),
    "rfft_complex": lambda L: L.fft.rfft(t(L, C)),
    "fftfreq_int": lambda L: L.fft.fftfreq(4, dtype=L.int64),
    "fft_0d": lambda L: L.fft.fft(L.tensor(1.5)),
    "ihfft_0d_dim0": lambda L: L.fft.ihfft(L.tensor(1.5), dim=0),
    "fft2_0d": lambda L: L.fft.fft2(L.tensor(1.5)),
    "irfftn_0d_dim": lambda L: L.fft.irfftn(L.tensor(1.5), dim=(0,)),
    "rfftn_no_dims": lambda L: L.fft.rfftn(t(L, X8), dim=()),
    "hfft2_no_dims": lambda L: L.fft.hfft2(t(L, X8), dim=()),
    "fftshift_0d": lambda L: L.fft.fftshift(L.tensor(1.5)),
    "ifftshift_0d_dim": lambda L: L.fft.ifftshift(L.tensor(1.5), dim=0),
}


def _raised(fn, lib):
    with pytest.raises(Exception) as info:
        fn(lib)
    return info.value


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors(name):
    expected = _raised(ERRORS[name], torch)
    actual = _raised(ERRORS[name], jtorch)
    # torch.linalg.LinAlgError is a RuntimeError subclass in both libraries
    assert type(actual).__name__.lstrip("_") == type(expected).__name__.lstrip("_"), \
        f"{name}: {type(actual).__name__} ({actual}) vs torch's {type(expected).__name__}"
    for cls in (RuntimeError, ValueError, TypeError, IndexError, NotImplementedError):
        assert isinstance(actual, cls) == isinstance(expected, cls), name


def test_linalg_error_is_public():
    assert issubclass(jtorch.linalg.LinAlgError, RuntimeError)
    with pytest.raises(jtorch.linalg.LinAlgError, match="singular"):
        jtorch.linalg.inv(jtorch.zeros(2, 2))


def test_matmul_full_float32_precision():
    a = RNG.standard_normal((64, 64)).astype(np.float32)
    got = np.asarray((t(jtorch, a) @ t(jtorch, a))._value)
    np.testing.assert_allclose(got, a.astype(np.float64) @ a, rtol=1e-5, atol=1e-4)


# kernels differentiated by jax (autograd replays them): derivatives must stay finite at
# repeated singular values and zero norms, as torch's backward formulas do
GRADIENTS = {
    "torch.linalg.pinv": lambda op, a: op(a),
    "torch.linalg.lstsq": lambda op, a: op(a, a[:, :2])[0],
    "torch.linalg.vector_norm": lambda op, a: op(a * 0),
    "torch.cdist": lambda op, a: op(a, a),
    "torch.linalg.inv": lambda op, a: op(a),
    "torch.linalg.cholesky": lambda op, a: op(a),
}


@pytest.mark.parametrize("name", sorted(GRADIENTS))
def test_gradients_finite(name):
    import jax
    import jax.numpy as jnp
    from jtorch._ops.registry import OPS
    impl = OPS[name].impl
    a = jnp.eye(3, dtype=jnp.float32) * 2 + 0.1
    grad = jax.jit(jax.grad(lambda x: jnp.sum(GRADIENTS[name](impl, x))))(a)
    assert bool(jnp.all(jnp.isfinite(grad))), name
