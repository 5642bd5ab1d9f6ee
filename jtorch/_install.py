"""`jtorch.install_as_torch()`: make `import torch` (and every `torch.X.Y`) import jtorch.

A meta-path finder, first on `sys.meta_path`, answers for `torch` and every `torch.*` name
with jtorch's module of the same path: `import torch.nn.functional as F` binds
`jtorch.nn.functional` itself, so `torch.nn.Linear is jtorch.nn.Linear`. A submodule jtorch
lacks raises ModuleNotFoundError saying so, rather than falling through to a real torch.

Processes that multiprocessing starts with "spawn" or "forkserver" (DataLoader workers
among them) re-run the main script, whose `import torch` must alias too: while installed,
the data multiprocessing sends to such a child carries an item whose unpickling installs
the alias there, before the child runs the main script.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types

from ._missing import not_implemented_message

__all__ = ["install_as_torch", "uninstall_as_torch"]


def _target(fullname: str) -> str:
    return "jtorch" + fullname[len("torch"):]


def _is_torch_name(fullname: str) -> bool:
    return fullname == "torch" or fullname.startswith("torch.")


class _TorchAliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds `torch.X.Y` as `jtorch.X.Y` and loads it by putting jtorch's module in place."""

    def find_spec(self, fullname, path=None, target=None):
        if not _is_torch_name(fullname):
            return None
        name = _target(fullname)
        known = name in sys.modules or isinstance(self._attribute(name), types.ModuleType)
        if not known and importlib.util.find_spec(name) is None:
            raise ModuleNotFoundError(not_implemented_message(fullname), name=name)
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    @staticmethod
    def _attribute(name: str):
        # a jtorch module reachable as an attribute of its parent but not importable by path
        parent, _, child = name.rpartition(".")
        return vars(sys.modules[parent]).get(child) if parent in sys.modules else None

    def create_module(self, spec):
        return None          # a placeholder; exec_module swaps in jtorch's module

    def exec_module(self, module):
        name = _target(module.__name__)
        found = self._attribute(name)
        real = found if isinstance(found, types.ModuleType) else importlib.import_module(name)
        # the import system returns whatever sys.modules holds once loading ends, so jtorch's
        # module is used as it is (its __name__ and __spec__ untouched)
        sys.modules[module.__name__] = real


class _InstallInChild:
    """Unpickled in a spawned child before it re-runs the main script: installs the alias."""

    def __reduce__(self):
        return install_as_torch, ()


class _Installation:
    """What `install_as_torch()` returns: `with jtorch.install_as_torch(): ...` undoes it."""

    def __init__(self, installed_now: bool):
        self._installed_now = installed_now

    def __enter__(self) -> _Installation:
        return self

    def __exit__(self, *exc_info) -> None:
        if self._installed_now:
            uninstall_as_torch()


_state: dict = {}


def install_as_torch() -> _Installation:
    """Make `import torch` and `import torch.X.Y` import jtorch (`python -m jtorch` uses it).

    Modules of a real torch that were already imported are set aside (jtorch and torch must
    not mix) and `uninstall_as_torch()` puts them back. The return value is a context
    manager that uninstalls on exit when this call was the one that installed. Installing
    twice is a no-op.
    """
    if _state:
        return _Installation(False)
    from multiprocessing import spawn

    hidden = {name: sys.modules.pop(name) for name in list(sys.modules) if _is_torch_name(name)}
    finder = _TorchAliasFinder()
    sys.meta_path.insert(0, finder)
    original = spawn.get_preparation_data

    def get_preparation_data(name):
        data = original(name)
        data["jtorch_install_as_torch"] = _InstallInChild()   # ignored by spawn.prepare
        return data

    spawn.get_preparation_data = get_preparation_data
    _state.update(finder=finder, hidden=hidden, spawn=spawn, original=original,
                  patched=get_preparation_data)
    return _Installation(True)


def uninstall_as_torch() -> None:
    """Undo `install_as_torch()`: `import torch` finds a real torch again, if there is one."""
    if not _state:
        return
    if _state["finder"] in sys.meta_path:
        sys.meta_path.remove(_state["finder"])
    for name in [n for n in sys.modules if _is_torch_name(n)]:
        module = sys.modules[name]
        if module is None or getattr(module, "__name__", "").startswith("jtorch"):
            del sys.modules[name]
    sys.modules.update(_state["hidden"])
    spawn = _state["spawn"]
    if spawn.get_preparation_data is _state["patched"]:
        spawn.get_preparation_data = _state["original"]
    _state.clear()
