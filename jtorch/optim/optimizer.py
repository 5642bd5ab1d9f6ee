"""Mirrors `torch.optim.Optimizer`: param_groups, state, state_dict in torch's format, hooks.

The base class owns traversal, state and the write-back; an optimizer writes its update as
one pure function of jax arrays over a whole param group (`_update`), which the base runs
as one `jax.jit` call per group and step (DESIGN.md decision 7, STYLE.md's template).
"""
from __future__ import annotations

import functools
import warnings
from collections import OrderedDict, defaultdict
from copy import deepcopy
from itertools import chain
from typing import Any, Callable

import jax
import jax.numpy as jnp

from .. import _alias, _device
from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad, no_grad
from ..nn.modules.module import zero_grads
from ..utils.hooks import RemovableHandle

__all__ = ["Optimizer", "register_optimizer_step_pre_hook",
           "register_optimizer_step_post_hook", "required"]


class _RequiredParameter:
    """Singleton class representing a required parameter for an Optimizer."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()

_global_optimizer_pre_hooks: dict = OrderedDict()
_global_optimizer_post_hooks: dict = OrderedDict()


def register_optimizer_step_pre_hook(hook) -> RemovableHandle:
    """Mirrors `torch.optim.optimizer.register_optimizer_step_pre_hook`."""
    handle = RemovableHandle(_global_optimizer_pre_hooks)
    _global_optimizer_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook) -> RemovableHandle:
    """Mirrors `torch.optim.optimizer.register_optimizer_step_post_hook`."""
    handle = RemovableHandle(_global_optimizer_post_hooks)
    _global_optimizer_post_hooks[handle.id] = hook
    return handle


def _with_hooks(step):
    """A subclass's `step` with the step pre- and post-hooks around it, as torch's
    `profile_hook_step`."""
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        for hook in chain(_global_optimizer_pre_hooks.values(),
                          self._optimizer_step_pre_hooks.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(f"{step} must return None or a tuple of (new_args, "
                                       f"new_kwargs), but got {result}.")
                args, kwargs = result
        out = step(self, *args, **kwargs)
        self._opt_called = True
        for hook in chain(self._optimizer_step_post_hooks.values(),
                          _global_optimizer_post_hooks.values()):
            hook(self, args, kwargs)
        return out
    wrapper.hooked = True
    return wrapper


def _typename(obj) -> str:
    return "torch.Tensor" if type(obj) is Tensor else \
        f"{type(obj).__module__}.{type(obj).__qualname__}"


def number(value):
    """A hyper-parameter as the kernel's traced argument: a Python float, or a Tensor's
    array (a tensor lr changes without recompiling)."""
    return value._value if isinstance(value, Tensor) else float(value)


def check_lr(lr, message: str = "Invalid learning rate: {}") -> None:
    """torch's ValueErrors for a learning rate: a Tensor lr of more than one element, or a
    negative (or NaN) one. Muon and Adafactor word the second differently (`message`)."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(message.format(lr))


def lerp(start, end, weight):
    """torch's lerp: from the nearer end, so that weight 1 gives `end` exactly."""
    return jnp.where(jnp.abs(weight) < 0.5, start + weight * (end - start),
                     end - (end - start) * (1 - weight))


def scalar_state(value) -> Tensor:
    """A 0-d state entry (`step`, `mu_product`) in torch's `_get_scalar_dtype()`: float64
    under a float64 default dtype, else float32."""
    from .. import float32, float64, get_default_dtype
    from .._ops.creation import tensor
    if isinstance(value, Tensor):
        return value
    return tensor(float(value), dtype=float64 if get_default_dtype() is float64 else float32)


def tensor_scalars(optimizer: "Optimizer", names: tuple[str, ...]) -> None:
    """Python-number `step`-like entries of an old state_dict as 0-d tensors, as torch's
    `__setstate__` converts them."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p)
            if state:
                for name in names:
                    if name in state:
                        state[name] = scalar_state(state[name])


# one jitted update per (optimizer function, static options); jax caches shapes under it
_KERNELS: dict = {}


def _kernel(update, static, donate):
    key = (update, static, donate)
    fn = _KERNELS.get(key)
    if fn is None:
        fn = _KERNELS[key] = jax.jit(functools.partial(_on_real_views, update, static),
                                     donate_argnums=(1, 3) if donate else ())
    return fn


def _onto_params_device(param, hyper, s_arrays):
    """torch keeps `step` and a tensor lr on the CPU beside accelerator parameters. One
    jitted update needs them on the parameters' device, where the new `step` then stays
    (as torch's `capturable=True` keeps it)."""
    target = next(iter(param.devices()))

    def move(a):
        if isinstance(a, jax.Array) and a.ndim == 0 and target not in a.devices():
            return jax.device_put(a, target)
        return a
    return jax.tree.map(move, hyper), [tuple(move(a) for a in s) for s in s_arrays]


def _donatable(tensors) -> bool:
    """Whether every tensor is a root whose array only it holds (`_alias.exclusive`): then
    the update may overwrite the old parameters and states in place (XLA buffer donation),
    so a step needs no second copy of the model and its optimizer state."""
    return all(t is None or (t._view is None and _alias.exclusive(t)) for t in tensors)


def _as_real(x):
    return jnp.stack([x.real, x.imag], -1) if x is not None and jnp.iscomplexobj(x) else x


def _on_real_views(update, static, hyper, params, grads, states):
    """`update` with complex parameters, gradients and states seen as real pairs (torch's
    `view_as_real`): each optimizer's elementwise math then treats the real and imaginary
    parts as two parameters, as torch's does; the results go back to complex."""
    complex_shapes = [_as_real(p).shape if jnp.iscomplexobj(p) else None for p in params]
    if not any(complex_shapes):
        return update(static, hyper, params, grads, states)
    new_params, new_states = update(
        static, hyper, [_as_real(p) for p in params], [_as_real(g) for g in grads],
        [tuple(_as_real(s) for s in state) for state in states])

    def back(x, shape):
        return jax.lax.complex(x[..., 0], x[..., 1]) if shape and x.shape == shape else x
    return ([back(p, shape) for p, shape in zip(new_params, complex_shapes)],
            [tuple(back(s, shape) for s in state)
             for state, shape in zip(new_states, complex_shapes)])


class Optimizer:
    """Mirrors `torch.optim.Optimizer`.

    `foreach`, `fused`, `capturable` and `differentiable` are accepted and kept in the
    param groups (torch's state_dict has them) but change nothing: every group's update is
    one fused XLA kernel already.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__ and not getattr(cls.__dict__["step"], "hooked", False):
            cls.step = _with_hooks(cls.__dict__["step"])

    def __init__(self, params, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()
        self._optimizer_state_dict_pre_hooks = OrderedDict()
        self._optimizer_state_dict_post_hooks = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks = OrderedDict()
        self._optimizer_load_state_dict_post_hooks = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    # options an older pickle or state_dict may lack: (name, default) for every param group
    _group_defaults: tuple = ()
    # 0-d state entries an older state_dict may hold as Python numbers (torch's setstate
    # makes them tensors)
    _scalar_states: tuple = ("step",)

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
                     "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
                     "_optimizer_load_state_dict_pre_hooks",
                     "_optimizer_load_state_dict_post_hooks"):
            self.__dict__.setdefault(name, OrderedDict())
        self.defaults.setdefault("differentiable", False)
        for group in self.param_groups:
            for name, default in self._group_defaults:
                group.setdefault(name, default)
        tensor_scalars(self, self._scalar_states)

    def _check_fused(self):
        """torch's refusals of `fused` with `differentiable` or `foreach` (all three change
        nothing here, but the same arguments must fail)."""
        if self.defaults.get("fused") and self.defaults.get("differentiable"):
            raise RuntimeError("`fused` does not support `differentiable`")
        if self.defaults.get("fused") and self.defaults.get("foreach"):
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def __repr__(self) -> str:
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    # -- groups -------------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        tensors = [p[1] if isinstance(p, tuple) else p for p in params]
        if names and len(names) != len(tensors):
            raise ValueError("all optimizer params should be with/without names. Some param "
                             "names are missing")
        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(p))
            if not self.defaults.get("differentiable", None) and \
                    not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group)
        group["params"] = tensors
        if names:
            group["param_names"] = names
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        if len(tensors) != len({id(p) for p in tensors}):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen = set()
        for other in self.param_groups:
            seen.update(id(p) for p in other["params"])
            if ("param_names" in group) != ("param_names" in other):
                which = "with names" if "param_names" in group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if any(id(p) in seen for p in tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        param_group.clear()
        param_group.update(group)       # torch updates the caller's dict in place
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        zero_grads(chain.from_iterable(g["params"] for g in self.param_groups), set_to_none)

    def step(self, closure: Callable[[], float] | None = None):
        raise NotImplementedError

    def _groups_to_update(self):
        """Each param group with its parameters that have a gradient (torch skips the rest).
        A parameter listed twice (torch warns) is updated twice, the second time from the
        first's result as in torch's loop: each repeat comes in a later batch."""
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            while params:
                batch, repeats, seen = [], [], set()
                for p in params:
                    (repeats if id(p) in seen else batch).append(p)
                    seen.add(id(p))
                yield group, batch
                params = repeats

    def _states(self, group, params):
        """Each parameter's state dict, filled by `_init_state` at the parameter's first
        step (torch's lazy state)."""
        states = []
        for p in params:
            state = self.state[p]
            if not state:
                self._init_state(group, p, state)
            states.append(state)
        return states

    def _init_state(self, group, p, state):
        """Fills a parameter's empty state, in torch's key order and dtypes."""
        raise NotImplementedError

    @staticmethod
    def _closure_loss(closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # -- the jitted update -------------------------------------------------------------------
    def _run_update(self, update, static, hyper, params, grads, states, names):
        """Runs `update(static, hyper, params, grads, states)` (pure, jax arrays; `states` a
        list of one tuple per parameter, ordered as `names`, or as `names[i]` when `names`
        is a list of one tuple per parameter) as one jitted call, then writes the new
        parameter values in place and stores the new state tensors."""
        per_param = names if isinstance(names, list) else [names] * len(params)
        donate = _donatable(params) and _donatable(
            s[n] for s, keys in zip(states, per_param) for n in keys)
        p_arrays = [p._value for p in params]
        g_arrays = [g._value for g in grads]
        s_arrays = [tuple(None if s[n] is None else s[n]._value for n in keys)
                    for s, keys in zip(states, per_param)]
        if p_arrays and _device.accelerator_devices():
            hyper, s_arrays = _onto_params_device(p_arrays[0], hyper, s_arrays)
        new_params, new_states = _kernel(update, static, donate)(hyper, p_arrays, g_arrays,
                                                                 s_arrays)
        del p_arrays, s_arrays
        with no_grad():
            for p, value in zip(params, new_params):
                _alias.write(p, value, owned=True)
            for state, keys, values in zip(states, per_param, new_states):
                for name, value in zip(keys, values):
                    current = state.get(name)
                    if isinstance(current, Tensor) and current._value.shape == value.shape:
                        _alias.write(current, value, owned=True)
                    else:
                        state[name] = fresh = Tensor._wrap(value)
                        fresh._owns = id(value)

    # -- state_dict -------------------------------------------------------------------------
    def register_step_pre_hook(self, hook) -> RemovableHandle:
        handle = RemovableHandle(self._optimizer_step_pre_hooks)
        self._optimizer_step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook) -> RemovableHandle:
        handle = RemovableHandle(self._optimizer_step_post_hooks)
        self._optimizer_step_post_hooks[handle.id] = hook
        return handle

    def _add_hook(self, table, hook, prepend):
        handle = RemovableHandle(table)
        table[handle.id] = hook
        if prepend:
            table.move_to_end(handle.id, last=False)
        return handle

    def register_state_dict_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        return self._add_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        return self._add_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        return self._add_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        return self._add_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    def state_dict(self) -> dict[str, Any]:
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        index: dict[int, int] = {}
        start = 0

        def pack(group):
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed
        groups = [pack(g) for g in self.param_groups]
        state = {index[id(k)] if isinstance(k, Tensor) else k: v for k, v in self.state.items()}
        result = {"state": state, "param_groups": groups}
        for hook in self._optimizer_state_dict_post_hooks.values():
            out = hook(self, result)
            if out is not None:
                result = out
        return result

    @staticmethod
    def _process_value_according_to_param_policy(param, value, param_id, param_groups,
                                                  key=None):
        # torch: 'step' keeps its dtype (float32 where fused/capturable), the rest follow
        # the parameter's floating dtype and device
        fused = capturable = False
        for group in param_groups:
            if param_id in group["params"]:
                fused = group.get("fused", False)
                capturable = group.get("capturable", False)
                break
        if key == "step":
            if capturable or fused:
                from .. import float32
                return value.to(dtype=float32, device=param.device)
            return value
        if param.is_floating_point():
            return value.to(dtype=param.dtype, device=param.device)
        return value.to(device=param.device)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state_dict = dict(state_dict)
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            out = hook(self, state_dict)
            if out is not None:
                state_dict = out
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def cast(param, value, param_id=None, key=None):
            if isinstance(value, Tensor):
                return Optimizer._process_value_according_to_param_policy(
                    param, value, param_id, state_dict["param_groups"], key)
            if isinstance(value, dict):
                return {k: cast(param, v, param_id, k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v, param_id) for v in value)
            return value

        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                state[id_map[k]] = cast(id_map[k], v, k)
            else:
                state[k] = v

        def update_group(group, new_group):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            return new_group
        self.__setstate__({"state": state, "param_groups": [
            update_group(g, ng) for g, ng in zip(groups, saved_groups)]})
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)
