"""The recorded graph: torch's `grad_fn` nodes, attached to the tensors an op returns.

There is no global tape. A node holds the arrays its op was called with and one edge per
array (`(node, output_nr)` of the tensor it came from, or `None` when that input needs no
gradient), so a graph lives exactly as long as the tensors that reach it. Leaves get an
`AccumulateGrad` node, made on first use, as in torch.
"""
from __future__ import annotations

import itertools
import weakref

import jax

from .grad_mode import STATE

__all__ = ["Node", "AccumulateGrad", "record", "attach", "edge_of", "RemovableHandle"]

_SEQUENCE = itertools.count()
NODES_ALIVE = [0]   # live Node count: tests check that graphs die with their tensors


class RemovableHandle:
    """What `register_hook` returns: `.remove()` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, hooks: dict):
        self.id = next(RemovableHandle._ids)
        self._hooks = weakref.ref(hooks) if _weakrefable(hooks) else (lambda: hooks)

    def remove(self):
        hooks = self._hooks()
        if hooks is not None:
            hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _weakrefable(obj):
    try:
        weakref.ref(obj)
        return True
    except TypeError:
        return False


class _HookDict(dict):
    """A dict that handles can refer to weakly."""


def _camel(op_name: str) -> str:
    base = op_name.rsplit(".", 1)[-1].strip("_")
    return "".join(part[:1].upper() + part[1:] for part in base.split("_")) or "Function"


class Node:
    """Mirrors a torch autograd node (`tensor.grad_fn`).

    `op` replays the forward: `op.kernel(key)` is the (jit-traceable) function of `arrays`,
    `op.eager(key)` the same without jit. `arrays` becomes None once a backward without
    `retain_graph` has freed it."""

    __slots__ = ("op", "key", "arrays", "edges", "seq", "n_outputs", "tensor_hooks",
                 "retains", "metadata", "__weakref__")
    custom = False      # a node whose backward is Python code (autograd.Function)

    def __init__(self, op, key, arrays, edges, n_outputs):
        self.op = op
        self.key = key
        self.arrays = arrays
        self.edges = edges
        self.seq = next(_SEQUENCE)
        self.n_outputs = n_outputs
        self.tensor_hooks = None    # output_nr -> {handle id: hook} (Tensor.register_hook)
        self.retains = None         # output_nr -> weakref of the tensor that retains its grad
        self.metadata = {}
        NODES_ALIVE[0] += 1

    def __del__(self):
        NODES_ALIVE[0] -= 1

    def name(self) -> str:
        return getattr(self.op, "grad_fn_name", None) or _camel(self.op.name) + "Backward0"

    def __repr__(self):
        return f"<{self.name()} object at {hex(id(self))}>"

    @property
    def next_functions(self):
        arrays = self.arrays
        out = []
        for i, e in enumerate(self.edges):
            if arrays is not None and not isinstance(arrays[i], jax.Array) and e is None:
                continue    # a Python number the op took as data: torch has no edge for it
            out.append(e if e is not None else (None, 0))
        return tuple(out)

    def register_hook(self, fn):
        raise NotImplementedError("jtorch does not implement hooks on autograd nodes "
                                  "(grad_fn.register_hook) yet; use Tensor.register_hook")

    def register_prehook(self, fn):
        raise NotImplementedError("jtorch does not implement hooks on autograd nodes "
                                  "(grad_fn.register_prehook) yet; use Tensor.register_hook")

    def add_tensor_hook(self, nr: int, fn):
        if self.tensor_hooks is None:
            self.tensor_hooks = {}
        hooks = self.tensor_hooks.setdefault(nr, _HookDict())
        handle = RemovableHandle(hooks)
        hooks[handle.id] = fn
        return handle

    def is_cut(self, nr: int) -> bool:
        """Whether backward must stop at this output to run hooks or retain its grad."""
        return bool((self.tensor_hooks and self.tensor_hooks.get(nr)) or
                    (self.retains and nr in self.retains))


class AccumulateGrad:
    """Mirrors torch's AccumulateGrad: the node of a leaf that requires grad."""

    __slots__ = ("variable", "__weakref__")
    seq = -1
    n_outputs = 1

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    next_functions = ()

    def __repr__(self):
        return f"<AccumulateGrad object at {hex(id(self))}>"


def edge_of(t):
    """The graph edge a tensor input contributes: None when it needs no gradient."""
    if t is None or not t._requires_grad:
        return None
    fn = t.grad_fn
    if fn is None:
        acc = t._accumulator
        if acc is None:
            acc = t._accumulator = AccumulateGrad(t)
        return (acc, 0)
    return (fn, t._output_nr)


def attach(node: Node, result) -> None:
    """Make the float and complex tensors of `result` outputs of `node` (in flat order)."""
    from .._tensor import Tensor
    nr = 0
    stack = [result]
    flat = []
    while stack:
        v = stack.pop()
        if isinstance(v, Tensor):
            flat.append(v)
        elif isinstance(v, (tuple, list)):
            stack.extend(reversed(v))
    for nr, t in enumerate(flat):
        if t._value.dtype.kind in "fc" or t._value.dtype.name == "bfloat16":
            t._requires_grad = True
            t.grad_fn = node
            t._output_nr = nr


def count_outputs(result) -> int:
    from .._tensor import Tensor
    if isinstance(result, Tensor):
        return 1
    if isinstance(result, (tuple, list)):
        return sum(count_outputs(v) for v in result)
    return 0


def record(op, key, kernel, arrays, tensors, result):
    """The registry's autograd hook: called when some input tensor requires grad."""
    if not STATE.enabled:
        return
    edges = tuple([edge_of(t) for t in tensors])
    node = Node(op, key, arrays, edges, count_outputs(result))
    attach(node, result)
