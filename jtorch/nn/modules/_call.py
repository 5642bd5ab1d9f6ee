"""A Module call with hooks: torch's order of forward pre-hooks, backward hook set-up,
forward, forward hooks, and the `always_call` hooks when forward raises."""
from __future__ import annotations

import warnings

from ..._tensor import Tensor
from ...utils.hooks import BackwardHook
from . import module as _m


def _run_pre_hooks(module, args, kwargs):
    for hook_id, hook in (*_m._global_forward_pre_hooks.items(),
                          *module._forward_pre_hooks.items()):
        if hook_id in module._forward_pre_hooks_with_kwargs:
            result = hook(module, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError("forward pre-hook must return None or a tuple of "
                                       f"(new_args, new_kwargs), but got {result}.")
                args, kwargs = result
        else:
            result = hook(module, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
    return args, kwargs


def _is_kwargs_hook(module, hook_id):
    return hook_id in module._forward_hooks_with_kwargs \
        or hook_id in _m._global_forward_hooks_with_kwargs


def _is_always_called(module, hook_id):
    return hook_id in module._forward_hooks_always_called \
        or hook_id in _m._global_forward_hooks_always_called


def call_with_hooks(module, args, kwargs):
    called = set()
    state = {"args": args, "kwargs": kwargs, "result": None}
    try:
        return _call(module, state, called)
    except Exception:
        for hook_id, hook in (*_m._global_forward_hooks.items(),
                              *module._forward_hooks.items()):
            if not _is_always_called(module, hook_id) or hook_id in called:
                continue
            try:
                if _is_kwargs_hook(module, hook_id):
                    out = hook(module, state["args"], state["kwargs"], state["result"])
                else:
                    out = hook(module, state["args"], state["result"])
                if out is not None:
                    state["result"] = out
            except Exception as e:
                warnings.warn("module forward hook with ``always_call=True`` raised an "
                              "exception that was silenced as another error was raised in "
                              f"forward: {e}", stacklevel=2)
        raise


def _call(module, state, called):
    full_hooks, non_full_hooks = ([], [])
    if module._backward_hooks or _m._global_backward_hooks:
        full_hooks, non_full_hooks = module._get_backward_hooks()
    pre_hooks = module._get_backward_pre_hooks() \
        if module._backward_pre_hooks or _m._global_backward_pre_hooks else []
    args, kwargs = _run_pre_hooks(module, state["args"], state["kwargs"])
    state["args"], state["kwargs"] = args, kwargs
    # jtorch hands the deprecated (non-full) hooks the full gradients too: torch's are only
    # right when the module is a single autograd node, and it warns otherwise
    full_hooks = full_hooks + non_full_hooks
    bw_hook = None
    if full_hooks or pre_hooks:
        bw_hook = BackwardHook(module, full_hooks, pre_hooks)
        args = bw_hook.setup_input_hook(args)
    result = module.forward(*args, **kwargs)
    state["result"] = result
    for hook_id, hook in (*_m._global_forward_hooks.items(), *module._forward_hooks.items()):
        if _is_always_called(module, hook_id):
            called.add(hook_id)
        if _is_kwargs_hook(module, hook_id):
            out = hook(module, args, kwargs, result)
        else:
            out = hook(module, args, result)
        if out is not None:
            result = out
            state["result"] = result
    if bw_hook is not None:
        if not isinstance(result, (Tensor, tuple)):
            warnings.warn("For backward hooks to be called, module output should be a Tensor "
                          f"or a tuple of Tensors but received {type(result)}", stacklevel=2)
        result = bw_hook.setup_output_hook(result)
    return result
