"""``A[key]`` for sparse arrays, each form in the format that suits it: CSR selects rows,
CSC is indexed through its (free) CSR transpose, other formats convert to CSR first.

Index values decide the result's structure, so they are realized and bounds-checked at the
call (IndexError naming the axis and its size); the values are gathered lazily.
Results follow SciPy 1.17: an integer row or column gives a 1-D COO array, two integers
or two index arrays give dense values, everything else a 2-D sparse array.
"""
import operator

import numpy as np

from lowering.kernels import sparse as kernels

from .._array import Array
from . import _structure as st


def _normalize(k, n, axis):
    """One part of a key -> ("int", i), ("slice", idx, is_full) or ("array", idx)."""
    if isinstance(k, slice):
        idx = np.arange(*k.indices(n), dtype=np.int64)
        return ("slice", idx, k.indices(n) == (0, n, 1))
    if isinstance(k, (list, tuple, np.ndarray, Array)):
        a = np.asarray(k)
        if a.dtype == bool:
            if a.ndim != 1 or len(a) != n:
                raise IndexError(f"boolean index of shape {a.shape} does not match axis {axis} of size {n}")
            return ("array", np.flatnonzero(a))
        if a.size == 0:
            a = a.astype(np.int64)
        if a.dtype.kind not in "iu":
            raise IndexError(f"arrays used as indices must be of integer or boolean type, not {a.dtype}")
        a = a.astype(np.int64)
        if len(a) and (a.max() >= n or a.min() < -n):
            bad = a.max() if a.max() >= n else a.min()
            raise IndexError(f"index {int(bad)} is out of bounds for axis {axis} with size {n}")
        return ("array", np.where(a < 0, a + n, a)) if a.ndim == 1 else ("nd", np.where(a < 0, a + n, a))
    if isinstance(k, bool) or isinstance(k, np.bool_):
        raise IndexError("a boolean scalar is not a valid sparse index")
    try:
        i = operator.index(k)
    except TypeError:
        raise IndexError(f"only integers, slices (`:`), ellipsis (`...`) and integer or boolean "
                         f"arrays are valid indices, got {k!r}") from None
    if not -n <= i < n:
        raise IndexError(f"index {i} is out of bounds for axis {axis} with size {n}")
    return ("int", i % n)


def _split_key(key, ndim):
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is None for k in key):
        raise IndexError("None (newaxis) is not supported in sparse indexing")
    if sum(k is Ellipsis for k in key) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if Ellipsis in [k for k in key if not isinstance(k, (np.ndarray, Array, list))]:
        i = next(j for j, k in enumerate(key) if k is Ellipsis)
        key = key[:i] + (slice(None),) * (ndim - len(key) + 1) + key[i + 1:]
    if len(key) > ndim:
        raise IndexError(f"too many indices for a {ndim}-D sparse array")
    return key + (slice(None),) * (ndim - len(key))


def getitem(a, key):
    if a.ndim == 1:
        return _getitem_1d(a.tocoo(), key)
    if a.ndim != 2:
        raise NotImplementedError("indexing of N-D sparse arrays")
    if isinstance(key, (np.ndarray, Array)) and np.asarray(key).ndim == 2:
        raise NotImplementedError("2-D boolean or integer masks of sparse arrays")
    rk, ck = _split_key(key, 2)
    r = _normalize(rk, a.shape[0], 0)
    c = _normalize(ck, a.shape[1], 1)
    if r[0] == "nd" or c[0] == "nd":
        raise NotImplementedError("multi-dimensional index arrays on sparse arrays")
    if a.format == "csc":
        out = _select(a.T, c, r)      # A.T of a CSC is a CSR over the same buffers
        return out.T if out.ndim == 2 else out
    out = _select(a if a.format == "csr" else a.tocsr(), r, c)
    if a.format == "coo" and isinstance(out, Array) and out.ndim == 1:
        # Note: SciPy's COO gives paired-array points as a 1-D COO array (CSR/CSC: dense)
        from ._coo import coo_array
        n = out.shape[0]
        return coo_array._new((np.arange(n, dtype=st.index_dtype(n)),), out, (n,), True)
    return out


def _points(a, rows, cols):
    """Values at the (row, col) pairs (duplicates summed, absent entries 0): a dense Array."""
    c = a._canonical_copy()
    n = a.shape[1]
    keys = kernels.expand_indptr(c._indptr).astype(np.int64) * n + c._indices
    want = rows.astype(np.int64) * n + cols
    pos = np.searchsorted(keys, want)
    hit = (pos < len(keys)) & (keys[np.minimum(pos, max(len(keys) - 1, 0))] == want) if len(keys) else \
        np.zeros(len(want), bool)
    return st.gather(c._data, np.where(hit, pos, -1))


def _select(a, r, c):
    """CSR ``a`` indexed by normalized row part ``r`` and column part ``c``."""
    from ._coo import coo_array
    from ._compressed import csr_array
    if r[0] == "int" and c[0] == "int":
        # one entry: look in its row only (duplicates summed), O(row length)
        p, q = int(a._indptr[r[1]]), int(a._indptr[r[1] + 1])
        return st.sum_at(a._data, p + np.flatnonzero(a._indices[p:q] == c[1]))
    if r[0] == "array" and c[0] == "array":
        try:
            rows, cols = np.broadcast_arrays(r[1], c[1])      # paired points: dense values
        except ValueError:
            raise IndexError(f"shape mismatch: indexing arrays of shapes {r[1].shape} and {c[1].shape} "
                             f"could not be broadcast together") from None
        return _points(a, rows, cols)
    rows = np.array([r[1]]) if r[0] == "int" else r[1]
    indptr, indices, pos = a._indptr, a._indices, None
    if not (r[0] == "slice" and r[2]):
        indptr, indices, pos = _rows(a._indptr, a._indices, rows)
    data = a._data if pos is None else st.gather(a._data, pos)
    if not (c[0] == "slice" and c[2]):
        cols = np.array([c[1]]) if c[0] == "int" else c[1]
        indptr, indices, pos = _columns(indptr, indices, cols)
        data = st.gather(data, pos)
        n_cols = len(cols)
    else:
        n_cols = a.shape[1]
    canonical = a._canonical if (c[0] == "slice" and c[2]) else None
    if r[0] == "int":
        return coo_array._new((indices,), data, (n_cols,), canonical)
    if c[0] == "int":
        row = kernels.expand_indptr(indptr)
        return coo_array._new((row,), data, (len(indptr) - 1,), None)
    return csr_array._new(indptr, indices, data, (len(indptr) - 1, n_cols), canonical)


def _reshape0(x):
    from .._graph import reshape_node
    return Array._new(reshape_node(x._node, ()))


def _rows(indptr, indices, rows):
    """The structure of the selected rows (in order, repeats allowed) and the positions of
    their entries in the input."""
    counts = np.diff(indptr)[rows].astype(np.int64)
    new_indptr = np.zeros(len(rows) + 1, np.int64)
    np.cumsum(counts, out=new_indptr[1:])
    total = int(new_indptr[-1])
    pos = np.repeat(indptr[rows].astype(np.int64) - new_indptr[:-1], counts) + np.arange(total, dtype=np.int64)
    idt = st.index_dtype(max(len(rows), int(indices.max()) + 1 if len(indices) else 0), total)
    return new_indptr.astype(idt), indices[pos].astype(idt), pos


def _columns(indptr, indices, cols):
    """Keep, for every entry, one copy per occurrence of its column in ``cols`` (renumbered
    to the position in ``cols``): structure and positions of the kept entries."""
    order = np.argsort(cols, kind="stable")
    sorted_cols = cols[order]
    lo = np.searchsorted(sorted_cols, indices, "left")
    hi = np.searchsorted(sorted_cols, indices, "right")
    reps = (hi - lo).astype(np.int64)
    total = int(reps.sum())
    pos = np.repeat(np.arange(len(indices), dtype=np.int64), reps)
    within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(reps) - reps, reps)
    new_cols = order[np.repeat(lo, reps) + within]
    row = kernels.expand_indptr(indptr).astype(np.int64)
    counts = np.bincount(row[pos], minlength=len(indptr) - 1) if total else np.zeros(len(indptr) - 1, np.int64)
    new_indptr = np.zeros(len(indptr), np.int64)
    np.cumsum(counts, out=new_indptr[1:])
    idt = st.index_dtype(max(len(indptr), len(cols)), total)
    return new_indptr.astype(idt), new_cols.astype(idt), pos


def _getitem_1d(a, key):
    from ._coo import coo_array
    if isinstance(key, tuple):
        if len(key) != 1:
            raise IndexError(f"too many indices for a 1-D sparse array")
        key = key[0]
    n = a.shape[0]
    part = _normalize(key, n, 0)
    canon = a._canonical_copy()
    coords = canon._coords[0].astype(np.int64)
    if part[0] == "int":
        pos = np.flatnonzero(coords == part[1])
        return _reshape0(st.gather(canon._data, pos)) if len(pos) else _reshape0(
            st.gather(canon._data, np.array([-1])))
    idx = part[1]
    indptr = np.array([0, len(coords)])
    _, new, pos = _columns(indptr, coords, idx)
    return coo_array._new((new,), st.gather(canon._data, pos), (len(idx),), None)
