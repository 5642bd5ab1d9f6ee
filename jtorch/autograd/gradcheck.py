"""Mirrors `torch.autograd.gradcheck`: gradcheck and gradgradcheck.

The analytical jacobian comes from jtorch's backward (`autograd.grad` with a one-hot
grad_output per output element, run twice to check that backward is deterministic), the
numerical one from central differences, as torch computes them. Complex outputs are checked
through their real and imaginary parts, complex inputs through torch's conjugate Wirtinger
derivative, as in torch. `fast_mode` compares v^T J u for random u and v instead.

Differences from torch: the inputs are perturbed as copies, not in place, so a `func` that
reads an input through a closure instead of its arguments sees it unperturbed. jtorch has no
forward-mode AD (`check_forward_ad=True`, `check_fwd_over_rev=True` raise
NotImplementedError); `check_batched_grad`, `check_batched_forward_grad`,
`gen_non_contig_grad_outputs` and `masked` are accepted and ignored (no batched-gradient
prototype, no strides, no sparse tensors). jtorch has no undefined gradients: with
`check_undefined_grad` the backward is run with some outputs left without a gradient, which
covers torch's one-at-a-time case for functions of several outputs.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from .. import _dtype
from .._tensor import Tensor
from .engine import grad as _grad

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(RuntimeError):
    """Mirrors `torch.autograd.gradcheck.GradcheckError`."""


def _as_tuple(x):
    if isinstance(x, tuple):
        return x
    if isinstance(x, list):
        return tuple(x)
    return (x,)


def _differentiable(outputs):
    return tuple(o for o in _as_tuple(outputs) if o.requires_grad)


def _diff_inputs(inputs):
    return [(k, t) for k, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]


def _check_inputs(inputs):
    found = False
    for k, t in _diff_inputs(inputs):
        if t.dtype not in (_dtype.float64, _dtype.complex128):
            warnings.warn(f"Input #{k} requires gradient and is not a double precision floating "
                          "point or complex. This check will likely fail if all the inputs are "
                          "not of double precision floating point or complex. ", stacklevel=4)
        found = True
    if not found:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of them have requires_grad=True.")


# -- numerical: central differences -------------------------------------------------------------

def _host(t):
    return np.asarray(t._value)


def _call_with(func, inputs, k, value):
    """`func` on the inputs with input `k` replaced by a copy holding `value` (a numpy
    array: the bookkeeping here stays on the host, so that it compiles nothing)."""
    original = inputs[k]
    copy = Tensor._wrap(jnp.asarray(value.astype(original._value.dtype)))
    if original.requires_grad:
        copy.requires_grad_(True)     # gradgradcheck's function differentiates its inputs
    args = list(inputs)
    args[k] = copy
    return [np.asarray(o._value) for o in _as_tuple(func(*args))]


def _difference(func, inputs, k, delta, eps):
    """(f(x + delta) - f(x - delta)) / (2 eps), flattened, per output of `func`."""
    x = _host(inputs[k])
    before = _call_with(func, inputs, k, x - delta)
    after = _call_with(func, inputs, k, x + delta)
    res = []
    for idx, (a, b) in enumerate(zip(before, after)):
        if a.shape != b.shape or a.dtype != b.dtype:
            raise AssertionError(f"Expected `func` to return outputs with the same shape and "
                                 f"dtype when inputs are perturbed by {eps}, but output {idx} "
                                 f"got {a.shape}/{a.dtype} and {b.shape}/{b.dtype}.")
        res.append(((b - a) / (2 * eps)).reshape(-1))
    return res


def _directional(func, inputs, k, direction, eps):
    """The numerical derivative of each output along `direction` (a real array, or for a
    complex input the pair (real direction, imaginary direction)): torch's conjugate Wirtinger
    derivative ds/dx + i ds/dy for complex inputs."""
    if isinstance(direction, tuple):
        dx = _difference(func, inputs, k, direction[0] * eps, eps)
        dy = _difference(func, inputs, k, direction[1] * eps * 1j, eps)
        return [a + 1j * b for a, b in zip(dx, dy)]
    return _difference(func, inputs, k, direction * eps, eps)


def _numerical_jacobian(func, inputs, func_out, eps):
    """[diff input][output] -> array of shape (input numel, output numel)."""
    result = []
    for k, t in _diff_inputs(inputs):
        x = _host(t)
        columns = []
        for d in range(x.size):
            basis = np.zeros(x.size, x.real.dtype)
            basis[d] = 1
            basis = basis.reshape(x.shape)
            columns.append(_directional(func, inputs, k, (basis, basis) if t.is_complex()
                                        else basis, eps))
        per_output = []
        for i, o in enumerate(func_out):
            dtype = x.dtype if t.is_complex() else o._value.dtype
            if columns:
                per_output.append(np.stack([c[i] for c in columns]).astype(dtype))
            else:
                per_output.append(np.zeros((0, o._value.size), dtype))
        result.append(per_output)
    return result


# -- analytical: jtorch's backward --------------------------------------------------------------

def _vjps(output, diff_inputs, grad_outputs):
    """One autograd.grad per grad_output: [diff input][row] gradients (None when unused)."""
    rows = [[] for _ in diff_inputs]
    for g in grad_outputs:
        grads = _grad(output, diff_inputs, Tensor._wrap(jnp.asarray(g)), retain_graph=True,
                      allow_unused=True)
        for k, gi in enumerate(grads):
            rows[k].append(gi)
    return rows


def _stack(rows, diff_inputs):
    """Each input's rows as an (input numel, rows) array; sizes ok, dtypes ok."""
    sizes_ok = types_ok = True
    out = []
    for rs, t in zip(rows, diff_inputs):
        cols = []
        for g in rs:
            if g is None:
                cols.append(np.zeros(t._value.size, t._value.dtype))
                continue
            if tuple(g.shape) != tuple(t.shape):
                sizes_ok = False
            elif g.dtype != t.dtype:
                types_ok = False
            cols.append(_host(g).reshape(-1).astype(t._value.dtype))
        if cols and all(c.size == t._value.size for c in cols):
            out.append(np.stack(cols, axis=1))
        else:
            out.append(np.zeros((t._value.size, len(cols)), t._value.dtype))
    return out, sizes_ok, types_ok


def _analytical(diff_inputs, output, grad_outputs, nondet_tol, check_grad_dtypes):
    first, sizes_ok, types_ok = _stack(_vjps(output, diff_inputs, grad_outputs), diff_inputs)
    second, _, _ = _stack(_vjps(output, diff_inputs, grad_outputs), diff_inputs)
    if not types_ok and check_grad_dtypes:
        raise GradcheckError("Gradient has dtype mismatch")
    if not sizes_ok:
        raise GradcheckError("Analytical gradient has incorrect size")
    for a, b in zip(first, second):
        if a.size and float(np.max(np.abs(a - b))) > nondet_tol:
            raise GradcheckError("Backward is not reentrant, i.e., running backward with same "
                                 "input and grad_output multiple times gives different values, "
                                 "although analytical gradient matches numerical gradient. The "
                                 f"tolerance for nondeterminism was {nondet_tol}.")
    return first


def _basis(output):
    n = output._value.size
    eye = np.eye(n, dtype=output._value.dtype)
    return [eye[j].reshape(output._value.shape) for j in range(n)]


# -- comparing ---------------------------------------------------------------------------------

def _allclose(a, b, rtol, atol):
    dtype = np.result_type(a, b)
    return bool(np.allclose(np.asarray(a, dtype), np.asarray(b, dtype), rtol=rtol, atol=atol))


def _mismatch(a, n, out_idx, in_idx, complex_indices, test_imag):
    prefix = ""
    if complex_indices and out_idx in complex_indices:
        part = "imaginary" if test_imag else "real"
        prefix = f"While considering the {part} part of complex outputs only, "
    return (f"{prefix}Jacobian mismatch for output {out_idx:d} with respect to input "
            f"{in_idx:d},\nnumerical:{_shown(n)}\nanalytical:{_shown(a)}\n")


def _shown(a):
    return Tensor._wrap(jnp.asarray(a))


def _slow_check(func, func_out, inputs, outputs, eps, rtol, atol, check_grad_dtypes,
                nondet_tol, complex_indices=(), test_imag=False):
    func_out = _as_tuple(func_out)
    numerical = _numerical_jacobian(func, inputs, func_out, eps)
    if not outputs:
        if any(bool(np.any(n != 0)) for per_input in numerical for n in per_input):
            raise GradcheckError("Numerical gradient for function expected to be zero")
        return
    # [output][diff input], for the outputs that require grad
    numerical = [list(per_output) for o, per_output in zip(func_out, zip(*numerical))
                 if o.requires_grad]
    diff_inputs = [t for _, t in _diff_inputs(inputs)]
    for i, o in enumerate(outputs):
        analytical = _analytical(diff_inputs, o, _basis(o), nondet_tol, check_grad_dtypes)
        for j, (a, n) in enumerate(zip(analytical, numerical[i])):
            if not _allclose(a, n, rtol, atol):
                raise GradcheckError(_mismatch(a, n, i, j, complex_indices, test_imag))


def _random(rng, shape, dtype):
    """A random direction of unit norm, from gradcheck's own generator (not the user's)."""
    v = rng.random_sample(int(np.prod(shape)))
    return (v / np.linalg.norm(v) if v.size else v).astype(dtype)


def _fast_check(func, func_out, inputs, outputs, eps, rtol, atol, check_grad_dtypes,
                nondet_tol, complex_indices=(), test_imag=False):
    rng = np.random.RandomState(0)
    diff = _diff_inputs(inputs)
    all_u = []
    for _, t in diff:
        real = np.zeros((), t._value.dtype).real.dtype
        ur = _random(rng, t.shape, real).reshape(t._value.shape)
        all_u.append((ur, _random(rng, t.shape, real).reshape(t._value.shape))
                     if t.is_complex() else ur)
    all_v = [_random(rng, o.shape, o._value.dtype) for o in outputs]
    func_out = _as_tuple(func_out)
    keep = [o.requires_grad for o in func_out]
    numerical = []       # [diff input][output] v^T (J u)
    for (k, _), u in zip(diff, all_u):
        ju = _directional(func, inputs, k, u, eps)
        if not outputs and any(j.size and float(np.max(np.abs(j))) > nondet_tol for j in ju):
            raise GradcheckError("Numerical gradient for function expected to be zero")
        ju = [j for j, kept in zip(ju, keep) if kept]
        numerical.append([np.sum(v * j) for v, j in zip(all_v, ju)])
    diff_inputs = [t for _, t in diff]
    for i, (o, v) in enumerate(zip(outputs, all_v)):
        vjs = _analytical(diff_inputs, o, [v.reshape(o._value.shape)], nondet_tol,
                          check_grad_dtypes)
        for j, (vj, u) in enumerate(zip(vjs, all_u)):
            vj = vj[:, 0]
            if isinstance(u, tuple):     # (d/dx, d/dy) parts against the two directions
                a = np.sum(vj.real * u[0].reshape(-1)) + 1j * np.sum(vj.imag * u[1].reshape(-1))
                scale = float(np.sum(u[0]) + np.sum(u[1]))
            else:
                a = np.sum(vj * u.reshape(-1))
                scale = float(np.sum(u))
            n = numerical[j][i]
            # torch: atol is scaled by v^T M u for M all ones, the sum of the tolerances
            if not _allclose(a, n, rtol, atol * scale * float(np.sum(v))):
                raise GradcheckError(_mismatch(a, n, i, j, complex_indices, test_imag) +
                                     _slow_details(func, inputs, o, i, j, rtol, atol, eps))


def _slow_details(func, inputs, output, out_idx, in_idx, rtol, atol, eps):
    func_out = [o for o in _as_tuple(func(*inputs)) if o.requires_grad]
    n = _numerical_jacobian(func, inputs, func_out, eps)[in_idx][out_idx]
    diff_inputs = [t for _, t in _diff_inputs(inputs)]
    a = _analytical(diff_inputs, output, _basis(output), float("inf"), False)[in_idx]
    worst = float(np.max(np.abs(n - a))) if n.size else 0.0
    msg = ("\nThe quantities above are computed in fast mode (v^T J u for random u, v). In slow "
           f"mode the jacobians are:\n\nNumerical:\n {_shown(n)}\nAnalytical:\n"
           f"{_shown(a)}\n\nThe max per-element difference (slow mode) is: {worst}.\n")
    if _allclose(a, n, rtol, atol):
        msg += ("Fast gradcheck failed but element-wise differences are small: the check might "
                "pass with fast_mode=False.")
    return msg


# -- further checks on the backward -------------------------------------------------------------

def _zeros_like(o):
    return Tensor._wrap(jnp.asarray(np.zeros(o._value.shape, o._value.dtype)))


def _test_backward_mul_by_grad_output(outputs, inputs):
    diff_inputs = [t for _, t in _diff_inputs(inputs)]
    grads = _grad(list(outputs), diff_inputs, [_zeros_like(o) for o in outputs],
                  allow_unused=True)
    for g, t in zip(grads, diff_inputs):
        if g is None:
            continue
        if not bool(np.all(_host(g) == 0)):
            raise GradcheckError("backward not multiplied by grad_output")
        if g.dtype != t.dtype:
            raise GradcheckError("grad is incorrect type")
        if tuple(g.shape) != tuple(t.shape):
            raise GradcheckError("grad is incorrect size")


def _test_missing_grads(func, inputs):
    """Leave each output in turn without a gradient, the others with zeros: torch's
    undefined-gradient check for functions of several outputs."""
    diff_inputs = [t for _, t in _diff_inputs(inputs)]
    outputs = _differentiable(func(*inputs))
    if len(outputs) < 2:
        return
    for skip in range(len(outputs)):
        kept = [o for i, o in enumerate(outputs) if i != skip]
        try:
            grads = _grad(kept, diff_inputs, [_zeros_like(o) for o in kept], retain_graph=True,
                          allow_unused=True)
        except RuntimeError as e:
            raise GradcheckError("Expected backward function to handle undefined output grads.") \
                from e
        if any(g is not None and not bool(np.all(_host(g) == 0)) for g in grads):
            raise GradcheckError("Expected all input grads to be undefined or zero when all "
                                 "output grads are undefined or zero.")


def _part_of_complex_outputs(func, part):
    def fn(*inputs):
        return tuple(part(o) if o.is_complex() else o for o in _as_tuple(func(*inputs)))
    return fn


# -- the public functions -----------------------------------------------------------------------

def gradcheck(func: Callable, inputs: Tensor | tuple, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, nondet_tol: float = 0.0,
              check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
              check_batched_grad: bool = False, check_batched_forward_grad: bool = False,
              check_forward_ad: bool = False, check_backward_ad: bool = True,
              fast_mode: bool = False, masked: bool | None = None) -> bool:
    """Mirrors `torch.autograd.gradcheck.gradcheck` (see the module docstring for what
    jtorch does not check)."""
    if not (check_forward_ad or check_backward_ad):
        raise AssertionError("Expected at least one of check_forward_ad or check_backward_ad "
                             "to be True")
    if check_batched_grad and not check_backward_ad:
        raise AssertionError("Setting check_batched_grad=True requires check_backward_ad to be "
                             "True")
    if check_batched_forward_grad and not check_forward_ad:
        raise AssertionError("Setting check_batched_forward_grad=True requires "
                             "check_forward_ad to be True")
    if check_forward_ad:
        raise NotImplementedError("jtorch does not implement forward-mode AD: gradcheck("
                                  "check_forward_ad=True) (gradgradcheck(check_fwd_over_rev="
                                  "True)) is not supported")
    try:
        _gradcheck(func, _as_tuple(inputs), eps, atol, rtol, nondet_tol, check_undefined_grad,
                   check_grad_dtypes, fast_mode)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def _gradcheck(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad,
               check_grad_dtypes, fast_mode):
    _check_inputs(inputs)
    func_out = func(*inputs)
    outputs = _differentiable(func_out)
    check = _fast_check if fast_mode else _slow_check
    if any(o.is_complex() for o in _as_tuple(func_out)):
        complex_indices = [i for i, o in enumerate(outputs) if o.is_complex()]
        for part, test_imag in ((Tensor.imag.fget, True), (Tensor.real.fget, False)):
            fn = _part_of_complex_outputs(func, part)
            out = fn(*inputs)
            check(fn, out, inputs, _differentiable(out), eps, rtol, atol, check_grad_dtypes,
                  nondet_tol, complex_indices, test_imag)
    else:
        check(func, func_out, inputs, outputs, eps, rtol, atol, check_grad_dtypes, nondet_tol)
    if outputs:
        _test_backward_mul_by_grad_output(outputs, inputs)
    if check_undefined_grad:
        _test_missing_grads(func, inputs)


def gradgradcheck(func: Callable, inputs: Tensor | tuple,
                  grad_outputs: Tensor | tuple | None = None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3,
                  gen_non_contig_grad_outputs: bool = False, raise_exception: bool = True,
                  nondet_tol: float = 0.0, check_undefined_grad: bool = True,
                  check_grad_dtypes: bool = False, check_batched_grad: bool = False,
                  check_fwd_over_rev: bool = False, check_rev_over_rev: bool = True,
                  fast_mode: bool = False, masked: bool = False) -> bool:
    """Mirrors `torch.autograd.gradcheck.gradgradcheck`: gradcheck of the function that
    maps (inputs, grad_outputs) to the gradients of `func`, taken with create_graph=True."""
    if not (check_fwd_over_rev or check_rev_over_rev):
        raise AssertionError("Expected at least one of check_fwd_over_rev or check_rev_over_rev "
                             "to be True")
    if check_undefined_grad and not check_rev_over_rev:
        raise AssertionError("Setting check_undefined_grad=True requires check_rev_over_rev to "
                             "be True")
    if check_batched_grad and not check_rev_over_rev:
        raise AssertionError("Setting check_batched_grad=True requires check_rev_over_rev to be "
                             "True")
    inputs = _as_tuple(inputs)
    if grad_outputs is None:
        import jtorch
        # random grad_outputs in [-1, 1) from the global generator, as torch's make_tensor
        grad_outputs = tuple(
            (jtorch.rand(tuple(o.shape), dtype=o.dtype if o.is_floating_point() or o.is_complex()
                         else jtorch.float64) * 2 - 1).requires_grad_(True)
            for o in _differentiable(func(*inputs)))
    else:
        grad_outputs = _as_tuple(grad_outputs)
    n_out = len(grad_outputs)
    diff_args = {k for k, _ in _diff_inputs(inputs)}
    diff_grads = {k for k, g in enumerate(grad_outputs) if g.requires_grad}

    def grads_of_func(*args):
        args_in = tuple(x.requires_grad_() if k in diff_args else x
                        for k, x in enumerate(args[:len(args) - n_out]))
        outputs = _differentiable(func(*args_in))
        grads_out = tuple(x.requires_grad_() if k in diff_grads else x
                          for k, x in enumerate(args[len(args) - n_out:]))
        wrt = tuple(x for k, x in enumerate(args_in) if k in diff_args)
        res = _grad(outputs, wrt, grads_out, create_graph=True, allow_unused=True)
        return tuple(g for g in res if g is not None)

    return gradcheck(grads_of_func, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes, check_batched_grad=check_batched_grad,
                     fast_mode=fast_mode, check_forward_ad=check_fwd_over_rev,
                     check_backward_ad=check_rev_over_rev, masked=masked)
