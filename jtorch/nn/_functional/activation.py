"""Activation functions of torch.nn.functional, and torch.softmax / log_softmax."""
from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp

from ..._ops.registry import register
from ..._ops._util import torch_dtype, wrap_dim, to_float
from ._common import (fn_register, OVERRIDES, TORCH_EXPORTS, opmath, float_input, with_inplace,
                      inplace_method, as_scalar)

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _activation(inplace_names=(), torch_name=None):
    """Register an activation; `inplace_names` are its always-in-place spellings (relu_)."""
    def deco(impl):
        name = impl.__name__
        public = fn_register(name=name)(impl)
        if "inplace" in impl.__code__.co_varnames[:impl.__code__.co_argcount]:
            OVERRIDES[name] = with_inplace(public, name)
        for n in inplace_names:
            OVERRIDES[n] = inplace_method(public, n)
        if torch_name:
            TORCH_EXPORTS[torch_name] = public
            for n in inplace_names:
                TORCH_EXPORTS[n] = OVERRIDES[n]
        return public
    return deco


def _float_op(fn):
    """Apply fn to a float input, computing half types in float32."""
    def impl(x):
        x, back = opmath(x)
        return back(fn(x))
    return impl


@_activation(("relu_",), torch_name="relu")
def relu(input, inplace=False):
    if input.dtype == jnp.bool_:
        raise RuntimeError('"clamp_min_scalar_cpu" not implemented for \'Bool\'')
    return jnp.maximum(input, jnp.zeros((), input.dtype))


@_activation()
def relu6(input, inplace=False):
    return _clamp(input, 0.0, 6.0, "relu6")


@_activation(("hardtanh_",))
def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _clamp(input, min_val, max_val, "hardtanh")


def _clamp(input, low, high, name):
    if input.dtype == jnp.bool_:
        raise RuntimeError(f'"{name}" not implemented for \'Bool\'')
    return jnp.clip(input, as_scalar(low, input), as_scalar(high, input))


@_activation(("elu_",))
def elu(input, alpha=1.0, inplace=False):
    float_input(input, "elu")
    return _float_op(lambda x: jnp.where(x > 0, x, alpha * jnp.expm1(x)))(input)


@_activation(("celu_",), torch_name="celu")
def celu(input, alpha=1.0, inplace=False):
    float_input(input, "elu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    return _float_op(lambda x: jnp.where(x > 0, x, alpha * jnp.expm1(x / alpha)))(input)


@_activation(("selu_",), torch_name="selu")
def selu(input, inplace=False):
    float_input(input, "elu")
    return _float_op(lambda x: _SELU_SCALE * jnp.where(x > 0, x, _SELU_ALPHA * jnp.expm1(x)))(
        input)


@_activation(("leaky_relu_",))
def leaky_relu(input, negative_slope=0.01, inplace=False):
    float_input(input, "leaky_relu")
    return _float_op(lambda x: jnp.where(x > 0, x, x * negative_slope))(input)


@_activation(torch_name="hardshrink")
def hardshrink(input, lambd=0.5):
    float_input(input, "hardshrink")
    lam = as_scalar(lambd, input)
    return jnp.where((input >= -lam) & (input <= lam), jnp.zeros((), input.dtype), input)


@_activation()
def softshrink(input, lambd=0.5):
    float_input(input, "softshrink")
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    lam = as_scalar(lambd, input)
    zero = jnp.zeros((), input.dtype)
    return jnp.where(input > lam, input - lam, jnp.where(input < -lam, input + lam, zero))


@_activation()
def hardsigmoid(input, inplace=False):
    float_input(input, "hardsigmoid")
    return _float_op(lambda x: jnp.clip(x + 3, 0, 6) / 6)(input)


@_activation()
def hardswish(input, inplace=False):
    float_input(input, "hardswish")
    return _float_op(lambda x: x * jnp.clip(x + 3, 0, 6) / 6)(input)


@_activation()
def silu(input, inplace=False):
    float_input(input, "silu")
    return _float_op(lambda x: x * jax.nn.sigmoid(x))(input)


@_activation()
def mish(input, inplace=False):
    float_input(input, "mish")
    return _float_op(lambda x: x * jnp.tanh(_softplus(x, 1.0, 20.0)))(input)


@_activation()
def gelu(input, approximate="none"):
    float_input(input, "GeluKernelImpl")
    if approximate == "none":
        return _float_op(lambda x: 0.5 * x * (1 + jax.lax.erf(x * (1 / math.sqrt(2)))))(input)
    if approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        return _float_op(lambda x: 0.5 * x * (1 + jnp.tanh(k * (x + 0.044715 * x ** 3))))(input)
    raise RuntimeError("approximate argument must be either none or tanh.")


@_activation()
def glu(input, dim=-1):
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = wrap_dim(dim, input.ndim)
    n = input.shape[d]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {n}")
    float_input(input, "glu")
    a, b = jnp.split(input, 2, axis=d)
    a, back = opmath(a)
    b = opmath(b)[0]
    return back(a * jax.nn.sigmoid(b))


@_activation()
def logsigmoid(input):
    float_input(input, "log_sigmoid_forward")
    return _float_op(lambda x: jnp.minimum(x, 0) - jnp.log1p(jnp.exp(-jnp.abs(x))))(input)


def _softplus(x, beta, threshold):
    bx = x * beta
    return jnp.where(bx > threshold, x, jnp.log1p(jnp.exp(jnp.minimum(bx, threshold))) / beta)


@_activation()
def softplus(input, beta=1.0, threshold=20.0):
    float_input(input, "softplus")
    return _float_op(lambda x: _softplus(x, beta, threshold))(input)


@_activation()
def softsign(input):
    x = to_float(input)
    return x / (1 + jnp.abs(x))


@_activation()
def tanhshrink(input):
    x = to_float(input)
    return x - jnp.tanh(x)


@_activation(("threshold_",), torch_name="threshold")
def threshold(input, threshold, value, inplace=False):
    if input.dtype == jnp.bool_:
        raise RuntimeError('"threshold_cpu" not implemented for \'Bool\'')
    return jnp.where(input > as_scalar(threshold, input), input, as_scalar(value, input))


@_activation(torch_name="prelu")
def prelu(input, weight):
    float_input(input, "prelu_cpu")
    n = weight.size
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.ndim}")
    if input.ndim == 0 and n != 1:
        raise RuntimeError("Not allow zero-dim input tensor.")
    if n != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if n != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {n} and channel size = {channels}.")
        shape = [1] * input.ndim
        shape[1 if input.ndim >= 2 else 0] = n
        w = weight.reshape(shape)
    else:
        w = weight.reshape(())
    w = w.astype(input.dtype)
    return jnp.where(input > 0, input, w * input)


@fn_register()
def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """Mirrors `torch.nn.functional.rrelu` in eval mode; training mode is in dropout.py."""
    if training:
        raise NotImplementedError("rrelu(training=True) runs in _functional/dropout.py")
    float_input(input, "rrelu")
    slope = (lower + upper) / 2
    return _float_op(lambda x: jnp.where(x >= 0, x, x * slope))(input)


# ---- softmax family -------------------------------------------------------------------

def _implicit_dim(name, ndim):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  f"to include dim=X as an argument.", stacklevel=4)
    return 0 if ndim in (0, 1, 3) else 1


def _softmax_input(input, dim, dtype, name):
    if dtype is not None:
        input = input.astype(dtype._np)
    d = torch_dtype(input)
    if not d.is_floating_point:
        raise RuntimeError(f'"{name}_lastdim_kernel_impl" not implemented for '
                           f"'{_type(d)}'")
    return input, wrap_dim(dim, input.ndim)


def _type(d):
    from ._common import _type_name
    return _type_name(d)


def _softmax(input, dim, dtype):
    x, d = _softmax_input(input, dim, dtype, "softmax")
    x, back = opmath(x)
    if x.ndim == 0:
        return back(jnp.ones_like(x))
    return back(jax.nn.softmax(x, axis=d))


def _log_softmax(input, dim, dtype):
    x, d = _softmax_input(input, dim, dtype, "log_softmax")
    x, back = opmath(x)
    if x.ndim == 0:
        return back(jnp.zeros_like(x))
    return back(jax.nn.log_softmax(x, axis=d))


@register(name="softmax", namespace="torch", method=True)
def _torch_softmax(input, dim, dtype=None):
    """Mirrors `torch.softmax`."""
    return _softmax(input, dim, dtype)


@register(name="log_softmax", namespace="torch", method=True)
def _torch_log_softmax(input, dim, dtype=None):
    """Mirrors `torch.log_softmax`."""
    return _log_softmax(input, dim, dtype)


TORCH_EXPORTS["softmax"] = _torch_softmax
TORCH_EXPORTS["log_softmax"] = _torch_log_softmax


@fn_register(name="softmax")
def _f_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """Mirrors `torch.nn.functional.softmax`."""
    if dim is None:
        dim = _implicit_dim("softmax", input.ndim)
    return _softmax(input, dim, dtype)


@fn_register(name="log_softmax")
def _f_log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """Mirrors `torch.nn.functional.log_softmax`."""
    if dim is None:
        dim = _implicit_dim("log_softmax", input.ndim)
    return _log_softmax(input, dim, dtype)


@fn_register()
def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """Mirrors `torch.nn.functional.softmin`."""
    if dim is None:
        dim = _implicit_dim("softmin", input.ndim)
    if dtype is not None:
        input = input.astype(dtype._np)
    return _softmax(-input, dim, None)


@fn_register(name="sigmoid")
def _f_sigmoid(input):
    """Mirrors `torch.nn.functional.sigmoid` (deprecated there in favour of torch.sigmoid)."""
    x, back = opmath(to_float(input))
    return back(jax.nn.sigmoid(x))


@fn_register(name="tanh")
def _f_tanh(input):
    """Mirrors `torch.nn.functional.tanh` (deprecated there in favour of torch.tanh)."""
    x, back = opmath(to_float(input))
    return back(jnp.tanh(x))
