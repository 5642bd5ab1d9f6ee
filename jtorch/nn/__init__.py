"""Mirrors `torch.nn`: modules (nn/modules/, one file per family), functional, init,
parameter, utils."""
from . import functional  # noqa: F401
from . import init  # noqa: F401
from .parameter import (  # noqa: F401
    Buffer, Parameter, UninitializedBuffer, UninitializedParameter)
from . import modules  # noqa: F401
from .modules import *  # noqa: F401,F403
from . import utils  # noqa: F401


def __getattr__(name: str):
    from jtorch._missing import missing_attribute
    return missing_attribute(__name__, name)
