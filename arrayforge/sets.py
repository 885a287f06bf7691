"""Set functions.  The unique_* functions have data-dependent shapes: their input is realized
and recording continues from the results.  isin has a static shape and stays lazy."""
from typing import NamedTuple

import numpy as np

from . import _dtypes as dt
from ._graph import cast, concrete, extern
from . import _array  # noqa: E402  (circular at import time; used at call time)

__all__ = ["unique_all", "unique_counts", "unique_inverse", "unique_values", "isin"]


class UniqueAllResult(NamedTuple):
    values: "_array.Array"
    indices: "_array.Array"
    inverse_indices: "_array.Array"
    counts: "_array.Array"


class UniqueCountsResult(NamedTuple):
    values: "_array.Array"
    counts: "_array.Array"


class UniqueInverseResult(NamedTuple):
    values: "_array.Array"
    inverse_indices: "_array.Array"


def _unique(x, name, **kwargs):
    if not isinstance(x, _array.Array):
        raise TypeError(f"{name} expects an arrayforge array, got {type(x).__name__}")
    # Note: NaNs are distinct (each NaN is its own unique value), as the standard requires;
    # -0.0 and +0.0 are one value.  Values come back sorted, as NumPy returns them.
    return np.unique(concrete(x).ravel(), equal_nan=False, **kwargs)


def _wrap(a, shape=None):
    """An index or count array as an int64 arrayforge array."""
    from .creation import asarray
    a = np.asarray(a, dtype=np.int64)
    return asarray(a.reshape(shape) if shape is not None else a, copy=False)


def _values(a):
    from .creation import asarray
    return asarray(a, copy=False)


def unique_all(x, /):
    """Unique values, the index of each one's first occurrence, the inverse indices (shape of
    ``x``) and the counts."""
    values, indices, inverse, counts = _unique(x, "unique_all", return_index=True, return_inverse=True,
                                               return_counts=True)
    return UniqueAllResult(_values(values), _wrap(indices), _wrap(inverse, x.shape), _wrap(counts))


def unique_counts(x, /):
    """Unique values and how often each occurs."""
    values, counts = _unique(x, "unique_counts", return_counts=True)
    return UniqueCountsResult(_values(values), _wrap(counts))


def unique_inverse(x, /):
    """Unique values and, for each element of ``x``, the index of its value (shape of ``x``)."""
    values, inverse = _unique(x, "unique_inverse", return_inverse=True)
    return UniqueInverseResult(_values(values), _wrap(inverse, x.shape))


def unique_values(x, /):
    """The unique values of ``x`` (sorted)."""
    return _values(_unique(x, "unique_values"))


def _isin_np(x1, x2, invert):
    return np.isin(x1, x2, invert=invert)


def isin(x1, x2, /, *, invert=False):
    """Whether each element of ``x1`` is in ``x2`` (value equality), shaped like ``x1``.

    >>> isin(asarray([1, 2, 3]), asarray([2, 5]))        # [False, True, False]
    """
    from .creation import asarray
    a1, a2 = isinstance(x1, _array.Array), isinstance(x2, _array.Array)
    if not a1 and not a2:
        raise TypeError("isin: at least one of x1 and x2 must be an array")
    for v in (x1, x2):
        if not isinstance(v, (_array.Array, bool, int, float, complex)):
            raise TypeError(f"isin: unsupported argument type {type(v).__name__}")
    if a1 and a2:
        # Note: dtypes without a common promoted dtype (unspecified) compare by value, as NumPy does.
        try:
            dtype = dt.promote(x1.dtype, x2.dtype)
        except TypeError:
            dtype = None
    else:
        arr, scalar = (x1, x2) if a1 else (x2, x1)
        dtype = dt.scalar_dtype_for(scalar, arr.dtype)
        if a1:
            x2 = asarray(x2, dtype=dtype)
        else:
            x1 = asarray(x1, dtype=dtype)
    n1, n2 = (x1._node, x2._node) if dtype is None else (cast(x1._node, dtype), cast(x2._node, dtype))
    return extern(_isin_np, (bool(invert),), dt.bool, x1.shape, (n1, n2))


for _name in __all__:
    globals()[_name].__module__ = "arrayforge"
for _cls in (UniqueAllResult, UniqueCountsResult, UniqueInverseResult):
    _cls.__module__ = "arrayforge.sets"
del _name, _cls
