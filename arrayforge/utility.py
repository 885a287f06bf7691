"""Utility functions: all and any (recorded as bool reductions in statistical.py) and diff."""
import operator

from . import _dtypes as dt
from ._graph import check_array, check_axis
from .statistical import all, any  # noqa: A004
from . import _array  # noqa: E402  (circular at import time; used at call time)

__all__ = ["all", "any", "diff"]


def diff(x, /, *, axis=-1, n=1, prepend=None, append=None):
    """The ``n``-th forward difference along ``axis``: slices subtracted, fused in one kernel.

    >>> diff(asarray([1, 4, 9, 16]))      # [3, 5, 7]
    """
    from .elementwise import not_equal, subtract
    from .manipulation import concat
    check_array(x, "diff", "all")
    if x.ndim == 0:
        raise ValueError("diff requires an array of at least one dimension")
    axis = check_axis(axis, x.ndim)
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"diff: order n must be non-negative, got {n}")
    if n == 0:
        return x        # Note: as NumPy, n=0 returns x itself (prepend/append are not applied)
    for extra, name in ((prepend, "prepend"), (append, "append")):
        if extra is not None:
            if not isinstance(extra, _array.Array):
                raise TypeError(f"diff: {name} must be an arrayforge array")
            if extra.ndim != x.ndim or extra.shape[:axis] + extra.shape[axis + 1:] != x.shape[:axis] + x.shape[axis + 1:]:
                raise ValueError(f"diff: {name} of shape {extra.shape} does not match x of shape {x.shape} "
                                 f"outside axis {axis}")
    if prepend is not None or append is not None:
        # Note: prepend/append of another dtype are promoted with x (concat's rule).
        parts = ([prepend] if prepend is not None else []) + [x] + ([append] if append is not None else [])
        x = concat(parts, axis=axis)
    # Note: on booleans the difference is "not equal", as in NumPy.
    step = not_equal if x.dtype == dt.bool else subtract
    lead = (slice(None),) * axis
    for _ in range(n):
        if x.shape[axis] == 0:
            break
        x = step(x[lead + (slice(1, None),)], x[lead + (slice(None, -1),)])
    return x


diff.__module__ = "arrayforge"
