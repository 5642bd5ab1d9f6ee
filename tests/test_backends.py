"""torch.backends switches, float32 matmul precision and the deterministic switch, against
torch: defaults, values read back after setting, and torch's errors for bad values."""
from __future__ import annotations

import warnings

import pytest

import jtorch

torch = pytest.importorskip("torch")

CUDNN_FLAGS = ("enabled", "benchmark", "deterministic", "allow_tf32")
MATMUL_FLAGS = ("allow_tf32", "allow_fp16_reduced_precision_reduction",
                "allow_bf16_reduced_precision_reduction")
SDP = ("flash", "mem_efficient", "math", "cudnn")


def snapshot(lib):
    b = lib.backends
    return ({n: getattr(b.cudnn, n) for n in CUDNN_FLAGS}, b.cudnn.benchmark_limit,
            {n: getattr(b.cuda.matmul, n) for n in MATMUL_FLAGS},
            {k: getattr(b.cuda, f"{k}_sdp_enabled")() for k in SDP},
            lib.get_float32_matmul_precision(), lib.are_deterministic_algorithms_enabled(),
            lib.is_deterministic_algorithms_warn_only_enabled())


@pytest.fixture(autouse=True)
def restore_both():
    saved = {lib: snapshot(lib) for lib in (torch, jtorch)}
    yield
    for lib, (cudnn, limit, matmul, sdp, precision, det, warn_only) in saved.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lib.set_float32_matmul_precision(precision)
            for name, value in cudnn.items():
                setattr(lib.backends.cudnn, name, value)
            lib.backends.cudnn.benchmark_limit = limit
            for name, value in matmul.items():
                if name != "allow_tf32":      # the precision holds it; torch refuses a mix
                    setattr(lib.backends.cuda.matmul, name, value)
            for kind, value in sdp.items():
                getattr(lib.backends.cuda, f"enable_{kind}_sdp")(value)
            lib.use_deterministic_algorithms(det, warn_only=warn_only)


def test_defaults_match_torch():
    assert snapshot(jtorch) == snapshot(torch)
    assert jtorch.backends.mps.is_available() is torch.backends.mps.is_available() is False
    assert jtorch.backends.mps.is_built() is False
    if not jtorch.cuda.is_available():          # torch here is a CPU build
        assert jtorch.backends.cudnn.is_available() is torch.backends.cudnn.is_available()
        assert jtorch.backends.cudnn.version() is torch.backends.cudnn.version() is None
        assert jtorch.backends.cuda.is_built() is torch.backends.cuda.is_built()
        assert not jtorch.backends.cudnn.is_acceptable(jtorch.ones(1))


def test_settings_read_back_as_in_torch():
    for lib in (torch, jtorch):
        lib.backends.cudnn.benchmark = True
        lib.backends.cudnn.deterministic = True
        lib.backends.cudnn.allow_tf32 = False
        lib.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False
        lib.backends.cuda.enable_flash_sdp(False)
        lib.use_deterministic_algorithms(True, warn_only=True)
    assert snapshot(jtorch) == snapshot(torch)


@pytest.mark.parametrize("steps", [
    [("tf32", True)], [("tf32", True), ("tf32", False)], [("precision", "medium")],
    [("precision", "low")],
    [("precision", "medium"), ("precision", "highest")]])
def test_tf32_and_matmul_precision_are_one_setting(steps):
    for lib in (torch, jtorch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for kind, value in steps:
                if kind == "tf32":
                    lib.backends.cuda.matmul.allow_tf32 = value
                else:
                    lib.set_float32_matmul_precision(value)
        bad = [w for w in caught if "is not one of" in str(w.message)]
        assert len(bad) == (("precision", "low") in steps), lib
    assert jtorch.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
    assert jtorch.backends.cuda.matmul.allow_tf32 == torch.backends.cuda.matmul.allow_tf32


def test_matmuls_stay_full_precision_when_tf32_is_allowed():
    a = jtorch.randn(64, 64)
    exact = (a @ a).numpy()
    jtorch.set_float32_matmul_precision("medium")
    assert (a @ a).numpy().tobytes() == exact.tobytes()


def errors(lib, action):
    try:
        action(lib)
    except Exception as e:    # noqa: BLE001 - the class and message are what is compared
        return type(e), str(e)
    return None


@pytest.mark.parametrize("action", [
    lambda lib: setattr(lib.backends.cudnn, "benchmark", 1),
    lambda lib: setattr(lib.backends.cudnn, "deterministic", "yes"),
    lambda lib: setattr(lib.backends.cudnn, "enabled", 0),
    lambda lib: setattr(lib.backends.cuda.matmul, "allow_tf32", 1),
    lambda lib: setattr(lib.backends.cuda.matmul, "allow_fp16_reduced_precision_reduction", 1),
    lambda lib: setattr(lib.backends.cuda.matmul, "no_such_switch", True),
    lambda lib: lib.backends.cuda.matmul.no_such_switch,
    lambda lib: lib.set_float32_matmul_precision(3),
    lambda lib: lib.use_deterministic_algorithms("yes"),
    lambda lib: lib.use_deterministic_algorithms(True, warn_only=1),
], ids=["benchmark", "deterministic", "enabled", "tf32", "fp16-reduction", "set-unknown",
        "get-unknown", "precision-type", "deterministic-mode", "warn-only"])
def test_bad_values_raise_as_torch(action):
    theirs = errors(torch, action)
    assert theirs is not None
    assert errors(jtorch, action) == theirs
    assert snapshot(jtorch) == snapshot(torch)        # nothing half-set


def test_cudnn_flags_context_sets_and_restores():
    before = snapshot(jtorch)
    with jtorch.backends.cudnn.flags(enabled=False, benchmark=True, deterministic=True):
        assert (jtorch.backends.cudnn.enabled, jtorch.backends.cudnn.benchmark,
                jtorch.backends.cudnn.deterministic) == (False, True, True)
    assert snapshot(jtorch) == before
    with pytest.raises(RuntimeError, match="expects a bool"):
        with jtorch.backends.cudnn.flags(benchmark="yes"):
            pass
    assert snapshot(jtorch) == before


def test_a_backend_jtorch_lacks_says_so():
    with pytest.raises(AttributeError, match="^jtorch does not implement torch.backends.mkldnn yet$"):
        _ = jtorch.backends.mkldnn
