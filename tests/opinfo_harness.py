"""Run one PyTorch OpInfo entry's sample inputs through torch and jtorch and compare.

Shared by tests/test_opinfo.py and compat/opinfo_report.py. Needs torch and expecttest.
"""
from __future__ import annotations

import functools
import itertools
import types

import numpy as np
import torch
from torch.testing._internal.common_utils import SEED, set_rng_seed

import jtorch

MAX_SAMPLES = 6
# the integer or bool dtype's samples check type handling more than values: fewer keep the
# forward sweep, the suite's largest part, within CI's time
MAX_OTHER_DTYPE_SAMPLES = 3
# ops whose values are random or uninitialised: only shape and dtype are compared
RANDOM_MARKERS = ("rand", "normal", "bernoulli", "multinomial", "poisson", "dropout",
                  "uniform", "exponential", "geometric", "cauchy", "log_normal", "empty",
                  "fractional_max_pool")


# entries random only for some samples (dropout inside, training-mode rrelu)
RANDOM_SAMPLES = {
    "nn.functional.rrelu": lambda s: s.kwargs.get("training", False),
    "nn.functional.multi_head_attention_forward": lambda s: s.kwargs.get("training", True),
    "nn.functional.scaled_dot_product_attention": lambda s: s.kwargs.get("dropout_p", 0) > 0,
}


def entry_id(op) -> str:
    return op.name + (f".{op.variant_test_name}" if op.variant_test_name else "")


def to_jtorch(x, grad=False, memo=None):
    """torch values (recursively) as jtorch values; `grad` keeps `requires_grad`. A tensor
    met twice becomes one jtorch tensor, and a view of a larger storage a view (as_strided)
    of its base's copy, so that samples aliasing each other (out= an input) still do."""
    memo = {} if memo is None else memo
    if isinstance(x, torch.Tensor):
        if id(x) in memo:
            return memo[id(x)]
        base = x._base
        if base is not None and base.dtype == x.dtype and base.is_contiguous() and \
                base._base is None and not x.is_conj() and not x.is_neg():
            out = to_jtorch(base, memo=memo).as_strided(tuple(x.shape), x.stride(),
                                                         x.storage_offset())
            if grad and x.requires_grad and x.is_leaf:
                out.requires_grad_(True)
            memo[id(x)] = out
            return out
        arr = x.detach().resolve_conj().resolve_neg().contiguous()
        if arr.dtype == torch.bfloat16:
            out = jtorch.tensor(arr.float().numpy()).to(jtorch.bfloat16)
        else:
            out = jtorch.from_numpy(arr.numpy().copy())
        if grad and x.requires_grad:
            out.requires_grad_(True)
        memo[id(x)] = out
        return out
    if isinstance(x, torch.nn.Module) and not list(x.parameters()) and \
            not list(x.buffers()):
        # a parameterless module argument (triplet_margin_with_distance_loss's distance):
        # jtorch's module of the same class and settings
        module = object.__new__(getattr(jtorch.nn, type(x).__name__))
        jtorch.nn.Module.__init__(module)
        for name, value in vars(x).items():
            if not name.startswith("_"):
                setattr(module, name, value)
        return module
    if isinstance(x, torch.dtype):
        return getattr(jtorch, str(x).split(".")[1])
    if isinstance(x, torch.device):
        return jtorch.device(str(x))
    if isinstance(x, torch.Size):
        return tuple(x)
    if isinstance(x, list):
        return [to_jtorch(v, grad, memo) for v in x]
    if isinstance(x, tuple):
        return tuple(to_jtorch(v, grad, memo) for v in x)
    if isinstance(x, dict):
        return {k: to_jtorch(v, grad, memo) for k, v in x.items()}
    return x


def to_numpy(x):
    if isinstance(x, torch.Tensor):
        x = x.detach().resolve_conj().resolve_neg()
        return x.float().numpy() if x.dtype == torch.bfloat16 else x.numpy()
    if isinstance(x, jtorch.Tensor):
        if x.dtype == jtorch.bfloat16:
            return np.asarray(x.float()._value)
        return np.asarray(x._value)
    return x


def _rebind(fn):
    """A Python function from torch's test suite, with its `torch` global pointing at jtorch."""
    glb = dict(fn.__globals__)
    glb["torch"] = jtorch
    glb["F"] = getattr(jtorch.nn, "functional", None) if hasattr(jtorch, "nn") else None
    return types.FunctionType(fn.__code__, glb, fn.__name__, fn.__defaults__, fn.__closure__)


def resolve(op):
    """The jtorch callable for an OpInfo entry, or raise AttributeError."""
    fn = op.op
    if isinstance(fn, types.FunctionType) and fn.__module__ and not fn.__module__.startswith(
            "torch._") and "torch.testing" in (fn.__module__ or "") or (
            isinstance(fn, types.FunctionType) and fn.__name__ == "<lambda>"):
        return _rebind(fn)
    name = op.name
    if name.startswith("torch.ops.aten.") and name.endswith(".default"):
        # aten overloads the sweep names by their op: jtorch keeps them at top level
        name = name[len("torch.ops.aten."):-len(".default")]
    if name.startswith("__") or (isinstance(fn, types.MethodDescriptorType)) or \
            type(fn).__name__ in ("method_descriptor", "wrapper_descriptor", "getset_descriptor"):
        method = name.split(".")[-1]
        return lambda x, *a, **k: getattr(x, method)(*a, **k)
    target = jtorch
    for part in name.split("."):
        target = getattr(target, part)
    return target


def _dtype_name(d):
    return str(d).split(".")[-1]


def compare(expected, actual, path="out", *, values=True, rtol=1e-4, atol=1e-5):
    """Raise AssertionError naming the first difference between torch's and jtorch's result."""
    if isinstance(expected, torch.Tensor):
        assert isinstance(actual, jtorch.Tensor), f"{path}: expected a Tensor, got {type(actual)}"
        assert _dtype_name(expected.dtype) == _dtype_name(actual.dtype), \
            f"{path}: dtype {actual.dtype} != torch's {expected.dtype}"
        assert tuple(expected.shape) == tuple(actual.shape), \
            f"{path}: shape {tuple(actual.shape)} != torch's {tuple(expected.shape)}"
        if values:
            e, a = to_numpy(expected), to_numpy(actual)
            if expected.dtype.is_floating_point or expected.dtype.is_complex:
                tol = 1e-2 if expected.dtype in (torch.float16, torch.bfloat16) else rtol
                np.testing.assert_allclose(a, e, rtol=tol, atol=max(atol, tol / 10),
                                           equal_nan=True, err_msg=path)
            else:
                np.testing.assert_array_equal(a, e, err_msg=path)
        return
    if isinstance(expected, (tuple, list)):
        assert isinstance(actual, (tuple, list)), f"{path}: expected a sequence, got {type(actual)}"
        assert len(expected) == len(actual), f"{path}: length {len(actual)} != {len(expected)}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            compare(e, a, f"{path}[{i}]", values=values, rtol=rtol, atol=atol)
        return
    if isinstance(expected, torch.dtype):
        assert _dtype_name(expected) == _dtype_name(actual), f"{path}: {actual} != {expected}"
        return
    if isinstance(expected, (bool, int, float, complex)):
        if isinstance(actual, jtorch.Tensor):
            actual = actual.item()
        if values:
            np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=path)
        return
    assert expected == actual, f"{path}: {actual!r} != {expected!r}"


# decompositions whose eigenvectors are unique only up to a phase (sign, for real ones):
# output position of the eigenvectors
_PHASE_FREE = {"linalg.eig": 1, "linalg.eigh": 1}


def _fix_phases(name, expected, actual):
    """Both results with each eigenvector scaled so that its largest element is real and
    positive, where the entry's eigenvectors are only defined up to a phase."""
    k = _PHASE_FREE.get(name)
    if k is None or not isinstance(expected, tuple) or len(expected) <= k:
        return expected, actual

    def canonical(vectors, lib):
        v = to_numpy(vectors)
        if v.size == 0:
            return vectors
        top = np.take_along_axis(v, np.abs(v).argmax(-2)[..., None, :], -2)
        return lib.from_numpy(np.ascontiguousarray(v * (np.abs(top) / np.where(top == 0, 1,
                                                                                top))))
    expected = tuple(canonical(e, torch) if i == k else e for i, e in enumerate(expected))
    actual = tuple(canonical(a, jtorch) if i == k else a for i, a in enumerate(actual))
    return expected, actual


def sweep_dtypes(op):
    """float32, plus one integer or bool dtype the op supports."""
    supported = op.supported_dtypes("cpu")
    out = [torch.float32] if torch.float32 in supported else []
    for d in (torch.int64, torch.int32, torch.bool):
        if d in supported:
            out.append(d)
            break
    return out


def run_entry(op) -> int:
    """Compare every sample torch runs cleanly; return how many were compared."""
    fn = resolve(op)
    values = not any(m in op.name for m in RANDOM_MARKERS)
    compared = 0
    for dtype in sweep_dtypes(op):
        count = MAX_SAMPLES if dtype == torch.float32 else MAX_OTHER_DTYPE_SAMPLES
        samples = _first_samples(op, dtype, count)
        for i, sample in enumerate(samples):
            try:
                expected = op(sample.input, *sample.args, **sample.kwargs)
            except Exception:
                continue   # torch itself refuses this sample
            args, kwargs = to_jtorch(((sample.input, *sample.args), sample.kwargs))
            try:
                actual = fn(*args, **kwargs)
            except Exception as e:
                raise AssertionError(f"{_dtype_name(dtype)} sample {i} "
                                     f"({sample.summary() if hasattr(sample, 'summary') else ''}):"
                                     f" {type(e).__name__}: {e}") from e
            random_sample = RANDOM_SAMPLES.get(op.name, lambda s: False)(sample)
            try:
                compare(*_fix_phases(op.name, expected, actual),
                        values=values and not random_sample)
            except AssertionError as e:
                raise AssertionError(f"{_dtype_name(dtype)} sample {i}: {e}") from None
            compared += 1
    return compared


def run_error_inputs(op) -> int:
    """For each of the entry's error inputs that torch rejects, jtorch must raise the same
    exception class. Returns how many were compared."""
    fn = resolve(op)
    compared = 0
    for i, err in enumerate(op.error_inputs("cpu")):
        sample = err.sample_input
        try:
            op(sample.input, *sample.args, **sample.kwargs)
        except err.error_type:
            pass
        except Exception:
            continue   # torch raised something else here (a device or build difference)
        else:
            continue
        try:
            args, kwargs = to_jtorch(((sample.input, *sample.args), sample.kwargs))
        except (ValueError, NotImplementedError, RuntimeError, TypeError):
            continue   # not representable here (meta tensors, more than numpy's 64 dims)
        try:
            fn(*args, **kwargs)
        except err.error_type:
            compared += 1
            continue
        except Exception as e:
            raise AssertionError(f"error input {i}: expected {err.error_type.__name__} "
                                 f"({err.error_regex}), jtorch raised {type(e).__name__}: {e}")
        raise AssertionError(f"error input {i}: expected {err.error_type.__name__} "
                             f"({err.error_regex}), jtorch raised nothing")
    return compared


MAX_GRAD_SAMPLES = 1    # each sample compiles a backward replay: 1 keeps the suite within CI time


def _grad_leaves(x, out):
    """The tensors that require grad in a (nested) sample or result, in a fixed order."""
    if isinstance(x, (torch.Tensor, jtorch.Tensor)):
        if x.requires_grad:
            out.append(x)
    elif isinstance(x, (list, tuple)):
        for v in x:
            _grad_leaves(v, out)
    elif isinstance(x, dict):
        for k in sorted(x):
            _grad_leaves(x[k], out)
    return out


def _cotangent(t, rng):
    shape = tuple(t.shape)
    value = rng.standard_normal(shape)
    if t.dtype.is_complex:
        value = value + 1j * rng.standard_normal(shape)
    return torch.from_numpy(np.asarray(value)).to(t.dtype)


def run_gradient_entry(op) -> int:
    """For each float32 sample, the gradient of sum(out * cotangent) with respect to every
    input that requires grad, torch's against jtorch's. Returns how many were compared.
    Random ops (dropout ...) compare shapes and dtypes only."""
    fn = resolve(op)
    values = not any(m in op.name for m in RANDOM_MARKERS)
    compared = 0
    samples = _first_samples(op, torch.float32, MAX_GRAD_SAMPLES, requires_grad=True)
    for i, sample in enumerate(samples):
        process = sample.output_process_fn_grad or (lambda x: x)
        try:
            expected = process(op(sample.input, *sample.args, **sample.kwargs))
            t_outs = _grad_leaves(expected, [])
            t_inputs = _grad_leaves((sample.input, sample.args, sample.kwargs), [])
            if not t_outs or not t_inputs:
                continue
            rng = np.random.default_rng(i)
            cts = [_cotangent(o, rng) for o in t_outs]
            t_grads = torch.autograd.grad(t_outs, t_inputs, cts, allow_unused=True)
        except Exception:
            continue   # torch itself refuses this sample
        args, kwargs = to_jtorch(((sample.input, *sample.args), sample.kwargs), grad=True)
        j_inputs = _grad_leaves((args[0], args[1:], kwargs), [])
        try:
            actual = fn(*args, **kwargs)
            if sample.output_process_fn_grad is not None:
                actual = _rebind(sample.output_process_fn_grad)(actual) \
                    if isinstance(sample.output_process_fn_grad, types.FunctionType) else \
                    sample.output_process_fn_grad(actual)
            j_outs = _grad_leaves(actual, [])
            if len(j_outs) != len(t_outs):
                raise AssertionError(f"{len(j_outs)} differentiable outputs, torch has "
                                     f"{len(t_outs)}")
            j_grads = jtorch.autograd.grad(j_outs, j_inputs, [to_jtorch(c) for c in cts],
                                           allow_unused=True)
        except AssertionError as e:
            raise AssertionError(f"sample {i}: {e}") from None
        except Exception as e:
            raise AssertionError(f"sample {i}: {type(e).__name__}: {e}") from e
        random_sample = RANDOM_SAMPLES.get(op.name, lambda s: False)(sample)
        for k, (e, a) in enumerate(zip(t_grads, j_grads)):
            if e is None or e._is_zerotensor():
                e = torch.zeros_like(t_inputs[k])
            if a is None:
                a = jtorch.zeros_like(j_inputs[k])
            try:
                compare(e, a, f"grad[{k}]", values=values and not random_sample, rtol=1e-3,
                        atol=1e-4)
            except AssertionError as err:
                raise AssertionError(f"sample {i}: {err}") from None
        compared += 1
    return compared


MAX_INPLACE_SAMPLES = 3    # per dtype; the view check runs on the first of each dtype only


def _jtorch_twin(func):
    """jtorch's function of the same module path and name as a torch function, or None."""
    module = getattr(func, "__module__", None) or ""
    if module != "torch" and not module.startswith("torch."):
        return None
    target = jtorch
    for part in module.split(".")[1:] + [func.__name__]:
        target = getattr(target, part, None)
    return target


def resolve_inplace(op):
    """(name, the jtorch callable) for an entry's in-place variant, or raise AssertionError.

    torch gives the variant as an unbound `Tensor.NAME_` (called here as the method NAME_),
    a lambda from its test suite over `torch.nn.functional` (its `torch` global rebound to
    jtorch), or a torch function, possibly in a `functools.partial` (jtorch's function of
    the same name, same bound arguments)."""
    variant = op.inplace_variant
    name = getattr(variant, "__name__", None)
    if isinstance(variant, types.FunctionType) and (
            name == "<lambda>" or "torch.testing" in (variant.__module__ or "")):
        return f"{entry_id(op)} (in place)", _rebind(variant)
    if type(variant).__name__ in ("method_descriptor", "wrapper_descriptor"):
        return name, lambda x, *a, **k: getattr(x, name)(*a, **k)
    func = variant.func if isinstance(variant, functools.partial) else variant
    twin = _jtorch_twin(func)
    if twin is None:
        raise AssertionError(f"cannot resolve the in-place variant {variant!r} in jtorch")
    if isinstance(variant, functools.partial):
        return (f"{func.__name__}(**{variant.keywords})",
                functools.partial(twin, *variant.args, **variant.keywords))
    return func.__name__, twin


def _inplace_call(fn, x, args, kwargs, where):
    """fn(x, *args, **kwargs), an exception re-raised as AssertionError naming `where`."""
    try:
        return fn(x, *args, **kwargs)
    except Exception as e:
        raise AssertionError(f"{where}: {type(e).__name__}: {e}") from e


def _expect_same_error(fn, x, args, kwargs, error, where):
    """torch raised `error` on this sample: jtorch must raise an exception of its class."""
    try:
        fn(x, *args, **kwargs)
    except type(error):
        return
    except Exception as e:
        raise AssertionError(f"{where}: torch raises {type(error).__name__} "
                             f"({str(error).splitlines()[0][:80]}), jtorch raised "
                             f"{type(e).__name__}: {e}") from None
    raise AssertionError(f"{where}: torch raises {type(error).__name__} "
                         f"({str(error).splitlines()[0][:80]}), jtorch raised nothing")


def _compare_inplace(t_x, t_out, j_x, j_out, values, where):
    if t_out is t_x and j_out is not j_x:
        raise AssertionError(f"{where}: returned a new tensor, not self")
    try:
        compare(t_x, j_x, "self", values=values)
        if t_out is not t_x:
            compare(t_out, j_out, values=values)
    except AssertionError as e:
        raise AssertionError(f"{where}: {e}") from None


def _inplace_through_view(op, fn, sample, dtype, values, where):
    """The in-place op on `base[1]` of a zero `base` of shape (2, *S): the view and the
    whole base, torch's against jtorch's. base[0] is compared by value even for random ops:
    a write through the view must not reach it."""
    where = f"{where} through a view"
    shape = tuple(sample.input.shape)
    t_base = torch.zeros((2, *shape), dtype=dtype)
    t_base[1].copy_(sample.input)
    t_view = t_base[1]
    j_base = jtorch.zeros((2, *shape), dtype=to_jtorch(dtype))
    j_base[1].copy_(to_jtorch(sample.input))
    j_view = j_base[1]
    if not _inplace_pair(op, fn, sample, t_view, j_view, values, where):
        return
    try:
        compare(t_base[0], j_base[0], "base[0]")
        compare(t_base, j_base, "base", values=values)
    except AssertionError as e:
        raise AssertionError(f"{where}: {e}") from None


def _inplace_pair(op, fn, sample, t_x, j_x, values, where) -> bool:
    """The in-place variant on torch's t_x and jtorch's j_x, compared; False where torch
    refused the sample (jtorch must then raise the same class)."""
    args, kwargs = to_jtorch(sample.args), to_jtorch(sample.kwargs)
    try:
        t_out = op.inplace_variant(t_x, *sample.args, **sample.kwargs)
    except Exception as error:
        _expect_same_error(fn, j_x, args, kwargs, error, where)
        return False
    j_out = _inplace_call(fn, j_x, args, kwargs, where)
    _compare_inplace(t_x, t_out, j_x, j_out, values, where)
    return True


def _first_samples(op, dtype, count, requires_grad=False):
    """The first `count` of the entry's samples. `op.sample_inputs` wraps them in torch's
    TrackedInputIter, whose inspect.stack() costs about 0.1 s a call with torch and jax
    loaded (over a third of this sweep's time); the generator itself, seeded with torch's
    default test seed as that wrapper seeds it outside torch's test runner, gives the same
    samples."""
    set_rng_seed(SEED)
    return list(itertools.islice(op.sample_inputs_func(op, "cpu", dtype, requires_grad), count))


def run_inplace_entry(op) -> int:
    """The entry's in-place variant on a clone of each sample's input, torch's against
    jtorch's: the result must be self, with torch's values, dtype and shape. Where torch
    refuses a sample (a cast or a broadcast of self) jtorch must raise the same class. The
    first sample of each dtype also runs on a view of a larger base. Returns how many
    samples were compared."""
    name, fn = resolve_inplace(op)
    values = not any(m in op.name for m in RANDOM_MARKERS)
    random_sample = RANDOM_SAMPLES.get(op.name, lambda s: False)
    compared = 0
    for dtype in sweep_dtypes(op):
        viewed = False
        for i, sample in enumerate(_first_samples(op, dtype, MAX_INPLACE_SAMPLES)):
            where = f"{name} {_dtype_name(dtype)} sample {i}"
            sample_values = values and not random_sample(sample)
            # torch's side runs on a clone (a fresh storage): so does jtorch's
            t_x = sample.input.clone()
            # converted from another clone: a tensor numpy has seen cannot be resized by torch
            j_x = to_jtorch(sample.input.clone())
            if not _inplace_pair(op, fn, sample, t_x, j_x, sample_values, where):
                continue
            compared += 1
            if not viewed and isinstance(sample.input, torch.Tensor):
                viewed = True
                _inplace_through_view(op, fn, sample, dtype, sample_values, where)
    return compared
