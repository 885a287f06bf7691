"""Statistical functions: each is one REDUCE node plus element-wise epilogue ops,
so ``mean``/``var``/``std`` fuse their scaling into the reduction kernel."""
import builtins   # this module defines sum/max/min/all/any

import numpy as np

from lowering import Op, const_node, reduce_now

from . import _dtypes as dt
from ._graph import cast, check_array, expand, new_node, normalize_axis, record, reshape_node
from ._sparse_dispatch import call as _sparse_call, is_sparse as _is_sparse
from . import _array  # noqa: E402  (circular at import time; used at call time)

__all__ = ["sum", "prod", "max", "min", "mean", "var", "std"]


def _reduce(op, x, axis, keepdims, dtype):
    shape = x.shape
    node = cast(x._node, dtype)
    if axis is None and shape:      # the common full reduction, without the generic shape walk
        axes = _ALL_AXES[len(shape)]
        out_shape = (1,) * len(shape) if keepdims else ()
        return _node(op, dtype, out_shape, node, axes), axes
    axes = normalize_axis(axis, len(shape))
    if axes:
        # a REDUCE node's shape either keeps the reduced axes as 1s or drops them
        out_shape = tuple(1 if d in axes else n for d, n in enumerate(shape)) if keepdims else \
            tuple(n for d, n in enumerate(shape) if d not in axes)
        return _node(op, dtype, out_shape, node, axes), axes
    elif op in (Op.SUM, Op.PROD):
        # Note: like NumPy, a reduction over no axes still applies the identity: sum(-0.0) is 0.0,
        # prod(0+infj) is nan+infj.
        ident = 0 if op is Op.SUM else 1
        red = record(Op.ADD if op is Op.SUM else Op.MUL, dtype, node.shape, (node, const_node(ident, dtype, ())))._node
    else:
        red = node
    if not keepdims:
        red = reshape_node(red, tuple(n for d, n in enumerate(x.shape) if d not in axes))
    return red, axes


_ALL_AXES = [tuple(range(n)) for n in range(65)]
_SUM = Op.SUM


def _node(op, dtype, shape, node, axes):
    return new_node(op, dtype, shape, (node,), axes)


def _sum_dtype(x, dtype):
    if dtype is not None:
        return dt.check_dtype(dtype)
    if x.dtype in dt._SIGNED_SET or x.dtype == dt.bool:
        return dt.int64
    if x.dtype in dt._UNSIGNED_SET:
        return dt.uint64
    return x.dtype


def sum(x, /, *, axis=None, dtype=None, keepdims=False):
    """Sum over ``axis``; integers accumulate in the default integer dtype (standard rule)."""
    if type(x) is _array.Array:
        b = x._buf
        if b is None:
            b = x._node.buffer
        if axis is None and dtype is None and b is not None and b.ndim and b.dtype.kind in "fc":
            # small work on a realized value runs at once (the value the general path computes)
            r = reduce_now(_SUM, b.dtype, (1,) * b.ndim if keepdims else (), b, _ALL_AXES[b.ndim])
            if r is not None:
                return _array._eager(r)
        node = x._node
    else:
        node = None
    if axis is None and dtype is None and node is not None and node.shape and node.dtype.kind in "fc":
        # fast path of the commonest call (the same node the general path records)
        out = (1,) * len(node.shape) if keepdims else ()
        return _array.Array._new(_node(Op.SUM, node.dtype, out, node, _ALL_AXES[len(node.shape)]))
    if node is None and _is_sparse(x):
        return _sparse_call("sum", x, axis=axis, dtype=dtype, keepdims=keepdims)
    check_array(x, "sum", "numeric")
    return _array.Array._new(_reduce(Op.SUM, x, axis, keepdims, _sum_dtype(x, dtype))[0])


def prod(x, /, *, axis=None, dtype=None, keepdims=False):
    check_array(x, "prod", "numeric")
    return _array.Array._new(_reduce(Op.PROD, x, axis, keepdims, _sum_dtype(x, dtype))[0])


def _extremum(op, name, x, axis, keepdims):
    if type(x) is not _array.Array and _is_sparse(x):
        return _sparse_call(name, x, axis=axis, keepdims=keepdims)
    check_array(x, name, "real numeric")
    axes = normalize_axis(axis, x.ndim)
    if builtins.any(x.shape[a] == 0 for a in axes) or (x.size == 0 and not axes):
        raise ValueError(f"zero-size array to reduction operation {name} which has no identity")
    return _array.Array._new(_reduce(op, x, axis, keepdims, x.dtype)[0])


def max(x, /, *, axis=None, keepdims=False):
    """Maximum over ``axis``; NaN propagates; an empty reduction raises ValueError."""
    return _extremum(Op.MAX, "max", x, axis, keepdims)


def min(x, /, *, axis=None, keepdims=False):
    return _extremum(Op.MIN, "min", x, axis, keepdims)


def _count(x, axes):
    n = 1
    for a in axes:
        n *= x.shape[a]
    return n


def mean(x, /, *, axis=None, keepdims=False):
    """Arithmetic mean (floating-point dtypes): ``sum / n`` fused in one kernel."""
    if type(x) is not _array.Array and _is_sparse(x):
        return _sparse_call("mean", x, axis=axis, keepdims=keepdims)
    check_array(x, "mean", "floating-point")
    red, axes = _reduce(Op.SUM, x, axis, keepdims, x.dtype)
    n = _count(x, axes)
    return record(Op.DIV, x.dtype, red.shape, (red, const_node(n if n else 0.0, x.dtype, ())))


def var(x, /, *, axis=None, correction=0.0, keepdims=False):
    """Variance: ``sum((x - mean)**2) / (n - correction)`` as two fused kernels."""
    check_array(x, "var", "real floating-point")
    m = mean(x, axis=axis, keepdims=True)
    d = record(Op.SUB, x.dtype, x.shape, (x._node, expand(m._node, x.shape)))
    sq = record(Op.MUL, x.dtype, x.shape, (d._node, d._node))
    red, axes = _reduce(Op.SUM, sq, axis, keepdims, x.dtype)
    denom = _count(x, axes) - correction
    return record(Op.DIV, x.dtype, red.shape, (red, const_node(float(denom) if denom > 0 else 0.0, x.dtype, ())))


def std(x, /, *, axis=None, correction=0.0, keepdims=False):
    v = var(x, axis=axis, correction=correction, keepdims=keepdims)
    return record(Op.SQRT, v.dtype, v.shape, (v._node,))


for _name in __all__:
    globals()[_name].__module__ = "arrayforge"
del _name


def all(x, /, *, axis=None, keepdims=False):
    """True where every element along ``axis`` is nonzero (a MIN reduction over bool)."""
    from .manipulation import astype
    check_array(x, "all", "all")
    return _array.Array._new(_reduce(Op.MIN, astype(x, dt.bool), axis, keepdims, dt.bool)[0])


def any(x, /, *, axis=None, keepdims=False):
    """True where some element along ``axis`` is nonzero (a MAX reduction over bool)."""
    from .manipulation import astype
    check_array(x, "any", "all")
    return _array.Array._new(_reduce(Op.MAX, astype(x, dt.bool), axis, keepdims, dt.bool)[0])


__all__ += ["all", "any"]
all.__module__ = any.__module__ = "arrayforge"


def _cumulative_sum_np(x, axis, dtype, include_initial):
    return np.cumulative_sum(x, axis=axis, dtype=dtype, include_initial=include_initial)


def _cumulative_prod_np(x, axis, dtype, include_initial):
    return np.cumulative_prod(x, axis=axis, dtype=dtype, include_initial=include_initial)


def _cumulative(fn, name, x, axis, dtype, include_initial):
    from ._graph import check_axis, extern
    check_array(x, name, "numeric")
    if axis is None:
        if x.ndim > 1:
            raise ValueError(f"{name}: axis is required for arrays of more than one dimension")
        if x.ndim == 0:
            # Note: a 0-d input is accumulated as a 1-element 1-D array, as NumPy does.
            x = _array.Array._new(reshape_node(x._node, (1,)))
        axis = 0
    else:
        axis = check_axis(axis, x.ndim)
    dtype = _sum_dtype(x, dtype)
    n = x.shape[axis] + (1 if include_initial else 0)
    shape = x.shape[:axis] + (n,) + x.shape[axis + 1:]
    return extern(fn, (axis, dtype, builtins.bool(include_initial)), dtype, shape, (x,))


def cumulative_sum(x, /, *, axis=None, dtype=None, include_initial=False):
    """Running sums along ``axis`` (``include_initial`` prepends the 0); integer inputs
    accumulate in the default integer dtype, as ``sum``."""
    return _cumulative(_cumulative_sum_np, "cumulative_sum", x, axis, dtype, include_initial)


def cumulative_prod(x, /, *, axis=None, dtype=None, include_initial=False):
    """Running products along ``axis`` (``include_initial`` prepends the 1)."""
    return _cumulative(_cumulative_prod_np, "cumulative_prod", x, axis, dtype, include_initial)


__all__ += ["cumulative_sum", "cumulative_prod"]
cumulative_sum.__module__ = cumulative_prod.__module__ = "arrayforge"
