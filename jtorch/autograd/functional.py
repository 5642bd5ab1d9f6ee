"""Mirrors `torch.autograd.functional`: jacobian, hessian, vjp, jvp, hvp and vhp.

Two ways reach the same numbers. The traced way runs `func` as a pure function of jax arrays
(tracers wrapped in Tensors) under jax's transforms (jax.vjp, jax.jvp, jax.jacrev, jax.jacfwd),
compiled as one XLA program. The graph way is torch's own algorithm: run `func` eagerly and call
`autograd.grad` on the recorded graph, once per row where a jacobian needs it.

torch differentiates the recorded graph, jax the computation of the values; the two differ
where the graph is cut: `detach()`, `no_grad`, a custom `autograd.Function` (its gradient is
the user's backward), tensor hooks. The traced inputs are leaves that require grad, as torch's
are, so the trace records a graph too; the graph way runs instead when that graph shows a
cut, when `func` cannot be traced (`.item()`, numpy, shapes that depend on values), and for
what only the graph gives: `create_graph=True` (a result differentiable in jtorch's graph;
slower, one backward per row), `strict=True`, integer or complex tensors (torch's complex
conventions live in the engine). A `func` with side effects may then run twice.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.extend.core as jax_core
import jax.numpy as jnp
import numpy as np

from .._tensor import Size, Tensor
from .engine import _TRACE_ERRORS
from .engine import grad as _engine_grad
from .grad_mode import enable_grad, is_grad_enabled, set_grad_enabled
from .graph import Node

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]

_TensorOrTensors = Tensor | tuple[Tensor, ...]


class _Untraceable(Exception):
    """The trace of `func` cannot stand for torch's graph: take the graph way."""


_FALLBACK = (_Untraceable, jax.errors.UnexpectedTracerError) + _TRACE_ERRORS


# -- argument checks, as torch makes them ----------------------------------------------------

def _as_tuple(value, arg_name, fn_name):
    is_tuple = isinstance(value, tuple)
    items = value if is_tuple else (value,)
    for i, el in enumerate(items):
        if not isinstance(el, Tensor):
            where = f"the value at index {i}" if is_tuple else f"the given {arg_name}"
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a "
                            f"tuple of Tensors but {where} has type {type(el)}.")
    return is_tuple, items


def _check_differentiable(inputs):
    # torch makes its own copies of the inputs require grad before anything else
    for t in inputs:
        if not (t.dtype.is_floating_point or t.dtype.is_complex):
            raise RuntimeError("only Tensors of floating point and complex dtype can require "
                               "gradients")


def _unpack(res, is_tuple):
    return tuple(res) if is_tuple else res[0]


def _unpack2(res, outer_is_tuple, inner_is_tuple, forward=False):
    # torch's forward-mode jacobian builds lists, and returns them where it does not unpack
    res = [list(r) for r in res] if forward else tuple(tuple(r) for r in res)
    if not inner_is_tuple:
        res = tuple(r[0] for r in res)
    return res if outer_is_tuple else res[0]


def _validate_v(v, other, is_other_tuple):
    if len(v) != len(other):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got "
                               f"{len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for i, (a, b) in enumerate(zip(v, other)):
        if tuple(a.shape) != tuple(b.shape):
            prefix = f"Entry {i} in " if is_other_tuple else ""
            raise RuntimeError(f"{prefix}v has invalid size: should be {Size(b.shape)} but got "
                               f"{Size(a.shape)}.")


def _numel(x):
    return math.prod(x.shape)


def _v_for_inputs(v, inputs, is_inputs_tuple, fn_name, create_graph):
    """jvp, hvp and vhp check v against the inputs before calling `func`."""
    if v is None:
        if len(inputs) != 1 or _numel(inputs[0]) != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided "
                               "function is a single Tensor with a single element.")
        return None
    _, v = _as_tuple(v, "v", fn_name)
    v = _prepare(v, create_graph, need_graph=False)
    _validate_v(v, inputs, is_inputs_tuple)
    return v


def _v_for_outputs(v, outputs, is_outputs_tuple, create_graph):
    if v is None:
        if len(outputs) != 1 or _numel(outputs[0]) != 1:
            raise RuntimeError("The vector v can only be None if the user-provided function "
                               "returns a single Tensor with a single element.")
        return None
    _, v = _as_tuple(v, "v", "vjp")
    v = _prepare(v, create_graph, need_graph=False)
    _validate_v(v, outputs, is_outputs_tuple)
    return v


def _check_single(is_tuple, outputs, fn_name):
    if is_tuple:
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should "
                           "contain a single element")


def _check_forward(create_graph, strict):
    if create_graph:
        raise NotImplementedError("torch.autograd.functional.jacobian: `create_graph=True` and "
                                  '`strategy="forward-mode"` are not supported together (yet). '
                                  "Please either set `create_graph=False` or "
                                  '`strategy="reverse-mode"`.')
    if strict:
        raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and "
                           '`strategy="forward-mode"` are not supported together (yet). Please '
                           'either set `strict=False` or `strategy="reverse-mode"`.')


def _forward_needs_vectorize(vectorize):
    if not vectorize:
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse "
                                  "Hessian is only implemented for `vectorize=True`.")


# -- the traced way ----------------------------------------------------------------------------

def _traceable(inputs, v, create_graph, strict):
    if create_graph or strict:
        return False
    if not all(t.dtype.is_floating_point for t in inputs):
        return False
    return v is None or all(isinstance(t, Tensor) and not t.dtype.is_complex
                            for t in (v if isinstance(v, tuple) else (v,)))


def _leaf(a):
    t = Tensor._wrap(a)
    t._requires_grad = True
    return t


def _check_trace(outputs, leaves):
    """Raise _Untraceable unless jax's derivative of the traced values is torch's gradient
    through the graph the trace recorded: real floating outputs, and no value computed from
    the inputs enters the graph without an edge (detach, no_grad), no custom or hooked node."""
    trace = leaves[0]._value._trace if leaves else None

    def traced(a):
        # computed from the inputs: a tracer of the differentiating transform (constants made
        # inside `func` are the outer trace's, or concrete)
        return (isinstance(a, jax.core.Tracer) and a._trace is trace and
                jnp.issubdtype(a.dtype, jnp.inexact))
    stack = []
    for o in outputs:
        if not o.dtype.is_floating_point:
            raise _Untraceable
        if o.grad_fn is not None:
            stack.append(o.grad_fn)
        elif not o._requires_grad and traced(o._value):
            raise _Untraceable
    seen = set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if node.custom or node.tensor_hooks or node.arrays is None:
            raise _Untraceable
        for a, e in zip(node.arrays, node.edges):
            if e is None:
                if traced(a):
                    raise _Untraceable
            elif isinstance(e[0], Node):
                stack.append(e[0])
    if any(leaf._hooks for leaf in leaves):
        raise _Untraceable


def _pure(func, fn_name, info, single=False):
    """`func` as a function of jax arrays returning the tuple of its outputs' arrays."""
    def pure(*arrays):
        leaves = [_leaf(a) for a in arrays]
        with enable_grad():
            out = func(*leaves)
        is_tuple, outputs = _as_tuple(out, "outputs of the user-provided function", fn_name)
        if single:
            _check_single(is_tuple, outputs, fn_name)
        _check_trace(outputs, leaves)
        info["is_tuple"] = is_tuple
        info["dtypes"] = [o._value.dtype for o in outputs]
        return tuple(o._value for o in outputs)
    return pure


_PROGRAMS: dict = {}     # a traced program's text -> its jitted evaluation
_PROGRAMS_KEPT = 256


def _run(fn, *arrays):
    """`fn(*arrays)`, a jax transform of a traced `func`, as one XLA program.

    `func` is traced on every call, since it may read tensors that changed since the last one
    (through closures: parameters, buffers); the arrays it reads are the trace's constants and
    are passed in as arguments. The compiled program is cached by the trace's text, so a repeated
    call compiles nothing and a first call compiles once (rather than op by op)."""
    closed, shapes = jax.make_jaxpr(fn, return_shape=True)(*arrays)
    key = str(closed.jaxpr)
    program = _PROGRAMS.get(key)
    if program is None:
        jaxpr = closed.jaxpr

        def evaluate(consts, *args):
            return jax_core.jaxpr_as_fun(jax_core.ClosedJaxpr(jaxpr, consts))(*args)
        program = jax.jit(evaluate)
        # a rule held as a Python function is not in the text: do not share such a program
        if not any(word in key for word in ("custom_jvp_call", "custom_vjp_call", "callback")):
            if len(_PROGRAMS) >= _PROGRAMS_KEPT:
                _PROGRAMS.pop(next(iter(_PROGRAMS)))
            _PROGRAMS[key] = program
    out = program(list(closed.consts), *arrays)
    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(shapes), out)


def _try_traced(program, inputs):
    """`program` of the inputs' arrays on the traced way; None when the graph way must run."""
    try:
        return _run(program, *[t._value for t in inputs])
    except _FALLBACK:
        return None


def _wrap_all(arrays):
    return tuple(Tensor._wrap(a) for a in arrays)


def _cast(values, like):
    return tuple(a.astype(b.dtype) for a, b in zip(values, like))


def _vector(v, like):
    """v's arrays in the dtypes of `like` (jax wants cotangents and tangents of the primal's
    dtype; torch casts too), or ones when v may be omitted."""
    if v is None:
        return tuple(jnp.ones_like(a) for a in like)
    return tuple(u._value.astype(a.dtype) for u, a in zip(v, like))


def _scalar_and_grads(func, fn_name):
    """The pure function of the inputs giving (their gradients, the output) for hvp and vhp."""
    pure = _pure(func, fn_name, {}, single=True)

    def grads(*arrays):
        (out,), pull = jax.vjp(pure, *arrays)
        return pull((jnp.ones_like(out),)), out
    return grads


# -- the graph way: torch's algorithm on jtorch's recorded graph --------------------------------

def _prepare(inputs, create_graph, need_graph):
    # always new Tensor objects, so that the given inputs and tensors `func` captures differ
    return tuple(t.view_as(t) if create_graph and t.requires_grad
                 else t.detach().requires_grad_(need_graph) for t in inputs)


def _post(res, create_graph):
    if isinstance(res, Tensor):
        return res if create_graph else res.detach()
    return tuple(_post(r, create_graph) for r in res)


def _grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """autograd.grad over the outputs that require grad (None ones skipped), None for unused."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return _engine_grad([o for o, _ in pairs], inputs, [g for _, g in pairs],
                        retain_graph=retain_graph, create_graph=create_graph, allow_unused=True)


_NOT_DIFFERENTIABLE = {
    "outputs": "Output {i} of the user-provided function does not require gradients. The outputs "
               "must be computed in a differentiable manner from the input when running in "
               "strict mode.",
    "grad_inputs": "The gradient with respect to input {i} is independent of the inputs of the "
                   "user-provided function. This is not allowed in strict mode.",
    "jacobian": "While computing the hessian, found that the jacobian of the user-provided "
                "function with respect to input {i} is independent of the input. This is not "
                "allowed in strict mode. You should ensure that your function is twice "
                "differentiable and that the jacobian depends on the inputs (this would be "
                "violated by a linear function for example).",
}


def _check_requires_grad(tensors, kind, strict):
    if not strict:
        return
    for i, t in enumerate(tensors):
        if t is None:
            raise RuntimeError(f"The output of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode.")
        if not t.requires_grad:
            raise RuntimeError(_NOT_DIFFERENTIABLE[kind].format(i=i))


_INDEPENDENT = {
    "back": "The output of the user-provided function is independent of input {i}. This is not "
            "allowed in strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the "
                  "grad_outputs when using the double backward trick to compute forward mode "
                  "gradients. This is not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. "
                   "This is not allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {i} "
                         "in the grad_jacobian. This is not allowed in strict mode as it prevents "
                         "from using the double backward trick to replace forward mode AD.",
}


def _fill_zeros(grads, refs, strict, create_graph, stage):
    """Zeros where no gradient arrived, or torch's strict-mode errors."""
    res = []
    for i, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(_INDEPENDENT[stage].format(i=i))
            g = _zeros(ref)
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of input "
                               f"{i}. This is not allowed in strict mode when create_graph=True.")
        res.append(g)
    return tuple(res)


def _zeros(t):
    # built on the host: an eager jnp op would compile once per shape
    return Tensor._wrap(jnp.asarray(np.zeros(t._value.shape, t._value.dtype)))


def _one_hot(out, j):
    flat = np.zeros(out._value.size, out._value.dtype)
    flat[j] = 1
    return Tensor._wrap(jnp.asarray(flat.reshape(out._value.shape)))


def _jacobian_graph(func, inputs, is_inputs_tuple, create_graph, strict, vectorize, forward,
                    fn_name="jacobian"):
    import jtorch
    with enable_grad():
        inputs = _prepare(inputs, create_graph, need_graph=True)
        out = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(out, "outputs of the user-provided function",
                                              fn_name)
        _check_requires_grad(outputs, "outputs", strict)
        if vectorize and strict:
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and "
                               "`vectorized=True` are not supported together. Please either set "
                               "`strict=False` or `vectorize=False`.")
        jac = []
        for i, out in enumerate(outputs):
            if not vectorize and out.requires_grad and out.dtype.is_complex and out.numel():
                # torch differentiates each element as a scalar output with an implicit grad
                raise RuntimeError("grad can be implicitly created only for real scalar outputs")
            rows = [[] for _ in inputs]
            # a one-hot grad_output per row keeps the replay's structure (and its jit) the same
            for j in range(out.numel()):
                grads = _grad((out,), inputs, (_one_hot(out, j),), create_graph=create_graph,
                              retain_graph=True)
                for k, (g, inp) in enumerate(zip(grads, inputs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is "
                                               f"independent of input {k}. This is not allowed "
                                               "in strict mode.")
                        g = _zeros(inp)
                    elif strict and create_graph and not g.requires_grad:
                        raise RuntimeError(f"The jacobian of the user-provided function is "
                                           f"independent of input {i}. This is not allowed in "
                                           "strict mode when create_graph=True.")
                    rows[k].append(g)
            row = []
            for r, inp in zip(rows, inputs):
                block = jtorch.stack(r, 0).view(tuple(out.shape) + tuple(inp.shape))
                row.append(block.to(out.dtype) if forward else block)
            jac.append(tuple(row))
    return _unpack2(_post(tuple(jac), create_graph), is_outputs_tuple, is_inputs_tuple, forward)


# -- the public functions ----------------------------------------------------------------------

def vjp(func: Callable, inputs: _TensorOrTensors, v: _TensorOrTensors | None = None,
        create_graph: bool = False, strict: bool = False):
    """Mirrors `torch.autograd.functional.vjp`."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
    _check_differentiable(inputs)
    if _traceable(inputs, v, create_graph, strict):
        info = {}
        pure = _pure(func, "vjp", info)

        def program(*arrays):
            outs, pull = jax.vjp(pure, *arrays)
            vs = _v_for_outputs(v, outs, info["is_tuple"], False)
            return outs, _cast(pull(_vector(vs, outs)), arrays)
        res = _try_traced(program, inputs)
        if res is not None:
            return (_unpack(_wrap_all(res[0]), info["is_tuple"]),
                    _unpack(_wrap_all(res[1]), is_inputs_tuple))
    with enable_grad():
        inputs = _prepare(inputs, create_graph, need_graph=True)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs),
                                              "outputs of the user-provided function", "vjp")
        _check_requires_grad(outputs, "outputs", strict)
        v = _v_for_outputs(v, outputs, is_outputs_tuple, create_graph)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        res = _grad(outputs, inputs, v, create_graph=create_graph)
        res = _fill_zeros(res, inputs, strict, create_graph, "back")
    return (_unpack(_post(outputs, create_graph), is_outputs_tuple),
            _unpack(_post(res, create_graph), is_inputs_tuple))


def jvp(func: Callable, inputs: _TensorOrTensors, v: _TensorOrTensors | None = None,
        create_graph: bool = False, strict: bool = False):
    """Mirrors `torch.autograd.functional.jvp` (torch's double-backward trick on the graph
    way, jax.jvp on the traced way)."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
    _check_differentiable(inputs)
    v = _v_for_inputs(v, inputs, is_inputs_tuple, "jvp", create_graph)
    if _traceable(inputs, v, create_graph, strict):
        info = {}
        pure = _pure(func, "jvp", info)
        res = _try_traced(lambda *a: jax.jvp(pure, a, _vector(v, a)), inputs)
        if res is not None:
            return (_unpack(_wrap_all(res[0]), info["is_tuple"]),
                    _unpack(_wrap_all(res[1]), info["is_tuple"]))
    import jtorch
    with enable_grad():
        inputs = _prepare(inputs, create_graph, need_graph=True)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs),
                                              "outputs of the user-provided function", "jvp")
        _check_requires_grad(outputs, "outputs", strict)
        # the backward is linear in grad_outputs: their value is irrelevant, zeros will do
        grad_outputs = tuple(jtorch.zeros_like(o, requires_grad=True) for o in outputs)
        grad_inputs = _grad(outputs, inputs, grad_outputs, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        res = _grad(grad_inputs, grad_outputs, v, create_graph=create_graph)
        res = _fill_zeros(res, outputs, strict, create_graph, "back_trick")
    return (_unpack(_post(outputs, create_graph), is_outputs_tuple),
            _unpack(_post(res, create_graph), is_outputs_tuple))


def jacobian(func: Callable, inputs: _TensorOrTensors, create_graph: bool = False,
             strict: bool = False, vectorize: bool = False, strategy: str = "reverse-mode"):
    """Mirrors `torch.autograd.functional.jacobian`. `vectorize` changes nothing but torch's
    errors: the traced way is always vectorized (jax.jacrev, or jax.jacfwd for
    `strategy="forward-mode"`)."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". '
                             'Hint: If your function has more outputs than inputs, "forward-mode" '
                             'tends to be more performant. Otherwise, prefer to use '
                             '"reverse-mode".')
    forward = strategy == "forward-mode"
    if forward:
        _check_forward(create_graph, strict)
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    _check_differentiable(inputs)
    if forward:
        _forward_needs_vectorize(vectorize)
    if _traceable(inputs, None, create_graph, strict):
        info = {}
        pure = _pure(func, "jacobian", info)
        transform = jax.jacfwd if forward else jax.jacrev

        def program(*arrays):
            jac = transform(pure, argnums=tuple(range(len(arrays))))(*arrays)
            # torch: forward mode gives the outputs' dtypes, reverse mode the inputs'
            return tuple(tuple(block.astype(dtype if forward else a.dtype)
                               for block, a in zip(row, arrays))
                         for row, dtype in zip(jac, info["dtypes"]))
        jac = _try_traced(program, inputs)
        if jac is not None:
            return _unpack2([_wrap_all(row) for row in jac], info["is_tuple"], is_inputs_tuple,
                            forward)
    return _jacobian_graph(func, inputs, is_inputs_tuple, create_graph, strict, vectorize,
                           forward)


def hessian(func: Callable, inputs: _TensorOrTensors, create_graph: bool = False,
            strict: bool = False, vectorize: bool = False,
            outer_jacobian_strategy: str = "reverse-mode"):
    """Mirrors `torch.autograd.functional.hessian` (jax.jacrev or jax.jacfwd of jax.jacrev on
    the traced way; the results never require grad without create_graph, where torch's
    forward-over-reverse ones do)."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')
    forward = outer_jacobian_strategy == "forward-mode"
    if forward:
        _check_forward(create_graph, strict)
    _check_differentiable(inputs)
    if forward:
        _forward_needs_vectorize(vectorize)
    if _traceable(inputs, None, create_graph, strict):
        pure = _pure(func, "hessian", {}, single=True)

        def program(*arrays):
            argnums = tuple(range(len(arrays)))
            # the outer jacobian as torch's: reverse over reverse keeps the rounding of
            # mixed-precision functions where torch has it
            outer = jax.jacfwd if forward else jax.jacrev
            h = outer(jax.jacrev(lambda *a: pure(*a)[0].reshape(()), argnums), argnums)(*arrays)
            # h[i][j] differentiates the gradient of input i wrt input j: its dtype is input
            # i's in forward mode (the outer jacobian's outputs), input j's in reverse mode
            return tuple(tuple(block.astype(arrays[i if forward else j].dtype)
                               for j, block in enumerate(row)) for i, row in enumerate(h))
        h = _try_traced(program, inputs)
        if h is not None:
            return _unpack2([_wrap_all(row) for row in h], is_inputs_tuple, is_inputs_tuple,
                            forward)

    def single_output(*inp):
        is_tuple, outputs = _as_tuple(func(*inp), "outputs of the user-provided function",
                                      "hessian")
        _check_requires_grad(outputs, "outputs", strict)
        _check_single(is_tuple, outputs, "hessian")
        return outputs[0].squeeze()

    def jac_func(*inp):
        jac = _jacobian_graph(single_output, inp, True, True, False, False, False)
        _check_requires_grad(jac, "jacobian", strict)
        return jac

    res = _jacobian_graph(jac_func, inputs, True, create_graph, strict, vectorize, forward)
    return _unpack2(res, is_inputs_tuple, is_inputs_tuple, forward)


def _second_order_graph(func, inputs, create_graph, strict, fn_name):
    """The shared start of vhp and hvp on the graph way: inputs, outputs, first gradients."""
    with enable_grad():
        inputs = _prepare(inputs, create_graph, need_graph=True)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs),
                                              "outputs of the user-provided function", fn_name)
        _check_requires_grad(outputs, "outputs", strict)
        _check_single(is_outputs_tuple, outputs, fn_name)
        jac = _grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
    return inputs, outputs, jac


def vhp(func: Callable, inputs: _TensorOrTensors, v: _TensorOrTensors | None = None,
        create_graph: bool = False, strict: bool = False):
    """Mirrors `torch.autograd.functional.vhp`."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vhp")
    _check_differentiable(inputs)
    v = _v_for_inputs(v, inputs, is_inputs_tuple, "vhp", create_graph)
    if _traceable(inputs, v, create_graph, strict):
        grads = _scalar_and_grads(func, "vhp")

        def program(*arrays):
            _, pull, out = jax.vjp(grads, *arrays, has_aux=True)
            return out, _cast(pull(_vector(v, arrays)), arrays)
        res = _try_traced(program, inputs)
        if res is not None:
            return Tensor._wrap(res[0]), _unpack(_wrap_all(res[1]), is_inputs_tuple)
    inputs, outputs, jac = _second_order_graph(func, inputs, create_graph, strict, "vhp")
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        res = _grad(jac, inputs, v, create_graph=create_graph)
        res = _fill_zeros(res, inputs, strict, create_graph, "double_back")
    return _post(outputs[0], create_graph), _unpack(_post(res, create_graph), is_inputs_tuple)


def hvp(func: Callable, inputs: _TensorOrTensors, v: _TensorOrTensors | None = None,
        create_graph: bool = False, strict: bool = False):
    """Mirrors `torch.autograd.functional.hvp` (forward over reverse, jax.jvp of the gradient,
    on the traced way; torch's double-backward trick on the graph way)."""
    import jtorch
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hvp")
    _check_differentiable(inputs)
    v = _v_for_inputs(v, inputs, is_inputs_tuple, "hvp", create_graph)
    if _traceable(inputs, v, create_graph, strict):
        grads = _scalar_and_grads(func, "hvp")

        def program(*arrays):
            _, res, out = jax.jvp(grads, arrays, _vector(v, arrays), has_aux=True)
            return out, _cast(res, arrays)
        res = _try_traced(program, inputs)
        if res is not None:
            return Tensor._wrap(res[0]), _unpack(_wrap_all(res[1]), is_inputs_tuple)
    inputs, outputs, jac = _second_order_graph(func, inputs, create_graph, strict, "hvp")
    with enable_grad():
        grad_jac = tuple(jtorch.zeros_like(t, requires_grad=True) for t in inputs)
        double_back = _grad(jac, inputs, grad_jac, create_graph=True)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        res = _grad(double_back, grad_jac, v, create_graph=create_graph)
        res = _fill_zeros(res, inputs, strict, create_graph, "double_back_trick")
    return _post(outputs[0], create_graph), _unpack(_post(res, create_graph), is_inputs_tuple)


def __getattr__(name: str):
    from jtorch._missing import missing_attribute
    return missing_attribute(__name__, name)
