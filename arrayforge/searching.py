"""Searching functions: argmax, argmin, count_nonzero, nonzero, searchsorted (``where`` is
recorded with the element-wise functions)."""
import numpy as np

from . import _dtypes as dt
from ._graph import cast, check_array, check_axis, concrete, extern, normalize_axis
from .elementwise import where
from ._sparse_dispatch import call as _sparse_call, is_sparse as _is_sparse
from . import _array  # noqa: E402  (circular at import time; used at call time)

__all__ = ["argmax", "argmin", "count_nonzero", "nonzero", "searchsorted", "where"]


def _argmax_np(x, axis, keepdims):
    return np.argmax(x, axis=axis, keepdims=keepdims)


def _argmin_np(x, axis, keepdims):
    return np.argmin(x, axis=axis, keepdims=keepdims)


def _arg_extremum(fn, name, x, axis, keepdims):
    if type(x) is not _array.Array and _is_sparse(x):
        return _sparse_call(name, x, axis=axis, keepdims=keepdims)
    check_array(x, name, "real numeric")
    if axis is None:
        if x.size == 0:
            raise ValueError(f"{name}: attempt to get {name} of an empty sequence")
        shape = (1,) * x.ndim if keepdims else ()
    else:
        axis = check_axis(axis, x.ndim)
        if x.shape[axis] == 0:
            raise ValueError(f"{name}: attempt to get {name} of an empty sequence")
        shape = x.shape[:axis] + ((1,) if keepdims else ()) + x.shape[axis + 1:]
    # Note: as in NumPy, the first occurrence wins and a NaN counts as the extremum.
    return extern(fn, (axis, bool(keepdims)), dt.int64, shape, (x,))


def argmax(x, /, *, axis=None, keepdims=False):
    """Index of the (first) maximum along ``axis`` (of the flattened array if None)."""
    return _arg_extremum(_argmax_np, "argmax", x, axis, keepdims)


def argmin(x, /, *, axis=None, keepdims=False):
    """Index of the (first) minimum along ``axis`` (of the flattened array if None)."""
    return _arg_extremum(_argmin_np, "argmin", x, axis, keepdims)


def count_nonzero(x, /, *, axis=None, keepdims=False):
    """Number of nonzero elements along ``axis``: a fused cast-and-sum."""
    from .manipulation import astype
    from .statistical import sum
    if type(x) is not _array.Array and _is_sparse(x):
        return _sparse_call("count_nonzero", x, axis=axis, keepdims=keepdims)
    check_array(x, "count_nonzero", "all")
    normalize_axis(axis, x.ndim)
    return sum(astype(astype(x, dt.bool), dt.int64), axis=axis, keepdims=keepdims)


def nonzero(x, /):
    """Indices of the nonzero elements, one int64 array per dimension.

    Note: the result's size depends on the values, so ``x`` is realized here and recording
    continues from the result."""
    from .creation import asarray
    check_array(x, "nonzero", "all")
    if x.ndim == 0:
        raise ValueError("nonzero is not defined for zero-dimensional arrays")
    return tuple(asarray(i.astype(np.int64), copy=False) for i in np.nonzero(concrete(x)))


def _searchsorted_np(*args):
    x1, x2, *sorter, side = args
    return np.searchsorted(x1, x2, side=side, sorter=sorter[0] if sorter else None)


def searchsorted(x1, x2, /, *, side="left", sorter=None):
    """Insertion indices of ``x2`` into the sorted 1-D ``x1`` (``sorter`` sorts an unsorted x1)."""
    from .creation import asarray
    check_array(x1, "searchsorted", "real numeric")
    if x1.ndim != 1:
        raise ValueError(f"searchsorted: x1 must be one-dimensional, got shape {x1.shape}")
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', not {side!r}")
    if isinstance(x2, _array.Array):
        check_array(x2, "searchsorted", "real numeric")
        dtype = dt.promote(x1.dtype, x2.dtype)
    elif isinstance(x2, (int, float)) and not isinstance(x2, bool):
        dtype = dt.scalar_dtype_for(x2, x1.dtype)
        x2 = asarray(x2, dtype=dtype)
    else:
        raise TypeError(f"searchsorted: x2 must be an arrayforge array or a real scalar, got {type(x2).__name__}")
    inputs = [cast(x1._node, dtype), cast(x2._node, dtype)]
    if sorter is not None:
        check_array(sorter, "searchsorted", "integer")
        if sorter.shape != x1.shape:
            raise ValueError(f"searchsorted: sorter must have the shape of x1 {x1.shape}, got {sorter.shape}")
        values = concrete(sorter)
        from .indexing import _check_bounds
        _check_bounds(values, 0, x1.shape[0])
        inputs.append(sorter._node)
    # Note: NaNs sort last and -0.0 == +0.0, as in NumPy's sort.
    return extern(_searchsorted_np, (side,), dt.int64, x2.shape, inputs)


for _name in __all__:
    globals()[_name].__module__ = "arrayforge"
del _name
