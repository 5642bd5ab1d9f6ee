"""`torch.utils`: hooks (more with later issues)."""
from . import hooks  # noqa: F401
