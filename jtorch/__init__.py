"""jtorch: PyTorch's API on JAX. `import jtorch as torch`."""
from __future__ import annotations

import jax as _jax

# torch has int64 and float64; jax needs x64 mode for them. Every creation path passes
# an explicit dtype, so nothing drifts to float64.
_jax.config.update("jax_enable_x64", True)

from ._dtype import (  # noqa: E402
    dtype, float32, float64, float16, bfloat16, uint8, int8, int16, int32, int64, bool_ as bool,
    complex64, complex128, get_default_dtype, set_default_dtype, promote_types, can_cast,
    finfo, iinfo,
)
from ._dtype import float32 as float, float64 as double, float16 as half  # noqa: E402
from ._dtype import int64 as long, int32 as int, int16 as short  # noqa: E402
from ._dtype import complex64 as cfloat, complex128 as cdouble  # noqa: E402
from ._device import device, set_default_device, get_default_device  # noqa: E402

set_default_device(None)    # jax's default device becomes torch's: the CPU
from ._tensor import Tensor, Size  # noqa: E402
from . import _ops  # noqa: E402
from ._ops.creation import *  # noqa: E402,F401,F403
from ._ops.meta import *  # noqa: E402,F401,F403
from ._ops.registry import namespace as _namespace  # noqa: E402

from . import linalg, special, fft, nn, masked, signal, random, cuda  # noqa: E402,F401
from . import autograd  # noqa: E402,F401
from . import utils  # noqa: E402,F401
from . import optim  # noqa: E402,F401
from . import safetensors  # noqa: E402,F401
from . import backends  # noqa: E402,F401
from .backends.cuda import (  # noqa: E402,F401
    set_float32_matmul_precision, get_float32_matmul_precision)
from ._deterministic import (  # noqa: E402,F401
    use_deterministic_algorithms, are_deterministic_algorithms_enabled,
    is_deterministic_algorithms_warn_only_enabled)
from .autograd.grad_mode import (  # noqa: E402,F401
    no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled,
    is_inference_mode_enabled)
from .random import (  # noqa: E402,F401
    Generator, default_generator, manual_seed, seed, initial_seed, get_rng_state,
    set_rng_state,
)
from ._tensor_str import set_printoptions, get_printoptions  # noqa: E402,F401
from . import serialization  # noqa: E402,F401
from .serialization import save, load  # noqa: E402,F401

# every family (nn.functional's torch-level names included) has registered by now
globals().update(_namespace("torch"))

from .version import __version__  # noqa: E402,F401  (TorchVersion("2.13.0"))
from ._install import install_as_torch, uninstall_as_torch  # noqa: E402,F401


def __getattr__(name: str):
    from jtorch._missing import missing_attribute
    return missing_attribute(__name__, name)
