"""The implementations behind jtorch.nn.functional, one module per family."""
from . import activation, loss, conv, pooling, normalization, misc, dropout  # noqa: F401
from . import interpolate, attention, attention_mha, pooling_fractional  # noqa: F401
