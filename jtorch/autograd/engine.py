"""Backward: walk the recorded graph from the roots and run it as jitted replays.

`run` counts, for every node reachable from the roots, the edges that lead into it; a node is
ready once all of them have delivered. Ready nodes, and every node that becomes complete
through them, form a segment, run as one replay (replay.py): a pure function of the nodes'
saved arrays and the incoming cotangents that applies each node's `jax.vjp` in reverse order,
`jax.jit`-compiled and cached by the segment's structure, so a training loop compiles its
backward once. A segment stops at leaves, at tensors whose hooks, `retain_grad` or capture must
see their complete gradient, and at custom `autograd.Function` nodes (run eagerly). Each
node's vjp works from the arrays the forward saved: the backward does not recompute the
forward chain, only what each op's derivative needs.

`create_graph=True` runs the same function as a recorded op whose inputs are the saved arrays
(with their edges) and the cotangents, so gradients of gradients come from jax for free.
"""
from __future__ import annotations

import heapq
import re
import weakref

import jax
import jax.numpy as jnp

from .._tensor import Tensor
from .graph import SAVES_RESULT, Node, RemovableHandle, _HookDict, attach, edge_of
from .grad_mode import STATE
from . import replay
from .replay import (STATS, _TRACE_ERRORS, _Unhashable, _call, _free, _refill,  # noqa: F401
                     _replay_op, _used_inputs)

__all__ = ["backward", "grad", "retain_grad", "register_hook", "STATS"]

# -- the public entry points -------------------------------------------------------------------

def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Mirrors `torch.autograd.backward`."""
    if grad_variables is not None:
        grad_tensors = grad_variables
    roots, grads = _roots(tensors, grad_tensors, create_graph)
    targets = None
    if inputs is not None:
        inputs = _as_list(inputs)
        if not inputs:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
        for t in inputs:
            if not t._requires_grad:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
        targets = {edge_of(t): t for t in inputs}
        for t in inputs:
            if t.grad_fn is not None:
                retain_grad(t)      # as torch: a non-leaf input retains its gradient
    if retain_graph is None:
        retain_graph = create_graph
    run(roots, grads, retain_graph=retain_graph, create_graph=create_graph, targets=targets,
        accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False,
         materialize_grads=False):
    """Mirrors `torch.autograd.grad`."""
    if is_grads_batched:
        raise NotImplementedError("jtorch does not implement torch.autograd.grad("
                                  "is_grads_batched=True) yet")
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    inputs = _as_list(inputs)
    for t in inputs:
        if not isinstance(t, Tensor):
            raise TypeError(f"grad(): inputs must be Tensors, got {type(t).__name__}")
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    roots, grads = _roots(outputs, grad_outputs, create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    targets = {}
    for t in inputs:
        targets.setdefault(edge_of(t), t)
    found = run(roots, grads, retain_graph=retain_graph, create_graph=create_graph,
                targets=targets, accumulate=False)
    result = []
    for t in inputs:
        g = found.get(edge_of(t))
        if g is None:
            if not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been "
                                   "used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
            if materialize_grads:
                g = Tensor._wrap(jnp.zeros(t._value.shape, t._value.dtype))
        result.append(g)
    return tuple(result)


def retain_grad(t: Tensor) -> None:
    if not t._requires_grad:
        raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
    node = t.grad_fn
    if node is None:
        return      # a leaf accumulates anyway
    if node.retains is None:
        node.retains = {}
    node.retains[t._output_nr] = weakref.ref(t)


def register_hook(t: Tensor, hook) -> RemovableHandle:
    if not t._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if t.grad_fn is not None:
        return t.grad_fn.add_tensor_hook(t._output_nr, hook)
    if t._hooks is None:
        t._hooks = _HookDict()
    handle = RemovableHandle(t._hooks)
    t._hooks[handle.id] = hook
    return handle


def register_post_accumulate_grad_hook(t: Tensor, hook) -> RemovableHandle:
    if not t._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if t.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    if t._post_accumulate_hooks is None:
        t._post_accumulate_hooks = _HookDict()
    handle = RemovableHandle(t._post_accumulate_hooks)
    t._post_accumulate_hooks[handle.id] = hook
    return handle


def _as_list(x):
    if isinstance(x, Tensor):
        return [x]
    return list(x)


def _roots(tensors, grads, create_graph):
    """The roots and their initial gradients (Tensors), checked as torch checks them."""
    tensors = _as_list(tensors)
    if grads is None:
        grads = [None] * len(tensors)
    else:
        grads = _as_list(grads) if not isinstance(grads, Tensor) else [grads]
    if len(grads) != len(tensors):
        raise RuntimeError(f"got {len(grads)} tensors and {len(tensors)} gradients")
    out = []
    for i, (t, g) in enumerate(zip(tensors, grads)):
        if not isinstance(t, Tensor):
            raise TypeError(f"backward(): expected a Tensor, got {type(t).__name__}")
        if not t._requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have "
                               "a grad_fn")
        if g is None:
            if t._value.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if t.dtype.is_complex:
                raise RuntimeError("grad can be implicitly created only for real scalar outputs")
            g = Tensor._wrap(_ones(t._value.shape, t._value.dtype, t._value.sharding))
        elif not isinstance(g, Tensor):
            raise TypeError(f"gradient must be a Tensor or None, got {type(g).__name__}")
        else:
            if g.shape != t.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                                   f"{g.shape} and output[{i}] has a shape of {t.shape}.")
            if g.dtype.is_complex != t.dtype.is_complex:
                raise RuntimeError(f"For complex Tensors, both grad_output and output are "
                                   f"required to have the same dtype. Mismatch in dtype: "
                                   f"grad_output[{i}] has a dtype of {g.dtype} and output[{i}] "
                                   f"has a dtype of {t.dtype}.")
            if g._value.dtype != t._value.dtype:
                g = g.to(t.dtype)      # torch casts the given gradient to the output's dtype
            if not create_graph:
                g = g.detach()
        out.append(g)
    return tensors, out


_ONES: dict = {}


def _ones(shape, dtype, sharding):
    """The implicit gradient of a scalar root, made once per shape/dtype/placement (jax arrays
    are immutable, so sharing one is safe)."""
    key = (shape, dtype, sharding)
    value = _ONES.get(key)
    if value is None:
        value = _ONES[key] = jax.device_put(jnp.ones(shape, dtype), sharding)
    return value


MAX_SEGMENT_NODES = 128


# -- the walk ----------------------------------------------------------------------------------

def run(roots, grads, *, retain_graph, create_graph, targets, accumulate):
    """Propagate `grads` from `roots`; accumulate into leaves' `.grad` (`accumulate`) and/or
    return the gradients reaching the edges in `targets`."""
    saved_mode = STATE.enabled
    STATE.enabled = bool(create_graph)
    try:
        return _run(roots, grads, retain_graph, create_graph, targets, accumulate)
    finally:
        STATE.enabled = saved_mode


def _run(roots, grads, retain_graph, create_graph, targets, accumulate):
    pending: dict = {}
    for t, g in zip(roots, grads):
        _add(pending, edge_of(t), g)
    deps, keep = _dependencies([k[0] for k in pending if isinstance(k[0], Node)], targets)
    received: dict = {}
    found: dict = {}
    while True:
        # a node is ready once every edge into it from the graph being run has delivered
        ready = {k[0] for k in pending if isinstance(k[0], Node)
                 and received.get(k[0], 0) == deps.get(k[0], 0)}
        if not ready:
            break
        normal = []
        for node in sorted(ready, key=lambda n: -n.seq):
            for k in [k for k in pending if k[0] is node]:
                if node.is_cut(k[1]) or (targets is not None and k in targets):
                    # its gradient is complete: tensor hooks, retain_grad, capture
                    g = pending[k] = _fire_hooks(k, pending[k], create_graph)
                    if targets is not None and k in targets:
                        found[k] = g
            if targets is not None and node not in keep.useful:
                for nr in range(node.n_outputs):
                    pending.pop((node, nr), None)
            elif node.custom:
                _custom_backward(node, pending, keep, received, retain_graph)
            else:
                normal.append(node)
        if normal:
            _segment(normal, pending, deps, keep, received, targets, retain_graph,
                     create_graph)
    for k, g in pending.items():
        if isinstance(k[0], Node):
            continue    # unreachable: every pending node becomes ready in a DAG
        leaf = k[0].variable
        g = _run_hooks(leaf._hooks, g)
        if targets is not None:
            if k in targets:
                found[k] = g
                if accumulate:
                    _accumulate(leaf, g, create_graph)
        elif accumulate:
            _accumulate(leaf, g, create_graph)
    return found


class _Keep:
    """Which edges a backward follows: all of them, or (with targets) those leading to one."""

    def __init__(self, targets, useful):
        self.targets = targets
        self.useful = useful

    def __call__(self, e) -> bool:
        if e is None:
            return False
        if self.targets is None:
            return True
        return e in self.targets or e[0] in self.useful


def _check_versions(nodes):
    """torch's error for a tensor a node saved that was modified in place since. The node's
    arrays are the values from before, so jtorch could go on; it raises where torch does:
    when the node's derivative reads that input (found from the vjp's jaxpr)."""
    for node in nodes:
        versions = node.versions
        if not versions:
            continue
        for i, entry in enumerate(versions):
            if entry is None or entry[0][0] == entry[1]:
                continue
            if i >= len(node.arrays):       # the result, which this op saved
                raise RuntimeError(_version_message(node, entry, output=True))
            if getattr(node.op, "name", None) in SAVES_RESULT:
                continue
            diff = tuple(k for k, e in enumerate(node.edges) if e is not None)
            if diff and replay.reads_inputs(node, diff, (i,)):
                raise RuntimeError(_version_message(node, entry))


def _version_message(node, entry, output=False):
    vc, saved, ref = entry
    t = ref()
    what = ""
    if t is not None:
        what = f"[{t.type()} {list(t.shape)}]"
        fn, nr = (node, 0) if output else (t.grad_fn, t._output_nr)
        if fn is not None:
            name = re.sub(r"Backward\d*$", "", fn.name())
            what += f", which is output {nr} of {name},"
    return ("one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: {what} is at version {vc[0]}; expected version {saved} instead. "
            "Hint: enable anomaly detection to find the operation that failed to compute its "
            "gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).")


def _dependencies(starts, targets):
    """For every node reachable from `starts`: how many followed edges lead into it."""
    seen = set(starts)
    stack = list(starts)
    while stack:
        for e in stack.pop().edges:
            if e is not None and isinstance(e[0], Node) and e[0] not in seen:
                seen.add(e[0])
                stack.append(e[0])
    _check_versions(seen)
    useful = None
    if targets is not None:
        useful = set()
        for n in sorted(seen, key=lambda n: n.seq):     # producers first
            if any(e is not None and (e in targets or e[0] in useful) for e in n.edges):
                useful.add(n)
    keep = _Keep(targets, useful)
    deps: dict = {}
    for n in seen:
        if useful is not None and n not in useful:
            continue
        for e in n.edges:
            if keep(e) and isinstance(e[0], Node):
                deps[e[0]] = deps.get(e[0], 0) + 1
    return deps, keep


def _waits(node, targets) -> bool:
    """A node with hooked, retained or captured outputs runs only from the main loop, after
    those have been handled."""
    if node.tensor_hooks or node.retains:
        return True
    return targets is not None and any((node, nr) in targets for nr in range(node.n_outputs))


def _custom_backward(node, pending, keep, received, retain_graph):
    """Run a custom node (autograd.Function): the user's backward, eagerly."""
    grads = [pending.pop((node, nr), None) for nr in range(node.n_outputs)]
    results = node.run_backward(grads)
    for e, g in zip(node.edges, results):
        if keep(e):
            if isinstance(e[0], Node):
                received[e[0]] = received.get(e[0], 0) + 1
            if g is not None:
                _add(pending, e, g)
    if not retain_graph:
        node.free()


def _add(pending, key, g):
    have = pending.get(key)
    pending[key] = g if have is None else have + g


def _run_hooks(hooks, g):
    if hooks:
        for hook in list(hooks.values()):
            new = hook(g)
            if new is not None:
                g = new
    return g


def _fire_hooks(key, g, create_graph):
    node, nr = key
    if node.tensor_hooks:
        g = _run_hooks(node.tensor_hooks.get(nr), g)
    if node.retains and nr in node.retains:
        t = node.retains[nr]()
        if t is not None:
            if t._grad is None:
                t._grad = g if create_graph else g.detach()
            else:
                t._grad = t._grad + g
    return g


def _accumulate(leaf: Tensor, g: Tensor, create_graph: bool):
    if leaf._grad is None:
        # a fresh Tensor object: an in-place change of .grad must not reach the caller's tensor
        leaf._grad = g if create_graph and g.grad_fn is not None else Tensor._wrap(g._value)
    elif create_graph:
        leaf._grad = leaf._grad + g
    else:
        leaf._grad._set_value(leaf._grad._value + g._value)
    hooks = leaf._post_accumulate_hooks
    if hooks:
        for hook in list(hooks.values()):
            hook(leaf)


# -- one segment: build (or reuse) the replay and run it -----------------------------------

def _segment(ready, pending, deps, keep, received, targets, retain_graph, create_graph):
    """Run the ready nodes and every node that becomes complete through them as one replay."""
    def internal(e):
        node = e[0]
        return (type(node) is Node and not node.is_cut(e[1]) and
                (targets is None or e not in targets))

    # the segment: the ready nodes, then every node all of whose followed incoming edges come
    # from the segment (it then needs nothing from outside); others wait at the boundary
    nodes = set(ready)
    local: dict = {}
    candidates: list = []

    def expand(n):
        for e in n.edges:
            if keep(e) and internal(e):
                m = e[0]
                count = local[m] = local.get(m, 0) + 1
                if count + received.get(m, 0) == deps[m] and m not in nodes \
                        and not _waits(m, targets):
                    heapq.heappush(candidates, (-m.seq, m))    # seqs are unique

    for n in ready:
        expand(n)
    # latest first, up to a size: XLA's compile time grows faster than the graph, and a long
    # unrolled loop cut into equal chunks reuses one compiled replay for all of them
    while candidates and len(nodes) < MAX_SEGMENT_NODES:
        m = heapq.heappop(candidates)[1]
        nodes.add(m)
        expand(m)
    order = sorted(nodes, key=lambda n: -n.seq)      # consumers before producers
    sources = [k for k in pending if k[0] in nodes]

    slots: dict = {}
    for s in sources:
        slots[s] = len(slots)
    source_slots = tuple(slots[s] for s in sources)
    boundary: dict = {}
    steps, flat, flat_edges = [], [], []
    cacheable = True
    for n in order:
        out_slots = tuple(slots.get((n, nr)) for nr in range(n.n_outputs))
        diff, in_slots = [], []
        for p, e in enumerate(n.edges):
            if not keep(e):
                continue
            diff.append(p)
            if e[0] in nodes and internal(e):
                slot = slots.get(e)
                if slot is None:
                    slot = slots[e] = len(slots)
            else:
                if isinstance(e[0], Node):
                    received[e[0]] = received.get(e[0], 0) + 1
                slot = boundary.get(e)
                if slot is None:
                    slot = slots[("boundary", e)] = len(slots)
                    boundary[e] = slot
            in_slots.append(slot)
        try:
            hash(n.key)
        except TypeError:
            cacheable = False
        arrays = n.arrays
        if n.freed:
            arrays = _refill(n, tuple(diff))
        steps.append((n.op, n.key, len(arrays), out_slots, tuple(diff), tuple(in_slots)))
        flat.extend(arrays)
        flat_edges.extend(n.edges)
    boundary_keys = list(boundary)
    structure = (tuple(steps), source_slots, tuple(boundary.values()), len(slots))
    cts = [pending.pop(s) for s in sources]

    op = _replay_op(structure, cacheable)
    arrays = flat + [g._value for g in cts]
    fn = op.kernel(structure) if cacheable else op.eager(structure)
    grads = [Tensor._wrap(v) for v in _call(op, structure, fn, arrays)]
    if create_graph:
        # the backward itself becomes a recorded op of the saved arrays and the cotangents
        edges = tuple(flat_edges) + tuple(edge_of(g) for g in cts)
        if any(e is not None for e in edges):
            used = _used_inputs(op, structure, arrays, cacheable)
            edges = tuple(e if u else None for e, u in zip(edges, used))
        if any(e is not None for e in edges):
            node = Node(op, structure if cacheable else _Unhashable(structure), arrays, edges,
                        len(grads))
            attach(node, grads)
    if not retain_graph:
        for n in order:
            _free(n)
    for e, g in zip(boundary_keys, grads):
        _add(pending, e, g)
