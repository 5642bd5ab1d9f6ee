"""Mirrors `torch.nn.modules.lazy`: LazyModuleMixin, for modules whose parameter shapes are
inferred from their first input."""
from __future__ import annotations

import itertools

from ...autograd.grad_mode import no_grad
from ..parameter import is_lazy

__all__ = ["LazyModuleMixin"]


class LazyModuleMixin:
    """Mirrors `torch.nn.modules.lazy.LazyModuleMixin`.

    The first call runs `initialize_parameters(*args, **kwargs)` (which materializes the
    `UninitializedParameter`s and resets them), then the module becomes `cls_to_become`.
    Loading a state_dict into a lazy module materializes its placeholders to the stored shapes.
    """

    cls_to_become = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._load_hook = self._register_load_state_dict_pre_hook(self._lazy_load_hook)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters,
                                                               with_kwargs=True)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        # placeholders are saved as they are (detaching one would be an op on it)
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if is_lazy(param) or keep_vars \
                    else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if is_lazy(buf) or keep_vars else buf.detach()

    def _apply(self, fn, recurse=True):
        # Module._apply leaves placeholders alone (and would replace a lazy buffer with a
        # plain tensor); torch gives them the converted dtype and device: new placeholders
        lazy = [(table, name, t) for table in (self._parameters, self._buffers)
                for name, t in table.items() if is_lazy(t)]
        super()._apply(fn, recurse)
        for table, name, t in lazy:
            with no_grad():
                probe = fn(t)
            new = type(t)(t.requires_grad, device=probe.device, dtype=probe.dtype)
            if table is self._buffers:
                new.persistent = t.persistent
            table[name] = new
        return self

    def _lazy_load_hook(self, state_dict, prefix, local_metadata, strict, missing_keys,
                        unexpected_keys, error_msgs):
        for name, param in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if key in state_dict and param is not None and is_lazy(param):
                value = state_dict[key]
                if not is_lazy(value):
                    with no_grad():
                        param.materialize(value.shape)

    def initialize_parameters(self, *args, **kwargs):
        raise NotImplementedError("initialize_parameters is not implemented for "
                                  f"{self.__class__.__name__}")

    def has_uninitialized_params(self) -> bool:
        return any(is_lazy(t) for t in itertools.chain(self._parameters.values(),
                                                         self._buffers.values()))

    def _infer_parameters(self, module, args, kwargs=None):
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        # by id, from this module's own tables: a deep-copied handle still points at the
        # original's tables (RemovableHandle keeps a weakref that copying does not follow)
        for table in (module._forward_pre_hooks, module._forward_pre_hooks_with_kwargs):
            table.pop(module._initialize_hook.id, None)
        module._load_state_dict_pre_hooks.pop(module._load_hook.id, None)
        delattr(module, "_initialize_hook")
        delattr(module, "_load_hook")
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become

    def _replicate_for_data_parallel(self):
        raise RuntimeError("Modules with uninitialized parameters can't be used with "
                           "`DataParallel`. Run a dummy forward pass to correctly initialize "
                           "the modules")
