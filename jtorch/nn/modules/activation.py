"""Mirrors `torch.nn.modules.activation`, except MultiheadAttention (activation_mha.py).

Activations that only hold their constructor arguments are generated from `_TABLE`: one row
gives torch's constructor signature, the functional call and the repr. The others (Hardtanh
and ReLU6, PReLU, Softmax2d) are written out."""
import inspect
import warnings

from ..._ops.creation import empty
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from .. import functional as F, init
from ..parameter import Parameter
from .module import Module

__all__ = ["Threshold", "ReLU", "RReLU", "Hardtanh", "ReLU6", "Sigmoid", "Hardsigmoid",
           "Tanh", "SiLU", "Mish", "Hardswish", "ELU", "CELU", "SELU", "GLU", "GELU",
           "Hardshrink", "LeakyReLU", "LogSigmoid", "Softplus", "Softshrink", "PReLU",
           "Softsign", "Tanhshrink", "Softmin", "Softmax", "Softmax2d", "LogSoftmax"]

_REQUIRED = inspect.Parameter.empty
_INPLACE = ("inplace", False, bool)


def _signature(args) -> inspect.Signature:
    return inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default,
                             annotation=annotation) for name, default, annotation in args],
        return_annotation=None)


class _Generated(Module):
    """Base of the table's activations: stores the constructor arguments as attributes."""

    _signature: inspect.Signature
    _repr: str | None

    def __init__(self, *args, **kwargs) -> None:
        try:
            bound = self._signature.bind(self, *args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{type(self).__name__}.__init__() {error}") from None
        bound.apply_defaults()
        super().__init__()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    def __setstate__(self, state):
        # torch fills in `dim` for pickles older than the argument; any argument goes here
        super().__setstate__(state)
        for name, param in list(self._signature.parameters.items())[1:]:
            if name not in self.__dict__ and param.default is not _REQUIRED:
                setattr(self, name, param.default)

    def extra_repr(self) -> str:
        if self._repr is None:
            return ""
        inplace = getattr(self, "inplace", False)
        return self._repr.format(**self.__dict__, inplace_only="inplace=True" if inplace else "",
                                 inplace_suffix=", inplace=True" if inplace else "")


def _generate(name: str, args, forward, repr_template):
    def __init__(self, *args, **kwargs) -> None:
        _Generated.__init__(self, *args, **kwargs)

    signature = _signature(args)
    __init__.__signature__ = signature
    __init__.__qualname__ = f"{name}.__init__"
    cls = type(name, (_Generated,), {
        "__init__": __init__, "forward": forward, "_signature": signature,
        "_repr": repr_template, "__module__": __name__, "__doc__": f"Mirrors `torch.nn.{name}`."})
    return cls


# name, constructor args (name, default, annotation), forward, extra_repr template (None: no
# extra_repr; {inplace_suffix} is ", inplace=True" when set, {inplace_only} "inplace=True")
_TABLE = [
    ("Threshold", [("threshold", _REQUIRED, float), ("value", _REQUIRED, float), _INPLACE],
     lambda self, input: F.threshold(input, self.threshold, self.value, self.inplace),
     "threshold={threshold}, value={value}{inplace_suffix}"),
    ("ReLU", [_INPLACE], lambda self, input: F.relu(input, inplace=self.inplace),
     "{inplace_only}"),
    ("RReLU", [("lower", 1.0 / 8, float), ("upper", 1.0 / 3, float), _INPLACE],
     lambda self, input: F.rrelu(input, self.lower, self.upper, self.training, self.inplace),
     "lower={lower}, upper={upper}{inplace_suffix}"),
    ("Sigmoid", [], lambda self, input: F.sigmoid(input), None),
    ("Hardsigmoid", [_INPLACE], lambda self, input: F.hardsigmoid(input, self.inplace), None),
    ("Tanh", [], lambda self, input: F.tanh(input), None),
    ("SiLU", [_INPLACE], lambda self, input: F.silu(input, inplace=self.inplace),
     "{inplace_only}"),
    ("Mish", [_INPLACE], lambda self, input: F.mish(input, inplace=self.inplace),
     "{inplace_only}"),
    ("Hardswish", [_INPLACE], lambda self, input: F.hardswish(input, self.inplace), None),
    ("ELU", [("alpha", 1.0, float), _INPLACE],
     lambda self, input: F.elu(input, self.alpha, self.inplace), "alpha={alpha}{inplace_suffix}"),
    ("CELU", [("alpha", 1.0, float), _INPLACE],
     lambda self, input: F.celu(input, self.alpha, self.inplace),
     "alpha={alpha}{inplace_suffix}"),
    ("SELU", [_INPLACE], lambda self, input: F.selu(input, self.inplace), "{inplace_only}"),
    ("GLU", [("dim", -1, int)], lambda self, input: F.glu(input, self.dim), "dim={dim}"),
    ("GELU", [("approximate", "none", str)],
     lambda self, input: F.gelu(input, approximate=self.approximate),
     "approximate={approximate!r}"),
    ("Hardshrink", [("lambd", 0.5, float)], lambda self, input: F.hardshrink(input, self.lambd),
     "{lambd}"),
    ("LeakyReLU", [("negative_slope", 1e-2, float), _INPLACE],
     lambda self, input: F.leaky_relu(input, self.negative_slope, self.inplace),
     "negative_slope={negative_slope}{inplace_suffix}"),
    ("LogSigmoid", [], lambda self, input: F.logsigmoid(input), None),
    ("Softplus", [("beta", 1.0, float), ("threshold", 20.0, float)],
     lambda self, input: F.softplus(input, self.beta, self.threshold),
     "beta={beta}, threshold={threshold}"),
    ("Softshrink", [("lambd", 0.5, float)], lambda self, input: F.softshrink(input, self.lambd),
     "{lambd}"),
    ("Softsign", [], lambda self, input: F.softsign(input), None),
    ("Tanhshrink", [], lambda self, input: F.tanhshrink(input), None),
    ("Softmin", [("dim", None, int | None)],
     lambda self, input: F.softmin(input, self.dim, _stacklevel=5), "dim={dim}"),
    ("Softmax", [("dim", None, int | None)],
     lambda self, input: F.softmax(input, self.dim, _stacklevel=5), "dim={dim}"),
    ("LogSoftmax", [("dim", None, int | None)],
     lambda self, input: F.log_softmax(input, self.dim, _stacklevel=5), "dim={dim}"),
]

for _name, _args, _forward, _repr in _TABLE:
    if not _args:   # torch's parameterless activations keep Module's (*args, **kwargs)
        globals()[_name] = type(_name, (Module,), {
            "forward": _forward, "__module__": __name__,
            "__doc__": f"Mirrors `torch.nn.{_name}`."})
    else:
        globals()[_name] = _generate(_name, _args, _forward, _repr)
del _name, _args, _forward, _repr


class Hardtanh(Module):
    """Mirrors `torch.nn.Hardtanh`."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value: float | None = None, max_value: float | None = None) -> None:
        super().__init__()
        if min_value is not None:
            warnings.warn("keyword argument `min_value` is deprecated and renamed to `min_val`",
                          FutureWarning, stacklevel=2)
            min_val = min_value
        if max_value is not None:
            warnings.warn("keyword argument `max_value` is deprecated and renamed to `max_val`",
                          FutureWarning, stacklevel=2)
            max_val = max_value
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace
        if self.max_val <= self.min_val:
            raise AssertionError(f"max_val ({self.max_val}) must be greater than min_val "
                                 f"({self.min_val})")

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"min_val={self.min_val}, max_val={self.max_val}{inplace}"


class ReLU6(Hardtanh):
    """Mirrors `torch.nn.ReLU6` (a Hardtanh from 0 to 6, as in torch)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class PReLU(Module):
    """Mirrors `torch.nn.PReLU`."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None,
                 dtype=None) -> None:
        self.num_parameters = num_parameters
        super().__init__()
        self.init = init
        self.weight = Parameter(empty(num_parameters, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with no_grad():
            init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Softmax2d(Module):
    """Mirrors `torch.nn.Softmax2d`."""

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.dim()}D "
                             "instead")
        return F.softmax(input, -3, _stacklevel=5)


# torch defines MultiheadAttention in this module; jtorch keeps it in activation_mha.py
from .activation_mha import MultiheadAttention  # noqa: E402,F401
