"""Autograd through in-place ops and views, against torch: gradients, grad_fn names, the
leaf errors and the version-counter error."""
from __future__ import annotations

import pytest

from test_engine import X, check, leaf

pytest.importorskip("torch")

C = [[1.0, -2.0, 0.5], [0.25, 3.0, -1.5]]


def _grads(torch, loss, *leaves):
    loss.backward()
    return [t.grad for t in leaves]


def _setitem_nonleaf(torch, x):
    y = x.clone()
    y[0] = 0
    return _grads(torch, (y * y).sum(), x), y.grad_fn.name()


def _mul_view_by_tensor(torch, x):
    w = leaf(torch, [2.0, -1.0])
    y = x * 1
    y[:, 1].mul_(w)
    return _grads(torch, (y * torch.tensor(C)).sum(), x, w)


def _view_of_transpose(torch, x):
    y = x.clone()
    v = y.t()
    v[0].add_(2 * x[1, :2])
    return _grads(torch, (y ** 2).sum(), x)


def _relu_inplace(torch, x):
    y = x * 2
    y.relu_()
    return _grads(torch, (y * torch.tensor(C)).sum(), x), y.grad_fn.name()


def _build_from_pieces(torch, x):
    b = torch.zeros(3, 3)
    b[0] = x[0]
    b[1:].copy_(x[1].expand(2, 3) * 2)
    return _grads(torch, (b * b).sum(), x), b.requires_grad, b.is_leaf


def _view_of_view(torch, x):
    y = x.clone()
    y[1:][0].mul_(3)
    return _grads(torch, (y * torch.tensor(C)).sum(), x)


def _overlapping_views(torch, x):
    y = x.clone()
    row, col = y[0], y[:, 0]
    row.mul_(2)
    return _grads(torch, (col * torch.tensor([1.0, 2.0])).sum(), x), col.grad_fn.name()


def _unbind_rows(torch, x):
    y = x.clone()
    for k, row in enumerate(y):
        row.mul_(k + 2)
    return _grads(torch, (y * torch.tensor(C)).sum(), x)


def _transpose_select_zero(torch, x):
    out = x @ torch.tensor([[1.0, 0.5], [-1.0, 2.0], [0.3, 0.0]])
    out.transpose(0, 1)[0].zero_()
    return _grads(torch, (out ** 2).sum(), x), out


def _base_used_after_view_write(torch, x):
    y = x.exp()
    v = y[:, 1:]
    v.sub_(x[:, :2])
    return _grads(torch, y.sum() + v.sum(), x)


def _masked_setitem(torch, x):
    y = x.clone()
    y[y > 0.4] = 0
    return _grads(torch, (y * torch.tensor(C)).sum(), x)


def _index_put_tensor(torch, x):
    v = leaf(torch, [5.0, 6.0])
    y = x.clone()
    y[torch.tensor([0, 1]), torch.tensor([2, 0])] = v * v
    return _grads(torch, (y * torch.tensor(C)).sum(), x, v)


def _write_into_plain_base(torch, x):
    b = torch.zeros(2, 3)
    b[:, 1:].add_(x[:, :2] * x[:, 1:])
    return _grads(torch, (b * torch.tensor(C)).sum(), x), b.grad_fn.name()


def _detach_write_keeps_grad(torch, x):
    y = x * 3
    y.detach().zero_()      # changes y's values, not its graph
    return _grads(torch, (y * torch.tensor(C)).sum(), x), y


def _data_write(torch, x):
    y = x * 3
    y.data.add_(1)
    return _grads(torch, (y * y).sum(), x)


def _inplace_on_leaf(torch, x):
    x.add_(1)


def _setitem_on_leaf(torch, x):
    x[0] = 1


def _view_of_leaf(torch, x):
    x[0].mul_(2)


def _view_of_leaf_no_grad(torch, x):
    with torch.no_grad():
        x[0].mul_(2)
        x[1] = 5
    return _grads(torch, (x * x).sum(), x), x.is_leaf


def _modified_input(torch, x):
    y = x * 2
    z = y * y
    y.add_(1)
    z.sum().backward()


def _modified_leaf(torch, x):
    z = x * x
    with torch.no_grad():
        x.mul_(2)
    z.sum().backward()


def _modified_through_view(torch, x):
    y = x * 2
    z = y.sin()
    y[0].zero_()
    z.sum().backward()


def _modified_not_saved(torch, x):
    # add saves nothing; exp saves its result: torch computes these gradients
    y = x * 2
    a = y + 1
    b = y.exp()
    y.mul_(3)
    return _grads(torch, a.sum() + b.sum(), x)


def _result_modified(torch, x):
    y = x.sigmoid()
    y.mul_(2)
    y.sum().backward()


def _result_modified_by_its_own_inplace(torch, x):
    y = x * 1
    y.exp_()
    return _grads(torch, (y * y).sum(), x)


def _multi_output_no_grad_ok(torch, x):
    y = x.clone()
    with torch.no_grad():
        for row in y:
            row.mul_(2)
    return _grads(torch, (y * y).sum(), x)


def _view_made_in_no_grad(torch, x):
    y = x.clone()
    with torch.no_grad():
        v = y[0]
    v.mul_(2)


def _modified_after_backward_ok(torch, x):
    y = x * 2
    z = y * y
    z.sum().backward(retain_graph=True)
    return x.grad


PROGRAMS = {
    "setitem_nonleaf": _setitem_nonleaf,
    "mul_view_by_tensor": _mul_view_by_tensor,
    "view_of_transpose": _view_of_transpose,
    "relu_inplace": _relu_inplace,
    "build_from_pieces": _build_from_pieces,
    "view_of_view": _view_of_view,
    "overlapping_views": _overlapping_views,
    "unbind_rows": _unbind_rows,
    "transpose_select_zero": _transpose_select_zero,
    "base_used_after_view_write": _base_used_after_view_write,
    "masked_setitem": _masked_setitem,
    "index_put_tensor": _index_put_tensor,
    "write_into_plain_base": _write_into_plain_base,
    "detach_write_keeps_grad": _detach_write_keeps_grad,
    "data_write": _data_write,
    "inplace_on_leaf": _inplace_on_leaf,
    "setitem_on_leaf": _setitem_on_leaf,
    "view_of_leaf": _view_of_leaf,
    "view_of_leaf_no_grad": _view_of_leaf_no_grad,
    "modified_input": _modified_input,
    "modified_leaf": _modified_leaf,
    "modified_through_view": _modified_through_view,
    "modified_not_saved": _modified_not_saved,
    "modified_after_backward_ok": _modified_after_backward_ok,
    "result_modified": _result_modified,
    "result_modified_by_its_own_inplace": _result_modified_by_its_own_inplace,
    "multi_output_no_grad_ok": _multi_output_no_grad_ok,
    "view_made_in_no_grad": _view_made_in_no_grad,
}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_inplace_autograd(name):
    check(lambda torch: PROGRAMS[name](torch, leaf(torch, X)))


def test_version_error_message_names_the_tensor():
    import jtorch
    x = leaf(jtorch, X)
    y = x * 2
    z = y * y
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation: "
                       r"\[torch.FloatTensor \[2, 3\]\], which is output 0 of Add"):
        z.sum().backward()


def test_view_of_detached_alias_takes_a_grad_input():
    def program(torch):
        x = leaf(torch, X)
        d = (x * 1).detach()
        w = leaf(torch, [2.0, -1.0, 0.5])
        v = d[0]
        v.mul_(w)
        v.sum().backward()
        # torch also gives d a CopySlices grad_fn here; jtorch leaves d out of the graph
        return w.grad, v.requires_grad
    check(program)
