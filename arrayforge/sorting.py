"""Sorting functions: sort and argsort, EXTERN nodes running NumPy's sorts."""
import numpy as np

from ._graph import check_array, check_axis, extern
from . import _dtypes as dt

__all__ = ["sort", "argsort"]


def _sort_np(x, axis, descending, stable):
    kind = "stable" if stable else "quicksort"
    if not descending:
        return np.sort(x, axis=axis, kind=kind)
    # Note: descending order is the ascending sort reversed (NaNs, sorted last by NumPy, come first).
    return np.flip(np.sort(x, axis=axis, kind=kind), axis=axis)


def _argsort_np(x, axis, descending, stable):
    kind = "stable" if stable else "quicksort"
    if not descending:
        return np.argsort(x, axis=axis, kind=kind)
    # A stable descending order keeps equal elements in their original order: sort the
    # reversed array ascending, reverse the result and map indices back.
    res = np.flip(np.argsort(np.flip(x, axis=axis), axis=axis, kind=kind), axis=axis)
    return x.shape[axis] - 1 - res


def _check(x, name, axis):
    check_array(x, name, "real numeric")
    return check_axis(axis, x.ndim)


def sort(x, /, *, axis=-1, descending=False, stable=True):
    """Sorted copy of ``x`` along ``axis`` (stable by default; NaNs last when ascending)."""
    axis = _check(x, "sort", axis)
    return extern(_sort_np, (axis, bool(descending), bool(stable)), x.dtype, x.shape, (x,))


def argsort(x, /, *, axis=-1, descending=False, stable=True):
    """Indices that sort ``x`` along ``axis`` (int64; stable keeps ties in original order)."""
    axis = _check(x, "argsort", axis)
    return extern(_argsort_np, (axis, bool(descending), bool(stable)), dt.int64, x.shape, (x,))


for _name in __all__:
    globals()[_name].__module__ = "arrayforge"
del _name
