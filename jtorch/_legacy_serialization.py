"""Reading torch's pre-1.6 format (`torch.save(..., _use_new_zipfile_serialization=False)`).

The file is a run of pickles: a magic number, the protocol version (1001), a dict of system
facts, the object pickle (storages as persistent ids `('storage', type, key, location, numel,
view_metadata)`), the list of storage keys; then, per key, an 8-byte element count and the raw
bytes. The bytes come after the pickle that needs them, so storages are built empty while
unpickling and filled in afterwards: every tensor built on one aliases its root, so each sees
the data once it is written.
"""
from __future__ import annotations

import struct

import numpy as np

from . import _alias
from ._serialization_globals import LoadedStorage, StorageSlice

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001


def load_legacy(stream, place_for, weights_only, pickle_module, load_args):
    from .serialization import _unpickle

    def unpickle(persistent_load=None):
        return _unpickle(stream, weights_only, pickle_module, persistent_load, load_args)

    start = stream.tell()
    if stream.read(1) == b"":
        raise EOFError("Ran out of input")
    stream.seek(start)
    if stream.read(512)[257:262] == b"ustar":
        raise RuntimeError("jtorch does not implement loading the legacy .tar checkpoint "
                           "format (torch < 0.4)")
    stream.seek(start)
    if unpickle() != MAGIC_NUMBER:
        raise RuntimeError("Invalid magic number; corrupt file?")
    protocol = unpickle()
    if protocol != PROTOCOL_VERSION:
        raise RuntimeError(f"Invalid protocol version: {protocol}")
    unpickle()    # sys info: endianness and type sizes, all little-endian 64-bit since 2017

    storages: dict = {}
    views: dict = {}

    def persistent_load(pid):
        typename = pid[0].decode("ascii") if isinstance(pid[0], bytes) else pid[0]
        if typename != "storage":
            raise RuntimeError(f"Unknown saved id type: {pid[0]}")
        storage_type, key, location, numel, view_metadata = pid[1:]
        dtype = storage_type.dtype
        location = location.decode() if isinstance(location, bytes) else str(location)
        if key not in storages:
            # zeros stand in until the bytes, which follow the pickle, are read
            storages[key] = LoadedStorage(dtype, numel, lambda: np.zeros(numel, dtype._np),
                                          place_for(location))
        storage = storages[key]
        if view_metadata is None:
            return storage
        view_key, offset, view_numel = view_metadata
        return views.setdefault(view_key, StorageSlice(storage, offset, view_numel))

    result = unpickle(persistent_load)
    keys = unpickle()
    for key in keys:
        if key not in storages:
            raise RuntimeError(f"legacy checkpoint names storage {key!r} its pickle never uses")
        storage = storages[key]
        head = stream.read(8)
        if len(head) != 8:
            raise RuntimeError("legacy checkpoint is truncated: storage data missing")
        count = struct.unpack("<q", head)[0]
        nbytes = count * storage.dtype.itemsize
        raw = stream.read(nbytes)
        if count != storage.numel or len(raw) != nbytes:
            raise RuntimeError(f"legacy checkpoint is truncated or corrupt: storage {key} "
                               f"holds {len(raw)} bytes, expected {storage.numel} elements")
        if storage.root is not None:
            array = np.frombuffer(raw, storage.dtype._np).reshape(storage.root._value.shape)
            filled = storage._place(array)
            _alias.write(storage.root, filled._value)
    return result
