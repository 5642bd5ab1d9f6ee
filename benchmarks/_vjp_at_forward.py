"""Experiment: autograd by per-op `jax.vjp` at forward time, with no replay at backward.

The alternative to jtorch's replay engine that issue 3 asks to measure. Inside `vjp_at_forward()`
every recorded op also runs a cached, jitted `jax.vjp` of its kernel and keeps the pullback (a
`jax.tree_util.Partial`: residual arrays plus a static function, so it can leave jit);
`Tensor.backward` then walks the nodes in reverse creation order and calls each pullback through
one jitted call. Enough for the benchmark's models (single- or tuple-output ops, real dtypes,
scalar roots); not a drop-in engine: no hooks, retain_graph, create_graph or complex conj.
"""
from __future__ import annotations

import contextlib
import heapq
import itertools

import jax
import jax.numpy as jnp
import numpy as np

from jtorch._ops import registry
from jtorch._tensor import Tensor
from jtorch.autograd.grad_mode import STATE

__all__ = ["vjp_at_forward", "STATS"]

STATS = {"vjp_kernels": 0, "pullbacks": 0}
_SEQUENCE = itertools.count()
_VJP_KERNELS: dict = {}     # (op, key, differentiated positions) -> jitted pullback maker


class _Node:
    """A recorded op: its pullback and, per differentiated input, where the gradient goes."""

    __slots__ = ("pullback", "edges", "seq", "outputs", "n_outputs", "retains", "tensor_hooks")

    def __init__(self, pullback, edges, outputs):
        self.pullback = pullback
        self.edges = edges          # (node, output_nr) or (None, leaf tensor)
        self.seq = next(_SEQUENCE)
        self.outputs = outputs      # None: one array; else (shape, dtype) per tuple element
        self.n_outputs = 1 if outputs is None else len(outputs)
        self.retains = None         # read by Tensor.grad / retains_grad
        self.tensor_hooks = None

    def __lt__(self, other):        # heap ties cannot happen (seq is unique); keep heapq happy
        return self.seq < other.seq


def _pullback_kernel(op, key, diff: tuple):
    """jit(arrays -> pullback of the op's kernel w.r.t. the arrays at positions `diff`).

    Only the pullback comes out: the forward value is already there (the registry ran the
    plain kernel), so XLA computes just the residuals the derivative needs."""
    cache_key = (op, key, diff)
    fn = _VJP_KERNELS.get(cache_key)
    if fn is None:
        kernel = op.kernel(key)

        def make(diff_arrays, rest):
            def f(*values):
                args = list(rest)
                for p, v in zip(diff, values):
                    args[p] = v
                return kernel(*args)
            return jax.vjp(f, *diff_arrays)[1]

        STATS["vjp_kernels"] += 1
        fn = _VJP_KERNELS[cache_key] = jax.jit(make)
    return fn


@jax.jit
def _apply(pullback, cotangent):
    return pullback(cotangent)


def _edge(t: Tensor):
    fn = t.grad_fn
    if fn is None:
        return (None, t)
    if type(fn) is not _Node:
        raise RuntimeError("vjp_at_forward: input recorded outside the experiment")
    return (fn, t._output_nr)


def _record(op, key, kernel, arrays, tensors, result):
    if not STATE.enabled:
        return
    diff = tuple(i for i, t in enumerate(tensors) if t is not None and t._requires_grad)
    taken = set(diff)
    rest = [None if i in taken else a for i, a in enumerate(arrays)]
    pullback = _pullback_kernel(op, key, diff)([arrays[i] for i in diff], rest)
    outputs = [result] if isinstance(result, Tensor) else list(result)
    avals = None if isinstance(result, Tensor) else [(t._value.shape, t._value.dtype)
                                                     for t in outputs]
    node = _Node(pullback, tuple(_edge(tensors[i]) for i in diff), avals)
    for nr, t in enumerate(outputs):
        if t._value.dtype.kind in "fc":
            t._requires_grad = True
            t.grad_fn = node
            t._output_nr = nr


def _accumulate(leaf: Tensor, g):
    if leaf._grad is None:
        leaf._grad = Tensor._wrap(g)
    else:
        leaf._grad._set_value(leaf._grad._value + g)


def backward(root: Tensor, gradient: Tensor | None = None) -> None:
    """`root.backward()` through the pullbacks recorded by `vjp_at_forward`."""
    ct = jnp.ones(root._value.shape, root._value.dtype) if gradient is None else gradient._value
    node = root.grad_fn
    if node is None:
        _accumulate(root, ct)
        return
    pending = {node: [None] * node.n_outputs}
    pending[node][root._output_nr] = ct
    heap = [(-node.seq, node)]
    while heap:
        _, node = heapq.heappop(heap)
        cts = pending.pop(node)
        if node.pullback is None:
            raise RuntimeError("vjp_at_forward: backward through the graph a second time")
        if node.outputs is None:
            ct = cts[0]
        else:
            # outputs nobody used (integer ones included) get zero cotangents of their own
            ct = tuple(_zeros(*aval) if c is None else c for c, aval in zip(cts, node.outputs))
        grads = _apply(node.pullback, ct)
        STATS["pullbacks"] += 1
        node.pullback = None        # frees the residuals, as backward without retain_graph
        for (target, where), g in zip(node.edges, grads):
            if target is None:
                _accumulate(where, g)
                continue
            slots = pending.get(target)
            if slots is None:
                slots = pending[target] = [None] * target.n_outputs
                heapq.heappush(heap, (-target.seq, target))
            have = slots[where]
            slots[where] = g if have is None else have + g


def _zeros(shape, dtype):
    if jnp.issubdtype(dtype, jnp.inexact):
        return jnp.zeros(shape, dtype)
    return np.zeros(shape, jax.dtypes.float0)


@contextlib.contextmanager
def vjp_at_forward():
    """Record pullbacks at forward time and make `Tensor.backward` use them, for the block."""
    saved_record, saved_backward = registry.record, Tensor.backward
    registry.record = _record
    Tensor.backward = lambda self, gradient=None, *args, **kwargs: backward(self, gradient)
    try:
        yield
    finally:
        registry.record, Tensor.backward = saved_record, saved_backward
