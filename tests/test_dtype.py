"""dtypes, promotion, finfo/iinfo against torch."""
from __future__ import annotations

import itertools

import pytest

import jtorch

torch = pytest.importorskip("torch")

NAMES = ["float32", "float64", "float16", "bfloat16", "uint8", "int8", "int16", "int32",
         "int64", "bool", "complex64", "complex128"]
ALIASES = ["float", "double", "half", "long", "int", "short", "cfloat", "cdouble"]


def pair(name):
    return getattr(torch, name), getattr(jtorch, name)


@pytest.mark.parametrize("name", NAMES + ALIASES)
def test_dtype_properties(name):
    t, j = pair(name)
    assert repr(j) == repr(t)
    assert (j.is_floating_point, j.is_complex, j.is_signed, j.itemsize) == \
        (t.is_floating_point, t.is_complex, t.is_signed, t.itemsize)


@pytest.mark.parametrize("a,b", list(itertools.product(NAMES, NAMES)))
def test_promote_types_and_can_cast(a, b):
    (ta, ja), (tb, jb) = pair(a), pair(b)
    assert repr(jtorch.promote_types(ja, jb)) == repr(torch.promote_types(ta, tb))
    assert jtorch.can_cast(ja, jb) == torch.can_cast(ta, tb)


OPERANDS = {
    "f32": lambda m: m.ones(2, dtype=m.float32), "f64": lambda m: m.ones(2, dtype=m.float64),
    "f16": lambda m: m.ones(2, dtype=m.float16), "i32": lambda m: m.ones(2, dtype=m.int32),
    "i64": lambda m: m.ones(2, dtype=m.int64), "u8": lambda m: m.ones(2, dtype=m.uint8),
    "b": lambda m: m.ones(2, dtype=m.bool), "c64": lambda m: m.ones(2, dtype=m.complex64),
    "0d_f64": lambda m: m.tensor(1.0, dtype=m.float64), "0d_i64": lambda m: m.tensor(3),
    "0d_c128": lambda m: m.tensor(1j, dtype=m.complex128), "int": lambda m: 2,
    "float": lambda m: 2.5, "bool": lambda m: True, "complex": lambda m: 1 + 2j,
}


@pytest.mark.parametrize("a,b", list(itertools.product(OPERANDS, OPERANDS)))
def test_result_type_matches_torch(a, b):
    ta, tb = OPERANDS[a](torch), OPERANDS[b](torch)
    ja, jb = OPERANDS[a](jtorch), OPERANDS[b](jtorch)
    if not isinstance(ta, torch.Tensor) and not isinstance(tb, torch.Tensor):
        pytest.skip("needs a tensor")
    if expected_is_chalf(ta, tb):
        with pytest.raises(NotImplementedError, match="complex32"):
            jtorch.result_type(ja, jb) if isinstance(ja, jtorch.Tensor) else jtorch.result_type(jb, ja)
        return
    expected = torch.result_type(ta, tb) if isinstance(ta, torch.Tensor) else torch.result_type(tb, ta)
    got = jtorch.result_type(ja, jb) if isinstance(ja, jtorch.Tensor) else jtorch.result_type(jb, ja)
    assert repr(got) == repr(expected)
    # and an op follows the same rule
    if expected != torch.bool and "c" not in a + b:
        assert repr(jtorch.add(ja, jb).dtype) == repr(torch.add(ta, tb).dtype)


def expected_is_chalf(ta, tb):
    args = (ta, tb) if isinstance(ta, torch.Tensor) else (tb, ta)
    return torch.result_type(*args) == torch.complex32


def test_default_dtype_round_trip():
    assert jtorch.get_default_dtype() is jtorch.float32
    jtorch.set_default_dtype(jtorch.float64)
    try:
        assert jtorch.tensor([1.0]).dtype is jtorch.float64
        assert jtorch.ones(2).dtype is jtorch.float64
        assert (jtorch.tensor([1]) / 2).dtype is jtorch.float64
        assert jtorch.tensor([1j]).dtype is jtorch.complex128
    finally:
        jtorch.set_default_dtype(jtorch.float32)
    with pytest.raises(TypeError):
        jtorch.set_default_dtype(jtorch.int64)


@pytest.mark.parametrize("name", ["float32", "float64", "float16", "bfloat16"])
def test_finfo(name):
    t, j = pair(name)
    tf, jf = torch.finfo(t), jtorch.finfo(j)
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(jf, attr) == getattr(tf, attr), attr


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo(name):
    t, j = pair(name)
    ti, ji = torch.iinfo(t), jtorch.iinfo(j)
    assert (ji.bits, ji.min, ji.max) == (ti.bits, ti.min, ti.max)


def test_finfo_iinfo_wrong_category():
    with pytest.raises(TypeError):
        jtorch.finfo(jtorch.int32)
    with pytest.raises(TypeError):
        jtorch.iinfo(jtorch.float32)
