"""Every public class of torch.nn.modules exists in jtorch.nn with torch's constructor
signature (parameter names, kinds and defaults) and a torch-style repr of its defaults."""
from __future__ import annotations

import inspect

import pytest

import jtorch

torch = pytest.importorskip("torch")

# torch.nn names jtorch does not have yet; this list only shrinks
MISSING = {
    "DataParallel",     # scale-out comes with DESIGN.md decision 10
}


def _signature(cls):
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):
        return None
    return [(p.name, p.kind, _default(p.default)) for p in sig.parameters.values()]


def _default(value):
    if value is inspect.Parameter.empty:
        return None
    if callable(value):     # e.g. TransformerEncoderLayer(activation=F.relu)
        return getattr(value, "__name__", type(value).__name__)
    return repr(value)


NAMES = sorted(set(torch.nn.modules.__all__) | {"DataParallel"})


@pytest.mark.parametrize("name", NAMES)
def test_class_exists_with_torch_signature(name):
    if name in MISSING:
        assert not hasattr(jtorch.nn, name), f"{name} exists now: remove it from MISSING"
        pytest.skip("not implemented yet")
    assert hasattr(jtorch.nn, name), f"jtorch.nn.{name} is missing"
    t_cls, j_cls = getattr(torch.nn, name), getattr(jtorch.nn, name)
    t_sig = _signature(t_cls)
    j_sig = _signature(j_cls)
    # torch prints dtypes and devices as torch.x; so does jtorch
    assert j_sig == t_sig
