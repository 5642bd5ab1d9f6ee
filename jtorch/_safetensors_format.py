"""The safetensors file format, read and written with numpy.

A file is an 8-byte little-endian header length, a JSON header mapping each tensor name to its
dtype code, shape and `data_offsets` (plus an optional `__metadata__` of strings), padded with
spaces to 8 bytes, then the tensors' raw little-endian bytes, packed with no gaps. The checks
and error messages are those of the `safetensors` package's reader.
"""
from __future__ import annotations

import json
import math
import mmap
import os
from typing import NamedTuple

import numpy as np

from . import _dtype

try:
    from safetensors import SafetensorError
except ImportError:
    class SafetensorError(Exception):
        """Mirrors `safetensors.SafetensorError` (used when that package is absent)."""

# safetensors' own reader refuses larger headers
HEADER_LIMIT = 100_000_000
# jax's CPU client adopts host memory at this alignment without copying
ALIGN = 64

# The format's dtype codes in its own order: writers lay tensors out by this order, highest
# first (then by name), which keeps every tensor aligned to its itemsize.
CODES = ("BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
         "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64",
         "F64", "I64", "U64")
RANK = {code: i for i, code in enumerate(CODES)}
BITS = {"BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8,
        "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16,
        "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64,
        "U64": 64}
CODE_OF = {
    _dtype.float64: "F64", _dtype.float32: "F32", _dtype.float16: "F16", _dtype.bfloat16: "BF16",
    _dtype.int64: "I64", _dtype.int32: "I32", _dtype.int16: "I16", _dtype.int8: "I8",
    _dtype.uint8: "U8", _dtype.bool_: "BOOL", _dtype.complex64: "C64",
}
DTYPE_OF = {code: d for d, code in CODE_OF.items()}


def error(message: str) -> SafetensorError:
    return SafetensorError(f"Error while deserializing: {message}")


# -- reading ------------------------------------------------------------------------------------

class Entry(NamedTuple):
    code: str
    shape: tuple
    start: int
    end: int


def _is_count(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _entry(name: str, info) -> Entry:
    try:
        code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        ok = (code in RANK and isinstance(shape, list) and all(map(_is_count, shape))
              and isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets)))
    except (TypeError, KeyError):
        ok = False
    if not ok:
        raise error(f"invalid JSON in header: tensor `{name}` needs a known dtype, a shape of "
                    "non-negative ints and two data_offsets")
    return Entry(code, tuple(shape), offsets[0], offsets[1])


def parse(source) -> tuple[dict, dict | None, int]:
    """The entries in file order, the metadata, and where the data starts in `source`."""
    size = source.size
    if size < 8:
        raise error("header too small")
    n = int.from_bytes(source.read(0, 8), "little")
    if n > HEADER_LIMIT:
        raise error("header too large")
    if 8 + n > size:
        raise error("invalid header length")
    try:
        content = json.loads(source.read(8, n).decode("utf-8"))
    except UnicodeDecodeError as e:
        raise error(f"invalid UTF-8 in header: {e}") from None
    except ValueError as e:
        raise error(f"invalid JSON in header: {e}") from None
    if not isinstance(content, dict):
        raise error("invalid JSON in header: expected an object")
    metadata = content.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict)
                                     and all(isinstance(v, str) for v in metadata.values())):
        raise error("invalid JSON in header: __metadata__ must map strings to strings")
    entries = sorted(((name, _entry(name, info)) for name, info in content.items()),
                     key=lambda item: (item[1].start, item[1].end))
    end = 0
    for name, e in entries:
        if e.start != end or e.end < e.start:
            raise error(f"invalid offset for tensor `{name}`")
        if math.prod(e.shape) * BITS[e.code] != (e.end - e.start) * 8:
            raise error(f"invalid shape, data type, or offset for tensor `{name}`")
        end = e.end
    if 8 + n + end != size:
        raise error("incomplete metadata, file not fully covered")
    return dict(entries), metadata, 8 + n


def numpy_dtype(name: str, code: str) -> np.dtype:
    d = DTYPE_OF.get(code)
    if d is None:
        raise NotImplementedError(
            f"jtorch does not implement the safetensors dtype {code} of tensor '{name}' "
            "(no torch dtype for it in jtorch yet)")
    return d._np


def _aligned_empty(nbytes: int) -> np.ndarray:
    raw = np.empty(nbytes + ALIGN, np.uint8)
    skip = -raw.ctypes.data % ALIGN
    return raw[skip:skip + nbytes]


class BytesSource:
    """The bytes of a whole safetensors file, in memory."""

    def __init__(self, data: bytes):
        self._data, self.size = data, len(data)

    def read(self, offset: int, length: int) -> bytes:
        return self._data[offset:offset + length]

    def array(self, offset: int, count: int, np_dtype, mapped: bool = False) -> np.ndarray:
        return np.frombuffer(self._data, np_dtype, count, offset)

    def close(self) -> None:
        self._data = None


class FileSource:
    """A safetensors file. Tensors at 64-byte aligned offsets map its pages, as torch's do;
    the rest are read into aligned memory that jax then adopts, so each byte is copied at most
    once and the page cache is not mapped twice."""

    def __init__(self, filename):
        self._file = open(filename, "rb")
        self.size = os.fstat(self._file.fileno()).st_size
        self._map = None

    def read(self, offset: int, length: int) -> bytes:
        self._file.seek(offset)
        return self._file.read(length)

    def mapped(self) -> mmap.mmap:
        if self._map is None:
            self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        return self._map

    def array(self, offset: int, count: int, np_dtype, mapped: bool = False) -> np.ndarray:
        if mapped or offset % ALIGN == 0:
            return np.frombuffer(self.mapped(), np_dtype, count, offset)
        out = _aligned_empty(count * np_dtype.itemsize)
        self._file.seek(offset)
        view, done = memoryview(out), 0
        while done < len(view):
            got = self._file.readinto(view[done:])
            if not got:
                raise error("file shrank while being read")
            done += got
        return out.view(np_dtype)

    def close(self) -> None:
        # the mapping is dropped, not closed: tensors that alias its pages keep it alive
        self._file.close()
        self._map = None


def array(source, base: int, name: str, e: Entry, mapped: bool = False) -> np.ndarray:
    """One tensor's data from `source` (whose data section starts at `base`); `mapped` asks
    for a view of a file's mapped pages, read only where it is indexed."""
    np_dtype = numpy_dtype(name, e.code)
    count = math.prod(e.shape)
    if count == 0:
        return np.zeros(e.shape, np_dtype)
    return source.array(base + e.start, count, np_dtype, mapped).reshape(e.shape)


# -- writing ------------------------------------------------------------------------------------

def check_metadata(metadata) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise TypeError(f"argument 'metadata': '{type(metadata).__name__}' object cannot be "
                        "converted to 'PyDict'")
    for k, v in metadata.items():
        for x in (k, v):
            if not isinstance(x, str):
                raise TypeError(f"argument 'metadata': '{type(x).__name__}' object is not an "
                                "instance of 'str'")


def header(metadata: dict | None, tensors: list) -> bytes:
    """The length-prefixed header for `(name, code, shape, nbytes)` rows in file order."""
    check_metadata(metadata)
    content, offset = {}, 0
    if metadata is not None:
        content["__metadata__"] = metadata
    for name, code, shape, nbytes in tensors:
        content[name] = {"dtype": code, "shape": list(shape),
                         "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    text = json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text


def write_arrays(f, arrays: list) -> None:
    """The data section: each array's bytes, in file order."""
    for a in arrays:
        if a.size:
            f.write(np.ascontiguousarray(a).reshape(-1).view(np.uint8))
