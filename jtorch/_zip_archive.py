"""The zip container torch.save writes (PyTorchStreamWriter/Reader), byte for byte.

Writer: entries STORED, flags 0x0808 (data descriptor, UTF-8 names), zeroed times, each
entry's data padded to a 64-byte boundary by an "FB" extra field in its local header, a
data descriptor after the data, then the central directory and zip64 end records, as
torch's miniz writer lays them out.

Reader: any zip (STORED or DEFLATED, zip64 or not) whose entries share one top folder; a
STORED record's bytes are read or mapped in place from its computed data offset.
"""
from __future__ import annotations

import io
import struct
import zipfile
import zlib

import numpy as np

ALIGNMENT = 64
_FLAGS = 0x0808
_CORRUPT = (" This is an internal miniz error. If you are seeing this error, there is a high "
            "likelihood that your checkpoint file is corrupted. This can happen if the "
            "checkpoint was not saved properly, was transferred incorrectly, or the file was "
            "modified after saving.")


class ArchiveWriter:
    """Appends records to a binary stream in torch's layout; `close()` writes the directory."""

    def __init__(self, stream, archive_name: str):
        self._out = stream
        self._prefix = archive_name + "/"
        self._pos = 0
        self._entries: list[tuple[bytes, int, int, int]] = []   # name, crc, size, offset

    def _write(self, data) -> None:
        self._out.write(data)
        self._pos += memoryview(data).nbytes

    def write_record(self, name: str, data) -> None:
        """Appends `data` (str, bytes or a contiguous uint8 array) as record `name`."""
        raw = (self._prefix + name).encode("utf-8")
        view = data.encode("utf-8") if isinstance(data, str) else memoryview(data).cast("B")
        size = len(view)
        offset = self._pos
        # torch: 4 bytes of extra-field header, then 'Z' padding up to the alignment
        start = offset + 30 + len(raw) + 4
        pad = (-start) % ALIGNMENT
        zip64 = size >= 0xFFFFFFFF or offset >= 0xFFFFFFFF
        local_size = 0xFFFFFFFF if zip64 else 0
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 0, _FLAGS, 0, 0, 0, 0,
                             local_size, local_size, len(raw), 4 + pad)
        self._write(header + raw + b"FB" + struct.pack("<H", pad) + b"Z" * pad)
        self._write(view)
        crc = zlib.crc32(view)
        if zip64:
            self._write(struct.pack("<IIQQ", 0x08074B50, crc, size, size))
        else:
            self._write(struct.pack("<IIII", 0x08074B50, crc, size, size))
        self._entries.append((raw, crc, size, offset))

    def close(self) -> None:
        cd_start = self._pos
        for raw, crc, size, offset in self._entries:
            extra = b""
            if size >= 0xFFFFFFFF or offset >= 0xFFFFFFFF:
                extra = struct.pack("<HHQQQ", 0x0001, 24, size, size, offset)
                size32, off32 = 0xFFFFFFFF, 0xFFFFFFFF
            else:
                size32, off32 = size, offset
            self._write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0, 0, _FLAGS, 0, 0, 0,
                                    crc, size32, size32, len(raw), len(extra), 0, 0, 0, 0,
                                    off32) + raw + extra)
        cd_size = self._pos - cd_start
        n = len(self._entries)
        eocd64 = self._pos
        self._write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 0x031E, 0x002D, 0, 0, n, n,
                                cd_size, cd_start))
        self._write(struct.pack("<IIQI", 0x07064B50, 0, eocd64, 1))
        self._write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(n, 0xFFFF), min(n, 0xFFFF),
                                min(cd_size, 0xFFFFFFFF), min(cd_start, 0xFFFFFFFF), 0))


def is_zip(stream) -> bool:
    """torch's `_is_zipfile`: the stream starts with a local file header signature."""
    start = stream.tell()
    head = stream.read(4)
    stream.seek(start)
    return head == b"PK\x03\x04"


class ArchiveReader:
    """Records of a torch zip archive, found under its top folder."""

    def __init__(self, stream):
        self._stream = stream
        self._base = stream.tell()
        try:
            self._zip = zipfile.ZipFile(_Window(stream, self._base) if self._base else stream)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, struct.error) as e:
            raise RuntimeError("PytorchStreamReader failed reading zip archive: failed finding "
                               "central directory." + _CORRUPT) from e
        if not infos:
            raise RuntimeError("PytorchStreamReader failed reading zip archive: archive is "
                               "empty." + _CORRUPT)
        first = infos[0].filename
        # torch: the archive's name is whatever precedes the first entry's first '/'
        self.prefix = first[:first.index("/") + 1] if "/" in first else ""
        self._records = {i.filename[len(self.prefix):]: i for i in infos
                         if i.filename.startswith(self.prefix)}

    def has_record(self, name: str) -> bool:
        return name in self._records

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = self._records.get(name)
        if info is None:
            raise RuntimeError(f"PytorchStreamReader failed locating file {name}: file not "
                               "found." + _CORRUPT)
        return info

    def record_size(self, name: str) -> int:
        return self._info(name).file_size

    def get_record(self, name: str) -> bytes:
        info = self._info(name)
        try:
            return self._zip.read(info)
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error, ValueError) as e:
            raise RuntimeError(f"PytorchStreamReader failed reading file {name}: file read "
                               "failed." + _CORRUPT) from e

    def data_offset(self, name: str) -> int | None:
        """Absolute position of a STORED record's bytes in the stream (None if compressed)."""
        info = self._info(name)
        if info.compress_type != zipfile.ZIP_STORED:
            return None
        self._stream.seek(self._base + info.header_offset)
        header = self._stream.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise RuntimeError(f"PytorchStreamReader failed reading file {name}: invalid "
                               "header or archive is corrupted." + _CORRUPT)
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        start = self._base + info.header_offset + 30 + name_len + extra_len
        self._stream.seek(0, io.SEEK_END)
        if start + info.file_size > self._stream.tell():
            raise RuntimeError(f"PytorchStreamReader failed reading file {name}: file read "
                               "failed." + _CORRUPT)
        return start

    def read_array(self, name: str, np_dtype, count: int) -> np.ndarray:
        """`count` elements of the record `name`, read in one copy."""
        nbytes = count * np_dtype.itemsize
        if self.record_size(name) < nbytes:
            raise RuntimeError(f"PytorchStreamReader failed reading file {name}: the record "
                               f"holds {self.record_size(name)} bytes, the storage needs {nbytes}")
        start = self.data_offset(name)
        if start is None:
            return np.frombuffer(self.get_record(name), np_dtype, count)
        # 64-byte aligned, so jax's CPU client adopts the buffer instead of copying it again
        buffer = np.empty(nbytes + ALIGNMENT, np.uint8)
        skip = -buffer.ctypes.data % ALIGNMENT
        out = buffer[skip:skip + nbytes].view(np_dtype)
        self._stream.seek(start)
        got = self._stream.readinto(memoryview(buffer[skip:skip + nbytes]))
        if got != nbytes:
            raise RuntimeError(f"PytorchStreamReader failed reading file {name}: file read "
                               "failed." + _CORRUPT)
        return out


class _Window(io.RawIOBase):
    """A stream seen from `base` on: torch reads an archive that starts mid-file."""

    def __init__(self, stream, base: int):
        self._s, self._base = stream, base

    def seekable(self):
        return True

    def readable(self):
        return True

    def seek(self, pos, whence=io.SEEK_SET):
        if whence == io.SEEK_SET:
            pos += self._base
        return self._s.seek(pos, whence) - self._base

    def tell(self):
        return self._s.tell() - self._base

    def read(self, n=-1):
        return self._s.read(n)
