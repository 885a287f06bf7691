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


def _axes(a, axis):
    """A reduction's ``axis`` (None, an int or a tuple of ints, negative allowed) for ``a``:
    None (every axis), an int (one axis of a 2-D array: the compressed fast paths), or the
    tuple of the reduced axes in the order given (SciPy's argmax ravels them in that order) (N-D COO: reduced through :func:`_matricized`).
    Out-of-range axes raise AxisError, repeated ones ValueError, as NumPy."""
    if axis is None:
        return None
    if isinstance(axis, (tuple, list)):
        axes = tuple(check_axis(ax, a.ndim) for ax in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"duplicate value in 'axis': {tuple(axis)}")
        if not axes:
            raise ValueError("sparse does not accept 0D axis (); use .copy() for the sparse array "
                             "(as SciPy) or the namespace's reductions (axis=() is the identity there)")
    else:
        axes = (check_axis(axis, a.ndim),)
    if len(axes) == a.ndim:
        return None
    if a.ndim == 2:
        return axes[0]
    return axes


def _matricized(a, axes):
    """``a`` (N-D) as the 2-D COO ``(kept, reduced)`` whose rows ravel the kept axes and
    columns the reduced ``axes``, and the kept shape: a reduction over ``axes`` is then the
    row reduction (axis 1) of the 2-D array."""
    from ._coo import matricize
    kept = tuple(i for i in range(a.ndim) if i not in axes)
    return matricize(a.tocoo(), kept, axes), tuple(a.shape[i] for i in kept)


def _reshaped(out, shape):
    from ..manipulation import reshape
    return reshape(out, shape)


def sum(a, axis=None, dtype=None):
    from ..statistical import sum as _sum
    dtype = _sum_dtype(a.dtype) if dtype is None else st.value_dtype(dtype)
    axis = _axes(a, axis)
    if axis is None:
        return _sum(a._data if a.format not in ("dok", "lil") else a.tocoo()._data, dtype=dtype)
    if isinstance(axis, tuple):
        m, kept = _matricized(a, axis)
        return _reshaped(_axis_reduce("sum", m, 1, dtype)[0], kept)
    return _axis_reduce("sum", a, axis, dtype)[0]


def mean(a, axis=None, dtype=None):
    if dtype is None:
        dtype = np.dtype(np.float64) if a.dtype.kind in "iub" else a.dtype
    s = sum(a, axis, dtype)
    axis = _axes(a, axis)
    reduced = range(a.ndim) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    n = int(np.prod([a.shape[i] for i in reduced]))
    from ..elementwise import divide
    return divide(s, n) if n else divide(s, float("nan"))


def extremum(op, a, axis=None, explicit=False):
    from ..elementwise import maximum, minimum, where
    from ..creation import zeros
    from ..statistical import max as _max, min as _min
    axis = _axes(a, axis)
    size = int(np.prod(a.shape))
    if size == 0:
        raise ValueError(f"zero-size array to reduction operation {op}, which has no identity")
    kept = None
    if isinstance(axis, tuple):
        a, kept = _matricized(a, axis)
        axis = 1
    both = maximum if op == "max" else minimum
    if axis is None:
        canon = a.tocoo()._canonical_copy()       # duplicates summed before comparing
        if canon.nnz == 0:
            return zeros((), dtype=a.dtype, device=a.device)
        m = (_max if op == "max" else _min)(canon._data)
        if canon.nnz < size and not explicit:
            m = both(m, 0)          # (a Python scalar: it goes to the values' device)
        return m
    out, counts = _axis_reduce(op, a, axis, a.dtype)
    if not explicit:
        partial = st.leaf(st.frozen(counts < a.shape[axis]))
        out = where(partial, both(out, 0), out)
    from ._coo import coo_array
    n = out.shape[0]
    if kept is not None:
        # Note: as SciPy, an N-D max/min over axes is a COO array storing every position
        coords = np.unravel_index(np.arange(n, dtype=np.int64), kept)
        idt = st.index_dtype(max(kept), n)
        return coo_array._new(tuple(c.astype(idt) for c in coords), out, kept, True)
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


def _arg_rows(op, c, explicit=False):
    """argmax/argmin along the minor axis of a canonical compressed array: int64 per major row
    (``explicit``: among the stored values only, 0 for a row without any, as SciPy)."""
    data = st.realized(c._data)
    n_minor = c.shape[1 - c._major]
    pos = kernels.segment_arg(op, c._indptr, data)
    if explicit:
        return np.where(pos >= 0, c._indices[np.maximum(pos, 0)] if len(data) else 0, 0).astype(np.int64)
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
    axis = _axes(a, axis)
    if int(np.prod(a.shape)) == 0:
        raise ValueError(f"cannot apply {op} to an empty sparse array")
    if isinstance(axis, tuple):
        # SciPy's N-D argmax over several axes: the position within the reduced axes
        # raveled in the order given
        m, kept = _matricized(a, axis)
        return st.leaf(_arg_rows(op, m.tocsr()._canonical_copy(), explicit).reshape(kept))
    if axis is None:
        if explicit and a.nnz == 0:
            raise ValueError(f"cannot apply {op} to a sparse array without stored values when explicit=True")
        # Note: with explicit=True, the flat index of the stored extremum (SciPy 1.17 returns its
        # position in the canonical data vector instead, which is no index of the array)
        if a.ndim == 1:
            flat = a.reshape((1, -1))
        else:
            flat = a.tocoo().reshape((1, -1))
        c = csr_array(flat.tocsr())._canonical_copy()
        return st.leaf(np.asarray(_arg_rows(op, c, explicit)[0], np.int64))
    c = a.tocsr() if axis == 1 else a.tocsc()
    return st.leaf(_arg_rows(op, c._canonical_copy(), explicit))


def _nonzero_np(data):
    return (data != 0).astype(np.int64)


def count_nonzero(a, axis=None):
    from ..searching import count_nonzero as _count
    axis = _axes(a, axis)
    if axis is None:
        canon = a.tocoo()._canonical_copy()
        return _count(canon._data)
    kept = None
    if isinstance(axis, tuple):
        # Note: NumPy's result (the kept shape); SciPy 1.17's N-D COO counts along the wrong
        # axes and refuses axis tuples
        a, kept = _matricized(a, axis)
        axis = 1
    from ._ops import _compressed
    c = _compressed(a)._canonical_copy()
    ones = extern(_nonzero_np, (), np.dtype(np.int64), c._data.shape, (c._data,))
    out = _axis_reduce("sum", c._with_data(ones), axis, np.dtype(np.int64))[0]
    return out if kept is None else _reshaped(out, kept)


# ---- the namespace's dispatch table


def _dense_result(out):
    from ._base import SparseArray
    return out.toarray() if isinstance(out, SparseArray) else out


def _kept(x, axis, keepdims, out):
    """``out`` with the reduced axes restored as 1s when ``keepdims`` (dense, as the standard's
    result of the dense equivalent: a reduction over some axes of a sparse array is dense or a
    COO storing every position)."""
    if not keepdims:
        return out
    if axis is None:
        reduced = set(range(x.ndim))
    else:
        reduced = {check_axis(ax, x.ndim) for ax in (axis if isinstance(axis, tuple) else (axis,))}
    return _reshaped(_dense_result(out), tuple(1 if i in reduced else n for i, n in enumerate(x.shape)))


def _namespace_reduction(reduce, identity):
    """A namespace handler over ``reduce(x, axis)``: axis None/int/tuple, ``keepdims``, and
    ``axis=()`` (the standard: nothing reduced) as ``identity(x)``, a sparse array."""
    def handler(name, x, /, *, axis=None, keepdims=False, **kwargs):
        if isinstance(axis, tuple) and not axis and identity is not None:
            return identity(name, x, **kwargs)
        return _kept(x, axis, keepdims, reduce(name, x, axis, **kwargs))
    return handler


def _sum_reduce(name, x, axis, dtype=None):
    return sum(x, axis, dtype)


def _sum_identity(name, x, dtype=None):
    # Note: sum over no axes is the array itself in the sum's dtype (sparse, a copy)
    return x.astype(_sum_dtype(x.dtype) if dtype is None else dtype, copy=True)


def _check_mean(x):
    if x.dtype not in dt.CATEGORIES["floating-point"]:
        raise TypeError(f"mean is only defined for floating-point dtypes, got {x.dtype}")


def _mean_reduce(name, x, axis):
    _check_mean(x)
    return mean(x, axis)


def _copy_identity(name, x):
    if name == "mean":
        _check_mean(x)
    return x.copy()


def _extremum_reduce(name, x, axis):
    # Note: the namespace's max/min give dense arrays (the method gives SciPy's 1-D COO)
    return _dense_result(extremum(name, x, axis))


def _arg_reduce(name, x, axis):
    if isinstance(axis, tuple):
        raise TypeError(f"{name}: axis must be an integer or None, got {axis!r}")
    return arg_extremum(name, x, axis)


def _count_reduce(name, x, axis):
    return count_nonzero(x, axis)


def _count_identity(name, x):
    # every element is counted alone: 1 where it is nonzero (a sparse int64 array)
    from ._ops import binary
    return binary("not_equal", x, 0).astype(np.int64)


handles("sum")(_namespace_reduction(_sum_reduce, _sum_identity))
handles("mean")(_namespace_reduction(_mean_reduce, _copy_identity))
handles("max", "min")(_namespace_reduction(_extremum_reduce, _copy_identity))
handles("argmax", "argmin")(_namespace_reduction(_arg_reduce, None))
handles("count_nonzero")(_namespace_reduction(_count_reduce, _count_identity))
