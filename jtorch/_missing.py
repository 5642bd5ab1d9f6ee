"""Missing torch names (DESIGN decision 11): the body of every jtorch module's `__getattr__`.

A module of jtorch ends with

    def __getattr__(name: str):
        from jtorch._missing import missing_attribute
        return missing_attribute(__name__, name)

so that `torch.nn.Foo` for a name jtorch lacks raises AttributeError saying "jtorch does not
implement torch.nn.Foo yet" (with Python's "Did you mean" hint for typos), and
`hasattr(torch, "compile")`-style checks in user code still answer False.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys


# torch.Tensor's public names that jtorch.Tensor lacks (torch 2.13): asking for one raises
# the not-implemented message, any other unknown name Python's own. tests/test_run_as_torch.py
# checks the list against torch both ways, so it only shrinks.
MISSING_TENSOR_ATTRIBUTES = frozenset("""
    as_subclass ccol_indices coalesce col_indices const_data_ptr crow_indices dense_dim
    dequantize dim_order eig grad_dtype hash_tensor index indices int_repr ipu
    is_coalesced is_distributed is_sparse_csr lstsq module_load mtia name new orgqr
    output_nr q_per_channel_axis q_per_channel_scales q_per_channel_zero_points q_scale
    q_zero_point qscheme record_stream reinforce resize resize_as resize_as_sparse_
    row_indices slice_inverse smm solve sparse_dim sparse_mask sparse_resize_
    sparse_resize_and_clear_ sspaddmm storage storage_type symeig to_dense to_mkldnn
    to_padded_tensor to_sparse to_sparse_bsc to_sparse_bsr to_sparse_coo to_sparse_csc
    to_sparse_csr unsafe_split_with_sizes values volatile xpu
""".split())


def torch_name(module_name: str) -> str:
    """The torch name of a jtorch module: `jtorch.nn.functional` -> `torch.nn.functional`."""
    if module_name == "jtorch" or module_name.startswith("jtorch."):
        return "torch" + module_name[len("jtorch"):]
    return module_name


def not_implemented_message(torch_qualname: str) -> str:
    """The one wording for every torch feature jtorch lacks."""
    return f"jtorch does not implement {torch_qualname} yet"


def missing_attribute(module_name: str, name: str) -> object:
    """Resolve `name`, missing from jtorch module `module_name`, or raise AttributeError.

    A package's submodule that nobody imported yet is imported and returned, as `import
    torch` makes `torch.utils.data` reachable without importing it by name.
    """
    module = sys.modules[module_name]
    if name.startswith("__") and name.endswith("__"):
        # Python's own probes (__path__, __wrapped__, __all__ ...) get Python's own message
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}",
                             name=name, obj=module)
    if "__path__" in vars(module) and name.isidentifier():
        full = f"{module_name}.{name}"
        if importlib.util.find_spec(full) is not None:
            return importlib.import_module(full)
    raise AttributeError(not_implemented_message(f"{torch_name(module_name)}.{name}"),
                         name=name, obj=module)
