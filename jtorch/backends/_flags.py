"""Module attributes that hold a bool and refuse anything else, as torch's backends do."""
from __future__ import annotations

import sys
import types


class Flag:
    """A bool module attribute: a non-bool is torch's RuntimeError, named after torch's
    setter."""

    def __init__(self, default: bool, setter: str):
        self.default, self.setter = default, setter

    def __set_name__(self, owner, name):
        self.slot = "_flag_" + name

    def __get__(self, obj, objtype=None):
        return self if obj is None else obj.__dict__.get(self.slot, self.default)

    def __set__(self, obj, value):
        check_bool(value, self.setter)
        obj.__dict__[self.slot] = value


def check_bool(value, setter: str) -> None:
    """torch's RuntimeError for a backend switch given anything but a bool."""
    if type(value) is not bool:
        raise RuntimeError(f"{setter} expects a bool, but got {type(value).__name__}")


def give_flags(module_name: str, **flags: Flag) -> None:
    """Turn module `module_name` into one with the properties `flags`, as torch makes its
    backend modules."""
    module = sys.modules[module_name]
    cls = type(f"{module_name.rpartition('.')[2].capitalize()}Module", (types.ModuleType,),
               dict(flags))
    for name, flag in flags.items():
        flag.__set_name__(cls, name)
    module.__class__ = cls
