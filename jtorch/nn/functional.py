"""`torch.nn.functional`: the ops registered under that namespace (see nn/_functional/)."""
from .._ops.registry import method as _method, namespace as _namespace, publish as _publish
from .._tensor import Tensor as _Tensor
from . import _functional  # noqa: F401  (registers the ops)
from ._functional._common import OVERRIDES as _OVERRIDES, TORCH_EXPORTS as _TORCH_EXPORTS

# hand-written wrappers (inplace=, random keys) replace the generated functions, and some
# of this family's functions are torch-level too (torch.relu, torch.conv2d ...); jtorch's
# __init__ reads the "torch" namespace after importing nn
for _name, _fn in _OVERRIDES.items():
    _publish(_fn, _name, "torch.nn.functional")
for _name, _fn in _TORCH_EXPORTS.items():
    _publish(_fn, _name, "torch")
for _name in ("relu", "relu_", "hardshrink"):   # Tensor methods torch has for these
    if not hasattr(_Tensor, _name):
        _method(_name)(lambda self, *args, _fn=_TORCH_EXPORTS[_name], **kwargs:
                       _fn(self, *args, **kwargs))

globals().update(_namespace("torch.nn.functional"))
del _name, _fn


def __getattr__(name: str):
    from jtorch._missing import missing_attribute
    return missing_attribute(__name__, name)
