"""The restricted unpickler behind `load(weights_only=True)`.

It executes only the protocol-2 opcodes a checkpoint needs (no FRAME, STACK_GLOBAL, MEMOIZE,
BINBYTES, INST/OBJ...), and resolves GLOBAL only against torch's allow-list (mapped onto
jtorch's objects) plus what the user allowed with `add_safe_globals`. Anything else raises
`pickle.UnpicklingError` naming it, before a single foreign callable runs.
"""
from __future__ import annotations

import _compat_pickle
import pickle
import struct
import warnings
from _codecs import encode
from collections import Counter, OrderedDict
from pickle import UnpicklingError

from ._serialization_globals import torch_globals

_BLOCKED_MODULES = ("sys", "os", "posix", "nt")

_user_safe_globals: set = set()


def add(safe_globals) -> None:
    global _user_safe_globals
    _user_safe_globals = _user_safe_globals | set(safe_globals)


def remove(safe_globals) -> None:
    global _user_safe_globals
    _user_safe_globals = _user_safe_globals - set(safe_globals)


def get() -> list:
    return list(_user_safe_globals)


def clear() -> None:
    global _user_safe_globals
    _user_safe_globals = set()


def _user_allowed() -> dict:
    out = {}
    for entry in _user_safe_globals:
        if isinstance(entry, tuple):
            if len(entry) != 2:
                raise ValueError("Expected tuple of length 2 (global, str of callable full "
                                 f"path), but got tuple of length: {len(entry)}")
            if type(entry[1]) is not str:
                raise TypeError("Expected second item in tuple to be str of callable full "
                                f"path, but got: {type(entry[1])}")
            out[entry[1]] = entry[0]
        else:
            out[f"{entry.__module__}.{entry.__qualname__}"] = entry
    return out


def _default_allowed() -> dict:
    table = dict(torch_globals())
    table.update({"collections.Counter": Counter, "_codecs.encode": encode,
                  "builtins.bytearray": bytearray, "builtins.set": set,
                  "builtins.complex": complex})
    return table


def _display_name(full: str) -> str:
    # torch shows builtins without their module: `GLOBAL slice`, as one would pass it
    return full.removeprefix("builtins.")


def python3_name(module: str, name: str) -> tuple[str, str]:
    """(module, name) with Python 2's names (`__builtin__.set`, which protocol 2 writes) read
    as Python 3's."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    return module, name


_OPS = {}


def _op(code: bytes):
    def register(fn):
        _OPS[code[0]] = fn
        return fn
    return register


class Unpickler:
    """Mirrors `torch._weights_only_unpickler.Unpickler`, on jtorch's objects."""

    def __init__(self, file, *, encoding: str = "bytes", persistent_load=None):
        self.read, self.readline = file.read, file.readline
        self.encoding = encoding
        self.persistent_load = persistent_load
        self.memo: dict = {}

    def load(self):
        self.allowed, self.user = _default_allowed(), _user_allowed()
        self.known = set(map(id, self.allowed.values())) | set(map(id, self.user.values()))
        self.metastack, self.stack = [], []
        read = self.read
        while True:
            key = read(1)
            if not key:
                raise EOFError("Ran out of input")
            handler = _OPS.get(key[0])
            if handler is None:
                raise UnpicklingError(f"Unsupported operand {key[0]}")
            try:
                if handler(self) is _STOP:
                    return self.stack.pop()
            except IndexError:
                if handler in _CALLING:      # raised by the function called, not the pickle
                    raise
                raise UnpicklingError("pickle data was corrupt: stack underflow") from None

    def pop_mark(self) -> list:
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def _allowed(self, obj) -> bool:
        return id(obj) in self.known

    # -- opcodes ------------------------------------------------------------------------------
    @_op(pickle.GLOBAL)
    def _global(self):
        module = self.readline()[:-1].decode("utf-8")
        name = self.readline()[:-1].decode("utf-8")
        module, name = python3_name(module, name)
        full = f"{module}.{name}"
        if module in _BLOCKED_MODULES:
            raise UnpicklingError(f"Trying to load unsupported GLOBAL {full} whose module "
                                  f"{module} is blocked.")
        if full in self.allowed:
            self.stack.append(self.allowed[full])
        elif full in self.user:
            self.stack.append(self.user[full])
        else:
            shown = _display_name(full)
            raise UnpicklingError(
                f"Unsupported global: GLOBAL {shown} was not an allowed global by default. "
                f"Please use `torch.serialization.add_safe_globals([{shown}])` or the "
                f"`torch.serialization.safe_globals([{shown}])` context manager to allowlist "
                "this global if you trust this class/function.")

    @_op(pickle.NEWOBJ)
    def _newobj(self):
        args = self.stack.pop()
        cls = self.stack.pop()
        if not self._allowed(cls):
            raise UnpicklingError("Can only create new object for nn.Parameter or classes "
                                  f"allowlisted via `add_safe_globals` but got {cls}")
        if cls is self.allowed["torch.nn.parameter.Parameter"]:
            self.stack.append(cls(*args))
        else:
            self.stack.append(cls.__new__(cls, *args))

    @_op(pickle.REDUCE)
    def _reduce(self):
        args = self.stack.pop()
        func = self.stack[-1]
        if not self._allowed(func):
            raise UnpicklingError(f"Trying to call reduce for unrecognized function {func}")
        self.stack[-1] = func(*args)

    @_op(pickle.BUILD)
    def _build(self):
        state = self.stack.pop()
        inst = self.stack[-1]
        if type(inst) is OrderedDict:
            inst.__dict__.update(state)   # a state_dict's `_metadata`
            return
        if not self._allowed(type(inst)):
            raise UnpicklingError("Can only build Tensor, Parameter, OrderedDict or types "
                                  f"allowlisted via `add_safe_globals`, but got {type(inst)}")
        if hasattr(inst, "__setstate__"):
            inst.__setstate__(state)
            return
        slots = None
        if isinstance(state, tuple) and len(state) == 2:
            state, slots = state
        if state:
            inst.__dict__.update(state)
        for k, v in (slots or {}).items():
            setattr(inst, k, v)

    @_op(pickle.APPEND)
    def _append(self):
        item = self.stack.pop()
        if type(self.stack[-1]) is not list:
            raise UnpicklingError(f"Can only append to lists, but got {type(self.stack[-1])}")
        self.stack[-1].append(item)

    @_op(pickle.APPENDS)
    def _appends(self):
        items = self.pop_mark()
        if type(self.stack[-1]) is not list:
            raise UnpicklingError(f"Can only extend lists, but got {type(self.stack[-1])}")
        self.stack[-1].extend(items)

    def _check_mapping(self, opcode):
        if type(self.stack[-1]) not in (dict, OrderedDict, Counter):
            raise UnpicklingError(f"Can only {opcode} for dict, collections.OrderedDict, "
                                  f"collections.Counter, but got {type(self.stack[-1])}")

    @_op(pickle.SETITEM)
    def _setitem(self):
        value, key = self.stack.pop(), self.stack.pop()
        self._check_mapping("SETITEM")
        self.stack[-1][key] = value

    @_op(pickle.SETITEMS)
    def _setitems(self):
        items = self.pop_mark()
        self._check_mapping("SETITEMS")
        target = self.stack[-1]
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]

    @_op(pickle.MARK)
    def _mark(self):
        self.metastack.append(self.stack)
        self.stack = []

    @_op(pickle.TUPLE)
    def _tuple(self):
        items = tuple(self.pop_mark())     # pop first: the mark restores the outer stack
        self.stack.append(items)

    @_op(pickle.TUPLE1)
    def _tuple1(self):
        self.stack[-1] = (self.stack[-1],)

    @_op(pickle.TUPLE2)
    def _tuple2(self):
        self.stack[-2:] = [tuple(self.stack[-2:])]

    @_op(pickle.TUPLE3)
    def _tuple3(self):
        self.stack[-3:] = [tuple(self.stack[-3:])]

    @_op(pickle.NONE)
    def _none(self):
        self.stack.append(None)

    @_op(pickle.NEWFALSE)
    def _false(self):
        self.stack.append(False)

    @_op(pickle.NEWTRUE)
    def _true(self):
        self.stack.append(True)

    @_op(pickle.EMPTY_TUPLE)
    def _empty_tuple(self):
        self.stack.append(())

    @_op(pickle.EMPTY_LIST)
    def _empty_list(self):
        self.stack.append([])

    @_op(pickle.EMPTY_DICT)
    def _empty_dict(self):
        self.stack.append({})

    @_op(pickle.EMPTY_SET)
    def _empty_set(self):
        self.stack.append(set())

    @_op(pickle.BININT)
    def _binint(self):
        self.stack.append(struct.unpack("<i", self._exact(4))[0])

    @_op(pickle.BININT1)
    def _binint1(self):
        self.stack.append(self._exact(1)[0])

    @_op(pickle.BININT2)
    def _binint2(self):
        self.stack.append(struct.unpack("<H", self._exact(2))[0])

    @_op(pickle.BINFLOAT)
    def _binfloat(self):
        self.stack.append(struct.unpack(">d", self._exact(8))[0])

    @_op(pickle.BINUNICODE)
    def _binunicode(self):
        n = struct.unpack("<I", self._exact(4))[0]
        self.stack.append(str(self._exact(n), "utf-8", "surrogatepass"))

    @_op(pickle.SHORT_BINSTRING)
    def _short_binstring(self):
        data = self._exact(self._exact(1)[0])
        self.stack.append(data if self.encoding == "bytes" else data.decode(self.encoding))

    @_op(pickle.LONG1)
    def _long1(self):
        self.stack.append(pickle.decode_long(self._exact(self._exact(1)[0])))

    @_op(pickle.BINPERSID)
    def _binpersid(self):
        pid = self.stack.pop()
        if type(pid) is not tuple and type(pid) is not int:
            raise UnpicklingError(f"persistent_load id must be tuple or int, but got {type(pid)}")
        if type(pid) is tuple and pid and _ascii(pid[0]) != "storage":
            raise UnpicklingError("Only persistent_load of storage is allowed, but got "
                                  f"{type(pid[0])}")
        if self.persistent_load is None:
            raise UnpicklingError("unsupported persistent id encountered")
        self.stack.append(self.persistent_load(pid))

    @_op(pickle.BINGET)
    def _binget(self):
        self._get(self._exact(1)[0])

    @_op(pickle.LONG_BINGET)
    def _long_binget(self):
        self._get(struct.unpack("<I", self._exact(4))[0])

    def _get(self, index):
        if index not in self.memo:
            raise UnpicklingError(f"Memo value not found at index {index}")
        self.stack.append(self.memo[index])

    @_op(pickle.BINPUT)
    def _binput(self):
        self.memo[self._exact(1)[0]] = self.stack[-1]

    @_op(pickle.LONG_BINPUT)
    def _long_binput(self):
        self.memo[struct.unpack("<I", self._exact(4))[0]] = self.stack[-1]

    @_op(pickle.PROTO)
    def _proto(self):
        proto = self._exact(1)[0]
        if proto != 2:
            warnings.warn(f"Detected pickle protocol {proto} in the checkpoint, which was not "
                          "the default pickle protocol used by `torch.load` (2). The "
                          "weights_only Unpickler might not support all instructions "
                          "implemented by this protocol.", stacklevel=2)

    @_op(pickle.STOP)
    def _stop(self):
        return _STOP

    def _exact(self, n: int) -> bytes:
        data = self.read(n)
        if len(data) != n:
            raise UnpicklingError("pickle data was truncated")
        return data


_STOP = object()
_CALLING = (Unpickler._reduce, Unpickler._newobj, Unpickler._build, Unpickler._binpersid)


def _ascii(value) -> str:
    return value.decode("ascii") if isinstance(value, bytes) else value
