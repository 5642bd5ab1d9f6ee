"""Matrix products: matmul, mm, bmm, mv, dot, einsum, tensordot, the add* fused forms."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .registry import register, publish, _type_name
from ._util import torch_dtype, wrap_dim, as_dtype
from .. import _dtype

# torch computes float32 products in full float32 on CPU; jax's default may use bf16 passes

# the C++ type names torch prints in its "same dtype" messages
_CPP_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
              "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int",
              "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
              "bool": "bool", "complex64": "c10::complex<float>",
              "complex128": "c10::complex<double>"}


def type_name(x) -> str:
    """torch's ScalarType name of a jax value ("Float", "Long" ...)."""
    return _type_name(torch_dtype(x))


def _no_bool(name, *xs):
    for x in xs:
        if x.dtype == jnp.bool_:
            raise NotImplementedError(f'"{name}" not implemented for \'Bool\'')


def _same_dtype(a, b):
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{_CPP_NAMES[torch_dtype(a)._name]} != "
                           f"{_CPP_NAMES[torch_dtype(b)._name]}")


def _shape(x) -> str:
    return "x".join(str(s) for s in x.shape)


def _mm(a, b):
    return jnp.matmul(a, b)


@register(out=True)
def matmul(input, other):
    """Mirrors `torch.matmul`."""
    a, b = input, other
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{a.ndim}D and {b.ndim}D")
    _same_dtype(a, b)
    _no_bool("addmm_impl_cpu_", a)
    if a.ndim == 1 and b.ndim == 1:
        _check_vectors(a, b)
    elif b.ndim == 1:
        if a.shape[-1] != b.shape[0]:
            rows = a.size // a.shape[-1] if a.shape[-1] else 0
            raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{a.shape[-1]}), "
                               f"vec ({b.shape[0]})")
    elif a.shape[-1] != b.shape[-2]:
        left = (1, a.shape[0]) if a.ndim == 1 else (a.size // a.shape[-1], a.shape[-1])
        if b.ndim == 2 or a.ndim <= 2:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({left[0]}x{left[1]} "
                               f"and {b.shape[-2]}x{b.shape[-1]})")
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{a.shape[0]}, {a.shape[-1]}] but got: [{b.shape[0]}, {b.shape[-2]}].")
    return _mm(a, b)


def _check_vectors(a, b):
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src "
                           f"[{b.shape[0]}] to have the same number of elements, but got "
                           f"{a.shape[0]} and {b.shape[0]} elements respectively")


@register(out=True)
def mm(input, mat2):
    """Mirrors `torch.mm`."""
    return _checked_mm(input, mat2)


def _check_bmm(a, b):
    for name, x in (("batch1", a), ("batch2", b)):
        if x.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    _same_dtype(a, b)
    _no_bool("bmm", a)
    if b.shape[:2] != (a.shape[0], a.shape[2]):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{a.shape[0]}, {a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}].")


@register(out=True)
def bmm(input, mat2):
    """Mirrors `torch.bmm`."""
    _check_bmm(input, mat2)
    return _mm(input, mat2)


@register(out=True)
def mv(input, vec):
    """Mirrors `torch.mv`."""
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.ndim}, {vec.ndim}")
    _same_dtype(input, vec)
    _no_bool("addmv_impl_cpu", input)
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input.shape[0]}), mat ({_shape(input)}), "
                           f"vec ({vec.shape[0]})")
    return _mm(input, vec)


def _dot_check(name, a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.dtype != b.dtype:
        raise RuntimeError(f"{name} : expected both vectors to have same dtype, but found "
                           f"{type_name(a)} and {type_name(b)}")
    _check_vectors(a, b)


@register(out=True)
def dot(input, tensor):
    """Mirrors `torch.dot`."""
    _dot_check("dot", input, tensor)
    _no_bool("dot", input)
    return _mm(input, tensor)


@register(out=True)
def vdot(input, other):
    """Mirrors `torch.vdot`."""
    _dot_check("vdot", input, other)
    _no_bool("vdot", input)
    return _mm(jnp.conj(input), other)


def _same(message, a, b):
    if a.dtype != b.dtype:
        raise RuntimeError(message)


@register(out=True)
def inner(input, other):
    """Mirrors `torch.inner`."""
    _same("both inputs should have same dtype", input, other)
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got "
                           f"shapes {list(input.shape)} and {list(other.shape)}")
    return jnp.tensordot(input, other, axes=([-1], [-1]))


@register(out=True, aliases=("ger",))
def outer(input, vec2):
    """Mirrors `torch.outer`."""
    for name, x in (("self", input), ("vec2", vec2)):
        if x.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {x.ndim}-D")
    _same("both inputs should have same dtype", input, vec2)
    return input[:, None] * vec2[None, :]


@register(out=True)
def kron(input, other):
    """Mirrors `torch.kron`."""
    _same("both inputs should have same dtype", input, other)
    return jnp.kron(input, other)


@register(method=False)
def einsum(equation, *operands):
    """Mirrors `torch.einsum` (string and sublist forms)."""
    if not isinstance(equation, str):
        # sublist form: einsum(op0, sublist0, op1, sublist1, ..., [out_sublist])
        return jnp.einsum(equation, *operands)
    if len(operands) == 1 and isinstance(operands[0], (tuple, list)):
        operands = tuple(operands[0])
    for x in operands[1:]:
        if x.dtype != operands[0].dtype:
            raise RuntimeError(f"expected scalar type {type_name(operands[0])} but found "
                               f"{type_name(x)}")
    _einsum_sizes(equation, operands)
    return jnp.einsum(equation, *operands)


def _einsum_sizes(equation, operands):
    inputs = equation.split("->")[0].replace(" ", "").split(",")
    if len(inputs) != len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation"
                           if len(operands) > len(inputs) else
                           "einsum(): fewer operands were provided than specified in the equation")
    seen: dict = {}
    for i, (spec, x) in enumerate(zip(inputs, operands)):
        if "." in spec:
            continue
        if len(spec) != x.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(spec)}) "
                               f"does not match the number of dimensions ({x.ndim}) for operand "
                               f"{i} and no ellipsis was given")
        for label, size in zip(spec, x.shape):
            prev = seen.setdefault(label, size)
            if size != prev and 1 not in (size, prev):
                raise RuntimeError(f"einsum(): subscript {label} has size {size} for operand {i} "
                                   f"which does not broadcast with previously seen size {prev}")


@register(method=False, out=True, jit=False)
def tensordot(a, b, dims=2):
    """Mirrors `torch.tensordot`. Eager, so that `dims` may be a tensor of dimensions."""
    if isinstance(dims, jax.Array):
        if isinstance(dims, jax.core.Tracer):
            raise NotImplementedError("tensordot: dims given as a traced tensor; pass ints")
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = tuple(range(a.ndim - dims, a.ndim)), tuple(range(dims))
    else:
        da, db = dims
        da = (da,) if isinstance(da, int) else tuple(da)
        db = (db,) if isinstance(db, int) else tuple(db)
    _same("both inputs should have same dtype", a, b)
    da = tuple(wrap_dim(d, a.ndim) for d in da)
    db = tuple(wrap_dim(d, b.ndim) for d in db)
    for x, y in zip(da, db):
        # torch broadcasts a contracted dimension of size 1 against the other operand's
        if a.shape[x] == 1 and b.shape[y] != 1:
            b = jnp.sum(b, axis=y, keepdims=True)
        elif b.shape[y] == 1 and a.shape[x] != 1:
            a = jnp.sum(a, axis=x, keepdims=True)
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a.shape[x]} in dim {x} and second has size {b.shape[y]} in "
                               f"dim {y}")
    return jnp.tensordot(a, b, axes=(da, db))


def _scaled_sum(name, input, product, beta, alpha):
    """beta * input + alpha * product, torch's fused form (beta=0 ignores input's nan/inf)."""
    d = torch_dtype(product)
    if d._category <= 1 and (isinstance(beta, float) or isinstance(alpha, float)):
        if name == "addr":
            raise RuntimeError("For integral input tensors, argument beta must not be a floating "
                               "point number.")
        # torch's integer BLAS paths convert the scalars to the integer type (truncation)
        beta, alpha = int(beta), int(alpha)
    try:
        target = jnp.broadcast_shapes(input.shape, product.shape)
    except ValueError:
        target = None
    if target != product.shape:
        raise RuntimeError(f"The expanded size of the tensor ({product.shape[-1]}) must match the "
                           f"existing size ({input.shape[-1]}) at non-singleton dimension "
                           f"{product.ndim - 1}.  Target sizes: {list(product.shape)}.  "
                           f"Tensor sizes: {list(input.shape)}")
    if d is _dtype.bool_:
        out = product if alpha else jnp.zeros_like(product)
        return (out | input) if beta else out
    if alpha != 1:
        product = product * as_dtype(alpha, d)
    if beta == 0:
        return product
    term = input if beta == 1 else input * as_dtype(beta, d)
    return term + product


def _dtypes_match(name, *xs):
    if len({x.dtype for x in xs}) != 1:
        names = ", ".join(type_name(x) for x in xs[:-1]) + f", and {type_name(xs[-1])}"
        raise RuntimeError(f"{name} input tensors must have the same dtype, but got {names}")


@register(inplace=True, out=True, scalars=("input",))
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """Mirrors `torch.addmm`."""
    product = _checked_mm(mat1, mat2)
    if input.dtype != product.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {type_name(input)} "
                           f"and {type_name(mat2)}")
    return _scaled_sum("addmm", input, product, beta, alpha)


def _checked_mm(a, b):
    for name, x in (("self", a), ("mat2", b)):
        if x.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix")
    _same_dtype(a, b)
    _no_bool("addmm_impl_cpu_", a)
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_shape(a)} and "
                           f"{_shape(b)})")
    return _mm(a, b)


@register(inplace=True, out=True)
def addmv(input, mat, vec, *, beta=1, alpha=1):
    """Mirrors `torch.addmv`."""
    _dtypes_match("addmv", input, mat, vec)
    if mat.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {mat.ndim}, "
                           f"{vec.ndim}")
    if mat.shape[1] != vec.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input.shape[0] if input.ndim else 1}), "
                           f"mat ({_shape(mat)}), vec ({vec.shape[0]})")
    return _scaled_sum("addmv", input, _mm(mat, vec), beta, alpha)


@register(inplace=True, out=True)
def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """Mirrors `torch.addr`."""
    for name, x in (("vec1", vec1), ("vec2", vec2)):
        if x.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {x.ndim}-D")
    _dtypes_match("addr", input, vec1, vec2)
    product = vec1[:, None] * vec2[None, :]
    if product.dtype == jnp.bool_:
        product = vec1[:, None] & vec2[None, :]
    return _scaled_sum("addr", input, product, beta, alpha)


@register(inplace=True, out=True)
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """Mirrors `torch.addbmm`."""
    _check_bmm(batch1, batch2)
    _dtypes_match("addbmm", input, batch1, batch2)
    product = jnp.einsum("bij,bjk->ik", batch1, batch2)
    return _scaled_sum("addbmm", input, product, beta, alpha)


@register(inplace=True, out=True)
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """Mirrors `torch.baddbmm`."""
    _check_bmm(batch1, batch2)
    _dtypes_match("baddbmm", input, batch1, batch2)
    return _scaled_sum("baddbmm", input, _mm(batch1, batch2), beta, alpha)


@register()
def trace(input):
    """Mirrors `torch.trace`."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    _no_bool("trace", input)
    d = torch_dtype(input)
    out = _dtype.int64._np if d._category <= 1 else input.dtype
    return jnp.trace(input, dtype=out)


def _multi_dot(name, tensors):
    if len(tensors) < 2:
        raise RuntimeError(f"{name}(): expected at least 2 tensors but got {len(tensors)}")
    for i, x in enumerate(tensors):
        first_or_last = i in (0, len(tensors) - 1)
        if x.ndim != 2 and not (first_or_last and x.ndim == 1):
            where = "first" if i == 0 else "last" if first_or_last else None
            raise RuntimeError(f"{name}(): the {where} tensor must be 1D or 2D but got {x.ndim}D"
                               if where else
                               f"{name}(): tensor {i} must be 2D but got {x.ndim}D")
        if x.dtype != tensors[0].dtype:
            raise RuntimeError(f"{name}(): all tensors must have be the same dtype but tensor 0 "
                               f"is {_CPP_NAMES[torch_dtype(tensors[0])._name]} and tensor {i} "
                               f"{_CPP_NAMES[torch_dtype(x)._name]}")
    mats = list(tensors)
    for i in range(len(mats) - 1):
        if mats[i].shape[-1] != mats[i + 1].shape[0]:
            raise RuntimeError(f"{name}(): tensors {i} and {i + 1} with shapes "
                               f"{list(mats[i].shape)} and {list(mats[i + 1].shape)} cannot be "
                               f"multiplied")
    return jnp.linalg.multi_dot(mats)


@register(namespace="torch.linalg", method=False, out=True)
def multi_dot(tensors):
    """Mirrors `torch.linalg.multi_dot`."""
    return _multi_dot("multi_dot", tuple(tensors))


@register(method=False, out=True)
def chain_matmul(*matrices):
    """Mirrors `torch.chain_matmul`."""
    if len(matrices) == 1 and isinstance(matrices[0], (tuple, list)):
        matrices = tuple(matrices[0])
    for x in matrices:
        if x.ndim != 2:
            raise RuntimeError(f"Tensor dimension is {x.ndim}, expected 2 instead.")
    if len(matrices) == 1:
        return matrices[0]
    return _multi_dot("chain_matmul", matrices)


def _cross(name, input, other, dim):
    if input.ndim != other.ndim:
        raise RuntimeError(f"{name}: inputs must have the same number of dimensions.")
    if input.dtype != other.dtype:
        raise RuntimeError(f"expected scalar type {type_name(input)} but found {type_name(other)}")
    shape = jnp.broadcast_shapes(input.shape, other.shape)
    if dim is None:   # torch.cross: the first dimension of size 3 (deprecated default)
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    dim = wrap_dim(dim, len(shape))
    if input.shape[dim] != 3 or other.shape[dim] != 3:
        raise RuntimeError(f"{name}: inputs dimension {dim if name == 'cross' else dim - len(shape)}"
                           f" must have length 3. Got {input.shape[dim]} and {other.shape[dim]}")
    a, b = jnp.broadcast_to(input, shape), jnp.broadcast_to(other, shape)
    return jnp.cross(a, b, axis=dim)


@register(out=True)
def cross(input, other, dim=None):
    """Mirrors `torch.cross`."""
    return _cross("linalg.cross", input, other, dim)


@register("cross", namespace="torch.linalg", method=False, out=True)
def linalg_cross(input, other, *, dim=-1):
    """Mirrors `torch.linalg.cross`."""
    return _cross("linalg.cross", input, other, dim)


@register(namespace="torch.linalg", method=False, out=True, scalars=())
def vecdot(x, y, *, dim=-1):
    """Mirrors `torch.linalg.vecdot`."""
    if x.dtype != y.dtype:
        raise RuntimeError(f"linalg.vecdot: Expected x and y to have the same dtype, but found x "
                           f"of type {type_name(x)} and y of type {type_name(y)} instead")
    if torch_dtype(x)._category <= 1:
        raise RuntimeError(f"linalg.vecdot: Expected a floating point or complex tensor as "
                           f"input. Got {type_name(x)}")
    return jnp.sum(jnp.conj(x) * y, axis=dim)


publish(matmul, "matmul", "torch.linalg")   # torch.linalg.matmul is torch.matmul
