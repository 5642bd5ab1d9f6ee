"""`torch.nn` (modules come with a later issue; functional is here)."""
from . import functional  # noqa: F401
