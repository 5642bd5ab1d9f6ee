"""PyTorch aliasing over immutable jax arrays: views that share their base, writes through
any alias, version counters.

The model. A tensor that is not an alias owns its data: its `_value` is the truth. An alias
(a view such as `x[0]`, `x.t()`, a reshape that can alias, or `detach()`/`.data`) keeps
`_root`, the tensor that owns the storage, and `_view`, a `ViewInfo`: the chain of view steps
that computes the alias's array from the root's. The alias's `_value` is a cache.

A write through any alias replaces the root's array (a view scatters into it), then drops the
cached `_value` of every other alias of that root. The next read of a dropped `_value`
recomputes it from the root: `Tensor.__getattr__` runs only when an attribute is missing, so
tensors whose cache is fresh pay nothing for any of this.

Strides and storage offsets are torch's: each view op has a geometry rule (jtorch/_ops/
views.py) and a view's geometry is folded from its root's contiguous one on demand.
"""
from __future__ import annotations

import itertools
import sys
import weakref

import jax
import jax.numpy as jnp

from ._grad_state import STATE as _GRAD

__all__ = ["Chain", "ViewInfo", "apply_chain", "check_out_overlap", "check_overlap",
           "check_view_write", "compute_stride", "contiguous_strides", "data_ptr", "exclusive",
           "geometry", "make_alias", "make_view", "refresh", "reroot", "share_storage",
           "take_layout", "version_counter", "write", "write_with_grad"]

_ARRAY = type(jnp.zeros(()))


def contiguous_strides(shape) -> tuple:
    """torch's strides for a contiguous tensor of `shape` (size-0 dims count as 1)."""
    strides, acc = [], 1
    for s in reversed(shape):
        strides.append(acc)
        acc *= max(s, 1)
    return tuple(reversed(strides))


def compute_stride(old_shape, old_strides, new_shape):
    """Strides viewing (old_shape, old_strides) as new_shape without a copy, or None where
    torch's `view` would refuse (a new dim spans two non-contiguous old chunks)."""
    numel = 1
    for s in old_shape:
        numel *= s
    if not old_shape:
        return (1,) * len(new_shape)
    if numel == 0:
        return tuple(old_strides) if tuple(old_shape) == tuple(new_shape) \
            else contiguous_strides(new_shape)
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    base = old_strides[-1]
    tensor_numel = view_numel = 1
    for d in range(len(old_shape) - 1, -1, -1):
        tensor_numel *= old_shape[d]
        # a chunk ends where the next-outer dim is not laid out right after this one
        if d == 0 or (old_shape[d - 1] != 1 and old_strides[d - 1] != tensor_numel * base):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                new_strides[view_d] = view_numel * base
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if d > 0:
                base = old_strides[d - 1]
                tensor_numel = view_numel = 1
    if view_d != -1:
        return None
    return tuple(new_strides)


# -- view chains ----------------------------------------------------------------------------

class Chain:
    """The structure of a chain of view steps (ops and static keys, not the ints a step
    takes as traced scalars): hashable, and opaque to the op registry's key handling."""

    __slots__ = ("steps", "_hash")

    def __init__(self, steps):
        self.steps = steps      # ((op, key, number of extra ints, output index or None), ...)
        self._hash = None

    def __hash__(self):
        if self._hash is None:      # on first use as a cache key: most views never need it
            self._hash = hash(self.steps)
        return self._hash

    def __eq__(self, other):
        return type(other) is Chain and other.steps == self.steps


def apply_chain(chain: Chain, array, extras):
    """The view's array from its root's."""
    return _apply_steps(chain.steps, array, extras)


def _apply_steps(steps, array, extras):
    extras = iter(extras)
    for op, key, n, index in steps:
        array = op.kernel(key)(array, *[next(extras) for _ in range(n)])
        if index is not None:
            array = array[index]
    return array


def _scatter(steps, parent, child, extras):
    """`parent` with the elements that `steps` (pure data movements) show replaced by
    `child`: the steps run on the parent's flat positions to learn where each child element
    lives, then one scatter puts it there (elements shown twice, by expand, get one of the
    writes, as in torch)."""
    if len(steps) == 1 and getattr(steps[0][0], "view_reshape", False):
        return child.reshape(parent.shape).astype(parent.dtype)
    positions = jnp.arange(parent.size, dtype=jnp.int32 if parent.size < 2 ** 31
                           else jnp.int64).reshape(parent.shape)
    positions = _apply_steps(steps, positions, extras)
    unique = not any(getattr(op, "view_may_overlap", False) for op, _, _, _ in steps)
    flat = parent.reshape(-1).at[positions.reshape(-1)].set(
        child.reshape(-1).astype(parent.dtype), unique_indices=unique)
    return flat.reshape(parent.shape)


def _reinterprets(step) -> bool:
    return step[0].view_inverse is not None


def _write_chain_fn(chain: Chain):
    """fn(root, value, *extras): the root's array after `value` is written through the view
    that `chain` describes, innermost first: a step that reinterprets data (real, imag,
    view_as_real) is undone by its inverse, each run of data movements by one scatter."""
    steps = chain.steps
    offsets = list(itertools.accumulate([0] + [s[2] for s in steps]))

    def fn(root, value, *extras):
        arrays = [root]     # what each step sees (unused ones are dropped by XLA)
        for k in range(len(steps) - 1):
            arrays.append(_apply_steps(steps[k:k + 1], arrays[-1],
                                       extras[offsets[k]:offsets[k + 1]]))
        k = len(steps)
        while k > 0:
            if _reinterprets(steps[k - 1]):
                value = steps[k - 1][0].view_inverse(arrays[k - 1], value)
                k -= 1
                continue
            j = k - 1
            while j > 0 and not _reinterprets(steps[j - 1]):
                j -= 1
            value = _scatter(steps[j:k], arrays[j], value, extras[offsets[j]:offsets[k]])
            k = j
        return value
    return fn


_READERS: dict = {}
_WRITERS: dict = {}


def reader(chain: Chain):
    fn = _READERS.get(chain)
    if fn is None:
        fn = _READERS[chain] = jax.jit(lambda root, *extras: apply_chain(chain, root, extras))
    return fn


def writer(chain: Chain, donate: bool):
    fn = _WRITERS.get((chain, donate))
    if fn is None:
        fn = _WRITERS[(chain, donate)] = jax.jit(_write_chain_fn(chain),
                                                  donate_argnums=(0,) if donate else ())
    return fn


class ViewInfo:
    """How an alias sees its root: the chain of view steps, and torch's view metadata."""

    __slots__ = ("parent", "step", "extras", "shape", "differentiable", "is_view",
                 "made_in_no_grad", "geometry_cache", "_chain", "_all_extras")

    def __init__(self, parent, step, extras, shape, differentiable, is_view=True):
        self.parent = parent        # the ViewInfo of the tensor this one was taken from
        self.step = step            # (op, key, n extras, output index), None for detach()
        self.extras = extras        # the ints the step takes as traced scalars
        self.shape = shape
        self.differentiable = differentiable    # its grad_fn follows the root's
        self.is_view = is_view      # torch's _is_view(): False for detach() and .data
        self.made_in_no_grad = False    # torch refuses in-place writes into it under grad
        self.geometry_cache = None
        self._chain = None

    @property
    def chain(self) -> Chain:
        """All steps from the root (built on first use: most views are never written)."""
        if self._chain is None:
            parent = self.parent
            steps = parent.chain.steps if parent is not None else ()
            extras = parent.all_extras if parent is not None else ()
            if self.step is not None:
                steps = steps + (self.step,)
                extras = extras + self.extras
            self._chain = Chain(steps)
            self._all_extras = extras
        return self._chain

    @property
    def all_extras(self) -> tuple:
        """The ints of all the chain's steps, in order."""
        self.chain
        return self._all_extras


def geometry(t) -> tuple:
    """(shape, strides, storage_offset) of `t`, torch's."""
    info = t._view
    if info is None:
        shape = t._value.shape
        return shape, contiguous_strides(shape), 0
    return _fold(info, t._root._value.shape)


def _fold(info, root_shape):
    g = info.geometry_cache
    if g is not None:
        return g
    if info.parent is not None:
        parent = _fold(info.parent, root_shape)
    else:
        parent = (tuple(root_shape), contiguous_strides(root_shape), 0)
    if info.step is None:
        g = parent
    else:
        g = step_geometry(info.step, parent, info.extras, info.shape)
    info.geometry_cache = g
    return g


def _step_rule(op, key, parent, extras):
    """The op's geometry rule applied to its static arguments (and traced ints)."""
    from ._ops.registry import _thaw
    values = iter((None,) + tuple(extras))
    args = [_thaw(k, values) for k in key[0]]
    kwargs = {name: _thaw(k, values) for name, k in key[1]}
    return op.view_geometry(parent, *args[1:], **kwargs)


def step_geometry(step, parent, extras, shape):
    op, key, n, index = step
    out = _step_rule(op, key, parent, extras)
    if index is not None:
        out = out[index]
    strides, offset = out
    return tuple(shape), tuple(strides), offset


# -- creating aliases ---------------------------------------------------------------------

_PRUNE_AT = 64


def _register(root, alias):
    refs = root.__dict__.get("_aliases")
    if refs is None:
        refs = root._aliases = []
        root._aliases_limit = _PRUNE_AT
    refs.append(weakref.ref(alias))
    if len(refs) > root._aliases_limit:
        refs[:] = [r for r in refs if r() is not None]
        root._aliases_limit = 2 * len(refs) + _PRUNE_AT


def version_counter(t) -> list:
    """t's version counter ([version]), made on first use."""
    vc = t._vc
    if vc is None:
        vc = t._vc = [0]
    return vc


def make_view(op, key, arrays, source, result):
    """Mark `result` (a view op's output, or its tuple of outputs) as views of `source`."""
    extras = tuple(arrays[1:])
    for e in extras:
        if type(e) is not int:
            return      # an index given as an array: not a view
    if key not in op.kernels:
        return      # an op called with unhashable arguments runs without a cached kernel
    n = len(extras)
    root = source._root if source._view is not None else source
    parent = source._view
    known = None
    if parent is not None and getattr(op, "view_reshape", False):
        # a reshape of a view aliases only where torch's view would succeed; else a copy
        known = _step_rule(op, key, geometry(source), extras)
        if known is None:
            return
    # a view of a detach()ed alias is not part of its root's graph
    differentiable = _GRAD.enabled and (parent is None or parent.differentiable)
    no_grad = not _GRAD.enabled or (parent is not None and parent.made_in_no_grad)
    vc = version_counter(source)
    if isinstance(result, (tuple, list)):
        outputs = [(i, r) for i, r in enumerate(result)]
    else:
        outputs = ((None, result),)
    for index, r in outputs:
        info = ViewInfo(parent, (op, key, n, index), extras, r._value.shape, differentiable)
        info.made_in_no_grad = no_grad
        if op.view_is_alias_only:
            info.is_view = info.differentiable = False
        if known is not None:
            info.geometry_cache = (tuple(r._value.shape),) + tuple(known)
        r._root = root
        r._view = info
        r._vc = vc
        _register(root, r)


def make_alias(source, result, *, is_view: bool, share_version: bool):
    """`result` (already holding source's array) becomes an alias of `source` with the same
    shape: detach() (shares the version counter) and .data (does not)."""
    root = source._root if source._view is not None else source
    result._root = root
    result._view = ViewInfo(source._view, None, (), source._value.shape, False, is_view)
    result._vc = version_counter(source) if share_version else [0]
    _register(root, result)
    return result


# -- reading ----------------------------------------------------------------------------------

def _extras_array(info):
    # the ints of the chain's steps as one traced argument, for the recorded read/write ops
    return jnp.asarray(info.all_extras, dtype=jnp.int64) if info.all_extras else _NO_EXTRAS


_NO_EXTRAS = jnp.zeros((0,), jnp.int64)


def refresh(t):
    """Recompute a stale alias's `_value` from its root (and, for a view in a graph, its
    grad_fn: torch's regenerated AsStridedBackward)."""
    info = t._view
    root = t._root
    if info.differentiable and root._requires_grad:
        from ._ops.registry import OPS
        enabled, inference = _GRAD.enabled, _GRAD.inference
        _GRAD.enabled, _GRAD.inference = True, False
        try:
            r = OPS["torch._read_view"](root, info.chain, _extras_array(info))
        finally:
            _GRAD.enabled, _GRAD.inference = enabled, inference
        value = r._value
        t.grad_fn = r.grad_fn
        t._output_nr = 0
        t._requires_grad = True
    else:
        value = reader(info.chain)(root._value, *info.all_extras)
    t._value = value
    return value


# -- writing ----------------------------------------------------------------------------------

def _invalidate(root, keep):
    refs = root.__dict__.get("_aliases")
    if not refs:
        return
    live = []
    for ref in refs:
        alias = ref()
        if alias is None:
            continue
        live.append(ref)
        if alias is not keep:
            alias.__dict__.pop("_value", None)
    refs[:] = live


def exclusive(t) -> bool:
    """Whether t's array is a buffer only t holds, made by one of our write kernels: then
    a write may reuse it in place (jax buffer donation) instead of copying the base."""
    value = t.__dict__.get("_value")
    return (type(value) is _ARRAY and t.__dict__.get("_owns") == id(value)
            and sys.getrefcount(value) <= _EXPECTED_REFS)


_EXPECTED_REFS = 3      # the tensor's __dict__, the local name, getrefcount's argument


def _store_root(root, value, owned=False):
    root._value = value
    root._owns = id(value) if owned else 0


def write(t, value, *, resize: bool = False, owned: bool = False):
    """Replace t's data with `value` (an in-place op's result): every alias sees it.
    `owned`: value is a fresh buffer only t will hold (later writes may reuse it)."""
    info = t._view
    if info is None:
        if value.shape != t._value.shape:
            if not resize:
                raise RuntimeError(f"shape mismatch: value of shape {list(value.shape)} cannot "
                                   f"be written into tensor of shape {list(t._value.shape)}")
            reroot(t)
        _invalidate(t, None)
        _store_root(t, value, owned)
    else:
        if value.shape != t._value.shape:
            if not resize:
                raise RuntimeError(f"shape mismatch: value of shape {list(value.shape)} cannot "
                                   f"be written into tensor of shape {list(t._value.shape)}")
            raise RuntimeError("jtorch: resizing a view (out= of another shape, resize_) is "
                               "not supported")
        root = t._root
        if info.step is None and not info.chain.steps:
            new = value
            owned = False
        else:
            donate = exclusive(root)
            new = writer(info.chain, donate)(root._value, value, *info.all_extras)
            owned = True
        _invalidate(root, t)
        _store_root(root, new, owned)
        t._value = value
    _bump(t)


def _bump(t):
    vc = t._vc
    if vc is None:
        t._vc = [1]
    else:
        vc[0] += 1


def check_overlap(t, name):
    """torch refuses in-place ops (other than fills) on a tensor where several elements share
    one memory location (a stride-0 dim)."""
    if t._view is None or name in _FILLS or not _may_overlap(t._view):
        return
    shape, strides, _ = geometry(t)
    if any(st == 0 and n > 1 for n, st in zip(shape, strides)):
        raise RuntimeError("unsupported operation: more than one element of the written-to "
                           "tensor refers to a single memory location. Please clone() the "
                           "tensor before performing the operation.")


_FILLS = frozenset({"fill_", "zero_", "masked_fill_", "__setitem__", "index_put_",
                    "index_fill_"})


def _may_overlap(info):
    return any(getattr(op, "view_may_overlap", False) for op, _, _, _ in info.chain.steps)


# views that torch's autograd cannot rebase: outputs of ops that return several views
_MULTI_OUTPUT = {"torch.unbind": "Unbind", "torch._split_op": "Split", "torch.chunk": "Split",
                 "torch._split_with_sizes_op": "SplitWithSizes",
                 "torch._tensor_split_op": "TensorSplit"}


def check_view_write(t, result):
    """torch's refusals of an in-place write into a view under grad mode."""
    info, root = t._view, t._root
    if not (root._requires_grad or result.grad_fn is not None):
        return
    if info.made_in_no_grad:
        raise RuntimeError("A view was created in no_grad mode and is being modified inplace "
                           "with grad mode enabled. Given that this use case is ambiguous and "
                           "error-prone, it is forbidden. You can clarify your code by moving "
                           "both the view and the inplace either both inside the no_grad block "
                           "(if you don't want the inplace to be tracked) or both outside (if "
                           "you want the inplace to be tracked).")
    if not info.differentiable:
        return
    for op, _, _, index in info.chain.steps:
        if index is not None and op.name in _MULTI_OUTPUT:
            raise RuntimeError(
                f"Output {index} of {_MULTI_OUTPUT[op.name]}Backward0 is a view and is being "
                "modified inplace. This view is the output of a function that returns multiple "
                "views. Such functions do not allow the output views to be modified inplace. "
                "You should replace the inplace operation by an out-of-place one.")


def write_with_grad(t, value, result):
    """An in-place write into a view whose root is (or joins) an autograd graph: the root
    becomes the output of a CopySlices-like node over its old self and `result`, and the
    view's grad_fn follows from the root (torch's AsStridedBackward)."""
    from ._ops import registry
    OPS = registry.OPS
    info, root = t._view, t._root
    if root.grad_fn is None and root._requires_grad:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    if result._value is not value:
        result = OPS["torch._to_copy"](result, value.dtype)
    new_root = OPS["torch._write_view"](root, result, info.chain, _extras_array(info))
    _invalidate(root, None)
    _store_root(root, new_root._value)
    if new_root.grad_fn is not None:
        root.grad_fn = new_root.grad_fn
        root._output_nr = 0
        root._requires_grad = True
    _bump(t)
    for node in (new_root.grad_fn, result.grad_fn):
        if node is not None:
            registry.resave(node, t._vc)
    refresh(t)


# -- storage identity ---------------------------------------------------------------------------

_NEXT_ADDRESS = [0x7F0000000000]


def data_ptr(t) -> int:
    """A fake address, equal for tensors that share storage at the same offset."""
    if t._value.size == 0:
        return 0
    root = t._root if t._view is not None else t
    base = root.__dict__.get("_ptr")
    if base is None:
        base = root._ptr = _NEXT_ADDRESS[0]
        _NEXT_ADDRESS[0] += (root._value.nbytes + 127) // 64 * 64
    offset = geometry(t)[2] if t._view is not None else 0
    return base + offset * t._value.dtype.itemsize


def reroot(t):
    """Give t's other aliases a hidden root of their own holding t's current storage, so
    that t can change shape or storage (resize_, t_(), .data = ...) without them."""
    from ._tensor import Tensor
    if t._view is not None:
        return None     # t is itself an alias: the caller re-points t only
    refs = t.__dict__.get("_aliases")
    if not refs or not any(r() is not None for r in refs):
        return None
    root = t
    hidden = Tensor._wrap(root._value)
    hidden._vc = root._vc
    if root.grad_fn is not None:
        hidden.grad_fn = root.grad_fn
        hidden._output_nr = root._output_nr
        hidden._requires_grad = True
    hidden._aliases = [r for r in refs if r() is not None]
    hidden._aliases_limit = 2 * len(hidden._aliases) + _PRUNE_AT
    if "_ptr" in root.__dict__:
        hidden._ptr = root.__dict__.pop("_ptr")
    for ref in hidden._aliases:
        ref()._root = hidden
    root._aliases = []
    return hidden


def _become_alias(t, root, info):
    """Point t at `root`'s storage through `info` (t's own old aliases keep its old data)."""
    reroot(t)
    t._root = root
    t._view = info
    _register(root, t)


def take_layout(t, result):
    """A shape in-place op (t_(), squeeze_(), as_strided_() ...): t now shows its storage as
    `result`, a view of it, does."""
    info = result._view
    if info is None:        # the op copied: t takes the copy's data
        write(t, result._value, resize=True)
        return
    root = result._root
    if t._view is None:
        hidden = reroot(t)
        if hidden is not None:
            root = hidden
    info.is_view = t._view is not None and t._view.is_view
    _become_alias(t, root, info)
    t._value = result._value


def share_storage(t, other):
    """`t.data = other`: t takes other's shape, data and storage."""
    reroot(t)       # first: other may be one of t's own aliases
    if other._view is None:
        root, parent = other, None
    else:
        root, parent = other._root, other._view
    info = ViewInfo(parent, None, (), other._value.shape, False, is_view=False)
    value = other._value
    _become_alias(t, root, info)
    t._value = value


def _storage_range(t):
    """(root, first, last element) of the storage t covers."""
    shape, strides, offset = geometry(t)
    last = offset + sum((n - 1) * st for n, st in zip(shape, strides) if n > 0)
    return (t._root if t._view is not None else t), offset, last


def check_out_overlap(out, inputs):
    """torch's error for an out= tensor that shares memory with an input of ops that read
    their inputs while writing (cat, gather, index_select ...)."""
    from ._tensor import Tensor
    outs = out if isinstance(out, (tuple, list)) else (out,)
    found = []

    def collect(v):
        if isinstance(v, Tensor):
            found.append(v)
        elif isinstance(v, (tuple, list)):
            for item in v:
                collect(item)
        elif isinstance(v, dict):
            for item in v.values():
                collect(item)
    collect(inputs)
    for o in outs:
        if not isinstance(o, Tensor):
            continue
        root, first, last = _storage_range(o)
        for t in found:
            other, a, b = _storage_range(t)
            same = t is o or (other is root and (a, b) == (first, last))
            if same or (other is root and o._value.size and t._value.size and a <= last
                        and first <= b):
                raise RuntimeError("unsupported operation: some elements of the input tensor "
                                   "and the written-to tensor refer to a single memory "
                                   "location. Please clone() the tensor before performing the "
                                   "operation.")
