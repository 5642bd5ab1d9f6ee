"""Grad mode: whether ops record a graph. Thread-local, as torch's is."""
from __future__ import annotations

import functools
import inspect

from .._grad_state import STATE

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]


def is_grad_enabled() -> bool:
    """Mirrors `torch.is_grad_enabled`."""
    return STATE.enabled


def is_inference_mode_enabled() -> bool:
    """Mirrors `torch.is_inference_mode_enabled`."""
    return STATE.inference


class _Mode:
    """A context manager that is also a decorator (of functions and generator functions)."""

    def _enter(self):
        raise NotImplementedError

    def __call__(self, fn):
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def generator(*args, **kwargs):
                gen = fn(*args, **kwargs)
                try:
                    with self.clone():
                        request = next(gen)
                    while True:
                        try:
                            response = yield request
                        except GeneratorExit:
                            with self.clone():
                                gen.close()
                            raise
                        except BaseException as e:
                            with self.clone():
                                request = gen.throw(e)
                        else:
                            with self.clone():
                                request = gen.send(response)
                except StopIteration as stop:
                    return stop.value
            return generator

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)
        return wrapper

    def clone(self):
        return type(self)(*self._args)

    def __enter__(self):
        self._saved = (STATE.enabled, STATE.inference)
        self._enter()
        return None

    def __exit__(self, *exc):
        STATE.enabled, STATE.inference = self._saved
        return False


class no_grad(_Mode):
    """Mirrors `torch.no_grad`."""
    _args = ()

    def __new__(cls, orig_func=None):
        self = super().__new__(cls)
        if orig_func is not None:     # used as @no_grad without parentheses
            return self(orig_func)
        return self

    def _enter(self):
        STATE.enabled = False


class enable_grad(no_grad):
    """Mirrors `torch.enable_grad`."""

    def _enter(self):
        STATE.enabled = True


class set_grad_enabled(_Mode):
    """Mirrors `torch.set_grad_enabled`: switches at construction, so it works as a plain call
    too, and restores on exit when used as a context manager."""

    def __init__(self, mode: bool):
        self._args = (mode,)
        self._before = (STATE.enabled, STATE.inference)
        STATE.enabled = bool(mode)

    def __enter__(self):
        self._saved = self._before
        return None

    def __call__(self, fn):
        # as a decorator it only applies inside the function: undo the switch made above
        STATE.enabled, STATE.inference = self._before
        return super().__call__(fn)

    def clone(self):
        return _Switch(bool(self._args[0]))


class _Switch(_Mode):
    def __init__(self, mode):
        self._args = (mode,)

    def _enter(self):
        STATE.enabled = self._args[0]


class inference_mode(_Mode):
    """Mirrors `torch.inference_mode`: grad mode off; tensors made inside report
    `is_inference()`. jtorch keeps no version counters on them, so they cost nothing extra."""

    def __new__(cls, mode=True):
        self = super().__new__(cls)
        if callable(mode):          # @inference_mode without parentheses
            self._args = (True,)
            return self(mode)
        return self

    def __init__(self, mode=True):
        if not callable(mode):
            self._args = (bool(mode),)

    def _enter(self):
        # torch's InferenceMode guard: inference on means grad off, and the reverse
        STATE.inference = self._args[0]
        STATE.enabled = not self._args[0]
