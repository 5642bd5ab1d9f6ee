"""Mirrors `torch.version`: the PyTorch API level jtorch mirrors, and jtorch's own version.

`__version__` is the torch release whose API jtorch follows ("2.13.0", no "+cpu" local
tag: jtorch is no particular torch build). `jtorch` is jtorch's own package version, read
from the installed package metadata. `cuda`, `hip`, `rocm` and `xpu` are None: there is no
torch build here, whatever accelerator jax drives (`jtorch.cuda.is_available()` says whether
there is one).
"""
from __future__ import annotations

import re

__all__ = ["TorchVersion", "__version__", "cuda", "debug", "git_version", "hip", "jtorch",
           "rocm", "xpu"]

# PEP 440's public part (epoch, release, pre, post, dev) and local tag, case-insensitive
_PEP440 = re.compile(
    r"v?(?:(?P<epoch>\d+)!)?(?P<release>\d+(?:\.\d+)*)"
    r"(?:[-_.]?(?P<pre_l>a|b|c|rc|alpha|beta|pre|preview)[-_.]?(?P<pre_n>\d*))?"
    r"(?:-(?P<post_n1>\d+)|[-_.]?(?:post|rev|r)[-_.]?(?P<post_n2>\d*))?"
    r"(?:[-_.]?dev[-_.]?(?P<dev_n>\d*))?"
    r"(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?",
    re.IGNORECASE)
_PRE = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}
_INF = float("inf")


def _sort_key(text: str) -> tuple | None:
    """PEP 440 ordering key of `text`, or None when it is not a version."""
    m = _PEP440.fullmatch(text.strip())
    if m is None:
        return None
    release = tuple(int(p) for p in m["release"].split("."))
    while len(release) > 1 and release[-1] == 0:     # 2.13 == 2.13.0
        release = release[:-1]
    pre = (_PRE[m["pre_l"].lower()], int(m["pre_n"] or 0)) if m["pre_l"] else None
    post_n = m["post_n1"] or m["post_n2"]
    has_post = m["post_n1"] is not None or m["post_n2"] is not None
    post = int(post_n or 0) if has_post else -_INF
    dev = int(m["dev_n"] or 0) if m["dev_n"] is not None else _INF
    if pre is None:
        # a bare .devN sorts before every pre-release of its release; a final after them
        pre = (-_INF,) if (dev != _INF and not has_post) else (_INF,)
    local = tuple((1, int(p), "") if p.isdigit() else (0, 0, p.lower())
                  for p in re.split(r"[-_.]", m["local"])) if m["local"] else ()
    return int(m["epoch"] or 0), release, pre, post, dev, local


def _other_key(other) -> tuple | None:
    if isinstance(other, str):
        return _sort_key(other)
    if isinstance(other, (tuple, list)):       # (2, 1) means "2.1", as torch reads it
        return _sort_key(".".join(str(p) for p in other))
    if hasattr(other, "release") and hasattr(other, "public"):    # packaging's Version
        return _sort_key(str(other))
    return None


class TorchVersion(str):
    """Mirrors `torch.torch_version.TorchVersion`: a str that compares as a version.

    Compares with version strings, tuples such as `(2, 1)` and `packaging.version.Version`;
    a string that is no version compares as a plain string, as in torch. Versions are
    ordered by PEP 440 without importing `packaging`.
    """

    __slots__ = ()
    __hash__ = str.__hash__

    def _compare(self, other, op: str):
        mine, theirs = _sort_key(self), _other_key(other)
        if mine is None or theirs is None:
            return getattr(super(), op)(other)
        return getattr(mine, op)(theirs)

    def __eq__(self, other):
        return self._compare(other, "__eq__")

    def __ne__(self, other):
        result = self._compare(other, "__eq__")
        return result if result is NotImplemented else not result

    def __lt__(self, other):
        return self._compare(other, "__lt__")

    def __le__(self, other):
        return self._compare(other, "__le__")

    def __gt__(self, other):
        return self._compare(other, "__gt__")

    def __ge__(self, other):
        return self._compare(other, "__ge__")


__version__ = TorchVersion("2.13.0")
debug = False
cuda: str | None = None
hip: str | None = None
rocm: str | None = None
xpu: str | None = None
git_version = "unknown"


def __getattr__(name: str):
    # `jtorch` is read on first use: importlib.metadata costs ~20 ms at import time
    if name == "jtorch":
        global jtorch
        from importlib import metadata
        try:
            jtorch = metadata.version("jtorch")
        except metadata.PackageNotFoundError:     # a source tree that was never installed
            jtorch = "0+unknown"
        return jtorch
    from jtorch._missing import missing_attribute
    return missing_attribute(__name__, name)
