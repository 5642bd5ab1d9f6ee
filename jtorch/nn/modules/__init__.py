"""`torch.nn.modules`: one file per family, as torch lays them out; each file's `__all__` is
re-exported here and from `jtorch.nn`."""
import importlib as _importlib

from .module import Module  # noqa: F401

_FAMILIES = ("container", "linear", "flatten", "conv", "fold", "lazy", "padding",
             "pixelshuffle", "upsampling", "distance", "channelshuffle", "activation",
             "activation_mha",
             "dropout", "loss", "normalization", "batchnorm", "instancenorm", "sparse",
             "pooling", "rnn", "transformer", "adaptive", "linear_cross_entropy_options")

__all__ = ["Module"]
_mod = None
for _family in _FAMILIES:
    try:
        _mod = _importlib.import_module(f".{_family}", __name__)
    except ModuleNotFoundError as _e:   # a family not written yet
        if _e.name != f"{__name__}.{_family}":
            raise
        continue
    if _family == "lazy":   # torch.nn.modules.lazy.LazyModuleMixin stays in its file
        continue
    for _name in _mod.__all__:
        globals()[_name] = getattr(_mod, _name)
    __all__ += _mod.__all__
del _family, _mod


def __getattr__(name: str):
    from jtorch._missing import missing_attribute
    return missing_attribute(__name__, name)
