"""torch dtypes over numpy/jax dtypes, torch's type promotion, finfo and iinfo."""
from __future__ import annotations

import ml_dtypes
import numpy as np

__all__ = [
    "dtype", "get_default_dtype", "set_default_dtype", "promote_types", "can_cast",
    "finfo", "iinfo",
]

# categories, ordered as torch's promotion lattice orders them
_BOOL, _INT, _FLOAT, _COMPLEX = 0, 1, 2, 3


class dtype:
    """Mirrors `torch.dtype`; wraps the numpy dtype jax uses for it."""

    __slots__ = ("_name", "_np", "_category", "_signed", "itemsize", "_storage")

    def __init__(self, name: str, np_dtype, category: int, signed: bool, storage: str):
        self._name = name
        self._np = np.dtype(np_dtype)
        self._category = category
        self._signed = signed
        self.itemsize = self._np.itemsize
        self._storage = storage

    is_floating_point = property(lambda self: self._category == _FLOAT)
    is_complex = property(lambda self: self._category == _COMPLEX)
    is_signed = property(lambda self: self._signed)

    def to_real(self) -> "dtype":
        return {complex64: float32, complex128: float64}.get(self, self)

    def to_complex(self) -> "dtype":
        if self is float16:
            raise NotImplementedError("jtorch does not implement torch.complex32 (chalf): jax "
                                      "has no 32-bit complex type")
        return {float32: complex64, float64: complex128, bfloat16: complex64}.get(self, self)

    def __repr__(self):
        return "torch." + self._name

    def __reduce__(self):
        # pickles as the module-level name, so jtorch dtypes round-trip by identity
        return self._name


float32 = dtype("float32", np.float32, _FLOAT, True, "FloatStorage")
float64 = dtype("float64", np.float64, _FLOAT, True, "DoubleStorage")
float16 = dtype("float16", np.float16, _FLOAT, True, "HalfStorage")
bfloat16 = dtype("bfloat16", ml_dtypes.bfloat16, _FLOAT, True, "BFloat16Storage")
uint8 = dtype("uint8", np.uint8, _INT, False, "ByteStorage")
int8 = dtype("int8", np.int8, _INT, True, "CharStorage")
int16 = dtype("int16", np.int16, _INT, True, "ShortStorage")
int32 = dtype("int32", np.int32, _INT, True, "IntStorage")
int64 = dtype("int64", np.int64, _INT, True, "LongStorage")
bool_ = dtype("bool", np.bool_, _BOOL, False, "BoolStorage")
complex64 = dtype("complex64", np.complex64, _COMPLEX, True, "ComplexFloatStorage")
complex128 = dtype("complex128", np.complex128, _COMPLEX, True, "ComplexDoubleStorage")

ALL_DTYPES = (float32, float64, float16, bfloat16, uint8, int8, int16, int32, int64,
              bool_, complex64, complex128)
# torch's aliases
ALIASES = {
    "float": float32, "double": float64, "half": float16, "long": int64, "int": int32,
    "short": int16, "bool": bool_, "cfloat": complex64, "cdouble": complex128,
    "complex32": None,
}
del ALIASES["complex32"]

_FROM_NP = {d._np: d for d in ALL_DTYPES}


def from_numpy_dtype(np_dtype) -> dtype:
    """The torch dtype of a numpy/jax dtype; TypeError for ones torch lacks."""
    try:
        return _FROM_NP[np_dtype]
    except KeyError:
        pass
    try:
        return _FROM_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        raise TypeError(
            f"can't convert np.ndarray of type {np.dtype(np_dtype)}. The only supported types "
            "are: float64, float32, float16, complex64, complex128, int64, int32, int16, "
            "int8, uint8, and bool.") from None


_default_dtype = [float32]


def get_default_dtype() -> dtype:
    return _default_dtype[0]


def set_default_dtype(d: dtype) -> None:
    """Mirrors `torch.set_default_dtype` (float32 or float64; float16/bfloat16 accepted)."""
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_dtype[0] = d


def default_complex_dtype() -> dtype:
    return complex128 if _default_dtype[0] is float64 else complex64


_FLOAT_RANK = {float16: 0, bfloat16: 0, float32: 1, float64: 2}


def promote_types(a: dtype, b: dtype) -> dtype:
    """Mirrors `torch.promote_types`."""
    if a is b:
        return a
    ca, cb = a._category, b._category
    if ca != cb:
        hi, lo = (a, b) if ca > cb else (b, a)
        if hi._category == _COMPLEX and lo._category == _COMPLEX - 1 and lo is float64:
            return complex128
        return hi
    if ca == _FLOAT:
        if {a, b} == {float16, bfloat16}:
            return float32
        return a if _FLOAT_RANK[a] > _FLOAT_RANK[b] else b
    if ca == _COMPLEX:
        return complex128
    # integers: numpy's lattice matches torch's (uint8 + int8 -> int16)
    return _FROM_NP[np.promote_types(a._np, b._np)]


def _combine(higher: dtype | None, lower: dtype | None) -> dtype | None:
    # torch: a lower-priority operand (zero-dim tensor, Python scalar) only changes the
    # result when it belongs to a higher category
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher._category == _COMPLEX:
        return higher
    if lower._category == _COMPLEX:
        return higher.to_complex() if higher._category == _FLOAT else lower
    if higher._category == _FLOAT:
        return higher
    if higher is bool_ or lower._category == _FLOAT:
        return promote_types(higher, lower)
    return higher


def result_type_of(dim_dtypes, zero_dim_dtypes, scalar_dtypes) -> dtype:
    """torch's result type from the three priority classes of operands.

    `scalar_dtypes` are the dtypes Python scalars wrap to (int64, default float,
    default complex, bool)."""
    def fold(ds):
        out = None
        for d in ds:
            out = d if out is None else promote_types(out, d)
        return out
    return _combine(fold(dim_dtypes), _combine(fold(zero_dim_dtypes), fold(scalar_dtypes)))


def can_cast(from_: dtype, to: dtype) -> bool:
    """Mirrors `torch.can_cast`: no cast down a category (complex->float->int->bool)."""
    return from_._category <= to._category


class finfo:
    """Mirrors `torch.finfo`."""

    def __init__(self, type: dtype | None = None):
        type = get_default_dtype() if type is None else type
        if not (type.is_floating_point or type.is_complex):
            raise TypeError(f"torch.finfo() requires a floating point input type, got {type}")
        info = ml_dtypes.finfo(type.to_real()._np)
        self.dtype = str(type.to_real()).replace("torch.", "")
        self.bits = info.bits
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = float(info.tiny)
        self.smallest_normal = self.tiny
        self.resolution = 10.0 ** -info.precision

    def __repr__(self):
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:
    """Mirrors `torch.iinfo`."""

    def __init__(self, type: dtype):
        if type.is_floating_point or type.is_complex:
            raise TypeError(f"torch.iinfo() requires an integer input type, got {type}")
        info = np.iinfo(np.uint8 if type is bool_ else type._np)
        self.bits = 8 if type is bool_ else info.bits
        self.max = 1 if type is bool_ else int(info.max)
        self.min = 0 if type is bool_ else int(info.min)
        self.dtype = type._name

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
