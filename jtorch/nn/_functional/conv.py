"""Linear maps and convolutions of torch.nn.functional (linear, bilinear, conv*, unfold, fold)."""
from __future__ import annotations

import jax.numpy as jnp
from jax import lax

from ..._ops._util import torch_dtype
from ._common import fn_register, TORCH_EXPORTS, _type_name



def _same_dtype(name, *arrays):
    dts = [a.dtype for a in arrays if a is not None]
    if any(d != dts[0] for d in dts):
        names = [_type_name(torch_dtype(a)) for a in arrays if a is not None]
        raise RuntimeError(f"{name}: expected input and weight to have the same dtype, but got "
                           f"{' and '.join(names)}")


@fn_register()
def linear(input, weight, bias=None):
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != input.dtype):
        raise RuntimeError("mat1 and mat2 must have the same dtype, but got "
                           f"{_type_name(torch_dtype(input))} and "
                           f"{_type_name(torch_dtype(weight))}")
    if input.ndim == 0 or weight.ndim > 2:
        raise RuntimeError(f"linear: expected input of at least 1 dimension and weight of at "
                           f"most 2, got {input.ndim} and {weight.ndim}")
    if input.shape[-1] != weight.shape[-1]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({_rows(input)}x{input.shape[-1]} and "
                           f"{weight.shape[-1]}x{weight.shape[0] if weight.ndim == 2 else 1})")
    out = jnp.matmul(input, weight.T)
    if bias is not None:
        out = out + bias
    return out


def _rows(x):
    n = 1
    for s in x.shape[:-1]:
        n *= s
    return n


@fn_register()
def bilinear(input1, input2, weight, bias=None):
    _same_dtype("bilinear", input1, input2, weight, bias)
    if weight.ndim != 3 or input1.shape[-1] != weight.shape[1] or \
            input2.shape[-1] != weight.shape[2] or input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear: incompatible shapes input1 {list(input1.shape)}, input2 "
                           f"{list(input2.shape)}, weight {list(weight.shape)}")
    out = jnp.einsum("...i,oij,...j->...o", input1, weight, input2)
    if bias is not None:
        out = out + bias
    return out


TORCH_EXPORTS["bilinear"] = bilinear


def _tuple(value, n, name="argument"):
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) == 1:
        return value * n
    if len(value) != n:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} "
                           f"values to match the convolution dimensions, but got {name}="
                           f"{list(value)}")
    return value


def _batched(input, n, name):
    """Accept torch's unbatched input (one fewer dim); returns (batched input, was_unbatched)."""
    if input.ndim == n + 1:
        return input[None], True
    if input.ndim != n + 2:
        raise RuntimeError(f"Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to "
                           f"{name}, but got input of size: {list(input.shape)}")
    return input, False


def _dimension_numbers(n):
    spatial = "DHW"[-n:] if n <= 3 else None
    return lax.ConvDimensionNumbers(*lax.conv_dimension_numbers(
        (1, 1) + (1,) * n, (1, 1) + (1,) * n,
        ("NC" + spatial, "OI" + spatial, "NC" + spatial)))


def _conv(input, weight, bias, stride, padding, dilation, groups, n, name):
    _same_dtype(name, input, weight, bias)
    x, unbatched = _batched(input, n, name)
    if weight.ndim != n + 2:
        raise RuntimeError(f"Expected {n + 2}-dimensional weight for {n + 2}-dimensional input "
                           f"{list(x.shape)}, but got {weight.ndim}-dimensional weight of size "
                           f"{list(weight.shape)} instead")
    if groups <= 0 or weight.shape[0] % groups:
        raise RuntimeError("Given groups=%d, expected weight to be divisible by %d at dimension "
                           "0, but got weight of size %s instead" % (groups, groups,
                                                                     list(weight.shape)))
    if x.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
                           f"input{list(x.shape)} to have {weight.shape[1] * groups} channels, "
                           f"but got {x.shape[1]} channels instead")
    stride, dilation = _tuple(stride, n, "stride"), _tuple(dilation, n, "dilation")
    kernel = weight.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = [(0, 0)] * n
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            # torch puts the odd extra element of 'same' padding on the right
            pads = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                    for d, k in zip(dilation, kernel)]
        else:
            raise RuntimeError(f"Invalid padding string '{padding}', should be one of "
                               f"{{'valid', 'same'}}")
    else:
        pads = [(p, p) for p in _tuple(padding, n, "padding")]
    _check_conv_params(stride, pads, dilation)
    for size, (lo, hi), d, k in zip(x.shape[2:], pads, dilation, kernel):
        if size + lo + hi < d * (k - 1) + 1:
            raise RuntimeError(f"Calculated padded input size per channel: "
                               f"({size + lo + hi}). Kernel size: ({d * (k - 1) + 1}). Kernel "
                               f"size can't be greater than actual input size")
    out = _conv_general(x, weight, stride, pads, dilation, groups, n)
    if bias is not None:
        out = out + bias.reshape((1, -1) + (1,) * n)
    return out[0] if unbatched else out


def _check_conv_params(stride, pads, dilation):
    # torch checks these in this order, before any shape check of the output
    if any(lo < 0 or hi < 0 for lo, hi in pads):
        raise RuntimeError("negative padding is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")


def _conv_general(x, weight, stride, pads, dilation, groups, n, lhs_dilation=None):
    integer = jnp.issubdtype(x.dtype, jnp.integer)
    if integer:
        # XLA has no integer convolution on every backend: compute exactly in float64
        out = _conv_general(x.astype(jnp.float64), weight.astype(jnp.float64), stride, pads,
                            dilation, groups, n, lhs_dilation)
        return out.astype(x.dtype)
    return lax.conv_general_dilated(
        x, weight, window_strides=stride, padding=pads, lhs_dilation=lhs_dilation,
        rhs_dilation=dilation, dimension_numbers=_dimension_numbers(n),
        feature_group_count=groups)


def _conv_fn(n):
    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        return _conv(input, weight, bias, stride, padding, dilation, groups, n, f"conv{n}d")
    conv.__name__ = f"conv{n}d"
    conv.__doc__ = f"Mirrors `torch.nn.functional.conv{n}d`."
    public = fn_register(name=f"conv{n}d")(conv)
    TORCH_EXPORTS[f"conv{n}d"] = public
    return public


conv1d, conv2d, conv3d = _conv_fn(1), _conv_fn(2), _conv_fn(3)


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, n,
                    name):
    _same_dtype(name, input, weight, bias)
    x, unbatched = _batched(input, n, name)
    if weight.ndim != n + 2 or x.shape[1] != weight.shape[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected "
                           f"input{list(x.shape)} to have {weight.shape[0]} channels, but got "
                           f"{x.shape[1]} channels instead")
    if isinstance(padding, str):
        raise NotImplementedError(f"{name}: string padding is not supported by torch either")
    stride, dilation = _tuple(stride, n, "stride"), _tuple(dilation, n, "dilation")
    padding, output_padding = _tuple(padding, n, "padding"), _tuple(output_padding, n,
                                                                     "output_padding")
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= s and op >= d:
            raise RuntimeError("output padding must be smaller than either stride or dilation, "
                               f"but got output_padding={list(output_padding)}, "
                               f"stride={list(stride)}, dilation={list(dilation)}")
    kernel = weight.shape[2:]
    in_g, out_g = weight.shape[0] // groups, weight.shape[1]
    # (in, out/g, k...) -> (g*out/g, in/g, k...), spatially flipped: a transposed conv is
    # the forward conv of the stride-dilated input with the flipped kernel
    w = weight.reshape((groups, in_g, out_g) + kernel)
    w = jnp.swapaxes(w, 1, 2).reshape((groups * out_g, in_g) + kernel)
    w = jnp.flip(w, axis=tuple(range(2, n + 2)))
    pads = [(d * (k - 1) - p, d * (k - 1) - p + op)
            for d, k, p, op in zip(dilation, kernel, padding, output_padding)]
    out = _conv_general(x, w, (1,) * n, pads, dilation, groups, n, lhs_dilation=stride)
    if bias is not None:
        out = out + bias.reshape((1, -1) + (1,) * n)
    return out[0] if unbatched else out


def _conv_transpose_fn(n):
    def conv_transpose(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                       groups=1, dilation=1):
        return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                               dilation, n, f"conv_transpose{n}d")
    conv_transpose.__name__ = f"conv_transpose{n}d"
    conv_transpose.__doc__ = f"Mirrors `torch.nn.functional.conv_transpose{n}d`."
    public = fn_register(name=f"conv_transpose{n}d")(conv_transpose)
    TORCH_EXPORTS[f"conv_transpose{n}d"] = public
    return public


conv_transpose1d, conv_transpose2d, conv_transpose3d = (
    _conv_transpose_fn(1), _conv_transpose_fn(2), _conv_transpose_fn(3))


def _window_slices(x, kernel, dilation, stride, out_shape):
    """Every kernel offset's strided slice of the (padded) spatial dims: a list of arrays."""
    n = len(kernel)
    lead = x.ndim - n
    slices = []
    for offset in _offsets(kernel):
        start = (0,) * lead + tuple(o * d for o, d in zip(offset, dilation))
        limit = (x.shape[:lead] + tuple(o * d + (m - 1) * s + 1 for o, d, m, s in
                                        zip(offset, dilation, out_shape, stride)))
        slices.append(lax.slice(x, start, limit, (1,) * lead + tuple(stride)))
    return slices


def _offsets(kernel):
    if not kernel:
        return [()]
    return [(i,) + rest for i in range(kernel[0]) for rest in _offsets(kernel[1:])]


@fn_register()
def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    if input.ndim not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported "
                                  f"(got {input.ndim}D)")
    x = input[None] if input.ndim == 3 else input
    k, d, p, s = (_tuple(v, 2) for v in (kernel_size, dilation, padding, stride))
    x = jnp.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    out_shape = [(x.shape[2 + i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2)]
    if min(out_shape) <= 0:
        raise RuntimeError(f"Given input with spatial size {list(input.shape[-2:])}, "
                           f"kernel_size={list(k)}, dilation={list(d)}, padding={list(p)}, "
                           f"calculated shape of the array of sliding blocks as {out_shape}, "
                           f"but its components must be at least one.")
    cols = jnp.stack(_window_slices(x, k, d, s, out_shape), axis=2)   # N, C, k*k, oh, ow
    cols = cols.reshape(x.shape[0], x.shape[1] * k[0] * k[1], out_shape[0] * out_shape[1])
    return cols[0] if input.ndim == 3 else cols


@fn_register()
def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    if input.ndim not in (2, 3):
        raise NotImplementedError(f"Input Error: Only unbatched (2D) or batched (3D) input "
                                  f"Tensors are supported (got {input.ndim}D)")
    x = input[None] if input.ndim == 2 else input
    o, k, d, p, s = (_tuple(v, 2) for v in (output_size, kernel_size, dilation, padding, stride))
    blocks = [(o[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2)]
    n, ck, length = x.shape
    if ck % (k[0] * k[1]) or length != blocks[0] * blocks[1]:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size and its dimension 2 to match the calculated number "
                           f"of sliding blocks {blocks[0]} * {blocks[1]} = "
                           f"{blocks[0] * blocks[1]}, but got input.size(1)={ck}, "
                           f"input.size(2)={length}.")
    c = ck // (k[0] * k[1])
    cols = x.reshape(n, c, k[0] * k[1], blocks[0], blocks[1])
    out = jnp.zeros((n, c, o[0] + 2 * p[0], o[1] + 2 * p[1]), x.dtype)
    for i, (a, b) in enumerate(_offsets(k)):
        out = out.at[:, :, a * d[0]: a * d[0] + (blocks[0] - 1) * s[0] + 1: s[0],
                     b * d[1]: b * d[1] + (blocks[1] - 1) * s[1] + 1: s[1]].add(cols[:, :, i])
    out = out[:, :, p[0]: p[0] + o[0], p[1]: p[1] + o[1]]
    return out[0] if input.ndim == 2 else out
