"""arrayforge arrays as Dask chunks.

Dask is the distributed engine, arrayforge the per-block one: a Dask array whose chunks are
arrayforge arrays calls NumPy's functions on each chunk, which arrayforge's NumPy protocols
(``arrayforge/_interop.py``) record lazily; the reduction that ends a chunk's task runs the
chunk's whole chain as one fused kernel.

:func:`register` tells Dask about the chunk type (``register_chunk_type``) and its dispatch
tables (concatenate, tensordot, einsum, take, empty, to-NumPy).  It runs when ``dask.array`` is
imported (an import hook: arrayforge never imports Dask itself), or at once if it already is.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import sys

_state = {"registered": False}


def register():
    """Register arrayforge arrays (dense and sparse) as Dask chunk types; idempotent."""
    if _state["registered"]:
        return
    _state["registered"] = True
    import numpy as np
    from dask.array import dispatch
    from dask.array.chunk_types import is_valid_chunk_type, register_chunk_type

    from . import _interop
    from ._array import Array
    from .creation import empty

    if not is_valid_chunk_type(Array):
        register_chunk_type(Array)
    dispatch.concatenate_lookup.register(Array, _interop._concatenate)
    dispatch.tensordot_lookup.register(Array, _interop._tensordot)
    dispatch.einsum_lookup.register(Array, _interop._einsum)
    dispatch.take_lookup.register(Array, lambda a, indices, axis=0: _interop._take(a, indices, axis, None))
    dispatch.empty_lookup.register(Array, lambda shape, dtype=float, **kwargs: empty(shape, dtype=np.dtype(dtype)))
    dispatch.to_numpy_dispatch.register(Array, lambda data, **kwargs: np.asarray(data))
    sparse = sys.modules.get("arrayforge.sparse")
    if sparse is not None and hasattr(sparse, "_register_dask"):
        sparse._register_dask()


class _Loader(importlib.abc.Loader):
    """Runs ``dask.array``'s own loader, then :func:`register`."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        register()


class _Finder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader that the other finders give ``dask.array``."""

    busy = False

    def find_spec(self, name, path, target=None):
        if name != "dask.array" or self.busy or _state["registered"]:
            return None
        self.busy = True                  # the lookup below asks the finders again
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self.busy = False
        if spec is None or spec.loader is None:
            return None
        spec.loader = _Loader(spec.loader)
        return spec


def install():
    """Register now if ``dask.array`` is imported, else when it is."""
    if "dask.array" in sys.modules:
        try:
            register()
        except ImportError:            # a broken or partial Dask: arrayforge works without it
            pass
    elif not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
