"""`torch.linalg`: the ops registered under that namespace."""
from ._ops.registry import namespace as _namespace

globals().update(_namespace("torch.linalg"))
