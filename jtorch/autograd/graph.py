"""The recorded graph: torch's `grad_fn` nodes, attached to the tensors an op returns.

There is no global tape. A node holds the arrays its op was called with and one edge per
array (`(node, output_nr)` of the tensor it came from, or `None` when that input needs no
gradient), so a graph lives exactly as long as the tensors that reach it. Leaves get an
`AccumulateGrad` node, made on first use, as in torch.
"""
from __future__ import annotations

import itertools
import weakref

from .._alias import version_counter
from .._tensor import Tensor
from .grad_mode import STATE

__all__ = ["Node", "AccumulateGrad", "record", "attach", "edge_of", "RemovableHandle"]

_SEQUENCE = itertools.count()
NODES_ALIVE = [0]   # live Node count: tests check that graphs die with their tensors


class RemovableHandle:
    """What `register_hook` returns: `.remove()` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, hooks: dict, *, extra_dict=None):
        self.id = next(RemovableHandle._ids)
        self._hooks = _ref(hooks)
        # dicts keyed by the same id that hold the hook's flags (with_kwargs, always_call)
        extras = extra_dict if isinstance(extra_dict, (list, tuple)) else \
            (() if extra_dict is None else (extra_dict,))
        self._extras = tuple(_ref(d) for d in extras)

    def remove(self):
        for ref in (self._hooks, *self._extras):
            hooks = ref()
            if hooks is not None:
                hooks.pop(self.id, None)

    def __getstate__(self):
        # pickled and deep-copied with the hook tables it points into (torch does the same)
        return (self._hooks(), self.id, tuple(ref() for ref in self._extras))

    def __setstate__(self, state):
        hooks, self.id, extras = state
        self._hooks = _ref(hooks if hooks is not None else {})
        self._extras = tuple(_ref(d if d is not None else {}) for d in extras)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _ref(obj):
    return weakref.ref(obj) if _weakrefable(obj) else (lambda: obj)


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
    `op.eager(key)` the same without jit. A backward without `retain_graph` frees `arrays`
    (leaving their shapes and dtypes, `freed`)."""

    __slots__ = ("op", "key", "arrays", "edges", "seq", "n_outputs", "tensor_hooks",
                 "retains", "metadata", "freed", "versions", "__weakref__")
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
        self.freed = False      # backward dropped the saved arrays (only shapes are left)
        self.versions = None    # per input tensor: [version counter, version saved, weakref]
        NODES_ALIVE[0] += 1

    def __del__(self):
        NODES_ALIVE[0] -= 1

    def name(self) -> str:
        special = _NAMES.get(self.op.name) if hasattr(self.op, "name") else None
        if special is not None:
            try:
                return special(self)
            except Exception:   # noqa: BLE001 - a name must never break a repr
                pass
        return getattr(self.op, "grad_fn_name", None) or _camel(self.op.name) + "Backward0"

    def __repr__(self):
        return f"<{self.name().rsplit('::', 1)[-1]} object at {hex(id(self))}>"

    @property
    def next_functions(self):
        return tuple(e if e is not None else (None, 0) for e in self.edges)

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


def _ndims(node):
    return [getattr(a, "ndim", None) for a in (node.arrays or ())]


def _args(node):
    """The call's positional and keyword static arguments (arrays shown as None)."""
    return node.key[0], dict(node.key[1])


def _has_dim(node):
    args, kwargs = _args(node)
    return len(args) > 1 and args[1] is not None or kwargs.get("dim") is not None


def _matmul_name(node):
    a, b = _ndims(node)[:2]
    if a == 1 and b == 1:
        return "DotBackward0"
    if a == 2 and b == 2:
        return "MmBackward0"
    if a == 2 and b == 1:
        return "MvBackward0"
    return "UnsafeViewBackward0" if a and a > 2 else "MmBackward0"


def _getitem_name(node):
    import jax
    if any(isinstance(a, jax.Array) for a in node.arrays[1:]):
        return "IndexBackward0"
    # the normalised index (getitem.normalize) tags slices "s" and integers "i"
    return "SliceBackward0" if "'s'" in repr(node.key) else "SelectBackward0"


# torch names some nodes by the overload or the kernel its op dispatches to
_NAMES = {
    "torch.sum": lambda n: "SumBackward1" if _has_dim(n) else "SumBackward0",
    "torch.mean": lambda n: "MeanBackward1" if _has_dim(n) else "MeanBackward0",
    "torch.squeeze": lambda n: "SqueezeBackward1" if _has_dim(n) else "SqueezeBackward0",
    "torch.max": lambda n: "MaxBackward0" if _has_dim(n) else "MaxBackward1",
    "torch.min": lambda n: "MinBackward0" if _has_dim(n) else "MinBackward1",
    "torch.pow": lambda n: "PowBackward1" if _ndims(n)[1] is not None else "PowBackward0",
    "torch.matmul": _matmul_name,
    "torch._reshape": lambda n: "ViewBackward0",
    "torch.__getitem__": _getitem_name,
    "torch.__setitem__": lambda n: "torch::autograd::CopySlices",
    "torch.nn.functional.linear": lambda n: ("AddmmBackward0" if len(n.arrays) > 2 and
                                             _ndims(n)[0] == 2 else "MmBackward0"),
    "torch.norm": lambda n: "LinalgVectorNormBackward0",
}


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


def attach(node: Node, result, outputs=None) -> None:
    """Make the float and complex tensors of `result` outputs of `node` (in flat order);
    `outputs`: only those flat positions (ops whose other outputs torch does not
    differentiate, e.g. the saved statistics of native_layer_norm)."""
    if type(result) is Tensor and outputs is None:      # the common case
        if result._value.dtype.kind in "fc" or result._value.dtype.name == "bfloat16":
            result._requires_grad = True
            result.grad_fn = node
        return
    stack = [result]
    flat = []
    while stack:
        v = stack.pop()
        if isinstance(v, Tensor):
            flat.append(v)
        elif isinstance(v, (tuple, list)):
            stack.extend(reversed(v))
    for nr, t in enumerate(flat):
        if outputs is not None and nr not in outputs:
            continue
        if t._value.dtype.kind in "fc" or t._value.dtype.name == "bfloat16":
            t._requires_grad = True
            t.grad_fn = node
            t._output_nr = nr


def count_outputs(result) -> int:
    if type(result) is Tensor:
        return 1
    if isinstance(result, (tuple, list)):
        return sum(count_outputs(v) for v in result)
    return 0


# ops whose derivative torch computes from their result and not their input: torch saves the
# result (modifying it in place breaks their backward; modifying the input does not)
SAVES_RESULT = frozenset(
    "torch." + n for n in ("exp", "exp2", "expm1", "tanh", "sigmoid", "sqrt", "rsqrt",
                           "reciprocal", "special.expit", "special.exp2", "special.expm1",
                           "softmax", "log_softmax", "special.softmax", "special.log_softmax",
                           "nn.functional.relu", "nn.functional.softmax",
                           "nn.functional.log_softmax", "nn.functional.sigmoid",
                           "nn.functional.tanh", "matrix_exp", "linalg.matrix_exp"))


def _saved_version(t):
    vc = version_counter(t)
    return [vc, vc[0], weakref.ref(t)]


def resave(node, vc) -> None:
    """The node's inputs that share `vc` are saved at its current version (an in-place op's
    own write does not invalidate what its node saved: the arrays are the values before)."""
    versions = getattr(node, "versions", None)
    if versions:
        for entry in versions:
            if entry is not None and entry[0] is vc:
                entry[1] = vc[0]


def record(op, key, kernel, arrays, tensors, result):
    """The registry's autograd hook: called when some input tensor requires grad."""
    if not STATE.enabled:
        return
    for t in tensors:
        if t is not None and t._inference:
            raise RuntimeError("Inference tensors cannot be saved for backward. To work around "
                               "you can make a clone to get a normal tensor and use it in "
                               "autograd.")
    edges = tuple([edge_of(t) for t in tensors])
    node = Node(op, key, arrays, edges, count_outputs(result))
    node.versions = [None if t is None else _saved_version(t) for t in tensors]
    if type(result) is Tensor and getattr(op, "name", None) in SAVES_RESULT:
        node.versions.append(_saved_version(result))
    differentiable = op.differentiable
    attach(node, result, differentiable if type(differentiable) is tuple else None)
