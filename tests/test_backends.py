"""torch.backends switches, float32 matmul precision and the deterministic switch, against
torch: defaults, values read back after setting, and torch's errors for bad values."""
from __future__ import annotations

import re
import warnings

import jax
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
    # torch's own test utilities (imported by the OpInfo sweeps in the same worker) freeze
    # torch's cudnn flags; torch's tests unfreeze them the same way
    with getattr(torch.backends, "__allow_nonbracketed_mutation")():
        saved = {lib: snapshot(lib) for lib in (torch, jtorch)}
        yield
        restore(saved)


def restore(saved):
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


def lowered_precisions(fn, *tensors) -> set:
    """The precisions XLA is asked for in `fn`'s program, traced as a whole: dot_general
    writes `precision = [HIGH, ...]`, convolution `#stablehlo<precision HIGH>`."""
    wrap = jtorch.Tensor._wrap
    text = jax.jit(lambda *xs: fn(*map(wrap, xs))._value).lower(
        *(t._value for t in tensors)).as_text()
    found = re.findall(r"precision = \[(\w+)|precision (\w+)>", text)
    return {dot or conv for dot, conv in found}


@pytest.mark.parametrize("torch_setting, xla", [("highest", "HIGHEST"), ("high", "HIGH"),
                                                 ("medium", "DEFAULT")])
def test_matmul_precision_reaches_xla(torch_setting, xla):
    """torch's setting is jax's default matmul precision: TF32 or bfloat16 passes on GPUs
    and TPUs (the CPU computes float32 in full at every setting, as torch's does)."""
    F = jtorch.nn.functional
    m, x, w, q = (jtorch.randn(*s) for s in [(3, 3), (1, 2, 5, 5), (4, 2, 3, 3), (1, 2, 4, 8)])
    exact = (m @ m).numpy()
    jtorch.set_float32_matmul_precision(torch_setting)
    for fn, args in [(jtorch.matmul, (m, m)), (F.linear, (m, m)), (F.conv2d, (x, w)),
                     (F.scaled_dot_product_attention, (q, q, q))]:
        assert lowered_precisions(fn, *args) == {xla}, fn
    if jax.default_backend() == "cpu":
        assert (m @ m).numpy().tobytes() == exact.tobytes()


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
