"""`torch.autograd.Function` against torch: user-written forward and backward.

The Function classes are built per library (`functions(torch)`), as a user module that did
`import torch` (or `import jtorch as torch`) would define them.
"""
from __future__ import annotations

import functools

import pytest

from test_engine import X, check, leaf

pytest.importorskip("torch")


@functools.lru_cache(maxsize=None)
def functions(torch):
    """The user's Function classes, written against `torch` (either library)."""
    Function = torch.autograd.Function
    once_differentiable = torch.autograd.function.once_differentiable

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):
            result = x.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad):
            result, = ctx.saved_tensors
            return grad * result

    class Cube(Function):          # backward made of differentiable ops: double backward works
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return grad * 3 * x ** 2

    class MulConstant(Function):   # a non-tensor argument gets None as its gradient
        @staticmethod
        def forward(ctx, x, k):
            ctx.k = k
            return x * k

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.k, None

    class Bilinear(Function):      # records needs_input_grad and skips what is not needed
        log = []

        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            Bilinear.log.append(tuple(ctx.needs_input_grad))
            return (grad * b if ctx.needs_input_grad[0] else None,
                    grad * a if ctx.needs_input_grad[1] else None)

    class SortWithIndices(Function):
        @staticmethod
        def forward(ctx, x):
            values, indices = x.sort(-1)
            mask = (values > 0).to(x.dtype)
            ctx.mark_non_differentiable(indices, mask)
            ctx.save_for_backward(indices)
            return values, indices, mask

        @staticmethod
        def backward(ctx, grad_values, grad_indices, grad_mask):
            indices, = ctx.saved_tensors
            return torch.zeros_like(grad_values).scatter(-1, indices, grad_values)

    class AddOneInPlace(Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad

    class SplitNoMaterialize(Function):   # unused outputs' gradients arrive as None
        log = []

        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            SplitNoMaterialize.log.append((g1 is None, g2 is None))
            out = None
            for g, k in ((g1, 2), (g2, 3)):
                if g is not None:
                    out = g * k if out is None else out + g * k
            return out

    class SplitMaterialize(Function):     # by default they arrive as zeros
        log = []

        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            SplitMaterialize.log.append((g1.clone(), g2.clone()))
            return g1 * 2 + g2 * 3

    class Scale(Function):                # the setup_context form
        @staticmethod
        def forward(x, k):
            return x * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, k = inputs
            ctx.k = k
            ctx.save_for_backward(output)

        @staticmethod
        def backward(ctx, grad):
            output, = ctx.saved_tensors
            return grad * ctx.k + 0 * output, None

    class OnceExp(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.exp()

        @staticmethod
        @once_differentiable
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return grad * x.exp()

    class TooFew(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad):
            return grad

    class TooMany(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    class ExtraNone(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2, None

    class WrongShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, grad):
            return torch.ones(7)

    class Identity(Function):             # returns its input object
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    class SavesNumber(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x * 3

        @staticmethod
        def backward(ctx, grad):
            return grad * 3

    return {cls.__name__: cls for cls in [
        Exp, Cube, MulConstant, Bilinear, SortWithIndices, AddOneInPlace, SplitNoMaterialize,
        SplitMaterialize, Scale, OnceExp, TooFew, TooMany, ExtraNone, WrongShape, Identity,
        SavesNumber]}


def _basic(torch, f, x):
    y = f["Exp"].apply(x)
    (y * 2).sum().backward()
    return y, y.grad_fn.name(), y.requires_grad, y.is_leaf, x.grad


def _non_tensor_argument(torch, f, x):
    y = f["MulConstant"].apply(x, 2.5)
    y.sum().backward()
    return y, x.grad


def _needs_input_grad(torch, f, x):
    f["Bilinear"].log.clear()
    c = torch.tensor([[2.0, 1.0, 0.5]] * 2)
    f["Bilinear"].apply(x, c).sum().backward()
    f["Bilinear"].apply(c, x).sum().backward()
    return list(f["Bilinear"].log), x.grad


def _non_differentiable(torch, f, x):
    values, indices, mask = f["SortWithIndices"].apply(x)
    (values * torch.arange(3.0)).sum().backward()
    return values, indices, mask.requires_grad, indices.requires_grad, x.grad


def _dirty(torch, f, x):
    base = x * 1
    out = f["AddOneInPlace"].apply(base)
    (out * out).sum().backward()
    return out is base, out, x.grad


def _materialize(torch, f, x, name):
    f[name].log.clear()
    a, b = f[name].apply(x)
    a.sum().backward()
    return list(f[name].log), x.grad


def _setup_context(torch, f, x):
    y = f["Scale"].apply(x, 3.0)
    y.exp().sum().backward()
    return y, x.grad


def _once_first_order(torch, f, x):
    f["OnceExp"].apply(x).sum().backward()
    return x.grad


def _once_double(torch, f, x, square):
    y = f["OnceExp"].apply(x)
    out = (y * y).sum() if square else y.sum()
    g, = torch.autograd.grad(out, x, create_graph=True)
    g.sum().backward()
    return x.grad


def _double_backward(torch, f, x):
    g, = torch.autograd.grad(f["Cube"].apply(x).sum(), x, create_graph=True)
    g2, = torch.autograd.grad(g.sum(), x)
    return g, g2


def _in_bigger_graph(torch, f, x):
    seen = []
    w = leaf(torch, [[1.0, -1.0], [0.5, 2.0], [0.0, 1.5]])
    h = x @ w
    h.register_hook(lambda g: seen.append(("h", g.clone())))
    y = f["Exp"].apply(h * 0.5)
    y.register_hook(lambda g: (seen.append(("y", g.clone())), g * 2)[1])
    z = f["MulConstant"].apply(y.tanh(), 3.0) + h
    z.sum().backward()
    return seen, x.grad, w.grad


def _freed(torch, f, x):
    y = f["Exp"].apply(x).sum()
    y.backward()
    y.backward()


def _under_no_grad(torch, f, x):
    with torch.no_grad():
        y = f["Exp"].apply(x)
    return y.requires_grad, y.grad_fn is None


def _identity(torch, f, x):
    y = f["Identity"].apply(x)
    y.sum().backward()
    return y is x, y.is_leaf, x.grad


def _backward_twice_retained(torch, f, x):
    y = f["Cube"].apply(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    return x.grad


FUNCTIONS = {
    "basic": _basic,
    "non_tensor_argument": _non_tensor_argument,
    "needs_input_grad": _needs_input_grad,
    "mark_non_differentiable": _non_differentiable,
    "mark_dirty": _dirty,
    "mark_dirty_leaf": lambda t, f, x: f["AddOneInPlace"].apply(x),
    "no_materialize": lambda t, f, x: _materialize(t, f, x, "SplitNoMaterialize"),
    "materialize": lambda t, f, x: _materialize(t, f, x, "SplitMaterialize"),
    "setup_context": _setup_context,
    "once_first_order": _once_first_order,
    "once_double_backward": lambda t, f, x: _once_double(t, f, x, square=True),
    "once_double_backward_constant": lambda t, f, x: _once_double(t, f, x, square=False),
    "double_backward": _double_backward,
    "too_few_grads": lambda t, f, x: f["TooFew"].apply(x, x * 2).sum().backward(),
    "too_many_grads": lambda t, f, x: f["TooMany"].apply(x).sum().backward(),
    "extra_none_grads": lambda t, f, x: (f["ExtraNone"].apply(x).sum().backward(), x.grad),
    "wrong_shape_grad": lambda t, f, x: f["WrongShape"].apply(x).backward(),
    "in_bigger_graph": _in_bigger_graph,
    "freed": _freed,
    "retained": _backward_twice_retained,
    "under_no_grad": _under_no_grad,
    "identity": _identity,
    "save_for_backward_number": lambda t, f, x: f["SavesNumber"].apply(x),
    "grad_fn_name": lambda t, f, x: [f[n].apply(x).grad_fn.name() for n in ("Exp", "Cube")],
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_function(name):
    check(lambda torch: FUNCTIONS[name](torch, functions(torch), leaf(torch, X)),
          rtol=1e-5, atol=1e-5)
