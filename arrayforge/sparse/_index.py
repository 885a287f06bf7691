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
    if _needs_general(a, key):
        return _getitem_general(a, key)
    if a.ndim == 1:
        return _getitem_1d(a.tocoo(), key)
    rk, ck = _split_key(key, 2)
    r = _normalize(rk, a.shape[0], 0)
    c = _normalize(ck, a.shape[1], 1)
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


# ---- NumPy's indexing rules over COO coordinates: N-D arrays, multi-dimensional index arrays,
# boolean masks of several axes (dense or sparse), None


def _is_array_key(k):
    return isinstance(k, (list, np.ndarray, Array)) or _is_sparse_key(k)


def _is_sparse_key(k):
    from ._base import issparse
    return issparse(k)


def _needs_general(a, key):
    """Keys the 1-D/2-D paths above do not take: any key of an N-D array, an index array of
    two or more dimensions, a sparse mask, ``None``."""
    if a.ndim > 2:
        return True
    parts = key if isinstance(key, tuple) else (key,)
    for k in parts:
        if k is None or _is_sparse_key(k):
            return True
        if isinstance(k, (list, np.ndarray, Array)) and np.ndim(k) >= 2:
            return True
    return False


def _index_array(k, dims, axis):
    """An integer or boolean index (array) covering ``dims`` (one axis; a boolean one may
    cover several): the list of int64 index arrays, one per covered axis."""
    if _is_sparse_key(k):
        from ._base import as_sparse_operand
        m = as_sparse_operand(k).tocoo()._canonical_copy()
        if m.dtype != np.bool_:
            raise IndexError(f"a sparse index must be a boolean mask, not {m.dtype}")
        if m.shape != tuple(dims):
            raise IndexError(f"boolean index of shape {m.shape} does not match the indexed shape {tuple(dims)}")
        keep = st.realized(m._data).astype(bool)
        return [c[keep].astype(np.int64) for c in m._coords]
    a = np.asarray(k)
    if a.dtype == bool:
        if a.shape != tuple(dims[:a.ndim]) or a.ndim == 0:
            raise IndexError(f"boolean index of shape {a.shape} does not match the indexed shape "
                             f"{tuple(dims[:max(a.ndim, 1)])} (axis {axis})")
        return [c.astype(np.int64) for c in np.nonzero(a)]
    if a.size == 0:
        a = a.astype(np.int64)
    if a.dtype.kind not in "iu":
        raise IndexError(f"arrays used as indices must be of integer or boolean type, not {a.dtype}")
    a = a.astype(np.int64)
    n = dims[0]
    if a.size and (a.max() >= n or a.min() < -n):
        bad = a.max() if a.max() >= n else a.min()
        raise IndexError(f"index {int(bad)} is out of bounds for axis {axis} with size {n}")
    return [np.where(a < 0, a + n, a)]


def _parse_general(key, shape):
    """``key`` -> a list of parts, each ("new",), ("int", i, axis), ("slice", slice, axis)
    or ("adv", index array, axis) (a boolean mask over k axes gives k "adv" parts)."""
    key = key if isinstance(key, tuple) else (key,)
    if sum(k is Ellipsis for k in key if not _is_array_key(k)) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")

    def consumed(k):
        if k is None or (k is Ellipsis and not _is_array_key(k)):
            return 0
        if _is_sparse_key(k):
            return len(k.shape)
        if isinstance(k, (list, np.ndarray, Array)) and np.asarray(k).dtype == bool:
            return max(np.ndim(k), 1)
        return 1

    used = sum(consumed(k) for k in key)
    if used > len(shape):
        raise IndexError(f"too many indices for a {len(shape)}-D sparse array")
    parts, axis = [], 0
    expanded = []
    for k in key:
        if k is Ellipsis and not _is_array_key(k):
            expanded.extend([slice(None)] * (len(shape) - used))
        else:
            expanded.append(k)
    if not any(k is Ellipsis for k in key if not _is_array_key(k)):
        expanded.extend([slice(None)] * (len(shape) - used))
    for k in expanded:
        if k is None:
            parts.append(("new",))
        elif isinstance(k, slice):
            parts.append(("slice", k, axis))
            axis += 1
        elif _is_array_key(k):
            arrays = _index_array(k, shape[axis:], axis)
            for arr in arrays:
                parts.append(("adv", arr, axis))
                axis += 1
        else:
            part = _normalize(k, shape[axis], axis)
            parts.append(("int", part[1], axis))
            axis += 1
    return parts


def _getitem_general(a, key):
    """``a[key]`` by NumPy's rules, computed on COO coordinates (the values gathered lazily):
    integers and slices filter and renumber an axis; the advanced indices (index arrays, and
    integers beside them) broadcast together and are joined with the entries' coordinates
    (an entry appears once per matching index position); ``None`` adds a length-1 axis.
    The broadcast dimensions go where the first advanced index is when the advanced indices
    are adjacent, else first (NumPy's rule).  The result kind follows SciPy 1.17: see
    :func:`_general_result`."""
    coo = a.tocoo()
    parts = _parse_general(key, a.shape)
    advanced = [i for i, p in enumerate(parts) if p[0] == "adv"]
    if advanced:      # integers beside index arrays are advanced indices too
        parts = [("adv", np.asarray(p[1], np.int64), p[2]) if p[0] == "int" else p for p in parts]
        advanced = [i for i, p in enumerate(parts) if p[0] == "adv"]
    coords = [c.astype(np.int64) for c in coo._coords]
    keep = np.ones(coo._nnz(), bool)
    new_coords = {}           # part -> (new coordinate of every input entry, axis length)
    for i, p in enumerate(parts):
        if p[0] == "int":
            keep &= coords[p[2]] == p[1]
        elif p[0] == "slice":
            start, stop, step = p[1].indices(a.shape[p[2]])
            length = len(range(start, stop, step))
            d = coords[p[2]] - start
            pos = d // step
            keep &= (d % step == 0) & (pos >= 0) & (pos < length)
            new_coords[i] = (pos, length)
    pos = np.flatnonzero(keep)
    bshape = ()
    if advanced:
        try:
            arrays = np.broadcast_arrays(*[parts[i][1] for i in advanced])
        except ValueError:
            shapes = " ".join(str(np.shape(parts[i][1])) for i in advanced)
            raise IndexError(f"shape mismatch: indexing arrays could not be broadcast together with "
                             f"shapes {shapes}") from None
        bshape = arrays[0].shape
        dims = tuple(max(a.shape[parts[i][2]], 1) for i in advanced)
        want = np.ravel_multi_index(tuple(x.reshape(-1) for x in arrays), dims) if arrays[0].size else \
            np.zeros(0, np.int64)
        have = np.ravel_multi_index(tuple(coords[parts[i][2]][pos] for i in advanced), dims) if len(pos) else \
            np.zeros(0, np.int64)
        order = np.argsort(want, kind="stable")
        sorted_want = want[order]
        lo = np.searchsorted(sorted_want, have, "left")
        reps = (np.searchsorted(sorted_want, have, "right") - lo).astype(np.int64)
        total = int(reps.sum())
        within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(reps) - reps, reps)
        which = order[np.repeat(lo, reps) + within]         # the index position of each output entry
        entries = np.repeat(np.arange(len(pos), dtype=np.int64), reps)
        pos = pos[entries]
        adv_coords = np.unravel_index(which, bshape) if bshape else ()
    # the output axes in order
    adjacent = not advanced or advanced == list(range(advanced[0], advanced[-1] + 1))
    out_coords, out_shape = [], []
    placed = False

    def place_advanced():
        out_coords.extend(adv_coords)
        out_shape.extend(bshape)

    if advanced and not adjacent:
        place_advanced()
        placed = True
    for i, p in enumerate(parts):
        if p[0] == "new":
            out_coords.append(np.zeros(len(pos), np.int64))
            out_shape.append(1)
        elif p[0] == "slice":
            c, n = new_coords[i]          # per input entry; pos: the output's input entries
            out_coords.append(c[pos])
            out_shape.append(n)
        elif p[0] == "adv" and not placed:
            place_advanced()
            placed = True
    return _general_result(a, key, coo, pos, out_coords, tuple(out_shape))


def _general_result(a, key, coo, pos, coords, shape):
    """SciPy 1.17's result kinds: a 0-d result is a dense scalar (duplicates summed); from a
    COO array every other result is a COO array; from the other formats a 1-D result is
    dense (``A[mask2d]``), a 2-D one keeps the format (``A[rows2d, cols2d]``) except when an
    integer sits beside the index arrays (a COO array, as SciPy), and a result of more than
    two dimensions is an IndexError naming COO."""
    from ._coo import coo_array
    if not shape:
        return st.sum_at(coo._data, pos)
    ndim = len(shape)
    if a.format not in ("coo",) and ndim > 2:
        raise IndexError(f"indexing that leads to >2D is not supported by the {a.format} format; "
                         f"convert to COO first (.tocoo())")
    idt = st.index_dtype(max(shape), len(pos))
    out = coo_array._new(tuple(np.asarray(c).astype(idt) for c in coords), st.gather(coo._data, pos), shape, None)
    if a.format == "coo":
        return out
    if ndim == 1:
        return out.toarray()
    parts = key if isinstance(key, tuple) else (key,)
    if (any(isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)) for k in parts)
            and any(_is_array_key(k) for k in parts)):
        return out
    return out.asformat(a.format if a.format in ("csr", "csc") else "csr")
