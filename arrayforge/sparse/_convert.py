"""Constructor arguments shared by the formats, and SciPy interop (``from_scipy``)."""
import operator

import numpy as np

from .._array import Array
from ._base import SparseArray
from . import _structure as st


def _is_shape(arg):
    if not isinstance(arg, tuple) or not arg:
        return False
    try:
        for s in arg:
            if isinstance(s, bool) or isinstance(s, (np.ndarray, list, tuple, Array)):
                return False
            operator.index(s)
    except TypeError:
        return False
    return True


def _is_scipy_sparse(x):
    mod = type(x).__module__
    if not mod.startswith("scipy.sparse"):
        return False
    import scipy.sparse
    return scipy.sparse.issparse(x)


def parse_arguments(arg1, shape, fmt):
    """Classify a constructor's first argument.  Returns ``(form, parts)``:

    * ``("sparse", array)``: an arrayforge sparse array (SciPy's converted, buffers shared);
    * ``("empty", shape)``: ``(M, N)``;
    * ``("coo", (data, coords, shape))``: ``(data, (row, col))``;
    * ``("compressed", (data, indices, indptr, shape))``;
    * ``("dense", value)``: anything else, read as a dense array.
    """
    if isinstance(arg1, SparseArray):
        return "sparse", arg1
    if _is_scipy_sparse(arg1):
        return "sparse", from_scipy(arg1)
    if isinstance(arg1, tuple):
        if _is_shape(arg1):
            if shape is not None and tuple(shape) != tuple(arg1):
                raise ValueError(f"shape {shape} differs from the shape argument {arg1}")
            shape = st.check_shape(arg1, None if fmt == "coo" else 2)
            return "empty", shape
        if len(arg1) == 2:
            data, coords = arg1
            if isinstance(coords, np.ndarray) and coords.ndim == 2:
                coords = tuple(coords)
            if not isinstance(coords, (tuple, list)):
                raise TypeError(f"a (data, coords) argument needs a tuple of index arrays, got "
                                f"{type(coords).__name__}")
            return "coo", (data, tuple(coords), None if shape is None else st.check_shape(shape))
        if len(arg1) == 3:
            data, indices, indptr = arg1
            return "compressed", (data, indices, indptr, shape)
        raise ValueError(f"unrecognized {fmt}_array constructor input: a tuple of {len(arg1)} items")
    if isinstance(arg1, (Array, np.ndarray, list)) or np.isscalar(arg1):
        return "dense", arg1
    raise TypeError(f"unrecognized {fmt}_array constructor input of type {type(arg1).__name__}")


def from_scipy(m, device=None):
    """The arrayforge sparse array of a SciPy sparse array or matrix, in the same format.

    The index and value buffers are shared (no copy, no dense detour): do not modify the
    SciPy object's buffers afterwards.

    >>> A = from_scipy(scipy.sparse.random_array((100, 100), density=0.01, format="csr"))

    ``device``: where the result lives (``"cuda"``: the buffers are copied there, CSR, CSC
    and COO only).
    """
    out = _from_scipy(m)
    return out if device is None else out.to_device(device)


def _from_scipy(m):
    if not _is_scipy_sparse(m):
        raise TypeError(f"from_scipy expects a scipy.sparse array or matrix, got {type(m).__name__}")
    from . import (bsr_array, coo_array, csc_array, csr_array, dia_array, dok_array, lil_array)
    fmt = m.format
    if fmt in ("csr", "csc"):
        cls = csr_array if fmt == "csr" else csc_array
        out = cls((m.data, m.indices, m.indptr), shape=m.shape)
        if m.has_canonical_format:
            out._canonical = True
        return out
    if fmt == "coo":
        return coo_array((m.data, tuple(m.coords)), shape=m.shape)
    if fmt == "bsr":
        return bsr_array((m.data, m.indices, m.indptr), shape=m.shape, blocksize=m.blocksize)
    if fmt == "dia":
        return dia_array((m.data, m.offsets), shape=m.shape)
    if fmt == "dok":
        out = dok_array(m.shape, dtype=m.dtype)
        out._dict.update({k: v for k, v in m.items()})
        return out
    if fmt == "lil":
        return lil_array(csr_array(m.tocsr()))
    raise TypeError(f"unsupported SciPy sparse format {fmt!r}")
