"""Missing torch names (DESIGN decision 11): the body of every jtorch module's `__getattr__`.

A module of jtorch ends with

    def __getattr__(name: str):
        from jtorch._missing import missing_attribute
        return missing_attribute(__name__, name)

so that `torch.nn.Foo` for a name jtorch lacks raises AttributeError saying "jtorch does not
implement torch.nn.Foo yet" (with Python's "Did you mean" hint for typos), and
`hasattr(torch, "compile")`-style checks in user code still answer False.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys


def torch_name(module_name: str) -> str:
    """The torch name of a jtorch module: `jtorch.nn.functional` -> `torch.nn.functional`."""
    if module_name == "jtorch" or module_name.startswith("jtorch."):
        return "torch" + module_name[len("jtorch"):]
    return module_name


def not_implemented_message(torch_qualname: str) -> str:
    """The one wording for every torch feature jtorch lacks."""
    return f"jtorch does not implement {torch_qualname} yet"


def missing_attribute(module_name: str, name: str) -> object:
    """Resolve `name`, missing from jtorch module `module_name`, or raise AttributeError.

    A package's submodule that nobody imported yet is imported and returned, as `import
    torch` makes `torch.utils.data` reachable without importing it by name.
    """
    module = sys.modules[module_name]
    if name.startswith("__") and name.endswith("__"):
        # Python's own probes (__path__, __wrapped__, __all__ ...) get Python's own message
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}",
                             name=name, obj=module)
    if "__path__" in vars(module) and name.isidentifier():
        full = f"{module_name}.{name}"
        if importlib.util.find_spec(full) is not None:
            return importlib.import_module(full)
    raise AttributeError(not_implemented_message(f"{torch_name(module_name)}.{name}"),
                         name=name, obj=module)
