"""The in-place samplers `Tensor.uniform_`, `normal_`, `random_`, `bernoulli_` ... and the
sampling Tensor methods (`bernoulli`, `multinomial`)."""
from __future__ import annotations

import jax.numpy as jnp

from .._tensor import Tensor
from .registry import _type_name, write_inplace
from . import random as _r


def _fill(self, value, name):
    return write_inplace(self, Tensor._wrap(value), name)


def _continuous(self, name):
    d = self.dtype
    if not d.is_floating_point:
        raise RuntimeError(f"{name} distribution is a continuous probability distribution. "
                           f"dtype must be a floating point but you specified {_type_name(d)}")


def _numbers(**values):
    for k, v in values.items():
        if isinstance(v, Tensor):
            values[k] = v.item()
    return values.values()


def uniform_(self, from_=0.0, to=1.0, *, generator=None, **kwargs):
    """Mirrors `Tensor.uniform_` (`from` may be passed by keyword as torch allows)."""
    from_ = kwargs.pop("from", from_)
    from_, to = _numbers(from_=from_, to=to)
    d = self.dtype
    if not (d.is_floating_point or d.is_complex):
        raise _r._not_implemented("check_uniform_bounds", d)
    if from_ > to:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={from_:g} > to={to:g}")
    return _fill(self, _r._uniform(generator, self.shape, d._np, float(from_), float(to)),
                 "uniform_")


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Mirrors `Tensor.normal_`."""
    mean, std = _numbers(mean=mean, std=std)
    d = self.dtype
    if not (d.is_floating_point or d.is_complex):
        raise _r._not_implemented("normal_kernel_cpu", d)
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    return _fill(self, _r._normal(generator, self.shape, d._np, float(mean), float(std)),
                 "normal_")


def exponential_(self, lambd=1.0, *, generator=None):
    """Mirrors `Tensor.exponential_`."""
    (lambd,) = _numbers(lambd=lambd)
    _continuous(self, "Exponential")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    return _fill(self, _r._exponential(generator, self.shape, self.dtype._np, float(lambd)),
                 "exponential_")


def geometric_(self, p, *, generator=None):
    """Mirrors `Tensor.geometric_`."""
    (p,) = _numbers(p=p)
    d = self.dtype
    if d.is_complex or d._name == "bool":
        raise _r._not_implemented("geometric_cpu", d)
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p:g}")
    return _fill(self, _r._geometric(generator, self.shape, d._np, float(p)), "geometric_")


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Mirrors `Tensor.cauchy_`."""
    median, sigma = _numbers(median=median, sigma=sigma)
    _continuous(self, "Cauchy")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma:g}")
    return _fill(self, _r._cauchy(generator, self.shape, self.dtype._np, float(median),
                                  float(sigma)), "cauchy_")


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Mirrors `Tensor.log_normal_`."""
    mean, std = _numbers(mean=mean, std=std)
    d = self.dtype
    if not d.is_floating_point:
        raise _r._not_implemented("log_normal_cpu", d)
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std:g}")
    return _fill(self, _r._log_normal(generator, self.shape, d._np, float(mean), float(std)),
                 "log_normal_")


def random_(self, *args, generator=None, **kwargs):
    """Mirrors `Tensor.random_`: random_(), random_(to), random_(from, to); to=None is the
    dtype's top value."""
    low = kwargs.pop("from", None)
    high = kwargs.pop("to", None)
    if kwargs:
        raise TypeError(f"random_() got an unexpected keyword argument '{next(iter(kwargs))}'")
    if len(args) == 1:
        high = args[0]
    elif len(args) == 2:
        low, high = args
    elif len(args) > 2:
        raise TypeError("random_() takes at most 2 positional arguments")
    low, high = _numbers(low=0 if low is None else low, high=high)
    value = _r._draw_integers(generator, self.shape, self.dtype, int(low),
                              None if high is None else int(high))
    return _fill(self, value, "random_")


def bernoulli_(self, p=0.5, *, generator=None):
    """Mirrors `Tensor.bernoulli_`: p is a float or a tensor broadcast to self."""
    d = self.dtype
    if d.is_complex:
        raise _r._not_implemented("bernoulli_scalar_cpu_", d)
    if isinstance(p, Tensor):
        p = jnp.broadcast_to(p._value, self.shape)
    else:
        _r._check_p(p)
    return _fill(self, _r._bernoulli(generator, self.shape, d._np, p), "bernoulli_")


def _bernoulli_method(self, p=None, *, generator=None):
    return _r.bernoulli(self, p, generator=generator)


def _multinomial_method(self, num_samples, replacement=False, *, generator=None):
    return _r.multinomial(self, num_samples, replacement, generator=generator)


for _fn in (uniform_, normal_, exponential_, geometric_, cauchy_, log_normal_, random_,
            bernoulli_):
    setattr(Tensor, _fn.__name__, _fn)
Tensor.bernoulli = _bernoulli_method
Tensor.multinomial = _multinomial_method
