"""The replay: one segment of the recorded graph as a pure function of its nodes' saved arrays
and the incoming cotangents, applying each node's `jax.vjp` in reverse order.

Built once per structure (ops, static arguments, wiring) and `jax.jit`-compiled; an op whose
values decide its shapes sends its structure to an eager replay instead. Also here: freeing
saved arrays after backward, and the jaxpr analyses that tell which saved arrays a derivative
reads (a freed node that reads none can run again, as in torch) and which inputs a
`create_graph` gradient depends on.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["STATS"]

STATS = {"replay_traces": 0, "replays_built": 0}
_REPLAYS: dict = {}          # structure key -> jitted replay
_EAGER: set = set()          # structure keys whose ops cannot be traced (values decide shapes)
_TRACE_ERRORS = (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError,
                 jax.errors.TracerBoolConversionError, jax.errors.TracerIntegerConversionError,
                 jax.errors.NonConcreteBooleanIndexError)

_FREED = ("Trying to backward through the graph a second time (or directly access saved tensors "
          "after they have already been freed). Saved intermediate values of the graph are freed "
          "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
          "backward through the graph a second time or if you need to access saved tensors after "
          "calling backward.")


_CACHE_SIZE = 1024     # structures remembered; a program whose graphs keep changing shape
                       # (variable-length loops) must not grow these without bound


def _remember(cache: dict, key, value):
    if len(cache) >= _CACHE_SIZE:
        del cache[next(iter(cache))]       # the oldest entry
    cache[key] = value
    return value


_USED: dict = {}


def _used_inputs(op, structure, arrays, cacheable):
    """Which of a replay's inputs its gradients depend on: a gradient that does not depend on
    an input (the constant gradient of a linear function) has no edge to it, so that, as in
    torch, it does not require grad through it."""
    used = _USED.get(structure) if cacheable else None
    if used is None:
        try:
            jaxpr = jax.make_jaxpr(_build(structure, eager=False))(*arrays).jaxpr
        except Exception:   # noqa: BLE001 - cannot tell: keep every edge
            return [True] * len(arrays)
        used = _needed(jaxpr, [True] * len(jaxpr.outvars))
        if cacheable:
            _remember(_USED, structure, used)
    return used


def _needed(jaxpr, outputs):
    """Which inputs of `jaxpr` the outputs flagged in `outputs` depend on (looking inside
    nested jit calls, so that one kernel's unused inputs do not count)."""
    def is_var(v):
        return type(v).__name__ == "Var"
    needed = {v for v, want in zip(jaxpr.outvars, outputs) if want and is_var(v)}
    for eqn in reversed(jaxpr.eqns):
        wanted = [v in needed for v in eqn.outvars]
        if not any(wanted):
            continue
        inner = eqn.params.get("jaxpr")
        inner = getattr(inner, "jaxpr", inner)
        if inner is not None and hasattr(inner, "invars") and \
                len(inner.invars) == len(eqn.invars) and len(inner.outvars) == len(wanted):
            mask = _needed(inner, wanted)
            needed.update(v for v, m in zip(eqn.invars, mask) if m and is_var(v))
        else:
            needed.update(v for v in eqn.invars if is_var(v))
    return [v in needed for v in jaxpr.invars]


def _free(node):
    """Drop a node's saved arrays (torch frees saved tensors after backward), keeping their
    shapes and dtypes: a node whose derivative does not read them can run again."""
    if not node.freed:
        node.arrays = [_Freed(a.shape, a.dtype) if isinstance(a, jax.Array) else a
                       for a in node.arrays]
        node.freed = True


class _Freed:
    """Where a freed array was: its shape and dtype."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape = shape
        self.dtype = dtype


_NEEDS_VALUES: dict = {}


def _refill(node, diff):
    """Zeros in place of a freed node's arrays, when its vjp provably does not read them (sum,
    add, views: torch saves nothing for those either); else torch's RuntimeError."""
    try:
        cache_key = (node.op, node.key, diff, tuple(
            (a.shape, a.dtype) if type(a) is _Freed else (type(a), a) for a in node.arrays))
        needs = _NEEDS_VALUES.get(cache_key)
    except TypeError:
        cache_key, needs = None, None
    if needs is None:
        needs = _vjp_reads_values(node, diff)
        if cache_key is not None:
            _remember(_NEEDS_VALUES, cache_key, needs)
    if needs:
        raise RuntimeError(_FREED)
    return [jnp.zeros(a.shape, a.dtype) if type(a) is _Freed else a for a in node.arrays]


def reads_inputs(node, diff, positions) -> bool:
    """Whether the node's derivative (with respect to the inputs at `diff`) reads the values
    of the inputs at `positions`."""
    saved = list(node.arrays)
    for i in positions:
        a = saved[i]
        if isinstance(a, jax.Array):
            saved[i] = _Freed(a.shape, a.dtype)
    return _vjp_reads_values(node, diff, saved)


def _vjp_reads_values(node, diff, saved=None) -> bool:
    fn = _op_function(node.op, node.key, eager=False)
    saved = node.arrays if saved is None else saved
    positions = [i for i, a in enumerate(saved) if type(a) is _Freed]

    def probe(*abstract):
        arrays = list(saved)
        for i, v in zip(positions, abstract):
            arrays[i] = v

        def f(*values):
            a = list(arrays)
            for p, v in zip(diff, values):
                a[p] = v
            return fn(*a)
        _, pull = jax.vjp(f, *[arrays[p] for p in diff])
        return jax.tree_util.tree_leaves(pull)      # the residuals the pullback keeps
    try:
        jaxpr = jax.make_jaxpr(probe)(*[jax.ShapeDtypeStruct(saved[i].shape, saved[i].dtype)
                                        for i in positions]).jaxpr
    except Exception:   # noqa: BLE001 - cannot tell: assume it reads them, as most ops do
        return True
    return any(_derived(jaxpr, [True] * len(jaxpr.invars)))


def _derived(jaxpr, inputs):
    """Which outputs of `jaxpr` depend on the inputs flagged in `inputs` (looking inside
    nested jit calls, so that one kernel's other outputs do not count)."""
    def is_var(v):
        return type(v).__name__ == "Var"
    derived = {v for v, flag in zip(jaxpr.invars, inputs) if flag}
    for eqn in jaxpr.eqns:
        flags = [is_var(v) and v in derived for v in eqn.invars]
        if not any(flags):
            continue
        inner = eqn.params.get("jaxpr")
        inner = getattr(inner, "jaxpr", inner)
        if inner is not None and hasattr(inner, "invars") and \
                len(inner.invars) == len(eqn.invars) and len(inner.outvars) == len(eqn.outvars):
            derived.update(v for v, m in zip(eqn.outvars, _derived(inner, flags)) if m)
        else:
            derived.update(eqn.outvars)
    return [is_var(v) and v in derived for v in jaxpr.outvars]


class _Unhashable:
    """Wraps a structure that cannot key a cache (an op called with unhashable arguments)."""

    def __init__(self, structure):
        self.structure = structure

    __hash__ = None


def _call(op, structure, fn, arrays):
    try:
        return fn(*arrays)
    except _TRACE_ERRORS:
        if not op.cacheable or structure in _EAGER:
            raise
        # an op whose values decide its shapes (masked_select, nonzero-based indexing): replay
        # this structure eagerly from now on
        _EAGER.add(structure)
        _REPLAYS.pop(structure, None)
        return op.eager(structure)(*arrays)


_REPLAY_OPS: dict = {}


def _replay_op(structure, cacheable):
    """One op object per structure, so that graphs of gradients cache by identity too."""
    if not cacheable:
        return _ReplayOp(structure, False)
    op = _REPLAY_OPS.get(structure)
    if op is None:
        op = _remember(_REPLAY_OPS, structure, _ReplayOp(structure, True))
    return op


class _ReplayOp:
    """The backward of one segment, usable as a node's op (for `create_graph`)."""

    jit = True
    name = "backward"

    def __init__(self, structure, cacheable):
        self.cacheable = cacheable
        self.grad_fn_name = _grad_fn_name(structure)

    def kernel(self, structure):
        if isinstance(structure, _Unhashable):
            return self.eager(structure.structure)
        if structure in _EAGER:
            return self.eager(structure)
        fn = _REPLAYS.get(structure)
        if fn is None:
            STATS["replays_built"] += 1
            fn = _remember(_REPLAYS, structure, jax.jit(_build(structure, eager=False)))
        return fn

    def eager(self, structure):
        if isinstance(structure, _Unhashable):
            structure = structure.structure
        return _build(structure, eager=True)


def _grad_fn_name(structure):
    steps = structure[0]
    return "".join(_title(s[0]) for s in steps[:1]) + "BackwardBackward0"


def _title(op):
    name = getattr(op, "grad_fn_name", None)
    if name:
        return name.replace("Backward0", "")
    base = op.name.rsplit(".", 1)[-1].strip("_")
    return "".join(p[:1].upper() + p[1:] for p in base.split("_"))


def _op_function(op, key, eager):
    if eager:
        return op.eager(key)
    try:
        return op.kernel(key)
    except TypeError:       # an unhashable static key
        return op.eager(key)


def _build(structure, eager):
    """The pure function of (saved arrays..., cotangents...) that one segment's backward is."""
    steps, source_slots, boundary_slots, n_slots = structure
    plan = [(_op_function(op, key, eager), n, out_slots, diff, in_slots)
            for op, key, n, out_slots, diff, in_slots in steps]

    def replay(*flat):
        if not eager:
            STATS["replay_traces"] += 1
        acc = [None] * n_slots
        total = sum(step[1] for step in plan)
        for slot, ct in zip(source_slots, flat[total:]):
            acc[slot] = _torch_convention(ct)
        pos = 0
        for fn, n, out_slots, diff, in_slots in plan:
            arrays = list(flat[pos:pos + n])
            pos += n
            if not diff:
                continue

            def f(*values, arrays=arrays, fn=fn, diff=diff):
                a = list(arrays)
                for p, v in zip(diff, values):
                    a[p] = v
                return fn(*a)

            out, pull = jax.vjp(f, *[arrays[p] for p in diff])
            leaves, tree = jax.tree_util.tree_flatten(out)
            cts = []
            for slot, o in zip(out_slots, leaves):
                c = acc[slot] if slot is not None else None
                cts.append(_zero_cotangent(o) if c is None else _match(c, o))
            grads = pull(jax.tree_util.tree_unflatten(tree, cts))
            for slot, g in zip(in_slots, grads):
                acc[slot] = g if acc[slot] is None else acc[slot] + g
        return tuple(_torch_convention(acc[s]) for s in boundary_slots)
    return replay


def _torch_convention(g):
    """torch's complex gradients are the conjugates of jax's cotangents (for a real loss,
    torch gives dL/d(conj z)); converting at the segment's edges keeps the inside jax's."""
    return jnp.conj(g) if jnp.iscomplexobj(g) else g


def _zero_cotangent(o):
    if jnp.issubdtype(o.dtype, jnp.inexact):
        return jnp.zeros(o.shape, o.dtype)
    return np.zeros(o.shape, jax.dtypes.float0)


def _match(c, o):
    if c.dtype != o.dtype:
        c = c.astype(o.dtype) if jnp.issubdtype(o.dtype, jnp.inexact) else c
    return c

