"""Grad modes against torch: no_grad, enable_grad, set_grad_enabled, inference_mode."""
from __future__ import annotations

import threading

import pytest

from test_engine import check, leaf

pytest.importorskip("torch")


def _probe(torch, x):
    """What a user looks at inside a mode: the switch and whether an op records."""
    y = x * 2
    return torch.is_grad_enabled(), y.requires_grad, y.grad_fn is None


def _nested(torch, x):
    seen = [_probe(torch, x)]
    with torch.no_grad():
        seen.append(_probe(torch, x))
        with torch.enable_grad():
            seen.append(_probe(torch, x))
            with torch.set_grad_enabled(False):
                seen.append(_probe(torch, x))
            seen.append(_probe(torch, x))
        seen.append(_probe(torch, x))
    seen.append(_probe(torch, x))
    return seen


def _set_grad_enabled_call(torch, x):
    torch.set_grad_enabled(False)
    try:
        off = _probe(torch, x)
    finally:
        torch.set_grad_enabled(True)
    return off, _probe(torch, x)


def _set_grad_enabled_context(torch, x):
    with torch.no_grad():
        with torch.set_grad_enabled(True):
            inside = _probe(torch, x)
        after = _probe(torch, x)
    return inside, after


def _decorators(torch, x):
    @torch.no_grad()
    def no_grad_called():
        return _probe(torch, x)

    @torch.no_grad
    def no_grad_bare():
        return _probe(torch, x)

    @torch.enable_grad()
    def enable_grad_called():
        return _probe(torch, x)

    @torch.set_grad_enabled(False)
    def set_off():
        return _probe(torch, x)

    @torch.inference_mode()
    def inference_called():
        return _probe(torch, x), torch.is_inference_mode_enabled()

    @torch.inference_mode
    def inference_bare():
        return _probe(torch, x), torch.is_inference_mode_enabled()

    seen = [no_grad_called(), no_grad_bare(), set_off(), inference_called(), inference_bare()]
    with torch.no_grad():
        seen.append(enable_grad_called())
    seen.append((no_grad_called.__name__, _probe(torch, x)))
    return seen


def _decorated_generator(torch, x):
    @torch.no_grad()
    def steps():
        for _ in range(2):
            got = yield _probe(torch, x)
            yield got, torch.is_grad_enabled()

    seen = []
    gen = steps()
    seen.append(next(gen))
    seen.append(_probe(torch, x))          # the caller's mode between the yields
    seen.append(gen.send("sent"))
    seen.extend(gen)
    seen.append(_probe(torch, x))
    return seen


def _enable_grad_generator(torch, x):
    @torch.enable_grad()
    def steps():
        yield _probe(torch, x)
        yield _probe(torch, x)

    with torch.no_grad():
        return [(value, _probe(torch, x)) for value in steps()]


def _thread_local(torch, x):
    seen = {}

    def worker():
        seen["thread"] = _probe(torch, x)

    with torch.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        seen["main"] = _probe(torch, x)
    return seen


def _restored_after_error(torch, x):
    try:
        with torch.no_grad():
            raise KeyError("boom")
    except KeyError:
        pass

    @torch.no_grad()
    def failing():
        raise ValueError("boom")
    try:
        failing()
    except ValueError:
        pass
    return _probe(torch, x)


def _inference_mode(torch, x):
    with torch.inference_mode():
        y = x * 2
        inside = (_probe(torch, x), torch.is_inference_mode_enabled(), y.is_inference())
        with torch.inference_mode(False):
            off = (torch.is_inference_mode_enabled(), torch.is_grad_enabled())
    return inside, off, torch.is_inference_mode_enabled(), y.is_inference(), x.is_inference()


def _inference_tensor_saved(torch, x):
    with torch.inference_mode():
        c = torch.ones(2, 3)
    (x * c).sum().backward()
    return x.grad


def _sgd_update_under_no_grad(torch, x):
    (x * x).sum().backward()
    with torch.no_grad():
        x -= 0.5 * x.grad
        x.mul_(2)
    return x, x.is_leaf, x.requires_grad, x.grad_fn is None


def _reused_instance(torch, x):
    mode = torch.no_grad()
    with mode:
        first = _probe(torch, x)
    with mode:
        second = _probe(torch, x)
    return first, second, _probe(torch, x)


def _no_grad_then_backward(torch, x):
    with torch.no_grad():
        frozen = x * 3
    out = (x * frozen).sum()
    out.backward()
    return x.grad


MODES = {
    "default": lambda t, x: _probe(t, x),
    "nested": _nested,
    "set_grad_enabled_call": _set_grad_enabled_call,
    "set_grad_enabled_context": _set_grad_enabled_context,
    "decorators": _decorators,
    "decorated_generator": _decorated_generator,
    "enable_grad_generator": _enable_grad_generator,
    "thread_local": _thread_local,
    "restored_after_error": _restored_after_error,
    "inference_mode": _inference_mode,
    "inference_tensor_saved": _inference_tensor_saved,
    "sgd_update_under_no_grad": _sgd_update_under_no_grad,
    "reused_instance": _reused_instance,
    "no_grad_constant_in_graph": _no_grad_then_backward,
    "no_grad_is_torch_no_grad": lambda t, x: t.autograd.no_grad is t.no_grad,
    "grad_enabled_inside_backward_hook": lambda t, x: _mode_seen_by_hook(t, x),
}


def _mode_seen_by_hook(torch, x):
    seen = []
    y = x * 2
    y.register_hook(lambda g: seen.append(torch.is_grad_enabled()))
    y.sum().backward()
    y2 = x * 2
    y2.register_hook(lambda g: seen.append(torch.is_grad_enabled()))
    y2.sum().backward(create_graph=True)
    return seen


@pytest.mark.parametrize("name", list(MODES))
def test_grad_mode(name):
    check(lambda torch: MODES[name](torch, leaf(torch, [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])))
