"""Tensor printing in torch's format: `repr(t)`, `set_printoptions`, `get_printoptions`.

The layout rules (fixed-point vs scientific choice, `1.` for integer-valued floats,
80-column wrapping, `...` summaries, which suffixes appear) follow torch's printer; the
code works on a numpy copy of the tensor.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math

import jax
import numpy as np

from . import _device, _dtype

__all__ = ["get_printoptions", "printoptions", "set_printoptions", "tensor_repr"]


@dataclasses.dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrintOptions()
_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None) -> None:
    """Mirrors `torch.set_printoptions`; like torch, `sci_mode` is always (re)set."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"unknown print profile {profile!r}")
        for k, v in _PROFILES[profile].items():
            setattr(PRINT_OPTS, k, v)
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            setattr(PRINT_OPTS, name, value)
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict:
    """Mirrors `torch.get_printoptions`."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs):
    """Mirrors `torch._tensor_str.printoptions`: print options set for a `with` block."""
    saved = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**saved)


class _Formatter:
    """Chooses one format (int, fixed, `1.`-style or scientific) and a width for all values."""

    def __init__(self, values: np.ndarray, floating: bool):
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = values.reshape(-1)
        if not floating:
            for v in flat.tolist():
                self.max_width = max(self.max_width, len(str(v)))
        else:
            finite = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
            if finite.size:   # no nonzero finite value: torch keeps the `1.`-style default
                self._choose_float(finite)

    def _choose_float(self, finite: np.ndarray):
        p = PRINT_OPTS.precision
        magnitudes = np.abs(finite)
        lo, hi = float(magnitudes.min()), float(magnitudes.max())
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        self.sci_mode = PRINT_OPTS.sci_mode
        if self.sci_mode is None:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        values = finite.tolist()
        if self.sci_mode:
            strs = [f"{v:.{p}e}" for v in values]
        elif self.int_mode:
            strs = [f"{v:.0f}" + " " for v in values]   # room for the trailing "."
        else:
            strs = [f"{v:.{p}f}" for v in values]
        self.max_width = max(self.max_width, max(len(s) for s in strs))

    def width(self) -> int:
        return self.max_width

    def format(self, value) -> str:
        p = PRINT_OPTS.precision
        if self.floating:
            if self.sci_mode:
                text = f"{value:{self.max_width}.{p}e}"
            elif self.int_mode:
                text = f"{value:.0f}"
                if math.isfinite(value):
                    text += "."
            else:
                text = f"{value:.{p}f}"
        else:
            text = f"{value}"
        return " " * (self.max_width - len(text)) + text


def _summarized(a: np.ndarray) -> np.ndarray:
    """The values a summarized print shows: edgeitems from each end of every dimension."""
    e = PRINT_OPTS.edgeitems
    if a.ndim == 0:
        return a
    if a.ndim > 1 and not e:
        return np.empty((0,) * a.ndim, a.dtype)
    if a.shape[0] > 2 * e:
        a = np.concatenate([a[:e], a[-e:]])   # as torch: edgeitems=0 keeps all (a[-0:])
    if a.ndim == 1:
        return a
    return np.stack([_summarized(x) for x in a]) if a.shape[0] else a


class _Printer:
    def __init__(self, summarize: bool, real: _Formatter, imag: _Formatter | None):
        self.summarize, self.real, self.imag = summarize, real, imag

    def value(self, v) -> str:
        if self.imag is None:
            return self.real.format(v)
        re = self.real.format(v.real)
        im = (self.imag.format(v.imag) + "j").lstrip()
        return re + im if im[0] in "+-" else re + "+" + im

    def vector(self, a: np.ndarray, indent: int) -> str:
        e = PRINT_OPTS.edgeitems
        length = self.real.width() + 2
        if self.imag is not None:
            length += self.imag.width() + 1
        per_line = max(1, int(math.floor((PRINT_OPTS.linewidth - indent) / length)))
        if self.summarize and not e:
            data = ["..."]
        elif self.summarize and a.shape[0] > 2 * e:
            data = ([self.value(v) for v in a[:e].tolist()] + [" ..."] +
                    [self.value(v) for v in a[a.shape[0] - e:].tolist()])
        else:
            data = [self.value(v) for v in a.tolist()]
        lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"

    def tensor(self, a: np.ndarray, indent: int) -> str:
        if a.ndim == 0:
            return self.value(a.item())
        if a.ndim == 1:
            return self.vector(a, indent)
        e = PRINT_OPTS.edgeitems
        n = a.shape[0]
        if self.summarize and n > 2 * e:
            rows = ([self.tensor(a[i], indent + 1) for i in range(e)] + ["..."] +
                    [self.tensor(a[i], indent + 1) for i in range(n - e, n)])
        else:
            rows = [self.tensor(a[i], indent + 1) for i in range(n)]
        return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _as_numpy(t) -> np.ndarray:
    a = np.asarray(t._value)
    if t.dtype in (_dtype.float16, _dtype.bfloat16):
        a = a.astype(np.float32)   # torch prints half types through float32
    return a


def _tensor_str(t, indent: int) -> str:
    if t.numel() == 0:
        return "[]"
    a = _as_numpy(t)
    summarize = a.size > PRINT_OPTS.threshold
    shown = _summarized(a) if summarize else a
    if np.iscomplexobj(a):
        real = _Formatter(shown.real, True)
        imag = _Formatter(shown.imag, True)
        return _Printer(summarize, real, imag).tensor(a, indent)
    floating = a.dtype.kind == "f"
    return _Printer(summarize, _Formatter(shown, floating), None).tensor(a, indent)


def _add_suffixes(text: str, suffixes: list, indent: int) -> str:
    parts = [text]
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def _grad_fn_name(grad_fn) -> str:
    name = getattr(grad_fn, "name", None)
    return name() if callable(name) else type(grad_fn).__name__


def tensor_repr(t, tensor_contents: str | None = None) -> str:
    """torch's `repr(tensor)`; under a jax trace (jtorch.compile) the values are unknown and
    the tracer is shown instead."""
    if isinstance(t._value, jax.core.Tracer):
        return f"tensor({t._value}, size={tuple(t.shape)}, dtype={t.dtype})"
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    dev = t.device
    if dev.type != _device.get_default_device().type:
        suffixes.append(f"device='{dev}'")
    default = _dtype.get_default_dtype()
    has_default_dtype = t.dtype in (default, _dtype.default_complex_dtype(), _dtype.int64,
                                    _dtype.bool_)
    if t.numel() == 0:
        if t.ndim != 1:
            suffixes.append(f"size={tuple(t.shape)}")
        if t.dtype is not default:
            suffixes.append(f"dtype={t.dtype}")
        body = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append(f"size={tuple(t.shape)}")
        if not has_default_dtype:
            suffixes.append(f"dtype={t.dtype}")
        body = _tensor_str(t, indent)
    if tensor_contents is not None:
        body = tensor_contents
    grad_fn = getattr(t, "grad_fn", None)
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{_grad_fn_name(grad_fn)}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
