"""Run one PyTorch ModuleInfo entry's sample inputs through torch and jtorch and compare.

Each sample: build the module in both libraries from the same constructor arguments, copy
torch's state_dict into jtorch, run forward on the same inputs, compare the outputs, the
buffers after the call (running statistics) and the gradients of the inputs and of every
parameter for the same random cotangent. Shared by tests/nn/test_moduleinfo.py and
compat/opinfo_report.py. Needs torch and expecttest.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.testing._internal.common_utils import set_rng_seed

import jtorch
from opinfo_harness import compare, to_jtorch, to_numpy

MAX_MODULE_SAMPLES = 2      # per training mode in the suite; the report runs them all
RANDOM_MODULES = ("FractionalMaxPool2d", "FractionalMaxPool3d")


def entry_id(info) -> str:
    return info.name


def _convert_layer(layer):
    """A torch TransformerEncoderLayer/DecoderLayer argument (TransformerEncoder's samples
    pass one) rebuilt in jtorch from its attributes; its weights come with the state_dict."""
    name = type(layer).__name__
    if name not in ("TransformerEncoderLayer", "TransformerDecoderLayer"):
        raise NotImplementedError(f"harness: cannot convert a torch {name} argument")
    act = layer.activation
    act = getattr(jtorch.nn.functional, act.__name__) if callable(act) and \
        hasattr(act, "__name__") else to_jtorch_module(act)
    return getattr(jtorch.nn, name)(
        layer.self_attn.embed_dim, layer.self_attn.num_heads,
        dim_feedforward=layer.linear1.out_features, dropout=layer.dropout.p, activation=act,
        layer_norm_eps=layer.norm1.eps, batch_first=layer.self_attn.batch_first,
        norm_first=layer.norm_first, bias=layer.linear1.bias is not None)


def to_jtorch_module(m):
    if type(m).__module__.startswith("torch.nn.modules.activation") or \
            type(m).__module__.startswith("torch.nn.modules.loss"):
        return getattr(jtorch.nn, type(m).__name__)()
    return _convert_layer(m)


def convert_arg(x):
    """A constructor or forward argument in jtorch terms (tensors, torch functions, modules)."""
    if isinstance(x, torch.nn.Module):
        return to_jtorch_module(x)
    if callable(x) and getattr(x, "__module__", "") and \
            x.__module__.startswith("torch.nn.functional"):
        return getattr(jtorch.nn.functional, x.__name__)
    if isinstance(x, (list, tuple)) and not isinstance(x, torch.Size):
        out = [convert_arg(v) for v in x]
        return tuple(out) if isinstance(x, tuple) else out
    if isinstance(x, dict):
        return {k: convert_arg(v) for k, v in x.items()}
    return to_jtorch(x, grad=True)


def _flat(x):
    if isinstance(x, (torch.Tensor, jtorch.Tensor)):
        return [x]
    if isinstance(x, (tuple, list)):
        return [t for v in x for t in _flat(v)]
    return []


def _is_random(t_mod, training: bool) -> bool:
    if type(t_mod).__name__ in RANDOM_MODULES:
        return True
    if not training:
        return False
    for m in t_mod.modules():
        if isinstance(m, torch.nn.modules.dropout._DropoutNd) and m.p > 0:
            return True
        if isinstance(m, (torch.nn.RNNBase, torch.nn.MultiheadAttention)) and m.dropout > 0:
            return True
    return False


def _state_to_jtorch(state):
    return {k: to_jtorch(v) if isinstance(v, torch.Tensor) else v for k, v in state.items()}


def _to_torch(v):
    if isinstance(v, jtorch.Tensor):
        return torch.from_numpy(np.array(to_numpy(v))).to(getattr(torch, str(v.dtype)[6:]))
    return v


def _check_back_to_torch(t_cls, j_cls, c_args, c_kwargs, f_args, j_f_args, f_kwargs,
                         j_f_kwargs, training):
    """The other direction: a module initialised by jtorch, its state_dict loaded into torch,
    gives torch's output."""
    j_fresh = j_cls(*convert_arg(c_args), **convert_arg(c_kwargs)).train(training)
    t_fresh = t_cls(*c_args, **c_kwargs).train(training)
    t_fresh.load_state_dict({k: _to_torch(v) for k, v in j_fresh.state_dict().items()})
    with torch.no_grad():
        t_out = t_fresh(*f_args, **f_kwargs)
    with jtorch.no_grad():
        j_out = j_fresh(*j_f_args, **j_f_kwargs)
    compare(t_out, j_out, "output of jtorch's initialisation loaded into torch", rtol=1e-4,
            atol=1e-5)


def run_module_sample(info, sample, training: bool, seed: int = 0, back_to_torch=False):
    t_cls = info.module_cls
    j_cls = getattr(jtorch.nn, t_cls.__name__)
    c_args, c_kwargs = sample.constructor_input.args, sample.constructor_input.kwargs
    f_args, f_kwargs = sample.forward_input.args, sample.forward_input.kwargs
    set_rng_seed(seed)
    t_mod = t_cls(*c_args, **c_kwargs).train(training)
    j_mod = j_cls(*convert_arg(c_args), **convert_arg(c_kwargs)).train(training)
    j_f_args, j_f_kwargs = convert_arg(f_args), convert_arg(f_kwargs)
    if info.is_lazy:     # materialize both before copying the weights
        with torch.no_grad():
            t_mod(*f_args, **f_kwargs)
        with jtorch.no_grad():
            j_mod(*j_f_args, **j_f_kwargs)
    t_state = {k: v.detach().clone() for k, v in t_mod.state_dict().items()}
    j_mod.load_state_dict(_state_to_jtorch(t_state))
    assert list(j_mod.state_dict()) == list(t_state), "state_dict keys differ"
    assert [n for n, _ in j_mod.named_parameters()] == \
        [n for n, _ in t_mod.named_parameters()], "parameter names differ"

    try:
        t_out = t_mod(*f_args, **f_kwargs)
    except Exception as e:      # noqa: BLE001 - torch refuses the sample: so must jtorch
        try:
            j_mod(*j_f_args, **j_f_kwargs)
        except Exception as j_e:    # noqa: BLE001
            assert type(j_e) is type(e), f"torch raised {type(e).__name__}, jtorch " \
                f"{type(j_e).__name__}: {j_e}"
            return
        raise AssertionError(f"torch raised {type(e).__name__} ({e}), jtorch did not") \
            from None
    j_out = j_mod(*j_f_args, **j_f_kwargs)
    values = not _is_random(t_mod, training)
    compare(t_out, j_out, "output", values=values, rtol=1e-4, atol=1e-5)
    if values and back_to_torch and not info.is_lazy:
        _check_back_to_torch(t_cls, j_cls, c_args, c_kwargs, f_args, j_f_args, f_kwargs,
                             j_f_kwargs, training)
    if values:
        t_after, j_after = t_mod.state_dict(), j_mod.state_dict()
        for k in t_after:
            compare(t_after[k], j_after[k], f"state {k} after forward")
    else:
        return

    t_flat = [t for t in _flat(t_out) if t.requires_grad]
    j_flat = [t for t in _flat(j_out) if t.requires_grad]
    assert len(t_flat) == len(j_flat), "outputs requiring grad differ"
    if not t_flat:
        return
    rng = np.random.default_rng(seed)
    cots = [rng.standard_normal(tuple(t.shape)).astype(to_numpy(t).dtype) for t in t_flat]
    t_loss = sum((t * torch.from_numpy(c)).sum() for t, c in zip(t_flat, cots))
    j_loss = sum((t * jtorch.from_numpy(c)).sum() for t, c in zip(j_flat, cots))
    t_loss.backward()
    j_loss.backward()
    t_inputs = [t for t in _flat((f_args, list(f_kwargs.values())))
                if t.requires_grad and t.is_leaf]
    j_inputs = [t for t in _flat((j_f_args, list(j_f_kwargs.values())))
                if t.requires_grad and t.is_leaf]
    for i, (t, j) in enumerate(zip(t_inputs, j_inputs)):
        if t.grad is not None or j.grad is not None:
            assert t.grad is not None and j.grad is not None, f"input {i}: grad is None"
            compare(t.grad, j.grad, f"grad of input {i}", rtol=1e-3, atol=1e-4)
    j_params = dict(j_mod.named_parameters())
    for name, t in t_mod.named_parameters():
        j = j_params[name]
        if t.grad is None and j.grad is None:
            continue
        assert t.grad is not None and j.grad is not None, f"grad of {name} is None"
        compare(t.grad, j.grad, f"grad of {name}", rtol=1e-3, atol=1e-4)


def _spread(samples, count):
    if count is None or len(samples) <= count:
        return list(samples)
    picks = np.linspace(0, len(samples) - 1, count).round().astype(int)
    return [samples[i] for i in sorted(set(picks))]


def run_module_entry(info, max_samples: int | None = MAX_MODULE_SAMPLES) -> int:
    """Compare every chosen sample of one ModuleInfo entry; the number of samples run."""
    count = 0
    for training in ((True, False) if info.train_and_eval_differ else (True,)):
        samples = info.module_inputs_func(info, device="cpu", dtype=torch.float32,
                                          requires_grad=True, training=training)
        for i, sample in enumerate(_spread(samples, max_samples)):
            try:
                run_module_sample(info, sample, training, back_to_torch=i == 0)
            except Exception as e:
                desc = sample.desc or f"sample {i}"
                raise type(e)(f"[{'train' if training else 'eval'} {desc}] {e}") \
                    if type(e) in (AssertionError, RuntimeError, ValueError, TypeError) \
                    else e
            count += 1
    return count
