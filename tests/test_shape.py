"""Shape, view and joining ops against torch: one row per case, values or exception class."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import jtorch  # noqa: E402
from opinfo_harness import compare  # noqa: E402


def _array(spec):
    """A test input: a shape (float32 arange) or a ready numpy array."""
    if isinstance(spec, tuple):
        return np.arange(int(np.prod(spec)), dtype=np.float32).reshape(spec)
    return np.asarray(spec)


def _ints(*shape):
    return np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)


# (id, fn(T, *tensors), input specs); T is the torch or jtorch module
CASES = [
    # view / reshape
    ("view_varargs", lambda T, a: a.view(3, 2), [(2, 3)]),
    ("view_tuple", lambda T, a: a.view((6,)), [(2, 3)]),
    ("view_infer", lambda T, a: a.view(-1, 2), [(2, 3)]),
    ("view_size", lambda T, a: a.view(a.shape), [(2, 3)]),
    ("view_tensor_dim", lambda T, a: a.view(T.tensor(3), 2), [(2, 3)]),
    ("view_bad", lambda T, a: a.view(4, -1), [(2, 3)]),
    ("view_two_infer", lambda T, a: a.view(-1, -1), [(2, 3)]),
    ("view_negative", lambda T, a: a.view(-2, 3), [(2, 3)]),
    ("view_empty_infer", lambda T, a: a.view(0, -1), [(0, 3)]),
    ("view_dtype_same", lambda T, a: a.view(T.int32), [(2, 3)]),
    ("view_dtype_smaller", lambda T, a: a.view(T.int16), [(2, 3)]),
    ("view_dtype_larger", lambda T, a: a.view(T.float64), [(2, 4)]),
    ("view_dtype_bool", lambda T, a: a.view(T.uint8), [np.array([True, False])]),
    ("view_dtype_indivisible", lambda T, a: a.view(T.float64), [(2, 3)]),
    ("view_dtype_0dim", lambda T, a: a.view(T.int8), [()]),
    ("view_dtype_to_complex", lambda T, a: a.view(T.complex64), [(2, 4)]),
    ("view_dtype_from_complex", lambda T, a: a.view(T.int16),
     [np.array([1 + 2j, -3j], np.complex64)]),
    ("view_as", lambda T, a, b: a.view_as(b), [(2, 3), (3, 2)]),
    ("view_copy", lambda T, a: T.view_copy(a, [3, 2]), [(2, 3)]),
    ("reshape_fn", lambda T, a: T.reshape(a, (-1,)), [(2, 3)]),
    ("reshape_bad", lambda T, a: a.reshape(4), [(2, 3)]),
    ("reshape_as", lambda T, a, b: a.reshape_as(b), [(2, 3), (6,)]),
    ("flatten", lambda T, a: a.flatten(1), [(2, 3, 4)]),
    ("flatten_0d", lambda T, a: T.flatten(a), [()]),
    ("flatten_bad", lambda T, a: a.flatten(2, 1), [(2, 3, 4)]),
    ("ravel", lambda T, a: a.ravel(), [(2, 3)]),
    ("unflatten", lambda T, a: a.unflatten(1, (2, -1)), [(2, 6)]),
    ("unflatten_bad", lambda T, a: a.unflatten(1, (4, 2)), [(2, 6)]),
    # permutations
    ("permute_varargs", lambda T, a: a.permute(2, 0, 1), [(2, 3, 4)]),
    ("permute_list", lambda T, a: T.permute(a, [-1, 0, 1]), [(2, 3, 4)]),
    ("permute_short", lambda T, a: a.permute(0), [(2, 3)]),
    ("permute_dup", lambda T, a: a.permute(0, 0), [(2, 3)]),
    ("transpose", lambda T, a: a.transpose(0, -1), [(2, 3, 4)]),
    ("swapaxes", lambda T, a: a.swapaxes(0, 1), [(2, 3)]),
    ("swapdims", lambda T, a: T.swapdims(a, 0, 1), [(2, 3)]),
    ("transpose_range", lambda T, a: a.transpose(0, 5), [(2, 3)]),
    ("t", lambda T, a: a.t(), [(2, 3)]),
    ("t_1d", lambda T, a: a.t(), [(3,)]),
    ("t_3d", lambda T, a: a.t(), [(2, 2, 2)]),
    ("T", lambda T, a: a.T, [(2, 3, 4)]),
    ("movedim", lambda T, a: T.movedim(a, (0, 1), (2, 0)), [(2, 3, 4)]),
    ("moveaxis", lambda T, a: a.moveaxis(0, -1), [(2, 3, 4)]),
    ("movedim_mismatch", lambda T, a: T.movedim(a, (0, 1), (0,)), [(2, 3)]),
    # squeeze / unsqueeze
    ("squeeze_all", lambda T, a: a.squeeze(), [(1, 2, 1)]),
    ("squeeze_dim", lambda T, a: a.squeeze(-1), [(1, 2, 1)]),
    ("squeeze_dims", lambda T, a: a.squeeze((0, 1)), [(1, 2, 1)]),
    ("squeeze_range", lambda T, a: a.squeeze(3), [(2, 3)]),
    ("unsqueeze", lambda T, a: a.unsqueeze(-1), [(2, 3)]),
    ("unsqueeze_range", lambda T, a: a.unsqueeze(4), [(2, 3)]),
    ("unsqueeze_0d", lambda T, a: a.unsqueeze(0), [()]),
    # expand / broadcast
    ("expand", lambda T, a: a.expand(2, 3, -1), [(3, 1)]),
    ("expand_list", lambda T, a: a.expand([4, 3, 2]), [(3, 1)]),
    ("expand_bad", lambda T, a: a.expand(3, 3), [(2, 3)]),
    ("expand_few", lambda T, a: a.expand(3), [(2, 3)]),
    ("expand_lead_infer", lambda T, a: a.expand(-1, 2, 3), [(2, 3)]),
    ("expand_as", lambda T, a, b: a.expand_as(b), [(1, 3), (2, 3)]),
    ("broadcast_to", lambda T, a: T.broadcast_to(a, (2, 3)), [(3,)]),
    ("broadcast_tensors", lambda T, a, b: T.broadcast_tensors(a, b), [(3, 1), (4,)]),
    ("broadcast_tensors_bad", lambda T, a, b: T.broadcast_tensors(a, b), [(2, 3), (4,)]),
    ("broadcast_shapes", lambda T: T.broadcast_shapes((2, 1), (3,), 1), []),
    ("broadcast_shapes_bad", lambda T: T.broadcast_shapes((2, 3), (4,)), []),
    ("sum_to_size", lambda T, a: a.sum_to_size(1, 3), [(2, 3)]),
    ("sum_to_size_bad", lambda T, a: a.sum_to_size(2), [(2, 3)]),
    ("sum_to_size_bool", lambda T, a: a.sum_to_size(3), [np.ones((2, 3), bool)]),
    ("sum_to_size_same_int8", lambda T, a: a.sum_to_size(2, 3), [np.ones((2, 3), np.int8)]),
    ("sum_to_size_0d", lambda T, a: a.sum_to_size(()), [np.array(True)]),
    # keyword forms of the varargs methods
    ("kw_permute", lambda T, a: a.permute(dims=(1, 0)), [(2, 3)]),
    ("kw_view", lambda T, a: a.view(size=(3, 2)), [(2, 3)]),
    ("kw_reshape", lambda T, a: a.reshape(shape=(3, 2)), [(2, 3)]),
    ("kw_expand", lambda T, a: a.expand(size=(2, 2, 3)), [(2, 3)]),
    ("kw_repeat", lambda T, a: a.repeat(repeats=(2, 1)), [(2, 3)]),
    ("kw_flip", lambda T, a: a.flip(dims=(0,)), [(2, 3)]),
    ("kw_tile", lambda T, a: a.tile(dims=(2,)), [(2, 3)]),
    ("kw_split", lambda T, a: a.split(split_size=1), [(2, 3)]),
    ("kw_tensor_split", lambda T, a: a.tensor_split(indices=(1,)), [(2, 3)]),
    ("kw_hsplit", lambda T, a: T.hsplit(a, sections=3), [(2, 3)]),
    # cat / stack
    ("cat", lambda T, a, b: T.cat([a, b], 1), [(2, 3), (2, 1)]),
    ("cat_promote", lambda T, a, b: T.cat((a, b)), [(2, 3), _ints(1, 3)]),
    ("cat_promote_bool", lambda T, a, b: T.cat((a, b)), [np.array([True]), _ints(2)]),
    ("cat_legacy_empty", lambda T, a, b: T.cat([a, b, a], 0), [(2, 3), np.zeros(0, np.float64)]),
    ("cat_sizes", lambda T, a, b: T.cat([a, b]), [(2, 3), (2, 4)]),
    ("cat_ndims", lambda T, a, b: T.cat([a, b], 1), [(2, 3), (2,)]),
    ("cat_dim_range", lambda T, a: T.cat([a, a], 5), [(2, 3)]),
    ("cat_0d", lambda T, a: T.cat([a, a]), [()]),
    ("cat_empty_list", lambda T: T.cat([]), []),
    ("concat", lambda T, a: T.concat([a, a], dim=-1), [(2, 3)]),
    ("concatenate", lambda T, a: T.concatenate([a, a], axis=1), [(2, 3)]),
    ("cat_out", lambda T, a: T.cat([a, a], out=T.zeros(1)), [(2, 3)]),
    ("stack", lambda T, a, b: T.stack([a, b], -1), [(2, 3), _ints(2, 3)]),
    ("stack_bad", lambda T, a, b: T.stack([a, b]), [(2, 3), (3, 2)]),
    ("stack_empty", lambda T: T.stack([]), []),
    ("hstack", lambda T, a, b: T.hstack((a, b)), [(2,), (3,)]),
    ("hstack_2d", lambda T, a, b: T.hstack((a, b)), [(2, 1), (2, 3)]),
    ("vstack", lambda T, a, b: T.vstack((a, b)), [(3,), (2, 3)]),
    ("row_stack", lambda T, a, b: T.row_stack((a, b)), [(3,), (3,)]),
    ("dstack", lambda T, a, b: T.dstack((a, b)), [(3,), (1, 3)]),
    ("column_stack", lambda T, a, b, c: T.column_stack((a, b, c)), [(), (1,), (1, 2)]),
    ("hstack_empty", lambda T: T.hstack([]), []),
    ("column_stack_empty", lambda T: T.column_stack([]), []),
    ("atleast_1d", lambda T, a: T.atleast_1d(a), [()]),
    ("atleast_2d_many", lambda T, a, b: T.atleast_2d(a, b), [(), (3,)]),
    ("atleast_3d_list", lambda T, a, b: T.atleast_3d([a, b]), [(3,), (2, 3)]),
    # splits
    ("split_int", lambda T, a: a.split(2, 1), [(2, 5)]),
    ("split_list", lambda T, a: T.split(a, [1, 4], dim=1), [(2, 5)]),
    ("split_bad_sum", lambda T, a: a.split([1, 1], 1), [(2, 5)]),
    ("split_zero", lambda T, a: a.split(0), [(2, 5)]),
    ("split_empty", lambda T, a: a.split(2), [(0,)]),
    ("split_with_sizes", lambda T, a: a.split_with_sizes([3, 2], -1), [(2, 5)]),
    ("unsafe_split", lambda T, a: T.unsafe_split(a, 3), [(5,)]),
    ("chunk", lambda T, a: a.chunk(3), [(5,)]),
    ("chunk_more", lambda T, a: a.chunk(4, 0), [(6,)]),
    ("chunk_empty", lambda T, a: a.chunk(3), [(0,)]),
    ("chunk_zero", lambda T, a: a.chunk(0), [(5,)]),
    ("tensor_split_sections", lambda T, a: a.tensor_split(3, 1), [(2, 7)]),
    ("tensor_split_indices", lambda T, a: T.tensor_split(a, (1, -2, 9)), [(6,)]),
    ("tensor_split_decreasing", lambda T, a: T.tensor_split(a, [4, 1]), [(6,)]),
    ("tensor_split_tensor", lambda T, a: T.tensor_split(a, T.tensor([2, 4])), [(6,)]),
    ("tensor_split_tensor0d", lambda T, a: T.tensor_split(a, T.tensor(4)), [(6,)]),
    ("tensor_split_float", lambda T, a: T.tensor_split(a, T.tensor([1.0])), [(6,)]),
    ("hsplit", lambda T, a: T.hsplit(a, 2), [(2, 4)]),
    ("hsplit_bad", lambda T, a: T.hsplit(a, 3), [(2, 4)]),
    ("vsplit_list", lambda T, a: a.vsplit([1]), [(3, 2)]),
    ("vsplit_1d", lambda T, a: T.vsplit(a, 1), [(3,)]),
    ("dsplit", lambda T, a: T.dsplit(a, 2), [(1, 2, 4)]),
    ("unbind", lambda T, a: a.unbind(1), [(2, 3)]),
    ("unbind_copy", lambda T, a: T.unbind_copy(a, -1), [(2, 3)]),
    ("iter", lambda T, a: list(a), [(3, 2)]),
    # select / narrow / slice / unfold
    ("select", lambda T, a: a.select(1, -1), [(2, 3)]),
    ("select_range", lambda T, a: a.select(0, 2), [(2, 3)]),
    ("select_tensor_index", lambda T, a: T.select(a, 0, T.tensor(1)), [(2, 3)]),
    ("narrow", lambda T, a: a.narrow(1, -2, 2), [(2, 3)]),
    ("narrow_tensor_start", lambda T, a: a.narrow(1, T.tensor(1), 2), [(2, 3)]),
    ("narrow_bad", lambda T, a: a.narrow(1, 2, 2), [(2, 3)]),
    ("narrow_start_range", lambda T, a: a.narrow(1, 4, 0), [(2, 3)]),
    ("narrow_copy", lambda T, a: T.narrow_copy(a, 0, 1, 1), [(2, 3)]),
    ("unfold", lambda T, a: a.unfold(1, 2, 1), [(2, 5)]),
    ("unfold_step", lambda T, a: a.unfold(-1, 2, 2), [(2, 5)]),
    ("unfold_0d", lambda T, a: a.unfold(0, 1, 1), [()]),
    ("unfold_big", lambda T, a: a.unfold(1, 6, 1), [(2, 5)]),
    ("unfold_copy", lambda T, a: T.unfold_copy(a, 0, 2, 1), [(3, 2)]),
    ("diagonal", lambda T, a: a.diagonal(1), [(3, 4)]),
    ("diagonal_dims", lambda T, a: T.diagonal(a, -1, 2, 0), [(3, 2, 4)]),
    ("diagonal_past_edge", lambda T, a: a.diagonal(5), [(3, 4)]),
    ("diagonal_same", lambda T, a: a.diagonal(0, 1, 1), [(3, 4)]),
    ("linalg_diagonal", lambda T, a: T.linalg.diagonal(a, offset=-1), [(2, 3, 3)]),
    ("select_scatter", lambda T, a, b: T.select_scatter(a, b, 1, 0), [(2, 3), (2,)]),
    ("select_scatter_bad", lambda T, a, b: T.select_scatter(a, b, 0, 0), [(2, 3), (2,)]),
    ("slice_scatter", lambda T, a, b: T.slice_scatter(a, b, 1, 0, None, 2), [(2, 4), (2, 2)]),
    ("diagonal_scatter", lambda T, a, b: T.diagonal_scatter(a, b, -1), [(3, 3), (2,)]),
    ("as_strided", lambda T, a: T.as_strided(a, (2, 2), (1, 3), 1), [(3, 3)]),
    ("as_strided_oob", lambda T, a: T.as_strided(a, (2, 2), (1, 3), 8), [(3, 3)]),
    ("as_strided_scatter", lambda T, a, b: T.as_strided_scatter(a, b, (2,), (4,)), [(3, 3), (2,)]),
    # reorder / repeat / pad
    ("flip", lambda T, a: a.flip(0, 1), [(2, 3)]),
    ("flip_fn", lambda T, a: T.flip(a, [-1]), [(2, 3)]),
    ("flip_dup", lambda T, a: a.flip(0, 0), [(2, 3)]),
    ("fliplr_1d", lambda T, a: T.fliplr(a), [(3,)]),
    ("flipud", lambda T, a: T.flipud(a), [(3, 2)]),
    ("roll_flat", lambda T, a: T.roll(a, 2), [(2, 3)]),
    ("roll_dims", lambda T, a: T.roll(a, (1, -1), (0, 1)), [(2, 3)]),
    ("roll_align", lambda T, a: T.roll(a, (1, 2), 0), [(2, 3)]),
    ("rot90", lambda T, a: T.rot90(a), [(2, 3)]),
    ("rot90_k", lambda T, a: T.rot90(a, -3, [1, 0]), [(2, 3, 2)]),
    ("rot90_same", lambda T, a: T.rot90(a, 1, (0, 0)), [(2, 3)]),
    ("repeat", lambda T, a: a.repeat(2, 1, 3), [(2, 3)]),
    ("repeat_few", lambda T, a: a.repeat(2), [(2, 3)]),
    ("tile", lambda T, a: a.tile(2), [(2, 3)]),
    ("tile_fn", lambda T, a: T.tile(a, (2, 1, 1)), [(2, 3)]),
    ("repeat_interleave", lambda T, a: a.repeat_interleave(2), [(2, 3)]),
    ("repeat_interleave_dim", lambda T, a: T.repeat_interleave(a, 2, dim=1), [(2, 3)]),
    ("repeat_interleave_tensor",
     lambda T, a: a.repeat_interleave(T.tensor([0, 2, 1]), dim=1), [(2, 3)]),
    ("repeat_interleave_counts", lambda T: T.repeat_interleave(T.tensor([1, 0, 2])), []),
    ("repeat_interleave_negative", lambda T, a: a.repeat_interleave(-1), [(2, 3)]),
    ("repeat_interleave_mismatch",
     lambda T, a: a.repeat_interleave(T.tensor([1, 2]), dim=1), [(2, 3)]),
    ("constant_pad_nd", lambda T, a: T.constant_pad_nd(a, (1, 2), 9.0), [(2, 3)]),
    ("constant_pad_nd_crop", lambda T, a: T.constant_pad_nd(a, (-1, 0, 1, 1)), [(2, 3)]),
    ("constant_pad_nd_int", lambda T, a: T.constant_pad_nd(a, (1, 1), 1.5), [_ints(2, 2)]),
    ("constant_pad_nd_odd", lambda T, a: T.constant_pad_nd(a, (1,)), [(2, 3)]),
    ("tril", lambda T, a: a.tril(), [(3, 4)]),
    ("triu_batch", lambda T, a: T.triu(a, -1), [(2, 3, 3)]),
    ("tril_int", lambda T, a: T.tril(a, 1), [_ints(3, 3)]),
    ("tril_1d", lambda T, a: T.tril(a), [(3,)]),
    ("diag_vec", lambda T, a: T.diag(a, 1), [(3,)]),
    ("diag_mat", lambda T, a: a.diag(-1), [(3, 4)]),
    ("diag_3d", lambda T, a: T.diag(a), [(2, 2, 2)]),
    ("diag_embed", lambda T, a: T.diag_embed(a, 1, 0, 2), [(2, 3)]),
    ("diagflat", lambda T, a: T.diagflat(a, -1), [(2, 2)]),
    # grids and products
    ("meshgrid_xy", lambda T, a, b: T.meshgrid(a, b, indexing="xy"), [(2,), (3,)]),
    ("meshgrid_list", lambda T, a, b: T.meshgrid([a, b], indexing="ij"), [(2,), ()]),
    ("meshgrid_dtypes", lambda T, a, b: T.meshgrid(a, b, indexing="ij"), [(2,), _ints(2)]),
    ("block_diag", lambda T, a, b, c: T.block_diag(a, b, c), [(), (2,), _ints(2, 2)]),
    ("block_diag_0d_promote", lambda T, a, b: T.block_diag(a, b), [np.array(1.0), (2,)]),
    ("cartesian_prod_dtypes", lambda T, a, b: T.cartesian_prod(a, b), [(2,), _ints(2)]),
    ("block_diag_3d", lambda T, a: T.block_diag(a), [(2, 2, 2)]),
    ("cartesian_prod", lambda T, a, b: T.cartesian_prod(a, b), [(2,), (3,)]),
    ("combinations", lambda T, a: T.combinations(a, 2), [(4,)]),
    ("combinations_repl", lambda T, a: T.combinations(a, 3, with_replacement=True), [(2,)]),
    ("combinations_none", lambda T, a: T.combinations(a, 2), [(1,)]),
    # empty and 0-dim corners
    ("roll_empty", lambda T, a: T.roll(a, 1), [(0, 3)]),
    ("roll_empty_dim", lambda T, a: T.roll(a, 2, 0), [(0, 3)]),
    ("stack_0d", lambda T, a, b: T.stack([a, b]), [(), ()]),
    ("hstack_0d", lambda T, a, b: T.hstack([a, b]), [(), ()]),
    ("diagonal_1d", lambda T, a: a.diagonal(), [(3,)]),
    ("tril_empty", lambda T, a: a.tril(), [(0, 3)]),
    ("tile_empty", lambda T, a: a.tile(2, 0), [(2,)]),
    ("repeat_interleave_empty", lambda T, a: a.repeat_interleave(3), [(0,)]),
    ("unbind_empty", lambda T, a: a.unbind(0), [(0, 3)]),
    ("squeeze_0d", lambda T, a: a.squeeze(0), [()]),
    ("transpose_0d", lambda T, a: a.transpose(0, -1), [()]),
    ("flip_0d", lambda T, a: a.flip(0), [()]),
    ("movedim_0d", lambda T, a: a.movedim(0, 0), [()]),
    ("expand_0d", lambda T, a: a.expand(2, 3), [()]),
    ("split_0d", lambda T, a: a.split(1), [()]),
    ("chunk_0d", lambda T, a: a.chunk(1), [()]),
    ("unflatten_0d", lambda T, a: a.unflatten(0, (1,)), [()]),
    ("select_0d", lambda T, a: a.select(0, 0), [()]),
    ("narrow_0d", lambda T, a: a.narrow(0, 0, 1), [()]),
    ("narrow_start_1d", lambda T, a: a.narrow(0, T.tensor([1]), 1), [(3, 2)]),
    ("narrow_start_bool", lambda T, a: a.narrow(0, T.tensor(True), 1), [(3, 2)]),
    ("narrow_start_0d", lambda T, a: a.narrow(0, T.tensor(1), 1), [(3, 2)]),
    ("narrow_copy_dim", lambda T, a: T.narrow_copy(a, 2, 0, 1), [(3, 2)]),
    ("narrow_copy_neg_dim", lambda T, a: T.narrow_copy(a, -3, 0, 1), [(3, 2)]),
    ("roll_0d", lambda T, a: T.roll(a, 0, 0), [()]),
    ("roll_0d_flat", lambda T, a: T.roll(a, 1), [()]),
    ("cat_none", lambda T, a: T.cat([a, None]), [(2, 3)]),
    ("diag_embed_0d", lambda T, a: T.diag_embed(a), [()]),
    ("diagflat_0d", lambda T, a: T.diagflat(a), [()]),
    ("rot90_empty", lambda T, a: T.rot90(a, 2), [(0, 2)]),
    ("cat_bool_int_empty", lambda T, a, b: T.cat([a, b]), [np.zeros((0, 2), bool), _ints(1, 2)]),
    ("meshgrid_one_xy", lambda T, a: T.meshgrid(a, indexing="xy"), [(3,)]),
    ("meshgrid_bad_indexing", lambda T, a: T.meshgrid(a, indexing="ab"), [(3,)]),
    # in-place shape changes
    ("unsqueeze_", lambda T, a: a.unsqueeze_(1), [(2, 3)]),
    ("squeeze_", lambda T, a: a.squeeze_(), [(1, 3, 1)]),
    ("transpose_", lambda T, a: a.transpose_(0, 1), [(2, 3)]),
    ("t_", lambda T, a: a.t_(), [(2, 3)]),
    ("tril_", lambda T, a: a.tril_(-1), [(3, 3)]),
    # copies
    ("clone", lambda T, a: T.clone(a), [(2, 3)]),
    ("contiguous", lambda T, a: a.contiguous(), [(2, 3)]),
    ("alias_copy", lambda T, a: T.alias_copy(a), [(2, 3)]),
    ("permute_copy", lambda T, a: T.permute_copy(a, (1, 0)), [(2, 3)]),
    ("expand_copy", lambda T, a: T.expand_copy(a, (2, 3)), [(3,)]),
]


@pytest.mark.parametrize("fn,specs", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_against_torch(fn, specs):
    arrays = [_array(s) for s in specs]
    try:
        expected = fn(torch, *[torch.from_numpy(a.copy()) for a in arrays])
    except Exception as e:
        with pytest.raises(type(e)):
            fn(jtorch, *[jtorch.from_numpy(a.copy()) for a in arrays])
        return
    actual = fn(jtorch, *[jtorch.from_numpy(a.copy()) for a in arrays])
    if isinstance(expected, torch.Size):
        assert isinstance(actual, jtorch.Size) and tuple(actual) == tuple(expected)
        return
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple), f"expected a tuple, got {type(actual)}"
    compare(expected, actual)


def test_views_are_differentiable_registry_ops():
    """The view-like functions go through the registry (so autograd records them)."""
    for name in ("reshape", "permute", "transpose", "cat", "stack", "split", "narrow", "clone"):
        assert callable(getattr(jtorch, name))
    x = jtorch.ones(2, 3)
    assert x.unbind(0)[0].shape == (3,)
    assert isinstance(x.split(1), tuple)


def test_dim_error_message():
    x = jtorch.ones(2, 3)
    with pytest.raises(IndexError, match=r"expected to be in range of \[-2, 1\], but got 5"):
        jtorch.cat([x, x], 5)
    with pytest.raises(RuntimeError, match=r"shape '\[4, -1\]' is invalid for input of size 6"):
        x.view(4, -1)
