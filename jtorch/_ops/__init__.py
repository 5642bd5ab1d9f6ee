"""The op families. Importing this package registers every op."""
from . import registry, creation  # noqa: F401
from . import pointwise  # noqa: F401
from . import operators

operators.bind()
