"""Mirrors `torch.utils.hooks`: RemovableHandle, and the BackwardHook that gives a Module's
full backward hooks the gradients of its inputs and outputs."""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.graph import RemovableHandle
from ..autograd.grad_mode import STATE as _GRAD
from .._tensor import Tensor

__all__ = ["RemovableHandle", "BackwardHook", "unserializable_hook", "warn_if_has_hooks"]


def unserializable_hook(f):
    """Mirrors `torch.utils.hooks.unserializable_hook`."""
    f.__torch_unserializable__ = True
    return f


def warn_if_has_hooks(tensor):
    """Mirrors `torch.utils.hooks.warn_if_has_hooks`."""
    if tensor._hooks:
        import warnings
        for hook in tensor._hooks.values():
            if not hasattr(hook, "__torch_unserializable__"):
                warnings.warn(f"backward hook {hook!r} on tensor will not be serialized.  If "
                              "you expect serialization of the hook, please decorate it with "
                              "torch.utils.hooks.unserializable_hook", stacklevel=2)


class _Identity(Function):
    """Passes tensors through; its backward hands their gradients to a callback, which may
    replace them (the boundary of a module with full backward hooks)."""

    @staticmethod
    def forward(ctx, callback, *tensors):
        ctx.callback = callback
        ctx.set_materialize_grads(False)
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        return (None, *ctx.callback(grads))


class BackwardHook:
    """Mirrors `torch.utils.hooks.BackwardHook`: wraps a module's tensor inputs and outputs
    so that, in backward, the backward pre-hooks see (and may replace) the gradients of the
    outputs and the full backward hooks see (and may replace) those of the inputs."""

    def __init__(self, module, user_hooks, user_pre_hooks):
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs = None
        self.n_inputs = -1
        self.input_positions = ()

    def _wrap(self, values, callback):
        positions = [i for i, v in enumerate(values)
                     if isinstance(v, Tensor) and v.requires_grad]
        if not positions or not _GRAD.enabled:
            return values, ()
        new = _Identity.apply(callback, *(values[i] for i in positions))
        out = list(values)
        for i, t in zip(positions, new):
            out[i] = t
        return out, tuple(positions)

    def setup_input_hook(self, args):
        if not self.user_hooks:
            return args
        out, self.input_positions = self._wrap(list(args), self._on_input_grads)
        self.n_inputs = len(args)
        return tuple(out)

    def setup_output_hook(self, result):
        single = isinstance(result, Tensor)
        values = [result] if single else list(result) if isinstance(result, tuple) else None
        if values is None:
            return result
        self.n_outputs = len(values)
        out, self.output_positions = self._wrap(values, self._on_output_grads)
        return out[0] if single else tuple(out)

    def _on_output_grads(self, grads):
        full = [None] * self.n_outputs
        for i, g in zip(self.output_positions, grads):
            full[i] = g
        full = tuple(full)
        for hook in self.user_pre_hooks:
            new = hook(self.module, full)
            if new is not None:
                full = self._checked(new, full, "backward pre hook", "grad_output")
        self.grad_outputs = full
        if self.user_hooks and not self.input_positions:
            # no input needs a gradient: torch calls the hooks now, with no grad_input
            import warnings
            warnings.warn("Full backward hook is firing when gradients are computed with "
                          "respect to module outputs since no inputs require gradients. See "
                          "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                          "#torch.nn.Module.register_full_backward_hook for more details.",
                          stacklevel=2)
            for hook in self.user_hooks:
                if hook(self.module, (None,) * max(self.n_inputs, 1), full) is not None:
                    raise RuntimeError("Backward hook for Modules where no input requires "
                                       "gradient should always return None or None for all "
                                       "gradients.")
            self.grad_outputs = None
        return tuple(full[i] for i in self.output_positions)

    def _on_input_grads(self, grads):
        full = [None] * self.n_inputs
        for i, g in zip(self.input_positions, grads):
            full[i] = g
        full = tuple(full)
        grad_outputs = self.grad_outputs if self.grad_outputs is not None else \
            (None,) * getattr(self, "n_outputs", 1)
        for hook in self.user_hooks:
            new = hook(self.module, full, grad_outputs)
            if new is not None:
                full = self._checked(new, full, "backward hook", "grad_input")
        self.grad_outputs = None
        return tuple(full[i] for i in self.input_positions)

    @staticmethod
    def _checked(new, old, kind, what):
        if isinstance(new, Tensor):
            new = (new,)
        if not isinstance(new, tuple) or len(new) != len(old):
            raise RuntimeError(f"Module {kind} returned an invalid number of {what}s - got "
                               f"{len(new) if isinstance(new, tuple) else 1}, but expected "
                               f"{len(old)}")
        return new
