"""Random sampling: rand/randn/randint/randperm/normal/bernoulli/multinomial/poisson, the
`*_like` forms and the in-place samplers (uniform_, normal_, random_ ...).

Every draw is one jitted kernel of (generator state, parameters); the generator's seed and
counter give its key (see jtorch/random.py), so streams are reproducible but differ from
torch's numbers. Value checks that torch makes (probabilities in range...) run eagerly first.
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from .. import _alias, _dtype
from .._tensor import Tensor
from ..random import default_generator
from .creation import _finish, _place, _shape
from .registry import _type_name, register

__all__ = ["bernoulli", "multinomial", "normal", "poisson", "rand", "rand_like", "randint",
           "randint_like", "randn", "randn_like", "randperm"]


def _key(state):
    """The jax key of one draw: the seed's key with the 64-bit counter folded in."""
    key = jax.random.key(state[0])
    offset = state[1]
    key = jax.random.fold_in(key, (offset & 0xFFFFFFFF).astype(jnp.uint32))
    return jax.random.fold_in(key, (offset >> 32).astype(jnp.uint32))


def _sampler(fn=None, *, elementwise=False):
    """`fn(key, shape, dtype, *params)` as a draw from a generator: one jitted kernel per
    (shape, numpy dtype), called with the generator's (seed, offset) and the parameters.

    An `elementwise` sampler draws each element independently: with scalar parameters it
    draws a flat run whose length is the element count rounded up to a power of two, and a
    second, trivial kernel per shape slices and reshapes it. The PRNG's kernel is the costly
    one to compile (about 0.5 s), so a model whose parameters have many shapes compiles a
    few of those instead of one per shape."""
    if fn is None:
        return functools.partial(_sampler, elementwise=elementwise)
    kernels: dict = {}

    @functools.wraps(fn)
    def draw(generator, shape, dtype, *params):
        gen = generator if generator is not None else default_generator
        shape, dtype = tuple(shape), np.dtype(dtype)
        count = math.prod(shape)
        if elementwise and count > 0 and all(np.ndim(p) == 0 for p in params):
            flat = _flat_kernel(kernels, fn, _bucket(count), dtype)(gen._next(), *params)
            return _reshape_kernel(flat.shape[0], count, shape)(flat)
        key = (shape, dtype)
        kernel = kernels.get(key)
        if kernel is None:
            kernel = kernels[key] = jax.jit(
                lambda state, *p: fn(_key(state), key[0], key[1], *p))
        return kernel(gen._next(), *params)
    return draw


def _bucket(count: int) -> int:
    return max(256, 1 << (count - 1).bit_length())


def _flat_kernel(kernels, fn, length, dtype):
    key = ("flat", length, dtype)
    kernel = kernels.get(key)
    if kernel is None:
        kernel = kernels[key] = jax.jit(lambda state, *p: fn(_key(state), (length,), dtype, *p))
    return kernel


@functools.lru_cache(maxsize=1024)
def _reshape_kernel(length, count, shape):
    return jax.jit(lambda flat: flat[:count].reshape(shape))


def _real(dtype):
    return np.dtype(np.float32 if dtype == np.complex64 else np.float64) \
        if np.dtype(dtype).kind == "c" else dtype


@_sampler(elementwise=True)
def _uniform(key, shape, dtype, low, high):
    if np.dtype(dtype).kind == "c":   # torch: real and imaginary parts each U[low, high)
        parts = jax.random.uniform(key, (*shape, 2), _real(dtype), low, high)
        return jax.lax.complex(parts[..., 0], parts[..., 1])
    return jax.random.uniform(key, shape, dtype, low, high)


@_sampler(elementwise=True)
def _normal(key, shape, dtype, mean, std):
    # complex: jax, like torch, gives each part variance 1/2
    return (jax.random.normal(key, shape, dtype) * std + mean).astype(dtype)


@_sampler(elementwise=True)
def _integers(key, shape, dtype, low, span):
    """low + (64 random bits mod span), as torch's random_ does; span 0 means 2**64."""
    bits = jax.random.bits(key, shape, jnp.uint64)
    span = span.astype(jnp.uint64)
    r = jnp.where(span == 0, bits, bits % jnp.where(span == 0, 1, span))
    value = jax.lax.bitcast_convert_type(low.astype(jnp.int64).astype(jnp.uint64) + r, jnp.int64)
    return value.astype(dtype)


@_sampler
def _permutation(key, shape, dtype):
    return jax.random.permutation(key, shape[0]).astype(dtype)


def _compute_float(x):
    """float64 only for strong float64 operands: float32 elsewhere keeps TPUs and GPUs fast."""
    strong64 = x.dtype == jnp.float64 and not getattr(jax.typeof(x), "weak_type", False)
    return jnp.float64 if strong64 else jnp.float32


@_sampler(elementwise=True)
def _bernoulli(key, shape, dtype, p):
    return (jax.random.uniform(key, shape, _compute_float(p)) < p).astype(dtype)


@_sampler(elementwise=True)
def _exponential(key, shape, dtype, lambd):
    return (jax.random.exponential(key, shape, dtype) / lambd).astype(dtype)


@_sampler(elementwise=True)
def _geometric(key, shape, dtype, p):
    ft = jnp.float64 if dtype == np.float64 else jnp.float32
    u = jax.random.uniform(key, shape, ft, minval=jnp.finfo(ft).tiny)
    return (jnp.ceil(jnp.log(u) / jnp.log1p(-p))).clip(1).astype(dtype)


@_sampler(elementwise=True)
def _cauchy(key, shape, dtype, median, sigma):
    return (jax.random.cauchy(key, shape, dtype) * sigma + median).astype(dtype)


@_sampler(elementwise=True)
def _log_normal(key, shape, dtype, mean, std):
    return jnp.exp(jax.random.normal(key, shape, dtype) * std + mean).astype(dtype)


@_sampler
def _poisson(key, shape, dtype, rate):
    return jax.random.poisson(key, rate, shape).astype(dtype)


@_sampler
def _with_replacement(key, shape, dtype, probs):
    """multinomial: `shape` is (rows, num_samples); probs is (rows, categories)."""
    logits = jnp.log(probs)
    return jax.random.categorical(key, logits[:, None, :], axis=-1, shape=shape).astype(dtype)


@_sampler
def _without_replacement(key, shape, dtype, probs):
    # the top-k of Gumbel-perturbed logits draws k categories without replacement
    g = jnp.log(probs) + jax.random.gumbel(key, probs.shape, probs.dtype)
    return jax.lax.top_k(g, shape[1])[1].astype(dtype)


# value checks: one small jitted reduction each, then one device-to-host read
_any_negative = jax.jit(lambda x: jnp.any(x < 0))
_outside_unit = jax.jit(lambda x: jnp.any((x < 0) | (x > 1)))
_bad_distribution = jax.jit(lambda p: (jnp.any(~jnp.isfinite(p) | (p < 0)),
                                       jnp.any(p.sum(-1) <= 0)))


# -- argument helpers ----------------------------------------------------------------------
def _not_implemented(kernel, d):
    return NotImplementedError(f'"{kernel}" not implemented for \'{_type_name(d)}\'')


def _float_dtype(dtype, kernel):
    d = dtype or _dtype.get_default_dtype()
    if not (d.is_floating_point or d.is_complex):
        raise _not_implemented(kernel, d)
    return d


def _size(size, name):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer, Tensor)) or isinstance(s, bool):
            raise TypeError(f"{name}(): argument 'size' must be tuple of ints, but found element "
                            f"of type {type(s).__name__}")
    return _shape(size)


def _value(x):
    return x._value if isinstance(x, Tensor) else x


def _new(value, out, device, requires_grad):
    return _finish(_place(value, device, requires_grad), out)


# -- the torch functions ---------------------------------------------------------------------
def rand(*sizes, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False) -> Tensor:
    """Mirrors `torch.rand`."""
    d = _float_dtype(dtype, "check_uniform_bounds")
    shape = _size(sizes if size is None else (size,), "rand")
    return _new(_uniform(generator, shape, d._np, 0.0, 1.0), out, device, requires_grad)


def randn(*sizes, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False) -> Tensor:
    """Mirrors `torch.randn`."""
    d = _float_dtype(dtype, "normal_kernel_cpu")
    shape = _size(sizes if size is None else (size,), "randn")
    return _new(_normal(generator, shape, d._np, 0.0, 1.0), out, device, requires_grad)


def _int_bounds(d: _dtype.dtype):
    """The inclusive range random_ may produce for dtype `d`."""
    if d is _dtype.bool_:
        return 0, 1
    if d.is_floating_point:
        digits = {"float16": 11, "bfloat16": 8, "float32": 24, "float64": 53}[d._name]
        return -(1 << digits), 1 << digits
    info = np.iinfo(d._np)
    return int(info.min), int(info.max)


_CXX_NAMES = {"uint8": "unsigned char", "int8": "signed char", "int16": "short",
              "int32": "int", "int64": "long", "bool": "bool", "float16": "c10::Half",
              "bfloat16": "c10::BFloat16", "float32": "float", "float64": "double"}


def _draw_integers(generator, shape, d, low, high):
    """Integers in [low, high) (high None: up to the dtype's top value) in dtype d."""
    if d.is_complex:
        raise _not_implemented("random_kernel_cpu", d)
    lo, hi = _int_bounds(d)
    if high is None:
        high = hi + 1
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    if not lo <= low <= hi:
        raise RuntimeError(f"from is out of bounds for {_CXX_NAMES[d._name]}")
    if not lo <= high - 1 <= hi:
        raise RuntimeError(f"to - 1 is out of bounds for {_CXX_NAMES[d._name]}")
    span = (high - low) % (1 << 64)
    return _integers(generator, shape, d._np, np.int64(low), np.uint64(span))


def randint(*args, low=None, high=None, size=None, generator=None, out=None, dtype=None,
            layout=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """Mirrors `torch.randint`: randint(high, size) or randint(low, high, size)."""
    args = list(args)
    if size is None and args and isinstance(args[-1], (tuple, list)):
        size = args.pop()
    if high is not None:
        args = [0 if low is None else low, high] if not args else [*args, high]
    if size is None or len(args) not in (1, 2):
        raise TypeError("randint() received an invalid combination of arguments: expected "
                        "(high, size) or (low, high, size)")
    low, high = (0, args[0]) if len(args) == 1 else args
    d = dtype or _dtype.int64
    if requires_grad and not (d.is_floating_point or d.is_complex):
        raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                           "gradients")
    value = _draw_integers(generator, _size((size,), "randint"), d, int(low), int(high))
    return _new(value, out, device, requires_grad)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False) -> Tensor:
    """Mirrors `torch.randperm`."""
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    d = dtype or _dtype.int64
    return _new(_permutation(generator, (int(n),), d._np), out, device, requires_grad)


def _like_dtype(input, dtype):
    return dtype or input.dtype


def rand_like(input, *, generator=None, dtype=None, layout=None, device=None,
              requires_grad=False, memory_format=None) -> Tensor:
    """Mirrors `torch.rand_like`."""
    d = _float_dtype(_like_dtype(input, dtype), "check_uniform_bounds")
    return _place(_uniform(generator, input.shape, d._np, 0.0, 1.0),
                  device if device is not None else input.device, requires_grad)


def randn_like(input, *, generator=None, dtype=None, layout=None, device=None,
               requires_grad=False, memory_format=None) -> Tensor:
    """Mirrors `torch.randn_like`."""
    d = _float_dtype(_like_dtype(input, dtype), "normal_kernel_cpu")
    return _place(_normal(generator, input.shape, d._np, 0.0, 1.0),
                  device if device is not None else input.device, requires_grad)


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, layout=None,
                 device=None, requires_grad=False, memory_format=None) -> Tensor:
    """Mirrors `torch.randint_like`: randint_like(input, high) or (input, low, high)."""
    if high is None:
        low, high = 0, low
    d = _like_dtype(input, dtype)
    value = _draw_integers(generator, input.shape, d, int(_value(low)), int(_value(high)))
    return _place(value, device if device is not None else input.device, requires_grad)


def _check_std(std):
    if isinstance(std, Tensor):
        if bool(_any_negative(std._value)):
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None,
           device=None, pin_memory=False, requires_grad=False) -> Tensor:
    """Mirrors `torch.normal` (tensor/tensor, tensor/float, float/tensor, float/float/size)."""
    _check_std(std)
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal() missing required argument 'size' for float mean and std")
        d = _float_dtype(dtype, "normal_kernel_cpu")
        value = _normal(generator, _size((size,), "normal"), d._np, float(mean), float(std))
        return _new(value, out, device, requires_grad)
    from ._util import result_type
    d = result_type(*[t._value for t in tensors])
    if not (d.is_floating_point or d.is_complex):
        raise _not_implemented("normal_kernel_cpu", d)
    shapes = [t.shape for t in tensors]
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        a, b = shapes[0], shapes[-1]
        raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b ({b})"
                           ) from None
    if any(t.requires_grad for t in tensors):
        # torch's normal is not reparameterised: the result joins the graph with zero
        # gradients for mean and std
        noise = Tensor._wrap(_normal(generator, shape, d._np, 0.0, 1.0))
        return _finish(_normal_in_graph(mean, std, noise), out)
    m = jnp.asarray(_value(mean), d._np)
    s = jnp.asarray(_value(std), d._np)
    return _finish(_place(_normal(generator, shape, d._np, m, s), tensors[0].device), out)


@register(name="_normal_in_graph", method=False, function=False, scalars=("mean", "std"))
def _normal_in_graph(mean, std, noise):
    return jax.lax.stop_gradient(mean + std * noise).astype(noise.dtype)


def bernoulli(input, p=None, *, generator=None, out=None) -> Tensor:
    """Mirrors `torch.bernoulli`: p defaults to `input`'s values."""
    d = input.dtype
    if out is not None:
        _alias.check_out_overlap(out, (input, p))
    if p is None:
        if not d.is_floating_point:
            raise _not_implemented("bernoulli_tensor_cpu_p_", d)
        if bool(_outside_unit(input._value)):
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
        p = input._value
    elif isinstance(p, Tensor):
        p = p._value
    else:
        _check_p(p)
    sample = _place(_bernoulli(generator, input.shape, d._np, p), input.device)
    if input.requires_grad and d.is_floating_point:
        # torch's bernoulli joins the graph with a zero gradient for input
        sample = _bernoulli_in_graph(input, sample)
    return _finish(sample, out)


@register(name="_bernoulli_in_graph", method=False, function=False, scalars=())
def _bernoulli_in_graph(input, sample):
    return jax.lax.stop_gradient(sample)


def _check_p(p):
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p:g}")


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None) -> Tensor:
    """Mirrors `torch.multinomial`."""
    d = input.dtype
    if not d.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_type_name(d)}")
    if input.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    probs = input._value.reshape(-1, input.shape[-1]).astype(
        jnp.float64 if d is _dtype.float64 else jnp.float32)
    if not replacement and num_samples > probs.shape[1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    bad_element, bad_row = (bool(b) for b in _bad_distribution(probs))
    if bad_element:
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if bad_row:
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    sampler = _with_replacement if replacement else _without_replacement
    value = sampler(generator, (probs.shape[0], int(num_samples)), np.int64, probs)
    if input.ndim == 1:
        value = value[0]
    return _finish(_place(value, input.device), out)


def poisson(input, generator=None) -> Tensor:
    """Mirrors `torch.poisson`."""
    d = input.dtype
    if not d.is_floating_point:
        raise _not_implemented("poisson_cpu", d)
    if bool(_any_negative(input._value)):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    rate = input._value.astype(jnp.float64 if d is _dtype.float64 else jnp.float32)
    return _place(_poisson(generator, input.shape, d._np, rate), input.device)


from . import random_inplace  # noqa: E402,F401  (the Tensor.*_ samplers)
