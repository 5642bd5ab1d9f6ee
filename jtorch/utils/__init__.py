"""`torch.utils`: hooks (more with later issues)."""
from . import data  # noqa: F401
from . import hooks  # noqa: F401


def __getattr__(name: str):
    from jtorch._missing import missing_attribute
    return missing_attribute(__name__, name)
