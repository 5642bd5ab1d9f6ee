"""Tensor hooks, retain_grad, detach and requires_grad_ against torch."""
from __future__ import annotations

import pytest

from test_engine import X, check, leaf

pytest.importorskip("torch")


def _recorder(seen, tag, result=None):
    """A hook that logs (tag, grad) and returns `result(grad)` (None: keep the grad)."""
    def hook(g):
        seen.append((tag, g.clone()))
        return None if result is None else result(g)
    return hook


def _leaf_hook(torch, x):
    seen = []
    x.register_hook(_recorder(seen, "x"))
    (x * x).sum().backward()
    return seen, x.grad


def _leaf_hook_replaces(torch, x):
    x.register_hook(lambda g: g * 2)
    (x * 3).sum().backward()
    return x.grad


def _non_leaf_hook_replaces(torch, x):
    seen = []
    y = x.exp()
    y.register_hook(_recorder(seen, "y", lambda g: g * 3))
    (y * 2).sum().backward()
    return seen, x.grad


def _hook_order(torch, x):
    seen = []
    y = x * 2
    y.register_hook(_recorder(seen, "first", lambda g: g + 1))
    y.register_hook(_recorder(seen, "second", lambda g: g * 10))
    y.register_hook(_recorder(seen, "third"))
    x.register_hook(_recorder(seen, "leaf"))
    y.sum().backward()
    return seen, x.grad


def _handle_remove(torch, x):
    seen = []
    y = x * 2
    handle = y.register_hook(_recorder(seen, "removed", lambda g: g * 100))
    y.register_hook(_recorder(seen, "kept"))
    handle.remove()
    leaf_handle = x.register_hook(_recorder(seen, "leaf removed", lambda g: g * 0))
    leaf_handle.remove()
    y.sum().backward()
    return seen, x.grad


def _hook_sees_total(torch, x):
    seen = []
    y = x.sin()
    y.register_hook(_recorder(seen, "y"))
    (y * y + y * 3 + y.exp()).sum().backward()
    return seen, x.grad


def _hooks_in_grad(torch, x):
    seen = []
    x.register_hook(_recorder(seen, "x", lambda g: g * 2))
    y = x * 2
    y.register_hook(_recorder(seen, "y"))
    result = torch.autograd.grad((y * y).sum(), x)
    return seen, result, x.grad


def _hook_each_backward(torch, x):
    seen = []
    y = x * x
    y.register_hook(_recorder(seen, "y"))
    y.sum().backward(retain_graph=True)
    (y * 2).sum().backward()
    return seen, x.grad


def _retain_grad_with_hook(torch, x):
    y = x * 2
    y.retain_grad()
    y.register_hook(lambda g: g * 10)     # torch runs the retain_grad hook last
    z = y.exp()
    z.retain_grad()
    z.sum().backward()
    return y.grad, z.grad, x.grad, y.retains_grad, z.is_leaf


def _retain_grad_accumulates(torch, x):
    y = x * 3
    y.retain_grad()
    y.sum().backward(retain_graph=True)
    (y * y).sum().backward()
    return y.grad, x.grad


def _retain_grad_on_leaf(torch, x):
    x.retain_grad()
    x.sum().backward()
    return x.retains_grad, x.grad


def _post_accumulate(torch, x):
    seen = []

    def step(p):
        seen.append(p.grad.clone())
        with torch.no_grad():
            p -= 0.5 * p.grad
        p.grad = None
    handle = x.register_post_accumulate_grad_hook(step)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    handle.remove()
    (x * 3).sum().backward()
    return seen, x, x.grad


def _post_accumulate_twice_used(torch, x):
    seen = []
    x.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.clone()))
    (x * x + x).sum().backward()
    return seen


def _detach(torch, x):
    y = x * 2
    d = y.detach()
    out = (d * x).sum()
    out.backward()
    return d, d.requires_grad, d.is_leaf, d.grad_fn is None, x.grad


def _detach_shares_data(torch, x):
    d = x.detach()
    with torch.no_grad():
        d.zero_()
    return x, d


def _detach_inplace(torch, x):
    y = x * 2
    returned = y.detach_()
    return returned is y, y.requires_grad, y.is_leaf, y.grad_fn is None, y


def _requires_grad_toggle(torch, x):
    c = torch.ones(2, 3)
    returned = c.requires_grad_()
    default = (returned is c, c.requires_grad, c.is_leaf)
    (c * x).sum().backward()
    c.requires_grad_(False)
    x.requires_grad = False
    return default, c.grad, x.grad, c.requires_grad, (c * x).requires_grad


def _requires_grad_after_no_grad(torch, x):
    with torch.no_grad():
        y = x * 2
    y.requires_grad_()
    (y * y).sum().backward()
    return y.is_leaf, y.grad, x.grad


def _factory_requires_grad(torch, x):
    made = [torch.ones(2, requires_grad=True), torch.zeros(1, 2, requires_grad=True),
            torch.randn(3, requires_grad=True).detach(), torch.empty(2, requires_grad=True),
            torch.full((2,), 1.5, requires_grad=True), torch.ones_like(x, requires_grad=True)]
    return [(t.requires_grad, t.is_leaf, t.grad_fn is None) for t in made]


def _hook_under_create_graph(torch, x):
    seen = []
    y = x.exp()
    y.register_hook(lambda g: seen.append(g.requires_grad))
    g, = torch.autograd.grad((y * y).sum(), x, create_graph=True)
    (y * 2).sum().backward()
    return seen, g


def _hook_on_one_output_of_an_op(torch, x):
    seen = []
    values, indices = x.max(1)
    values.register_hook(_recorder(seen, "values", lambda g: g * 5))
    values.retain_grad()
    (values * torch.tensor([1.0, -1.0])).sum().backward()
    return seen, values.grad, x.grad


HOOKS = {
    "hook_under_create_graph": _hook_under_create_graph,
    "hook_on_one_output_of_an_op": _hook_on_one_output_of_an_op,
    "leaf_hook": _leaf_hook,
    "leaf_hook_replaces": _leaf_hook_replaces,
    "non_leaf_hook_replaces": _non_leaf_hook_replaces,
    "hook_order": _hook_order,
    "handle_remove": _handle_remove,
    "hook_sees_total": _hook_sees_total,
    "hooks_in_grad": _hooks_in_grad,
    "hook_each_backward": _hook_each_backward,
    "hook_without_grad": lambda t, x: t.ones(2).register_hook(lambda g: g),
    "retain_grad_with_hook": _retain_grad_with_hook,
    "retain_grad_accumulates": _retain_grad_accumulates,
    "retain_grad_on_leaf": _retain_grad_on_leaf,
    "retain_grad_without_grad": lambda t, x: t.ones(2).retain_grad(),
    "post_accumulate": _post_accumulate,
    "post_accumulate_twice_used": _post_accumulate_twice_used,
    "post_accumulate_non_leaf": lambda t, x: (x * 2).register_post_accumulate_grad_hook(print),
    "detach": _detach,
    "detach_shares_data": _detach_shares_data,
    "detach_inplace": _detach_inplace,
    "detach_inplace_leaf": lambda t, x: (x.detach_(), x.requires_grad),
    "requires_grad_toggle": _requires_grad_toggle,
    "requires_grad_after_no_grad": _requires_grad_after_no_grad,
    "factory_requires_grad": _factory_requires_grad,
}


@pytest.mark.parametrize("name", list(HOOKS))
def test_hooks(name):
    check(lambda torch: HOOKS[name](torch, leaf(torch, X)))
