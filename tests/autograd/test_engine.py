"""The autograd engine against torch: the graph, backward, grad, accumulation, errors.

Every test writes one user program `program(torch)` and runs it with real torch and with
jtorch (`check`); the other files of this folder import `check` from here.
"""
from __future__ import annotations

import gc
import warnings

import numpy as np
import pytest

import jtorch

torch = pytest.importorskip("torch")


# -- the shared pattern: one program, two libraries ------------------------------------------

class Raised:
    """What a program that raised returns: the exception's class (and message, to read)."""

    def __init__(self, error: BaseException):
        self.kind, self.message = type(error), str(error)

    def __repr__(self):
        return f"Raised({self.kind.__name__}: {self.message[:200]})"


def outcome(program, lib):
    """The program's result (or what it raised) and the grad mode it left behind."""
    try:
        result = program(lib)
    except Exception as error:      # the exception class is part of the result
        result = Raised(error)
    left = lib.is_grad_enabled()
    lib.set_grad_enabled(True)      # a leaked mode must not reach the next test
    return (result if isinstance(result, Raised) else plain(result)), left


def plain(value):
    """A library-neutral form of a program's result."""
    if isinstance(value, (torch.Tensor, jtorch.Tensor)):
        data = value.detach()
        return ("tensor", str(value.dtype), tuple(value.shape), bool(value.requires_grad),
                np.asarray(data.numpy()))
    if isinstance(value, (torch.dtype, jtorch.dtype)):
        return str(value)
    if isinstance(value, (tuple, list)):
        return type(value)(plain(v) for v in value) if not hasattr(value, "_fields") \
            else tuple(plain(v) for v in value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def assert_same(actual, expected, rtol, atol, where="result"):
    if isinstance(expected, Raised):
        assert isinstance(actual, Raised), f"{where}: torch raised {expected}, jtorch gave {actual}"
        assert actual.kind is expected.kind, f"{where}: torch raised {expected}, jtorch {actual}"
        return
    assert not isinstance(actual, Raised), f"{where}: torch gave {expected}, jtorch {actual}"
    if isinstance(expected, tuple) and expected[:1] == ("tensor",):
        assert isinstance(actual, tuple) and actual[:1] == ("tensor",), \
            f"{where}: torch gave a tensor, jtorch {actual}"
        assert actual[1:4] == expected[1:4], \
            f"{where}: (dtype, shape, requires_grad) torch {expected[1:4]}, jtorch {actual[1:4]}"
        np.testing.assert_allclose(actual[4], expected[4], rtol=rtol, atol=atol, err_msg=where)
    elif isinstance(expected, (tuple, list)):
        assert isinstance(actual, (tuple, list)) and len(actual) == len(expected), \
            f"{where}: torch gave {expected}, jtorch {actual}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, rtol, atol, f"{where}[{i}]")
    elif isinstance(expected, dict):
        assert isinstance(actual, dict) and actual.keys() == expected.keys(), where
        for k in expected:
            assert_same(actual[k], expected[k], rtol, atol, f"{where}[{k!r}]")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=rtol, abs=atol), where
    else:
        assert actual == expected, f"{where}: torch gave {expected!r}, jtorch {actual!r}"


def check(program, rtol: float = 1e-5, atol: float = 1e-6):
    """Run `program(torch)` and `program(jtorch)`; values, dtypes, shapes, requires_grad and
    exception classes must agree. Returns torch's plain result."""
    expected, expected_mode = outcome(program, torch)
    actual, actual_mode = outcome(program, jtorch)
    assert_same(actual, expected, rtol, atol)
    assert actual_mode == expected_mode, "grad mode after the program differs"
    return expected


def leaf(torch, data, dtype=None):
    return torch.tensor(data, dtype=dtype or torch.float32, requires_grad=True)


X = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]
W = [[1.0, -2.0], [0.5, 0.3], [-1.2, 2.0]]


# -- the graph ---------------------------------------------------------------------------------

# (id, f(torch, x, y) with x (2, 3), y (2, 3), both requiring grad)
GRAPH_OPS = [
    ("add", lambda t, x, y: x + y), ("sub", lambda t, x, y: x - y),
    ("mul", lambda t, x, y: x * y), ("div", lambda t, x, y: x / y),
    ("add_scalar", lambda t, x, y: x + 1), ("mul_scalar", lambda t, x, y: x * 2),
    ("neg", lambda t, x, y: -x), ("pow_scalar", lambda t, x, y: x ** 2),
    ("pow_tensor", lambda t, x, y: x.abs() ** y), ("exp", lambda t, x, y: x.exp()),
    ("log", lambda t, x, y: x.abs().log()), ("sin", lambda t, x, y: x.sin()),
    ("cos", lambda t, x, y: x.cos()), ("tanh", lambda t, x, y: x.tanh()),
    ("sigmoid", lambda t, x, y: x.sigmoid()), ("relu", lambda t, x, y: t.relu(x)),
    ("sqrt", lambda t, x, y: x.abs().sqrt()), ("abs", lambda t, x, y: x.abs()),
    ("sum", lambda t, x, y: x.sum()), ("sum_dim", lambda t, x, y: x.sum(0)),
    ("mean", lambda t, x, y: x.mean()), ("mean_dim", lambda t, x, y: x.mean(1)),
    ("mm", lambda t, x, y: x @ y.t()), ("dot", lambda t, x, y: x[0] @ y[0]),
    ("t", lambda t, x, y: x.t()), ("transpose", lambda t, x, y: x.transpose(0, 1)),
    ("permute", lambda t, x, y: x.permute(1, 0)), ("view", lambda t, x, y: x.view(6)),
    ("reshape", lambda t, x, y: x.reshape(3, 2)), ("unsqueeze", lambda t, x, y: x.unsqueeze(0)),
    ("squeeze", lambda t, x, y: x[None].squeeze(0)), ("expand", lambda t, x, y: x[:1].expand(4, 3)),
    ("select", lambda t, x, y: x[0]), ("slice", lambda t, x, y: x[:, 1:3]),
    ("index", lambda t, x, y: x[t.tensor([1, 0])]), ("mask", lambda t, x, y: x[x > 0]),
    ("cat", lambda t, x, y: t.cat([x, y])), ("stack", lambda t, x, y: t.stack([x, y])),
    ("clone", lambda t, x, y: x.clone()), ("double", lambda t, x, y: x.double()),
    ("max", lambda t, x, y: x.max()), ("max_dim", lambda t, x, y: x.max(1).values),
    ("softmax", lambda t, x, y: x.softmax(1)), ("maximum", lambda t, x, y: t.maximum(x, y)),
    ("where", lambda t, x, y: t.where(x > 0, x, y)), ("linear", lambda t, x, y:
                                                        t.nn.functional.linear(x, y, y[:, 0])),
    ("log_softmax", lambda t, x, y: x.log_softmax(1)), ("norm", lambda t, x, y: x.norm()),
    ("inplace_mul", lambda t, x, y: x.clone().mul_(y)),
    ("setitem", lambda t, x, y: _setitem(t, x)),
]


@pytest.mark.parametrize("case", GRAPH_OPS, ids=[c[0] for c in GRAPH_OPS])
def test_grad_fn_name(case):
    def program(torch):
        y = case[1](torch, leaf(torch, X), leaf(torch, [[1.0, 2.0, 3.0], [0.5, -0.5, 1.5]]))
        name = y.grad_fn.name()     # torch: the node's class name, C++ namespace aside
        if torch is not jtorch:
            assert type(y.grad_fn).__name__ == name.rsplit("::", 1)[-1]
        return name, y.requires_grad, y.is_leaf, y
    check(program)


def describe(fn, leaves):
    """A grad_fn's structure: names, next_functions, and which leaf an AccumulateGrad holds."""
    if fn is None:
        return None
    if hasattr(fn, "variable"):
        return ("AccumulateGrad", [i for i, v in enumerate(leaves) if v is fn.variable])
    return (fn.name(), tuple((describe(f, leaves), nr) for f, nr in fn.next_functions))


NEXT_FUNCTIONS = {
    "mul_add": lambda t, x, w, c: x * w + c,
    "add_number": lambda t, x, w, c: x + 1,
    "add_constant": lambda t, x, w, c: x + c,
    "chain": lambda t, x, w, c: x.exp().sin().sum(),
    "cat": lambda t, x, w, c: t.cat([x, c, w]),
    "reuse": lambda t, x, w, c: x * x,
    "max_dim": lambda t, x, w, c: x.max(0)[0] * w,
}


@pytest.mark.parametrize("name", list(NEXT_FUNCTIONS))
def test_next_functions(name):
    def program(torch):
        x, w = leaf(torch, [1.0, 2.0]), leaf(torch, [3.0, -1.0])
        c = torch.tensor([0.5, 0.5])
        return describe(NEXT_FUNCTIONS[name](torch, x, w, c).grad_fn, [x, w])
    check(program)


@pytest.mark.parametrize("expr", ["x + 1", "x * w", "(x * w).sum()", "x.exp()", "x[0]",
                                  "x.double() * 2", "x.detach()", "x"])
def test_repr_shows_grad_fn(expr):
    check(lambda torch: repr(eval(expr, {"x": leaf(torch, [1.0, 2.5]),
                                         "w": leaf(torch, [2.0, 4.0])})))


def test_no_grad_records_nothing():
    def program(torch):
        x = leaf(torch, X)
        with torch.no_grad():
            y = x * 2 + 1
        return y.requires_grad, y.grad_fn is None, y.is_leaf, (y * x).requires_grad
    check(program)


INT_OUTPUTS = {
    "argmax": lambda t, x: x.argmax(),
    "max_indices": lambda t, x: x.max(1).indices,
    "max_values": lambda t, x: x.max(1).values,
    "compare": lambda t, x: x > 0,
    "long": lambda t, x: x.long(),
    "sort_indices": lambda t, x: x.sort(1)[1],
    "topk_indices": lambda t, x: x.topk(2)[1],
    "nonzero": lambda t, x: x.nonzero(),
}


@pytest.mark.parametrize("name", list(INT_OUTPUTS))
def test_integer_outputs_do_not_require_grad(name):
    def program(torch):
        y = INT_OUTPUTS[name](torch, leaf(torch, X))
        return y.requires_grad, y.grad_fn is None, y.is_leaf, y
    check(program)


# -- backward and grad -------------------------------------------------------------------------

def _two_leaves(torch):
    return leaf(torch, X), leaf(torch, W)


def _loss(torch, x, w):
    return ((x @ w).tanh() * 2).sum()


BACKWARD = {
    "scalar": lambda t, x, w: _loss(t, x, w).backward(),
    "gradient": lambda t, x, w: (x @ w).backward(t.tensor([[1.0, 2.0], [3.0, -1.0]])),
    "gradient_keyword": lambda t, x, w: (x @ w).exp().backward(gradient=t.ones(2, 2)),
    "one_element": lambda t, x, w: (x @ w).sum().reshape(1, 1).backward(),
    "autograd_backward": lambda t, x, w: t.autograd.backward(_loss(t, x, w)),
    "autograd_backward_list": lambda t, x, w: t.autograd.backward(
        [(x @ w).sum(), x.exp()], [None, t.full((2, 3), 0.5)]),
    "grad_tensors": lambda t, x, w: t.autograd.backward(x @ w, grad_tensors=t.ones(2, 2)),
    "inputs_x": lambda t, x, w: _loss(t, x, w).backward(inputs=[x]),
    "inputs_single": lambda t, x, w: _loss(t, x, w).backward(inputs=w),
    "inputs_autograd": lambda t, x, w: t.autograd.backward(_loss(t, x, w), inputs=(w,)),
    "float64_gradient": lambda t, x, w: (x @ w).backward(t.ones(2, 2, dtype=t.float64)),
    "leaf_root": lambda t, x, w: x.backward(t.full((2, 3), 2.0)),
    "long_chain": lambda t, x, w: _long_chain(t, x).backward(),
}


def _long_chain(torch, x):
    for i in range(100):
        x = (x * 0.99 + 0.01).tanh() if i % 2 else x.sin() + x
    return x.sum()


@pytest.mark.parametrize("name", list(BACKWARD))
def test_backward(name):
    def program(torch):
        x, w = _two_leaves(torch)
        result = BACKWARD[name](torch, x, w)
        return result, x.grad, w.grad
    check(program)


GRAD = {
    "single": lambda t, x, w: t.autograd.grad(_loss(t, x, w), x),
    "tuple": lambda t, x, w: t.autograd.grad(_loss(t, x, w), (x, w)),
    "list": lambda t, x, w: t.autograd.grad([_loss(t, x, w)], [w, x]),
    "grad_outputs": lambda t, x, w: t.autograd.grad(x @ w, w, t.full((2, 2), 3.0)),
    "grad_outputs_kw": lambda t, x, w: t.autograd.grad(outputs=[x @ w], inputs=[x],
                                                       grad_outputs=[t.ones(2, 2)]),
    "two_outputs": lambda t, x, w: t.autograd.grad([x.sum(), (x * w[:, 0]).sum()], x),
    "same_input_twice": lambda t, x, w: t.autograd.grad(_loss(t, x, w), [x, x]),
    "non_leaf_input": lambda t, x, w: _grad_of_intermediate(t, x, w),
    "allow_unused": lambda t, x, w: t.autograd.grad(x.sum(), [x, w], allow_unused=True),
    "materialize": lambda t, x, w: t.autograd.grad(x.sum(), [x, w], materialize_grads=True),
    "retain_twice": lambda t, x, w: _grad_twice(t, x, w),
    "freed_twice": lambda t, x, w: _grad_twice(t, x, w, retain=False),
    "backward_inputs_non_leaf": lambda t, x, w: _backward_into_non_leaf(t, x, w),
    "output_is_input": lambda t, x, w: t.autograd.grad(x, x, t.ones(2, 3)),
    "unused_outputs_of_an_op": lambda t, x, w: t.autograd.grad(
        (x.unbind(1)[2] * 2).sum() + x.chunk(2)[0].sum(), x),
    "diamond": lambda t, x, w: t.autograd.grad(_diamond(t, x), x),
    "mixed_dtypes": lambda t, x, w: t.autograd.grad((x.double() * w.t()[0]).sum() +
                                                    (w * 2).sum(), (x, w)),
}


def _diamond(torch, x):
    h = x.exp()
    a, b = h.sin(), h * 2
    return (a * b).sum() + h.sum()


def _grad_of_intermediate(torch, x, w):
    h = x @ w
    return torch.autograd.grad(h.tanh().sum(), [h, x])


def _grad_twice(torch, x, w, retain=True):
    out = _loss(torch, x, w)
    first = torch.autograd.grad(out, w, retain_graph=retain)
    return first, torch.autograd.grad(out, w)


def _backward_into_non_leaf(torch, x, w):
    h = x @ w
    _loss(torch, h, w.t()).backward(inputs=[h, w])
    return h.grad, h.retains_grad


@pytest.mark.parametrize("name", list(GRAD))
def test_grad(name):
    def program(torch):
        x, w = _two_leaves(torch)
        result = GRAD[name](torch, x, w)
        return type(result).__name__, result, x.grad, w.grad     # grad() leaves .grad alone
    check(program)


# -- accumulation into leaves ------------------------------------------------------------------

def _accumulate_twice(torch, x):
    (x * x).sum().backward()
    first = x.grad
    (x * 3).sum().backward()
    return first is x.grad, x.grad


def _reset_none(torch, x):
    (x * x).sum().backward()
    x.grad = None
    (x * 3).sum().backward()
    return x.grad


def _reset_zero(torch, x):
    (x * x).sum().backward()
    x.grad.zero_()
    (x * 3).sum().backward()
    return x.grad


def _broadcast(torch, x):
    b = leaf(torch, [1.0, 2.0, 3.0])
    c = leaf(torch, [[2.0], [-1.0]])
    ((x * b + c) ** 2).sum().backward()
    return b.grad, c.grad


def _non_leaf_grad(torch, x):
    y, z = x * 2, x * 3
    z.retain_grad()
    (y * z).sum().backward()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        seen = y.grad
    return (seen, [w.category.__name__ for w in caught], y.retains_grad, z.retains_grad,
            x.retains_grad, z.grad)


ACCUMULATION = {
    "starts_none": lambda t, x: x.grad,
    "twice": _accumulate_twice,
    "reset_none": _reset_none,
    "reset_zero": _reset_zero,
    "used_twice": lambda t, x: ((x * x + x.sin() * x).sum().backward(), x.grad),
    "broadcast": _broadcast,
    "non_leaf": _non_leaf_grad,
}


@pytest.mark.parametrize("name", list(ACCUMULATION))
def test_accumulation(name):
    check(lambda torch: (ACCUMULATION[name](torch, leaf(torch, X)), leaf(torch, X).grad))


# -- errors ------------------------------------------------------------------------------------

def _twice(make, retain=None, create_graph=False):
    def program(torch):
        x = leaf(torch, [0.5, -1.0, 2.0])
        y = make(torch, x)
        y.backward(retain_graph=retain, create_graph=create_graph)
        y.backward()
        return x.grad
    return program


def _set(torch, tensor, **attrs):
    for k, v in attrs.items():
        setattr(tensor, k, v)
    return tensor


ERRORS = {
    "freed_mul": _twice(lambda t, x: (x * x).sum()),
    "freed_exp": _twice(lambda t, x: x.exp().sum()),
    "freed_tanh_mm": _twice(lambda t, x: (x[None] @ x[:, None]).tanh().sum()),
    "retained_mul": _twice(lambda t, x: (x * x).sum(), retain=True),
    "retained_exp": _twice(lambda t, x: x.exp().sum(), retain=True),
    "sum_twice": _twice(lambda t, x: x.sum()),            # nothing saved: torch allows it
    "add_twice": _twice(lambda t, x: (x + 1).sum()),
    "create_graph_retains": _twice(lambda t, x: (x * x).sum(), create_graph=True),
    "non_scalar": lambda t: leaf(t, X).exp().backward(),
    "no_grad_tensor": lambda t: t.ones(2).sum().backward(),
    "no_grad_under_no_grad": lambda t: _under_no_grad(t),
    "numpy": lambda t: leaf(t, X).numpy(),
    "numpy_non_leaf": lambda t: (leaf(t, X) * 2).numpy(),
    "int_requires_grad": lambda t: t.tensor([1, 2], requires_grad=True),
    "int_requires_grad_": lambda t: t.arange(3).requires_grad_(),
    "int_requires_grad_attr": lambda t: _set(t, t.arange(3), requires_grad=True),
    "non_leaf_requires_grad_false": lambda t: _set(t, leaf(t, X) * 2, requires_grad=False),
    "non_leaf_requires_grad_true": lambda t: _set(t, leaf(t, X) * 2, requires_grad=True),
    "non_leaf_requires_grad_method": lambda t: (leaf(t, X) * 2).requires_grad_(True),
    "non_leaf_requires_grad_method_false": lambda t: (leaf(t, X) * 2).requires_grad_(False),
    "unused": lambda t: t.autograd.grad(leaf(t, X).sum(), [leaf(t, W)]),
    "input_without_grad": lambda t: t.autograd.grad(leaf(t, X).sum(), [t.ones(2)]),
    "gradient_shape": lambda t: leaf(t, X).exp().backward(t.ones(3, 2)),
    "grad_outputs_shape": lambda t: t.autograd.grad(leaf(t, X) * 2, [], t.ones(6)),
    "grad_implicit_non_scalar": lambda t: t.autograd.grad(leaf(t, X) * 2, leaf(t, X)),
    "inputs_empty": lambda t: leaf(t, X).sum().backward(inputs=[]),
    "materialize_not_unused": lambda t: t.autograd.grad(
        leaf(t, X).sum(), leaf(t, X), allow_unused=False, materialize_grads=True),
    "complex_implicit": lambda t: leaf(t, [1 + 1j], t.complex64).sum().backward(),
    "leaf_inplace": lambda t: leaf(t, X).mul_(2),
    "grad_wrong_shape_assign": lambda t: _set(t, leaf(t, X), grad=t.ones(3)),
    "grad_wrong_dtype_assign": lambda t: _set(t, leaf(t, X), grad=t.ones(2, 3, dtype=t.float64)),
}


def _under_no_grad(torch):
    x = leaf(torch, X)
    with torch.no_grad():
        y = (x * 2).sum()
    y.backward()


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors(name):
    check(ERRORS[name])


# -- complex -----------------------------------------------------------------------------------

COMPLEX = {
    "abs": lambda t, z, w: z.abs().sum(),
    "mul_abs": lambda t, z, w: (z * w).abs().sum(),
    "mul_real": lambda t, z, w: (z * w).real.sum(),
    "exp_abs": lambda t, z, w: z.exp().abs().sum(),
    "real_imag": lambda t, z, w: (z.real * 2 + z.imag ** 2).sum(),
    "angle": lambda t, z, w: z.angle().sum(),
    "conj_mul": lambda t, z, w: (z * z.conj()).real.sum(),
    "square_imag": lambda t, z, w: (z * z).imag.sum(),
    "div_abs": lambda t, z, w: (z / w).abs().sum(),
}


@pytest.mark.parametrize("name", list(COMPLEX))
def test_complex_gradients(name):
    def program(torch):
        z = leaf(torch, [1 + 2j, -0.5 + 1j, 3 - 1j], torch.complex64)
        w = leaf(torch, [0.5 - 1j, 2 + 0.5j, -1 + 1j], torch.complex64)
        out = COMPLEX[name](torch, z, w)
        out.backward()
        return out, z.grad, w.grad
    check(program, rtol=1e-5, atol=1e-5)


# -- casts, clone and indexing -----------------------------------------------------------------

CASTS_AND_INDEXING = {
    "double": lambda t, x: (x.double() ** 2).sum(),
    "to_float64": lambda t, x: x.to(t.float64).exp().sum(),
    "to_dtype_kw": lambda t, x: x.to(dtype=t.float64).sin().sum(),
    "float_of_double": lambda t, x: (x.double() * 3).float().sum(),
    "half_round_trip": lambda t, x: x.half().float().sum(),
    "clone": lambda t, x: (x.clone() * x).sum(),
    "row": lambda t, x: (x[0] * 2).sum(),
    "slice": lambda t, x: x.reshape(-1)[1:3].exp().sum(),
    "column": lambda t, x: x[:, 1].sum(),
    "mask": lambda t, x: (x[x > 0] ** 2).sum(),
    "index_repeated": lambda t, x: (x[t.tensor([0, 1, 1])] * t.tensor([[1.0], [2.0], [3.0]])
                                    ).sum(),
    "index_2d": lambda t, x: x[t.tensor([1, 0]), t.tensor([2, 2])].sum(),
    "none_ellipsis": lambda t, x: (x[..., None] * t.ones(2)).sum(),
    "setitem_clone": lambda t, x: _setitem(t, x).sum(),
    "inplace_non_leaf": lambda t, x: (x * 1).mul_(x).sum(),
}


def _setitem(torch, x):
    y = x.clone()
    y[0, 1] = 5.0
    y[1] = y[1] * 2
    return y


@pytest.mark.parametrize("name", list(CASTS_AND_INDEXING))
def test_casts_and_indexing(name):
    def program(torch):
        x = leaf(torch, X)
        out = CASTS_AND_INDEXING[name](torch, x)
        out.backward()
        return out, x.grad
    check(program, rtol=1e-3 if name == "half_round_trip" else 1e-5)


# -- higher order (create_graph=True) ----------------------------------------------------------

def _double_backward(torch):
    x = leaf(torch, [0.5, -1.0, 2.0])
    g, = torch.autograd.grad((x ** 3).sum(), x, create_graph=True)
    g.sum().backward()
    return g, x.grad


def _hessian_vector(torch):
    x, w = leaf(torch, [0.5, -1.0, 2.0]), torch.tensor([1.0, 2.0, -0.5])
    v = torch.tensor([1.0, 0.0, 2.0])
    f = (x ** 2 * w).sum() + (x[0] * x[1] * x[2]).sin() + x.exp().sum()
    g, = torch.autograd.grad(f, x, create_graph=True)
    hv, = torch.autograd.grad(g, x, grad_outputs=v, retain_graph=True)
    hv_dot, = torch.autograd.grad((g * v).sum(), x)
    return g, hv, hv_dot


def _gradient_penalty(torch):
    x = leaf(torch, X)
    w = leaf(torch, W)
    out = (x @ w).tanh().sum()
    g, = torch.autograd.grad(out, x, create_graph=True)
    penalty = ((g.norm(dim=1) - 1) ** 2).mean()
    penalty.backward()
    return g, penalty, w.grad, x.grad


def _third_order(torch):
    x = leaf(torch, 0.7)
    y = x.sin() * x ** 2
    g1, = torch.autograd.grad(y, x, create_graph=True)
    g2, = torch.autograd.grad(g1, x, create_graph=True)
    g3, = torch.autograd.grad(g2, x)
    return g1, g2, g3


def _backward_create_graph(torch):
    x = leaf(torch, [0.5, -1.0, 2.0])
    (x ** 3).sum().backward(create_graph=True)
    first = x.grad
    z = (first ** 2).sum()
    g, = torch.autograd.grad(z, x)
    return first, g


def _create_graph_through_mlp(torch):
    x, w = leaf(torch, X), leaf(torch, W)
    h = torch.nn.functional.softplus(x @ w)
    gx, gw = torch.autograd.grad(h.pow(2).sum(), (x, w), create_graph=True)
    (gx.sum() + (gw ** 2).sum()).backward()
    return gx, gw, x.grad, w.grad


def _jvp_via_double_vjp(torch):
    x = leaf(torch, [0.5, -1.0, 2.0])
    y = x.sin() * x
    u = torch.ones(3, requires_grad=True)
    g, = torch.autograd.grad(y, x, u, create_graph=True)
    jvp, = torch.autograd.grad(g, u, torch.tensor([1.0, 0.0, -2.0]))
    return g, jvp


HIGHER_ORDER = {
    "jvp_via_double_vjp": _jvp_via_double_vjp,
    "double_backward": _double_backward, "hessian_vector": _hessian_vector,
    "gradient_penalty": _gradient_penalty, "third_order": _third_order,
    "backward_create_graph": _backward_create_graph, "through_mlp": _create_graph_through_mlp,
}


@pytest.mark.parametrize("name", list(HIGHER_ORDER))
def test_higher_order(name):
    check(HIGHER_ORDER[name], rtol=1e-4, atol=1e-5)


# -- a small training loop ---------------------------------------------------------------------

def _mlp_program(loss_name, steps=5):
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s).astype(np.float32) * 0.5 for s in [(8, 4), (8,), (3, 8), (3,)]]
    data = rng.standard_normal((6, 4)).astype(np.float32)
    labels = np.array([0, 2, 1, 1, 0, 2])
    targets = rng.standard_normal((6, 3)).astype(np.float32)

    def program(torch):
        F = torch.nn.functional
        params = [torch.tensor(a, requires_grad=True) for a in init]
        x = torch.tensor(data)
        history = []
        for _ in range(steps):
            h = F.relu(F.linear(x, params[0], params[1]))
            out = F.linear(h, params[2], params[3])
            if loss_name == "mse":
                loss = F.mse_loss(out, torch.tensor(targets))
            else:
                loss = F.cross_entropy(out, torch.tensor(labels))
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= 0.1 * p.grad
                    p.grad.zero_()
            history.append((loss, [p.clone() for p in params]))
        return history, [p.is_leaf for p in params]
    return program


@pytest.mark.parametrize("loss_name", ["mse", "cross_entropy"])
def test_mlp_sgd_steps(loss_name):
    check(_mlp_program(loss_name), rtol=1e-4, atol=1e-5)


# -- jtorch only: graphs die with their tensors, a training step compiles once -----------------

def test_inference_without_no_grad_keeps_no_graph():
    graph = jtorch.autograd.graph
    w = jtorch.randn(8, 4, requires_grad=True)
    x = jtorch.randn(3, 8)
    gc.collect()
    before = graph.NODES_ALIVE[0]
    for _ in range(10_000):
        out = (x @ w).sum()
    del out
    gc.collect()
    assert graph.NODES_ALIVE[0] == before


def test_training_step_traces_backward_once():
    stats = jtorch.autograd.engine.STATS
    F = jtorch.nn.functional
    rng = np.random.default_rng(1)
    # shapes no other test uses, so the first step finds no cached trace
    w1 = jtorch.tensor(rng.standard_normal((11, 7)).astype(np.float32), requires_grad=True)
    w2 = jtorch.tensor(rng.standard_normal((5, 11)).astype(np.float32), requires_grad=True)
    x = jtorch.tensor(rng.standard_normal((13, 7)).astype(np.float32))
    y = jtorch.tensor(rng.standard_normal((13, 5)).astype(np.float32))
    before = stats["replay_traces"]
    counts = []
    for _ in range(50):
        loss = F.mse_loss(F.linear(F.relu(F.linear(x, w1)), w2), y)
        loss.backward()
        with jtorch.no_grad():
            for p in (w1, w2):
                p -= 0.01 * p.grad
                p.grad = None
        counts.append(stats["replay_traces"] - before)
    assert counts[0] == 1 and counts[-1] == 1, counts


def test_long_unrolled_loop_reuses_chunked_replays():
    """A 300-step recurrence (900 nodes) gives torch's gradient; its backward is cut into
    replays of at most MAX_SEGMENT_NODES nodes, and the equal chunks share one trace."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal((6, 6)).astype(np.float32) * 0.3
    x0 = rng.standard_normal((2, 6)).astype(np.float32)

    def program(lib):
        w = lib.tensor(w0, requires_grad=True)
        x = lib.tensor(x0)
        h = lib.zeros(2, 6)
        for _ in range(300):
            h = lib.tanh(h @ w + x)
        h.sum().backward()
        return w.grad.numpy()

    stats = jtorch.autograd.engine.STATS
    before = stats["replay_traces"]
    got = program(jtorch)
    traced = stats["replay_traces"] - before
    assert traced < 900 // jtorch.autograd.engine.MAX_SEGMENT_NODES, traced
    np.testing.assert_allclose(got, program(torch), rtol=1e-4, atol=1e-5)
    before = stats["replay_traces"]
    program(jtorch)
    assert stats["replay_traces"] == before
