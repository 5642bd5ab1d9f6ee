"""Views share their base: every view op x every in-place op, against torch.

For each case the same base is built in torch and jtorch, a view and a second alias are
taken, the view's metadata (stride, storage offset, contiguity, offset of data_ptr from the
base's, _base) is compared, an in-place op runs on the view, and the base, the view and the
second alias must then equal torch's (or both libraries raise the same exception class).
"""
from __future__ import annotations

import numpy as np
import pytest

import jtorch

torch = pytest.importorskip("torch")

SHAPE = (3, 4, 5)
DATA = np.random.default_rng(0).standard_normal(SHAPE).astype(np.float32)
CDATA = (DATA + 1j * DATA[::-1]).astype(np.complex64)

def _lib(x):
    return torch if isinstance(x, torch.Tensor) else jtorch


# (id, view of a base of SHAPE)
VIEWS = [
    ("int", lambda x: x[1]),
    ("slices", lambda x: x[1:3, ::2]),
    ("none_ellipsis", lambda x: x[None, ..., 1]),
    ("negative", lambda x: x[-1, :, -2]),
    ("empty_slice", lambda x: x[:, 4:]),
    ("view", lambda x: x.view(12, 5)),
    ("view_as", lambda x: x.view_as(x.new_zeros(60))),
    ("reshape", lambda x: x.reshape(4, 15)),
    ("flatten", lambda x: x.flatten(1)),
    ("ravel", lambda x: x.ravel()),
    ("unflatten", lambda x: x.unflatten(2, (5, 1))),
    ("transpose", lambda x: x.transpose(0, 2)),
    ("t", lambda x: x[0].t()),
    ("T", lambda x: x[0].T),
    ("mT", lambda x: x.mT),
    ("permute", lambda x: x.permute(2, 0, 1)),
    ("movedim", lambda x: x.movedim(0, -1)),
    ("swapaxes", lambda x: x.swapaxes(0, 1)),
    ("select", lambda x: x.select(1, 2)),
    ("narrow", lambda x: x.narrow(2, 1, 3)),
    ("expand", lambda x: x[:, :1].expand(3, 4, 5)),
    ("expand_as", lambda x: x[0, 0].expand_as(x[0])),
    ("squeeze", lambda x: x[:, :1].squeeze(1)),
    ("squeeze_all", lambda x: x[:1, 1:2].squeeze()),
    ("unsqueeze", lambda x: x.unsqueeze(1)),
    ("diagonal", lambda x: x.diagonal(1, 1, 2)),
    ("diagonal_neg", lambda x: x.diagonal(-1)),
    ("unfold", lambda x: x.unfold(2, 2, 2)),
    ("split", lambda x: x.split(2, dim=1)[1]),
    ("split_sizes", lambda x: x.split([1, 3], dim=1)[1]),
    ("chunk", lambda x: x.chunk(2, dim=2)[0]),
    ("unbind", lambda x: x.unbind(1)[2]),
    ("tensor_split", lambda x: x.tensor_split([1, 3], dim=2)[1]),
    ("as_strided", lambda x: x.as_strided((2, 3), (5, 1), 7)),
    ("as_strided_of_view", lambda x: x[1].as_strided((2, 2), (1, 5))),
    ("atleast_3d", lambda x: _lib(x).atleast_3d(x[0, 0])),
    ("broadcast_tensors", lambda x: _lib(x).broadcast_tensors(x[0], x[1, :1])[1]),
    ("meshgrid", lambda x: _lib(x).meshgrid(x[0, 0], x[1, 1], indexing="xy")[1]),
    ("view_dtype", lambda x: x.view(_lib(x).int32)),
    ("view_dtype_narrower", lambda x: x[1:, :, 1:4].view(_lib(x).int16)),
    ("detach", lambda x: x.detach()),
    ("data", lambda x: x.data),
    ("view_of_view", lambda x: x[1].t()[2:]),
    ("reshape_of_view", lambda x: x[1:].reshape(2, 20)),
    ("view_of_narrow", lambda x: x[:, 1:3].view(3, 2, 5)),
    ("view_of_transpose_last", lambda x: x.transpose(0, 1).view(4, 3, 5)),
    # copies in torch: a write into them must not reach the base
    ("reshape_copies", lambda x: x.transpose(0, 1).reshape(-1)),
    ("contiguous_copies", lambda x: x.transpose(0, 1).contiguous()),
    ("flatten_copies", lambda x: x[:, ::2].flatten()),
]

COMPLEX_VIEWS = [
    ("real", lambda x: x.real),
    ("imag", lambda x: x.imag),
    ("view_as_real", lambda x: _lib(x).view_as_real(x)),
    ("real_of_slice", lambda x: x[1:, 2].real),
]


def _mask(v):
    return v > 0.3


# (id, in-place op on a view)
INPLACE = [
    ("add_", lambda v: v.add_(1.5)),
    ("mul_", lambda v: v.mul_(-2)),
    ("zero_", lambda v: v.zero_()),
    ("fill_", lambda v: v.fill_(3.0)),
    ("copy_", lambda v: v.copy_(v * 0 + 7)),
    ("clamp_", lambda v: v.clamp_(-0.2, 0.5)),
    ("sigmoid_", lambda v: v.sigmoid_()),
    ("masked_fill_", lambda v: v.masked_fill_(_mask(v), -4.0)),
    ("iadd", lambda v: v.__iadd__(2)),
    ("setitem_first", lambda v: v.__setitem__(0, 9.0)),
    ("setitem_mask", lambda v: v.__setitem__(_mask(v), -2.0)),
    ("setitem_ellipsis", lambda v: v.__setitem__(..., 5.0)),
]


def _numpy(t):
    t = t.detach()
    # a copy: torch's numpy() shares the tensor's memory, so later writes would show in it
    return np.array(t.resolve_conj().numpy() if isinstance(t, torch.Tensor) else t.numpy())


def _meta(lib, base, view):
    shared = view.untyped_storage().data_ptr() == base.untyped_storage().data_ptr()
    offset = view.data_ptr() - base.data_ptr() if shared and view.numel() else None
    return (tuple(view.shape), view.stride(), view.storage_offset(), view.is_contiguous(),
            shared, offset, view._base is base, view._is_view())


def _run(lib, data, view_fn, op_fn):
    base = lib.from_numpy(data.copy())
    second = base.view(-1)
    view = view_fn(base)
    meta = _meta(lib, base, view)
    try:
        op_fn(view)
        raised = None
    except Exception as e:      # noqa: BLE001 - the exception class is compared
        raised = type(e).__name__
    return meta, raised, _numpy(base), _numpy(view), _numpy(second)


def _compare(view_fn, op_fn, data):
    t_meta, t_raised, *t_values = _run(torch, data, view_fn, op_fn)
    j_meta, j_raised, *j_values = _run(jtorch, data, view_fn, op_fn)
    assert j_meta == t_meta, f"(shape, stride, offset, contiguous, shares storage, ptr " \
                             f"offset, _base, _is_view): jtorch {j_meta}, torch {t_meta}"
    assert j_raised == t_raised, f"raised: jtorch {j_raised}, torch {t_raised}"
    for name, j, t in zip(("base", "view", "second view"), j_values, t_values):
        np.testing.assert_allclose(j, t, rtol=1e-6, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("op_id,op_fn", INPLACE, ids=[i for i, _ in INPLACE])
@pytest.mark.parametrize("view_id,view_fn", VIEWS, ids=[i for i, _ in VIEWS])
def test_view_inplace(view_id, view_fn, op_id, op_fn):
    _compare(view_fn, op_fn, DATA)


COMPLEX_INPLACE = [(i, f) for i, f in INPLACE if i not in ("clamp_", "sigmoid_")]


@pytest.mark.parametrize("op_id,op_fn", COMPLEX_INPLACE, ids=[i for i, _ in COMPLEX_INPLACE])
@pytest.mark.parametrize("view_id,view_fn", COMPLEX_VIEWS, ids=[i for i, _ in COMPLEX_VIEWS])
def test_complex_view_inplace(view_id, view_fn, op_id, op_fn):
    _compare(view_fn, op_fn, CDATA)


def test_overlapping_unfold_metadata():
    # torch's in-place ops on overlapping windows depend on its loop order (documented as
    # undefined); only the view itself is compared
    def program(lib):
        base = lib.from_numpy(DATA.copy())
        v = base.unfold(2, 3, 1)
        return _meta(lib, base, v), _numpy(v)
    j, t = program(jtorch), program(torch)
    assert j[0] == t[0]
    np.testing.assert_array_equal(j[1], t[1])


def test_writes_reach_every_alias():
    def program(lib):
        base = lib.zeros(4, 6)
        a, b, c = base[1], base[:, 2], base.t()[3:]
        a.add_(1)
        b.mul_(3)
        c[0, 0] = 5
        base[3] = 2
        return [_numpy(t) for t in (base, a, b, c)]
    for j, t in zip(program(jtorch), program(torch)):
        np.testing.assert_array_equal(j, t)


def test_unbind_loop_writes_rows():
    def program(lib):
        base = lib.arange(12.0).reshape(3, 4)
        for k, row in enumerate(base):
            row.mul_(k)
        return _numpy(base)
    np.testing.assert_array_equal(program(jtorch), program(torch))


def test_view_refuses_incompatible_layout():
    x = jtorch.zeros(3, 4).t()
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.view(12)
    y = x.reshape(12)       # a copy
    y[0] = 1
    assert x.sum().item() == 0 and y._base is None


def test_version_counter_follows_torch():
    def program(lib):
        x = lib.zeros(3, 4)
        v, d, data = x[0], x.detach(), x.data
        out = [x._version]
        v.add_(1)
        out.append((x._version, v._version, d._version, data._version))
        data.add_(1)
        out.append((x._version, data._version))
        x[1] = 2
        out.append((x._version, v._version))
        return out
    assert program(jtorch) == program(torch)


def test_storage_identity():
    x = jtorch.zeros(4, 5)
    assert x[1:].untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    assert x[1:].data_ptr() == x.data_ptr() + 5 * 4
    assert x.detach().data_ptr() == x.data_ptr()
    assert jtorch.zeros(4, 5).data_ptr() != x.data_ptr()
    assert x[2].is_set_to(x.select(0, 2)) and not x[2].is_set_to(x[1])


def test_shape_inplace_keeps_aliases():
    def program(lib):
        x = lib.arange(6.0).reshape(2, 3)
        v = x[0]
        x.t_()
        x[0, 1] = 10      # x is now (3, 2) over the same storage
        x.unsqueeze_(0)
        return _numpy(x), _numpy(v), x.stride(), x.is_contiguous()
    j, t = program(jtorch), program(torch)
    np.testing.assert_array_equal(j[0], t[0])
    np.testing.assert_array_equal(j[1], t[1])
    assert j[2:] == t[2:]


def test_data_setter_shares_storage():
    def program(lib):
        p = lib.zeros(3)
        q = lib.ones(2)
        old = p[1:]
        p.data = q
        p.add_(1)
        return _numpy(p), _numpy(q), _numpy(old)
    for j, t in zip(program(jtorch), program(torch)):
        np.testing.assert_array_equal(j, t)


def test_no_grad_sgd_updates_alias_and_keep_graphs():
    def program(lib):
        w = lib.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
        row = w[0]          # a view of a parameter, taken once
        seen = []
        for _ in range(3):
            loss = (w * w).sum() + row.sum()
            loss.backward()
            with lib.no_grad():
                w -= 0.1 * w.grad
                w.grad.zero_()
            seen.append(_numpy(row))
        return _numpy(w), seen, w.is_leaf, w.requires_grad
    j, t = program(jtorch), program(torch)
    np.testing.assert_allclose(j[0], t[0], rtol=1e-6)
    np.testing.assert_allclose(np.stack(j[1]), np.stack(t[1]), rtol=1e-6)
    assert j[2:] == t[2:]
