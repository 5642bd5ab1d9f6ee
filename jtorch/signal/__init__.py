"""`torch.signal`: window functions."""
from . import windows as windows

__all__ = ["windows"]


def __getattr__(name: str):
    from jtorch._missing import missing_attribute
    return missing_attribute(__name__, name)
