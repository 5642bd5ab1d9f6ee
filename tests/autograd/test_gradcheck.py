"""torch.autograd.gradcheck and gradgradcheck against torch: the same verdicts and errors.

Every function is written once and built for each library (`make(T)`, T = torch or jtorch);
both libraries check it on the same float64 inputs.
"""
from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest

import jtorch
from jtorch.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
from torch.autograd.gradcheck import GradcheckError as TorchGradcheckError

# the modules (torch.autograd.gradcheck names the function once the package re-exports it)
LIBS = ((torch, importlib.import_module("torch.autograd.gradcheck"), TorchGradcheckError),
        (jtorch, importlib.import_module("jtorch.autograd.gradcheck"), GradcheckError))


def _function(T, backward):
    """x**3 as an autograd.Function whose backward is `backward(x, g)`."""
    class Cube(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return backward(T, x, g)
    return Cube.apply


def _right(T, x, g):
    return 3 * x * x * g


def _wrong(T, x, g):
    return 2 * x * x * g


def _ignores_grad_output(T, x, g):
    return 3 * x * x


def _noisy(T, x, g):
    return 3 * x * x * g + T.rand(x.shape, dtype=x.dtype) * 1e-3


def _once_right(T, x, g):
    # right values, but the detach loses a term of the second derivative
    return 3 * x.detach() * x * g


# name -> (make(T) -> func, input shapes; complex inputs are marked "c")
PASS = {
    "exp": (lambda T: lambda x: x.exp(), [(2, 2)]),
    "matmul": (lambda T: lambda a, b: a @ b, [(2, 2), (2, 2)]),
    "function_right_backward": (lambda T: _function(T, _right), [(3,)]),
    "two_outputs": (lambda T: lambda x, y: (x * y, (x.sin() * y).sum()), [(2,), (2,)]),
    "integer_output": (lambda T: lambda x: (x * 2, x.argmax()), [(3,)]),
    "complex_to_real": (lambda T: lambda z: z.abs(), [("c", 2)]),
    "complex_to_complex": (lambda T: lambda z: z * z.conj() + z.exp(), [("c", 2)]),
    "real_to_complex": (lambda T: lambda x: x * (1 + 2j), [(2,)]),
}
FAIL = {
    "function_wrong_backward": (lambda T: _function(T, _wrong), [(3,)]),
    "function_ignores_grad_output": (lambda T: _function(T, _ignores_grad_output), [(3,)]),
    "function_not_reentrant": (lambda T: _function(T, _noisy), [(3,)]),
    "detached_output": (lambda T: lambda x: x.detach() * 2, [(2,)]),
}
GRADGRAD_PASS = ["exp", "matmul", "function_right_backward", "two_outputs"]


def _inputs(T, shapes, requires_grad=True, dtype="float64"):
    rng = np.random.RandomState(0)
    out = []
    for s in shapes:
        if s[0] == "c":
            a = rng.randn(*s[1:]) + 1j * rng.randn(*s[1:])
            out.append(T.tensor(a, dtype=T.complex128, requires_grad=requires_grad))
        else:
            out.append(T.tensor(rng.randn(*s), dtype=getattr(T, dtype),
                                requires_grad=requires_grad))
    return tuple(out)


def _outcome(check, make, shapes, T, error_class, **kw):
    """True, or the first sentence of the GradcheckError's message."""
    try:
        return check(make(T), _inputs(T, shapes), **kw)
    except error_class as e:
        return str(e).splitlines()[0].split(".")[0]


def _both(check_name, table, name, **kw):
    make, shapes = table[name]
    return [_outcome(getattr(module, check_name), make, shapes, T, error, **kw)
            for T, module, error in LIBS]


@pytest.mark.parametrize("fast_mode", [False, True])
@pytest.mark.parametrize("name", list(PASS))
def test_gradcheck_passes(name, fast_mode):
    expected, got = _both("gradcheck", PASS, name, fast_mode=fast_mode)
    assert expected is True and got is True


@pytest.mark.parametrize("fast_mode", [False, True])
@pytest.mark.parametrize("name", list(FAIL))
def test_gradcheck_fails(name, fast_mode):
    expected, got = _both("gradcheck", FAIL, name, fast_mode=fast_mode)
    assert isinstance(expected, str) and got == expected
    expected, got = _both("gradcheck", FAIL, name, fast_mode=fast_mode, raise_exception=False)
    assert expected is False and got is False


def test_mismatch_message_names_both_jacobians():
    x = jtorch.tensor([0.5, -1.0], dtype=jtorch.float64, requires_grad=True)
    with pytest.raises(GradcheckError) as info:
        gradcheck(_function(jtorch, _wrong), (x,))
    assert isinstance(info.value, RuntimeError)
    message = str(info.value)
    assert message.startswith("Jacobian mismatch for output 0 with respect to input 0,\n")
    assert "numerical:tensor([[0.7500, 0.0000],\n        [0.0000, 3.0000]]" in message
    assert "analytical:tensor([[0.5000, 0.0000],\n        [0.0000, 2.0000]]" in message


@pytest.mark.parametrize("fast_mode", [False, True])
@pytest.mark.parametrize("name", GRADGRAD_PASS)
def test_gradgradcheck_passes(name, fast_mode):
    expected, got = _both("gradgradcheck", PASS, name, fast_mode=fast_mode)
    assert expected is True and got is True


def test_gradgradcheck_with_grad_outputs():
    results = []
    for T, module, _ in LIBS:
        x, w = _inputs(T, [(2, 2), (2, 2)])
        grad_out = T.tensor(np.array([[0.3, -0.2], [1.0, 0.5]]), dtype=T.float64,
                            requires_grad=True)
        results.append(module.gradgradcheck(lambda a, b: (a @ b).tanh(), (x, w), grad_out))
    assert results == [True, True]


@pytest.mark.parametrize("fast_mode", [False, True])
def test_gradgradcheck_fails_on_a_wrong_double_backward(fast_mode):
    table = {"once_right": (lambda T: _function(T, _once_right), [(3,)])}
    assert _both("gradcheck", table, "once_right") == [True, True]
    expected, got = _both("gradgradcheck", table, "once_right", fast_mode=fast_mode)
    assert isinstance(expected, str) and got == expected


def test_single_precision_warns():
    messages = []
    for T, module, _ in LIBS:
        (x,) = _inputs(T, [(2,)], dtype="float32")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert module.gradcheck(lambda a: a * 2, (x,), eps=1e-2, atol=1e-2, rtol=1e-2)
        messages.append([(w.category, str(w.message)) for w in caught])
    assert messages[1] == messages[0] and messages[0][0][0] is UserWarning


ERRORS = {
    "no_input_requires_grad": lambda T, m: m.gradcheck(lambda a: a * 2,
                                                       _inputs(T, [(2,)], requires_grad=False)),
    "nothing_to_check": lambda T, m: m.gradcheck(lambda a: a * 2, _inputs(T, [(2,)]),
                                                 check_backward_ad=False),
    "gradgrad_nothing_to_check": lambda T, m: m.gradgradcheck(lambda a: a * 2, _inputs(T, [(2,)]),
                                                              check_rev_over_rev=False),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors(name):
    raised = []
    for T, module, _ in LIBS:
        with pytest.raises(Exception) as info:
            ERRORS[name](T, module)
        raised.append(info.value)
    assert type(raised[1]) is type(raised[0]) and str(raised[1]) == str(raised[0])


def test_forward_ad_is_not_implemented():
    (x,) = _inputs(jtorch, [(2,)])
    with pytest.raises(NotImplementedError, match="forward-mode AD"):
        gradcheck(lambda a: a * 2, (x,), check_forward_ad=True)
    with pytest.raises(NotImplementedError, match="forward-mode AD"):
        gradgradcheck(lambda a: a * 2, (x,), check_fwd_over_rev=True)


def test_non_tensor_arguments_pass_through():
    results = [module.gradcheck(lambda a, k: a * k, (_inputs(T, [(2,)])[0], 3.0))
               for T, module, _ in LIBS]
    assert results == [True, True]


def _two_outputs(T, handles_missing):
    class Two(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            if not handles_missing:
                return g1 * 2 + g2 * 3
            parts = [g * k for g, k in ((g1, 2), (g2, 3)) if g is not None]
            return sum(parts) if parts else None
    return Two.apply


@pytest.mark.parametrize("handles_missing", [True, False])
def test_outputs_left_without_gradient(handles_missing):
    """check_undefined_grad: a Function with several outputs sees None for the one left out."""
    outcomes = []
    for T, module, _ in LIBS:
        (x,) = _inputs(T, [(2,)])
        try:
            outcomes.append(module.gradcheck(_two_outputs(T, handles_missing), (x,)))
        except TypeError as e:      # the user's backward multiplies None, in both libraries
            outcomes.append(type(e))
    assert outcomes[1] == outcomes[0]
    assert (outcomes[0] is True) == handles_missing
