"""Module.load_state_dict: torch's key matching, messages and hooks, applied all or nothing."""
from __future__ import annotations

import itertools
import warnings
from collections import OrderedDict
from collections.abc import Mapping

from ... import _alias
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ..parameter import Parameter, is_lazy


def load_from_state_dict(module, state_dict, prefix, local_metadata, strict, missing_keys,
                         unexpected_keys, error_msgs):
    """torch's `Module._load_from_state_dict`: copy this module's own entries."""
    from .module import Module, _EXTRA_STATE_KEY_SUFFIX
    for hook in module._load_state_dict_pre_hooks.values():
        hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
             error_msgs)
    persistent = {k: v for k, v in module._buffers.items()
                  if k not in module._non_persistent_buffers_set}
    local_state = {k: v for k, v in itertools.chain(module._parameters.items(),
                                                    persistent.items()) if v is not None}
    assign = local_metadata.get("assign_to_params_buffers", False)
    for name, param in local_state.items():
        key = prefix + name
        if key not in state_dict:
            if strict:
                missing_keys.append(key)
            continue
        value = state_dict[key]
        if not isinstance(value, Tensor):
            error_msgs.append(f'While copying the parameter named "{key}", expected '
                              "torch.Tensor or Tensor-like object from checkpoint but "
                              f"received {type(value)}")
            continue
        lazy = is_lazy(param)
        if lazy and is_lazy(value):
            continue        # torch: both placeholders, nothing to copy
        if not lazy and param.dim() == 0 and value.dim() == 1 and value.shape[0] == 1:
            value = value[0]    # torch: old checkpoints stored scalars as shape [1]
        if not lazy and value.shape != param.shape:
            error_msgs.append(f"size mismatch for {key}: copying a param with shape "
                              f"{value.shape} from checkpoint, the shape in current model is "
                              f"{param.shape}.")
            continue
        try:
            with no_grad():
                if assign:
                    if isinstance(param, Parameter):
                        if isinstance(value, Parameter):
                            value.requires_grad_(param.requires_grad)
                        else:
                            value = Parameter(value, requires_grad=param.requires_grad)
                    setattr(module, name, value)
                else:
                    param.copy_(value)
        except Exception as e:
            error_msgs.append(f'While copying the parameter named "{key}", whose dimensions in '
                              f"the model are {param.size()} and whose dimensions in the "
                              f"checkpoint are {value.size()}, an exception occurred : "
                              f"{e.args}.")
    extra_key = prefix + _EXTRA_STATE_KEY_SUFFIX
    if type(module).set_extra_state is not Module.set_extra_state:
        if extra_key in state_dict:
            module.set_extra_state(state_dict[extra_key])
        elif strict:
            missing_keys.append(extra_key)
    elif strict and extra_key in state_dict:
        unexpected_keys.append(extra_key)
    if strict:
        for key in state_dict:
            if key.startswith(prefix) and key != extra_key:
                head = key[len(prefix):].split(".", 1)
                if len(head) > 1:
                    if head[0] not in module._modules:
                        unexpected_keys.append(key)
                elif head[0] not in local_state:
                    unexpected_keys.append(key)


def _snapshot(root):
    """What a failed load must put back: each module's tables and each tensor's data."""
    modules = list(root.modules())
    tables = [(m, dict(m._parameters), dict(m._buffers), dict(m.__dict__)) for m in modules]
    tensors = {}
    for m in modules:
        for t in itertools.chain(m._parameters.values(), m._buffers.values()):
            if t is not None and not is_lazy(t) and id(t) not in tensors:
                tensors[id(t)] = (t, t._value, list(_alias.version_counter(t)))
    return tables, tensors


def _restore(snapshot):
    tables, tensors = snapshot
    for m, params, bufs, attrs in tables:
        m._parameters.clear()
        m._parameters.update(params)
        m._buffers.clear()
        m._buffers.update(bufs)
        m.__dict__.clear()
        m.__dict__.update(attrs)
    for t, value, version in tensors.values():
        if t._value is not value:
            _alias.write(t, value)
            _alias.version_counter(t)[:] = version


def load_state_dict(module, state_dict, strict: bool, assign: bool):
    from .module import _IncompatibleKeys
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
    missing_keys, unexpected_keys, error_msgs = [], [], []
    metadata = getattr(state_dict, "_metadata", None)
    state_dict = OrderedDict(state_dict)
    if metadata is not None:
        state_dict._metadata = metadata
    snapshot = _snapshot(module)

    def load(mod, local_state, prefix=""):
        local_metadata = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
        if assign:
            local_metadata["assign_to_params_buffers"] = assign
        mod._load_from_state_dict(local_state, prefix, local_metadata, True, missing_keys,
                                  unexpected_keys, error_msgs)
        for name, child in mod._modules.items():
            if child is not None:
                child_prefix = prefix + name + "."
                load(child, {k: v for k, v in local_state.items()
                             if k.startswith(child_prefix)}, child_prefix)
        incompatible = _IncompatibleKeys(missing_keys, unexpected_keys)
        for hook in mod._load_state_dict_post_hooks.values():
            if hook(mod, incompatible) is not None:
                raise AssertionError("Hooks registered with "
                                     "``register_load_state_dict_post_hook`` are not expected to "
                                     "return new values, if incompatible_keys need to be "
                                     "modified, it should be done inplace.")

    try:
        load(module, state_dict)
        if strict:
            if unexpected_keys:
                error_msgs.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected_keys)))
            if missing_keys:
                error_msgs.insert(0, "Missing key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in missing_keys)))
        if error_msgs:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                type(module).__name__, "\n\t".join(error_msgs)))
    except BaseException:
        with warnings.catch_warnings():
            _restore(snapshot)
        raise
    return _IncompatibleKeys(missing_keys, unexpected_keys)
