"""Reductions of sparse arrays, with SciPy's result kinds and dtypes: ``sum``/``mean`` over
an axis give a dense 1-D array, over everything a 0-d array; ``max``/``min`` count the
implicit zeros (unless ``explicit=True``) and give a 1-D COO array over an axis; ``argmax``/
``argmin`` give the first position of the extremum, implicit zeros included.

Sums and extrema over stored values are lazy (EXTERN nodes over the value vector that run
the segment and bucket reductions of ``lowering.kernels.sparse``); ``argmax``/``argmin``
realize the values, since their result depends on where the implicit zeros lie.
"""
import numpy as np

from lowering import buffer_node
from lowering.kernels import sparse as kernels

from .. import _dtypes as dt
from .._graph import check_axis, extern
from .._sparse_dispatch import handles
from . import _structure as st


def _sum_dtype(dtype):
    # SciPy's get_sum_dtype: integers and bool accumulate in int64/uint64
    if dtype.kind == "u":
        return np.dtype(np.uint64)
    if dtype.kind in "ib":
        return np.dtype(np.int64)
    return dtype


def _segment_np(data, indptr, op):
    return kernels.segment_reduce(op, indptr, data)


def _bucket_np(data, keys, op, n):
    return kernels.bucket_reduce(op, keys, data, n)


def _axis_reduce(op, a, axis, dtype):
    """``op`` ("sum", "max", "min") of the stored values of the 2-D ``a`` along ``axis``:
    a dense 1-D Array (implicit zeros not counted), and the number of stored entries per
    output element."""
    from ._ops import _cast_values, _compressed
    c = _compressed(a)
    if op != "sum":
        c = c._canonical_copy()
    data = _cast_values(c._data, dtype)
    n_out = c.shape[1 - axis]
    if axis != c._major:
        out = extern(_segment_np, (op,), dtype, (n_out,), (data, buffer_node(c._indptr)))
        counts = np.diff(c._indptr)
    else:
        out = extern(_bucket_np, (op, n_out), dtype, (n_out,), (data, buffer_node(c._indices)))
        counts = np.bincount(c._indices, minlength=n_out)
    return out, counts


def _check_axis_2d(a, axis):
    if a.ndim != 2 and axis is not None:
        if a.ndim == 1 and check_axis(axis, 1) == 0:
            return None
        raise NotImplementedError(f"reductions over an axis of a {a.ndim}-D sparse array")
    return None if axis is None else check_axis(axis, 2)


def sum(a, axis=None, dtype=None):
    from ..statistical import sum as _sum
    dtype = _sum_dtype(a.dtype) if dtype is None else st.value_dtype(dtype)
    axis = _check_axis_2d(a, axis)
    if axis is None:
        return _sum(a._data if a.format not in ("dok", "lil") else a.tocoo()._data, dtype=dtype)
    return _axis_reduce("sum", a, axis, dtype)[0]


def mean(a, axis=None, dtype=None):
    if dtype is None:
        dtype = np.dtype(np.float64) if a.dtype.kind in "iub" else a.dtype
    s = sum(a, axis, dtype)
    axis = _check_axis_2d(a, axis)
    n = int(np.prod(a.shape)) if axis is None else a.shape[axis]
    from ..elementwise import divide
    return divide(s, n) if n else divide(s, float("nan"))


def extremum(op, a, axis=None, explicit=False):
    from ..elementwise import maximum, minimum, where
    from ..creation import asarray, zeros
    from ..statistical import max as _max, min as _min
    axis = _check_axis_2d(a, axis)
    size = int(np.prod(a.shape))
    if size == 0:
        raise ValueError(f"zero-size array to reduction operation {op}, which has no identity")
    both = maximum if op == "max" else minimum
    if axis is None:
        canon = a.tocoo()._canonical_copy()       # duplicates summed before comparing
        if canon.nnz == 0:
            return zeros((), dtype=a.dtype)
        m = (_max if op == "max" else _min)(canon._data)
        if canon.nnz < size and not explicit:
            m = both(m, asarray(0, dtype=a.dtype))
        return m
    out, counts = _axis_reduce(op, a, axis, a.dtype)
    if not explicit:
        partial = st.leaf(st.frozen(counts < a.shape[axis]))
        out = where(partial, both(out, asarray(0, dtype=a.dtype)), out)
    from ._coo import coo_array
    n = out.shape[0]
    return coo_array._new((np.arange(n, dtype=st.index_dtype(n)),), out, (n,), True)


def _first_missing(indptr, indices, n_minor):
    """Per major row of a canonical structure: the first minor index not stored (n_minor
    when the row is full)."""
    m = len(indptr) - 1
    counts = np.diff(indptr)
    row = kernels.expand_indptr(indptr).astype(np.int64)
    j = np.arange(len(indices), dtype=np.int64) - indptr[:-1].astype(np.int64)[row]
    mismatch = np.where(indices != j, j, np.iinfo(np.int64).max)
    out = counts.astype(np.int64).copy()       # no mismatch: the first index after the row's entries
    nonempty = counts > 0
    if len(indices):
        first = np.minimum.reduceat(mismatch, indptr[:-1][nonempty])
        out[nonempty] = np.minimum(out[nonempty], first)
    return np.minimum(out, n_minor)


def _arg_rows(op, c):
    """argmax/argmin along the minor axis of a canonical compressed array: int64 per major row."""
    data = st.realized(c._data)
    n_minor = c.shape[1 - c._major]
    pos = kernels.segment_arg(op, c._indptr, data)
    has = pos >= 0
    safe = np.where(has, pos, 0)
    idx = np.where(has, c._indices[safe] if len(data) else 0, 0).astype(np.int64)
    val = np.where(has, data[safe] if len(data) else 0, 0)
    missing = _first_missing(c._indptr, c._indices, n_minor)
    full = missing >= n_minor
    better = (val > 0) if op == "argmax" else (val < 0)
    with np.errstate(invalid="ignore"):
        better |= np.isnan(val) if val.dtype.kind in "fc" else False
    tie = val == 0
    res = np.where(full | better, idx, np.where(tie & has, np.minimum(missing, idx), missing))
    return res


def arg_extremum(op, a, axis=None, explicit=False):
    from ._compressed import csr_array
    if explicit:
        raise NotImplementedError(f"{op}(explicit=True)")
    axis = _check_axis_2d(a, axis)
    if int(np.prod(a.shape)) == 0:
        raise ValueError(f"cannot apply {op} to an empty sparse array")
    if axis is None:
        if a.ndim == 1:
            flat = a.reshape((1, -1))
        else:
            flat = a.tocoo().reshape((1, -1))
        c = csr_array(flat.tocsr())._canonical_copy()
        return st.leaf(np.asarray(_arg_rows(op, c)[0], np.int64))
    c = a.tocsr() if axis == 1 else a.tocsc()
    return st.leaf(_arg_rows(op, c._canonical_copy()))


def _nonzero_np(data):
    return (data != 0).astype(np.int64)


def count_nonzero(a, axis=None):
    from ..searching import count_nonzero as _count
    axis = _check_axis_2d(a, axis)
    if axis is None:
        canon = a.tocoo()._canonical_copy()
        return _count(canon._data)
    from ._ops import _compressed
    c = _compressed(a)._canonical_copy()
    ones = extern(_nonzero_np, (), np.dtype(np.int64), c._data.shape, (c._data,))
    return _axis_reduce("sum", c._with_data(ones), axis, np.dtype(np.int64))[0]


# ---- the namespace's dispatch table


def _axis_arg(axis, keepdims):
    if keepdims:
        raise NotImplementedError("keepdims=True with a sparse array")
    if isinstance(axis, tuple):
        if len(axis) == 0:
            raise NotImplementedError("a reduction over no axes of a sparse array")
        axis = None if len(axis) == 2 else axis[0]
    return axis


@handles("sum")
def _sum_handler(name, x, /, *, axis=None, dtype=None, keepdims=False):
    return sum(x, _axis_arg(axis, keepdims), dtype)


@handles("mean")
def _mean_handler(name, x, /, *, axis=None, keepdims=False):
    if x.dtype not in dt.CATEGORIES["floating-point"]:
        raise TypeError(f"mean is only defined for floating-point dtypes, got {x.dtype}")
    return mean(x, _axis_arg(axis, keepdims))


@handles("max", "min")
def _extremum_handler(name, x, /, *, axis=None, keepdims=False):
    from ._base import SparseArray
    out = extremum(name, x, _axis_arg(axis, keepdims))
    # Note: the namespace's max/min give dense arrays (the method gives SciPy's 1-D COO)
    return out.toarray() if isinstance(out, SparseArray) else out


@handles("argmax", "argmin")
def _arg_handler(name, x, /, *, axis=None, keepdims=False):
    return arg_extremum(name, x, _axis_arg(axis, keepdims))


@handles("count_nonzero")
def _count_handler(name, x, /, *, axis=None, keepdims=False):
    return count_nonzero(x, _axis_arg(axis, keepdims))
