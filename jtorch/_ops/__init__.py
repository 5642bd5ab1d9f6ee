"""The op families. Importing this package registers every op, then binds the operators."""
from . import registry, creation  # noqa: F401
from . import pointwise, unary, special, comparison  # noqa: F401
from . import reduction, scan, sort  # noqa: F401
from . import shape, indexing  # noqa: F401
from . import matmul, linalg, fft  # noqa: F401
from . import random, native  # noqa: F401
from . import views, inplace  # noqa: F401
from . import operators

operators.bind()
