"""torch.autograd.functional against torch: the same functions, inputs and vectors.

Every function is written once, as a PyTorch user writes it, and built for each library
(`make(T)` with T = torch or jtorch). Results are compared in structure (tuple, list or
tensor), shape, dtype, requires_grad and value; with create_graph=True the results are
differentiated again and the gradients compared.
"""
from __future__ import annotations

import numpy as np
import pytest

import jtorch
import jtorch.autograd.functional as jF

torch = pytest.importorskip("torch")
import torch.autograd.functional as tF

LIBS = ((torch, tF), (jtorch, jF))


def _custom(T, wrong=False):
    """x**3 through autograd.Function; with `wrong`, a backward that is not its derivative
    (the functional API must follow the user's backward, as torch's does)."""
    class Cube(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return (2.0 if wrong else 3.0) * x * x * g
    return Cube.apply


def _no_grad_inside(T):
    def f(x):
        with T.no_grad():
            b = x * 3
        return x * b
    return f


# name -> (make(T) -> func, input shapes (a list means a tuple of inputs), dtype override)
GENERAL = {
    "exp_rows": (lambda T: lambda x: x.exp().sum(dim=1), (2, 2)),
    "adder": (lambda T: lambda x, y: 2 * x + 3 * y, [(2,), (2,)]),
    "two_outputs": (lambda T: lambda x: (x.sin(), x.pow(2).sum()), (2,)),
    "matmul_pair": (lambda T: lambda x, w: ((x @ w).tanh(), x * w.sum()), [(1, 2), (2, 2)]),
    "unused_input": (lambda T: lambda x, y: x.exp(), [(2,), (2,)]),
    "detach": (lambda T: lambda x: x * x.detach(), (2,)),
    "no_grad_inside": (_no_grad_inside, (2,)),
    "custom_wrong_backward": (lambda T: _custom(T, wrong=True), (2,)),
    "item": (lambda T: lambda x: x * x.sum().item(), (2,)),
    "float32_to_64": (lambda T: lambda x: x.double().exp(), (2,), "float32"),
    "scalar_input": (lambda T: lambda x: x.exp() * T.ones(2, dtype=T.float64), ()),
}
SCALAR = {
    "cube_sum": (lambda T: lambda x: x.pow(3).sum(), (2, 2)),
    "quadratic_pair": (lambda T: lambda x, y: (2 * x.pow(2) + 3 * y.pow(2)).sum(),
                       [(2,), (2,)]),
    "mixed_pair": (lambda T: lambda x, w: (x.sin() * w.exp()).sum(), [(2,), (2,)]),
    "detach": (lambda T: lambda x: (x * x.detach()).pow(2).sum(), (2,)),
    "custom": (lambda T: lambda x: _custom(T)(x).sum(), (2,)),
    "item": (lambda T: lambda x: (x.pow(3) * x.sum().item()).sum(), (2,)),
    "unused_input": (lambda T: lambda x, y: x.pow(3).sum(), [(2,), (2,)]),
    "float32_pair": (lambda T: lambda x, y: (x.double() * y).pow(2).sum(), [(2,), (2,)],
                     "float32"),
}
# create_graph runs the graph way (one backward per row): a few cases cover it
GENERAL_SECOND = ["exp_rows", "two_outputs", "adder", "detach", "custom_wrong_backward"]
SCALAR_SECOND = ["mixed_pair", "detach", "custom"]
# jax.jacfwd: torch's forward AD needs a jvp on a Function and treats cuts its own way
GENERAL_FORWARD = ["exp_rows", "two_outputs", "matmul_pair", "float32_to_64", "scalar_input"]
SCALAR_FORWARD = ["cube_sum", "float32_pair"]


def _arrays(shapes, seed):
    rng = np.random.RandomState(seed)
    single = not isinstance(shapes, list)
    return single, [rng.randn(*s) for s in ([shapes] if single else shapes)]


def _make(T, arrays, single, dtype="float64", requires_grad=False):
    # a dtype override applies to the first input only: the others stay float64
    ts = tuple(T.tensor(a, dtype=getattr(T, dtype if i == 0 else "float64"),
                        requires_grad=requires_grad) for i, a in enumerate(arrays))
    return ts[0] if single else ts


def _case(table, name, seed=0, requires_grad=False):
    make, shapes, *rest = table[name]
    single, arrays = _arrays(shapes, seed)
    dtype = rest[0] if rest else "float64"
    return [(make(T), _make(T, arrays, single, dtype, requires_grad), T, F) for T, F in LIBS]


def _leaves(x):
    if isinstance(x, (tuple, list)):
        return [leaf for v in x for leaf in _leaves(v)]
    return [x]


def assert_same(j, t, requires_grad=True):
    if isinstance(t, (tuple, list)):
        assert type(j) is type(t) and len(j) == len(t), (type(j), type(t))
        for a, b in zip(j, t):
            assert_same(a, b, requires_grad)
        return
    assert isinstance(j, jtorch.Tensor), type(j)
    assert tuple(j.shape) == tuple(t.shape)
    assert str(j.dtype) == str(t.dtype)
    if requires_grad:
        assert j.requires_grad == t.requires_grad
    tol = 1e-5 if t.dtype in (torch.float32, torch.complex64) else 1e-10
    np.testing.assert_allclose(j.detach().numpy(), t.detach().numpy(), rtol=tol, atol=tol)


def _outputs_like(T, func, inputs, seed):
    """Random vectors shaped like the outputs (v for vjp)."""
    out = func(*(inputs if isinstance(inputs, tuple) else (inputs,)))
    rng = np.random.RandomState(seed)
    vs = tuple(T.tensor(rng.randn(*o.shape)) for o in (out if isinstance(out, tuple) else (out,)))
    return vs if isinstance(out, tuple) else vs[0]


def _inputs_like(T, inputs, seed):
    rng = np.random.RandomState(seed)
    vs = tuple(T.tensor(rng.randn(*t.shape)) for t in
               (inputs if isinstance(inputs, tuple) else (inputs,)))
    return vs if isinstance(inputs, tuple) else vs[0]


def _second_grads(T, results, inputs):
    """Gradients of a loss made of the create_graph results, wrt the inputs (zeros where
    torch has no graph: jtorch's engine may keep one through a constant gradient)."""
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    parts = [r.pow(2).sum() for r in _leaves(results) if r.requires_grad]
    if not parts:
        return [np.zeros(t.shape) for t in inputs]
    grads = T.autograd.grad(sum(parts), inputs, allow_unused=True)
    return [np.zeros(tuple(t.shape)) if g is None else g.detach().numpy()
            for g, t in zip(grads, inputs)]


def _compare_second(call, table, name):
    """call(F, func, inputs, T) with create_graph=True, then backward through the results."""
    got = []
    for func, inputs, T, F in _case(table, name, requires_grad=True):
        res = call(F, func, inputs, T)
        got.append((res, _second_grads(T, res, inputs)))
    (t_res, t_grads), (j_res, j_grads) = got
    assert_same(j_res, t_res, requires_grad=False)
    for a, b in zip(j_grads, t_grads):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


# -- jacobian and hessian ----------------------------------------------------------------------

@pytest.mark.parametrize("name", list(GENERAL))
def test_jacobian(name):
    (tf, tx, _, _), (jf, jx, _, _) = _case(GENERAL, name)
    assert_same(jF.jacobian(jf, jx), tF.jacobian(tf, tx))


@pytest.mark.parametrize("name", GENERAL_FORWARD)
def test_jacobian_forward_mode(name):
    (tf, tx, _, _), (jf, jx, _, _) = _case(GENERAL, name)
    kw = {"vectorize": True, "strategy": "forward-mode"}
    assert_same(jF.jacobian(jf, jx, **kw), tF.jacobian(tf, tx, **kw))


@pytest.mark.parametrize("name", GENERAL_SECOND)
def test_jacobian_create_graph(name):
    _compare_second(lambda F, f, x, T: F.jacobian(f, x, create_graph=True), GENERAL, name)


@pytest.mark.parametrize("name", list(SCALAR))
def test_hessian(name):
    (tf, tx, _, _), (jf, jx, _, _) = _case(SCALAR, name)
    assert_same(jF.hessian(jf, jx), tF.hessian(tf, tx))


@pytest.mark.parametrize("name", SCALAR_FORWARD)
def test_hessian_forward_mode(name):
    (tf, tx, _, _), (jf, jx, _, _) = _case(SCALAR, name)
    kw = {"vectorize": True, "outer_jacobian_strategy": "forward-mode"}
    # torch's forward-over-reverse results require grad; jtorch's do not (create_graph=False)
    assert_same(jF.hessian(jf, jx, **kw), tF.hessian(tf, tx, **kw), requires_grad=False)


@pytest.mark.parametrize("name", SCALAR_SECOND)
def test_hessian_create_graph(name):
    _compare_second(lambda F, f, x, T: F.hessian(f, x, create_graph=True), SCALAR, name)


# -- vector products ---------------------------------------------------------------------------

def _vjp(F, f, x, T, create_graph=False):
    return F.vjp(f, x, _outputs_like(T, f, x, 1), create_graph=create_graph)


def _jvp(F, f, x, T, create_graph=False):
    return F.jvp(f, x, _inputs_like(T, x, 2), create_graph=create_graph)


@pytest.mark.parametrize("fn", [_vjp, _jvp], ids=["vjp", "jvp"])
@pytest.mark.parametrize("name", list(GENERAL))
def test_vjp_jvp(name, fn):
    (tf, tx, _, _), (jf, jx, _, _) = _case(GENERAL, name)
    assert_same(fn(jF, jf, jx, jtorch), fn(tF, tf, tx, torch))


@pytest.mark.parametrize("fn", [_vjp, _jvp], ids=["vjp", "jvp"])
@pytest.mark.parametrize("name", GENERAL_SECOND)
def test_vjp_jvp_create_graph(name, fn):
    _compare_second(lambda F, f, x, T: fn(F, f, x, T, create_graph=True), GENERAL, name)


@pytest.mark.parametrize("fn", ["hvp", "vhp"])
@pytest.mark.parametrize("name", list(SCALAR))
def test_hvp_vhp(name, fn):
    (tf, tx, _, _), (jf, jx, _, _) = _case(SCALAR, name)
    assert_same(getattr(jF, fn)(jf, jx, _inputs_like(jtorch, jx, 3)),
                getattr(tF, fn)(tf, tx, _inputs_like(torch, tx, 3)))


@pytest.mark.parametrize("fn", ["hvp", "vhp"])
@pytest.mark.parametrize("name", SCALAR_SECOND)
def test_hvp_vhp_create_graph(name, fn):
    _compare_second(lambda F, f, x, T: getattr(F, fn)(f, x, _inputs_like(T, x, 3),
                                                       create_graph=True), SCALAR, name)


def test_v_may_be_omitted_for_single_elements():
    for fn in ("vjp", "jvp", "hvp", "vhp"):
        args = [(T.tensor(0.7, dtype=T.float64), getattr(F, fn)) for T, F in LIBS]
        res = [call(lambda x: x.pow(3), x) for x, call in args]
        assert_same(res[1], res[0])


# -- complex tensors: torch's conventions, through the engine ----------------------------------

Z = np.array([1 + 2j, 0.5 - 1j, -0.3 + 0.2j])
COMPLEX = {
    "jacobian_abs": lambda T, F: F.jacobian(lambda z: z.abs(), T.tensor(Z)),
    "jacobian_exp_vectorized": lambda T, F: F.jacobian(lambda z: z.exp(), T.tensor(Z),
                                                       vectorize=True),
    "vjp_exp": lambda T, F: F.vjp(lambda z: z.exp(), T.tensor(Z), T.tensor(Z * 0.5)),
    "jvp_square": lambda T, F: F.jvp(lambda z: z * z, T.tensor(Z), T.tensor(Z)),
    "hvp_norm": lambda T, F: F.hvp(lambda z: (z * z.conj()).real.sum(), T.tensor(Z),
                                   T.tensor(Z)),
}


@pytest.mark.parametrize("name", list(COMPLEX))
def test_complex(name):
    assert_same(COMPLEX[name](jtorch, jF), COMPLEX[name](torch, tF))


# -- errors: the same exception class (and message, where jtorch words it as torch does) --------

X = np.array([0.5, -1.0, 2.0])


def _linear(T):
    return lambda x: 2 * x


ERRORS = {
    "v_missing_for_vector_output": lambda T, F: F.vjp(_linear(T), T.tensor(X)),
    "v_missing_for_vector_input": lambda T, F: F.jvp(_linear(T), T.tensor(X)),
    "v_wrong_shape": lambda T, F: F.vjp(_linear(T), T.tensor(X), T.tensor(X[:2])),
    "v_wrong_length": lambda T, F: F.vjp(lambda x: (x, x), T.tensor(X), (T.tensor(X),)),
    "v_entry_wrong_shape": lambda T, F: F.jvp(lambda x, y: x * y, (T.tensor(X), T.tensor(X)),
                                              (T.tensor(X), T.tensor(X[:1]))),
    "v_not_single": lambda T, F: F.hvp(lambda x: x.sum(), T.tensor(X), (T.tensor(X),) * 2),
    "v_not_a_tensor": lambda T, F: F.vhp(lambda x: x.sum(), T.tensor(X), [T.tensor(X)]),
    "inputs_a_list": lambda T, F: F.jacobian(_linear(T), [T.tensor(X)]),
    "inputs_hold_a_number": lambda T, F: F.vjp(lambda x, y: x, (T.tensor(X), 3)),
    "outputs_a_list": lambda T, F: F.jacobian(lambda x: [x], T.tensor(X)),
    "integer_inputs": lambda T, F: F.jacobian(_linear(T), T.tensor([1, 2])),
    "hessian_tuple_output": lambda T, F: F.hessian(lambda x: (x.sum(),), T.tensor(X)),
    "hessian_vector_output": lambda T, F: F.hessian(_linear(T), T.tensor(X)),
    "hvp_vector_output": lambda T, F: F.hvp(_linear(T), T.tensor(X), T.tensor(X)),
    "vhp_tuple_output": lambda T, F: F.vhp(lambda x: (x.sum(),), T.tensor(X), T.tensor(X)),
    "strict_unused_input": lambda T, F: F.jacobian(lambda x, y: x * 2,
                                                   (T.tensor(X), T.tensor(X)), strict=True),
    "strict_detached_output": lambda T, F: F.vjp(lambda x: x.detach(), T.tensor(X),
                                                 T.tensor(X), strict=True),
    "strict_jvp_unused_input": lambda T, F: F.jvp(lambda x, y: x * 2, (T.tensor(X),) * 2,
                                                  (T.tensor(X),) * 2, strict=True),
    "strict_hvp_unused_input": lambda T, F: F.hvp(lambda x, y: (x * x).sum(), (T.tensor(X),) * 2,
                                                  (T.tensor(X),) * 2, strict=True),
    "strict_vectorize": lambda T, F: F.jacobian(_linear(T), T.tensor(X), strict=True,
                                                vectorize=True),
    "forward_without_vectorize": lambda T, F: F.jacobian(_linear(T), T.tensor(X),
                                                         strategy="forward-mode"),
    "forward_create_graph": lambda T, F: F.jacobian(_linear(T), T.tensor(X), create_graph=True,
                                                    strategy="forward-mode", vectorize=True),
    "forward_strict": lambda T, F: F.hessian(lambda x: x.sum(), T.tensor(X), strict=True,
                                             vectorize=True,
                                             outer_jacobian_strategy="forward-mode"),
    "unknown_strategy": lambda T, F: F.jacobian(_linear(T), T.tensor(X), strategy="sideways"),
    "complex_output_rows": lambda T, F: F.jacobian(lambda z: z.exp(), T.tensor(Z)),
    "complex_v_for_real_output": lambda T, F: F.vjp(lambda z: z.abs(), T.tensor(Z),
                                                    T.tensor(Z)),
}
# torch's message names "floating point dtype"; jtorch's requires_grad_ says "floating point
# and complex dtype"; the complex case quotes the dtype in torch only; torch's forward-mode
# message lacks a space ("isonly")
OTHER_WORDS = {"integer_inputs", "complex_output_rows", "forward_without_vectorize"}
# torch knows that these gradients are constants; jtorch's engine records every
# create_graph backward (see the report on autograd.grad(create_graph=True))
ENGINE_KEEPS_GRAPH = {
    "strict_linear_hessian": lambda T, F: F.hessian(lambda x: x.sum(), T.tensor(X), strict=True),
    "strict_linear_create_graph": lambda T, F: F.jacobian(_linear(T), T.tensor(X), strict=True,
                                                          create_graph=True),
}


def _raised(call, T, F):
    with pytest.raises(Exception) as info:
        call(T, F)
    return info.value


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors(name):
    expected = _raised(ERRORS[name], torch, tF)
    got = _raised(ERRORS[name], jtorch, jF)
    assert type(got) is type(expected), (got, expected)
    if name not in OTHER_WORDS:
        assert str(got) == str(expected)


@pytest.mark.parametrize("name", list(ENGINE_KEEPS_GRAPH))
def test_strict_constant_gradients(name):
    expected = _raised(ENGINE_KEEPS_GRAPH[name], torch, tF)
    got = _raised(ENGINE_KEEPS_GRAPH[name], jtorch, jF)
    assert type(got) is type(expected)


def test_results_do_not_require_grad_and_inputs_are_untouched():
    x = jtorch.tensor(X, requires_grad=True)
    jac = jF.jacobian(lambda t: t.exp(), x)
    out, res = jF.vjp(lambda t: t.exp(), x, jtorch.ones(3, dtype=jtorch.float64))
    assert not (jac.requires_grad or out.requires_grad or res.requires_grad)
    assert x.grad is None and x.grad_fn is None


def test_traced_way_unless_the_graph_is_cut(monkeypatch):
    """Plain functions run as one jax program; a cut graph (detach) goes through the engine."""
    calls = []
    engine_grad = jF._engine_grad
    monkeypatch.setattr(jF, "_engine_grad", lambda *a, **k: calls.append(1) or engine_grad(*a, **k))
    x = jtorch.tensor(X)
    # a constant made inside the function does not cut the graph
    plain = lambda t: (t.exp() * jtorch.ones(3, dtype=jtorch.float64)).sum()
    for fn in ("jacobian", "hessian"):
        getattr(jF, fn)(plain, x)
    for fn in ("vjp", "jvp", "hvp", "vhp"):
        getattr(jF, fn)(plain, x, None if fn == "vjp" else jtorch.ones(3, dtype=jtorch.float64))
    assert not calls
    jF.jacobian(lambda t: t * t.detach(), x)
    assert calls


def test_closures_are_read_at_each_call():
    x = jtorch.tensor(X)
    w = jtorch.tensor([1.0, 2.0, 3.0], dtype=jtorch.float64)

    def f(t):
        return t * w
    first = jF.jacobian(f, x)
    w.mul_(10)
    np.testing.assert_allclose(jF.jacobian(f, x).numpy(), first.numpy() * 10)


def test_inside_no_grad():
    results = []
    for T, F in LIBS:
        with T.no_grad():
            x = T.tensor(X)
            results.append((F.jacobian(lambda t: t.exp(), x), F.vjp(lambda t: t.exp(), x, x),
                            F.hessian(lambda t: t.pow(3).sum(), x, create_graph=True)))
    assert_same(results[1], results[0])
