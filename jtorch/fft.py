"""`torch.fft`: the ops registered under that namespace."""
from ._ops.registry import namespace as _namespace

globals().update(_namespace("torch.fft"))


def __getattr__(name: str):
    from jtorch._missing import missing_attribute
    return missing_attribute(__name__, name)
