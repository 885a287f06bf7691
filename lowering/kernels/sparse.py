"""Sparse kernels: structure conversions, products and row reductions on NumPy arrays.

Every public function here is pure: realized NumPy buffers in, new NumPy arrays out (the
inputs are never written).  Each one chooses NumPy (small work, or the executor forced to
``"numpy"``) or a hand-written parallel Numba kernel (large work, or the executor forced to
``"numba"``), loaded on first use through :func:`lowering.cache.get_kernel` (see
``SOURCES`` below; nothing is compiled at import).  Both paths give identical results:
the same output structure, the same values, the same summation order.

Conventions (the front end, ``arrayforge.sparse``, validates before calling):

* A compressed structure is ``(indptr, indices, data)`` of one "major" axis (rows for CSR,
  columns for CSC): ``indptr`` has ``n_major + 1`` non-decreasing entries from 0 to
  ``nnz``; ``indices`` and ``data`` have ``nnz`` entries; every index is in
  ``[0, n_minor)``.  Functions assume this; they do not check it (a kernel would read out of
  bounds otherwise: validate first).
* Index arrays are int32 or int64 (:func:`index_dtype`: int32 when every index value and
  nnz fit, as SciPy does).  Functions that build a new structure choose its index dtype with
  :func:`index_dtype`; the others keep the input's.
* "Canonical": indices sorted within each major row and no duplicates (SciPy's
  ``has_canonical_format``).  Duplicates are summed in their stored order, left to right,
  starting from the first (so a lone ``-0.0`` stays ``-0.0``).
* Data dtypes: any NumPy numeric or bool dtype.  Integer sums wrap, as NumPy's do.

Public functions (the contract ``arrayforge.sparse`` codes against):

    index_dtype(max_value, nnz=0) -> np.dtype
    expand_indptr(indptr) -> major
    coo_to_compressed(major, minor, data, n_major, n_minor, sum_duplicates=True)
        -> (indptr, indices, data)
    compressed_transpose(indptr, indices, data, n_minor) -> (indptr, indices, data)
    canonicalize(indptr, indices, data) -> (indptr, indices, data)
    sort_indices(indptr, indices, data) -> (indices, data)
    has_sorted_indices(indptr, indices) -> bool
    has_canonical_format(indptr, indices) -> bool
    eliminate_zeros(indptr, indices, data) -> (indptr, indices, data)
    spgemm(a_indptr, a_indices, a_data, b_indptr, b_indices, b_data, n_cols)
        -> (indptr, indices, data)
    union_positions(a_indptr, a_indices, b_indptr, b_indices) -> (indptr, indices, a_pos, b_pos)
    intersection_positions(a_indptr, a_indices, b_indptr, b_indices)
        -> (indptr, indices, a_pos, b_pos)
    to_bsr(indptr, indices, data, shape, blocksize) -> (indptr, indices, data3d)
    bsr_to_csr(indptr, indices, data3d, shape) -> (indptr, indices, data)
    to_dia(indptr, indices, data, shape) -> (offsets, data2d)
    dia_to_csr(offsets, data2d, shape, keep_zeros=False) -> (indptr, indices, data)
    dia_to_coo(offsets, data2d, shape) -> (row, col, data)
    runs_sum(data, starts) -> out                    # sums of runs of sorted data
    segment_reduce(op, indptr, data) -> out          # op: "sum", "max", "min"
    segment_arg(op, indptr, data) -> positions       # op: "argmax", "argmin"
    bucket_reduce(op, keys, data, n) -> out          # op: "sum", "max", "min"
    compressed_matmul(trans, indptr, indices, data, dense, out=None, executor=None) -> out
        # B @ dense / B.T @ dense (SpMV, SpMM): the SPARSE_MATMUL barrier's work
    matmul_work(indices_shape, dense_shape) -> int

The SPARSE_MATMUL entry of the barrier registry (:class:`SparseMatmul`) is at the end.
The Numba kernels' sources are in :mod:`lowering.kernels.sparse_numba` (the BSR and DIA
conversions among them); ``segment_arg``, ``bucket_reduce`` and the max/min of
``segment_reduce`` are vectorised NumPy on both executors.
"""
from __future__ import annotations

import numpy as np

from ..ir import ArrayMemo
from . import sparse_numba

_I32_MAX = np.iinfo(np.int32).max


# ---- helpers


def index_dtype(max_value, nnz=0):
    """int32 when ``max_value`` (the largest index value or dimension) and ``nnz`` both fit
    in int32, else int64 (SciPy's ``get_index_dtype`` rule)."""
    return np.dtype(np.int32) if max(int(max_value), int(nnz)) <= _I32_MAX else np.dtype(np.int64)


def _mode():
    from .. import runtime
    return runtime.executor_mode()


# Work (entries touched) from which "auto" runs the Numba kernel; below it NumPy (no compile).
NUMBA_MIN = 1 << 16


def _use_numba(work, mode=None):
    mode = mode or _mode()
    if mode == "auto":
        return work >= NUMBA_MIN
    return mode == "numba"


def _threads():
    import numba
    return numba.get_num_threads()


def _launch(name, *args):
    """Run Numba kernel ``name`` (one launch at a time: Numba's workqueue layer is not reentrant)."""
    from .. import runtime
    kernel = sparse_numba.get(name)
    with runtime._launch_lock:
        kernel(True, *args)


def _entry_bounds(nnz, P):
    """P + 1 entry offsets splitting ``nnz`` entries into P chunks of (nearly) equal size."""
    return np.arange(P + 1, dtype=np.int64) * int(nnz) // P


def _row_chunks(indptr, P):
    """P + 1 row offsets: chunks of whole rows with (nearly) equal numbers of entries."""
    m = len(indptr) - 1
    rows = np.searchsorted(indptr, _entry_bounds(indptr[-1] if m >= 0 else 0, P), "left").astype(np.int64)
    rows[0], rows[-1] = 0, m
    return np.minimum(rows, m)


PARTS_MAX_BYTES = 1 << 28     # private partial results of a scatter take at most this much


def _private_parts(work, part_bytes=0):
    """How many private partial results a race-free scatter uses: 1 for small work, else the
    thread count (at most 8, and at most PARTS_MAX_BYTES of ``part_bytes`` parts)."""
    if work < NUMBA_MIN:
        return 1
    return max(1, min(_threads(), 8, PARTS_MAX_BYTES // max(part_bytes, 1)))


_UNSIGNED = {np.dtype(t): np.dtype(t.replace("i", "u")) for t in ("<i1", "<i2", "<i4", "<i8")}


def _unsigned(indices):
    """Non-negative indices viewed as unsigned (no copy): Numba then gathers without the
    negative-index wraparound test (measured 1.3-2x on SpMV)."""
    dt = _UNSIGNED.get(indices.dtype)
    return indices.view(dt if dt is not None else np.dtype(indices.dtype.str.replace("i", "u")))


def _compute_dtype(dtype):
    """Integers and bool are computed in int64 (wrapping: the same bits modulo every narrower
    width as NumPy's own loops), floating and complex in their own dtype."""
    if type(dtype) is not np.dtype:
        dtype = np.dtype(dtype)
    return _I64 if dtype.kind in "biu" else dtype


_I64 = np.dtype(np.int64)


def _from_compute(values, dtype):
    """``values`` (computed in ``_compute_dtype(dtype)``) as ``dtype``."""
    dtype = np.dtype(dtype)
    if values.dtype == dtype:
        return values
    if dtype.kind == "b":
        return values != 0
    return values.astype(dtype)       # integers wrap modulo the width, as NumPy's loops do


def expand_indptr(indptr):
    """The major index of every entry (CSR -> COO rows), in ``indptr``'s dtype."""
    indptr = np.asarray(indptr)
    n = len(indptr) - 1
    nnz = int(indptr[-1]) if len(indptr) else 0
    if _use_numba(nnz):
        out = np.empty(nnz, indptr.dtype)
        _launch("expand", indptr, out)
        return out
    return np.repeat(np.arange(n, dtype=indptr.dtype), np.diff(indptr))


def _indptr_from_counts(counts, dtype):
    indptr = np.empty(len(counts) + 1, dtype)
    indptr[0] = 0
    np.cumsum(counts, out=indptr[1:])
    return indptr


def runs_sum(data, starts):
    """``out[s] = data[starts[s]] + ... + data[starts[s + 1] - 1]`` left to right, from the
    run's first value (``starts`` sorted, ``starts[0] == 0``, one run per entry of ``starts``
    that is < len(data); the last run ends at ``len(data)``); in ``data``'s dtype."""
    data = np.asarray(data)
    starts = np.asarray(starts, np.int64)
    nnz, n = len(data), len(starts)
    if n == nnz:
        return data[starts] if n else data[:0].copy()
    if _use_numba(nnz):
        cd = _compute_dtype(data.dtype) if data.dtype.kind == "b" else data.dtype
        bounds = np.empty(n + 1, np.int64)
        bounds[:n] = starts
        bounds[n] = nnz
        out = np.empty(n, cd)
        _launch("segsum", data.astype(cd, copy=False), bounds, out)
        return _from_compute(out, data.dtype)
    out = data[starts].copy()
    first = np.zeros(nnz, bool)
    first[starts] = True
    seg = np.cumsum(first) - 1
    rest = ~first
    np.add.at(out, seg[rest], data[rest])
    return out


# ---- COO -> compressed, transpose, canonical form


def _contiguous(a, dtype=None):
    return np.ascontiguousarray(a if dtype is None else a.astype(dtype, copy=False))


def _compact(indptr, rowrun, indices, data):
    """Keep the first rowrun[r] entries of each row (after an in-place dedupe), moving them
    down in place: the results are views of ``indices`` and ``data`` (copies when less than
    half of them remains)."""
    total = int(rowrun.sum())
    if total == len(indices):
        return indptr, indices, data
    new_indptr = _indptr_from_counts(rowrun, indptr.dtype)
    _launch("compact", indptr, rowrun, new_indptr, _unsigned(indices), data)
    if 2 * total < len(indices):
        return new_indptr, indices[:total].copy(), data[:total].copy()
    return new_indptr, indices[:total], data[:total]


def _numpy_dedupe(indptr, indices, data, first, rows):
    """Sum the runs of equal (row, index) flagged by ``first`` of a row-sorted structure."""
    starts = np.flatnonzero(first)
    if len(starts) == len(indices):
        return indptr, indices, data
    counts = np.bincount(rows[starts], minlength=len(indptr) - 1)
    return _indptr_from_counts(counts, indptr.dtype), indices[starts], runs_sum(data, starts)


def coo_to_compressed(major, minor, data, n_major, n_minor, sum_duplicates=True):
    """COO -> compressed: ``(indptr, indices, data)`` sorted by (major, minor), stable (equal
    coordinates keep their order); duplicates summed in that order when ``sum_duplicates``
    (the result is then canonical).  COO -> CSR is ``(row, col)``, COO -> CSC ``(col, row)``.
    Assumes ``0 <= major < n_major``, ``0 <= minor < n_minor``; any integer dtypes.  Numba:
    a parallel counting sort by major (private histograms) that moves the values too, then
    a stable sort and the duplicate sums within each row, in place."""
    major, minor, data = np.asarray(major), np.asarray(minor), np.asarray(data)
    n_major, n_minor = int(n_major), int(n_minor)
    nnz = len(data)
    idt = index_dtype(max(n_major, n_minor), nnz)
    if _use_numba(nnz + n_major):
        P = _private_parts(nnz, 8 * n_major)
        counts = np.zeros((P, n_major), np.uint64)
        indptr = np.empty(n_major + 1, idt)
        indices = np.empty(nnz, idt)
        out = np.empty(nnz, data.dtype)
        rowrun = np.empty(n_major, np.int64)
        _launch("coo_sort", bool(sum_duplicates), _unsigned(_contiguous(major, idt)),
                _unsigned(_contiguous(minor, idt)), _contiguous(data), _entry_bounds(nnz, P), counts, indptr,
                _unsigned(indices), out, rowrun)
        if sum_duplicates:
            return _compact(indptr, rowrun, indices, out)
        return indptr, indices, out
    key = major.astype(np.int64) * max(n_minor, 1) + minor.astype(np.int64)
    perm = np.argsort(key, kind="stable")
    key = key[perm]
    rows = key // max(n_minor, 1)
    indptr = _indptr_from_counts(np.bincount(rows, minlength=n_major), idt)
    indices, d = minor[perm].astype(idt, copy=False), data[perm]
    if not sum_duplicates:
        return indptr, indices, d
    first = np.empty(nnz, bool)
    if nnz:
        first[0] = True
        np.not_equal(key[1:], key[:-1], out=first[1:])
    return _numpy_dedupe(indptr, indices, d, first, rows)


def compressed_transpose(indptr, indices, data, n_minor):
    """CSR <-> CSC of the same matrix: the compressed structure along the other axis.  Each
    output row lists the old major indices in increasing order (so it is sorted; duplicates
    are kept, not summed).  Numba: a parallel counting sort with private histograms."""
    indptr, indices, data = np.asarray(indptr), np.asarray(indices), np.asarray(data)
    n_major = len(indptr) - 1
    nnz = len(indices)
    n_minor = int(n_minor)
    idt = index_dtype(max(n_major, n_minor), nnz)
    if _use_numba(nnz + n_minor):
        P = _private_parts(nnz, 8 * n_minor)
        counts = np.zeros((P, n_minor), np.uint64)
        out_indptr = np.empty(n_minor + 1, idt)
        out_indices = np.empty(nnz, idt)
        out_data = np.empty(nnz, data.dtype)
        _launch("transpose", indptr, _unsigned(_contiguous(indices)), _contiguous(data), _row_chunks(indptr, P),
                counts, out_indptr, _unsigned(out_indices), out_data)
        return out_indptr, out_indices, out_data
    major = np.repeat(np.arange(n_major, dtype=idt), np.diff(indptr))
    order = np.argsort(indices, kind="stable")
    out_indptr = _indptr_from_counts(np.bincount(indices, minlength=n_minor), idt)
    return out_indptr, major[order], data[order]


def _rows_sorted(indptr, indices, data, dedupe):
    """Indices sorted within each row (stable), duplicates summed when ``dedupe``."""
    nnz = len(indices)
    n_major = len(indptr) - 1
    if _use_numba(nnz):
        keys, vals = indices.copy(), np.array(data, copy=True, order="C")
        rowrun = np.empty(n_major, np.int64)
        _launch("row_sort", bool(dedupe), indptr, _unsigned(keys), vals, rowrun)
        return _compact(indptr, rowrun, keys, vals) if dedupe else (indptr, keys, vals)
    rows = np.repeat(np.arange(n_major, dtype=np.int64), np.diff(indptr))
    width = int(indices.max()) + 1 if nnz else 1
    key = rows * width + indices
    perm = np.argsort(key, kind="stable")
    si, sd = indices[perm], data[perm]
    if not dedupe:
        return indptr, si, sd
    key = key[perm]
    first = np.empty(nnz, bool)
    if nnz:
        first[0] = True
        np.not_equal(key[1:], key[:-1], out=first[1:])
    return _numpy_dedupe(indptr, si, sd, first, rows)


def sort_indices(indptr, indices, data):
    """Indices sorted within each major row (stable: duplicates keep their order), with
    their data: ``(indices, data)``; the indptr is unchanged."""
    indptr, indices, data = np.asarray(indptr), np.asarray(indices), np.asarray(data)
    _, si, sd = _rows_sorted(indptr, indices, data, False)
    return si, sd


def canonicalize(indptr, indices, data):
    """Sort indices within rows and sum duplicates: the canonical structure (index dtype kept)."""
    indptr, indices, data = np.asarray(indptr), np.asarray(indices), np.asarray(data)
    ip, si, sd = _rows_sorted(indptr, indices, data, True)
    return (ip.copy() if ip is indptr else ip), si, sd


def _within_rows(indptr, indices, strict):
    if len(indices) < 2:
        return True
    d = indices[1:] > indices[:-1] if strict else indices[1:] >= indices[:-1]
    if d.all():
        return True
    first = np.zeros(len(indices), bool)           # the first entry of each non-empty row
    starts = indptr[:-1][np.diff(indptr) > 0]
    first[starts] = True
    return bool((d | first[1:]).all())


def has_sorted_indices(indptr, indices):
    """Are the indices non-decreasing within each major row?"""
    return _within_rows(np.asarray(indptr), np.asarray(indices), False)


def has_canonical_format(indptr, indices):
    """Are the indices strictly increasing within each major row (sorted, no duplicates)?"""
    return _within_rows(np.asarray(indptr), np.asarray(indices), True)


def eliminate_zeros(indptr, indices, data):
    """Drop stored zeros (index dtype kept)."""
    indptr, indices, data = np.asarray(indptr), np.asarray(indices), np.asarray(data)
    keep = data != 0
    if keep.all():
        return indptr.copy(), indices.copy(), data.copy()
    cs = np.zeros(len(data) + 1, indptr.dtype)
    np.cumsum(keep, out=cs[1:])
    return cs[indptr], indices[keep], data[keep]


# ---- sparse x sparse


# SpGEMM writes rows at upper bounds and compacts (one pass over the products) when the
# bound's arrays take at most this many bytes; else a symbolic pass counts the rows first.
SPGEMM_ONE_PASS_BYTES = 1 << 28


def spgemm(a_indptr, a_indices, a_data, b_indptr, b_indices, b_data, n_cols):
    """CSR x CSR -> canonical CSR ``(indptr, indices, data)`` of the ``(m, n_cols)`` product.

    Each output entry sums its products in the order of A's row then B's row (Gustavson,
    from zero); sums that are exactly zero are dropped, as SciPy's ``csr_matmat`` does.
    The value dtype is ``result_type(a_data, b_data)`` (integers computed in int64 and
    wrapped).  Assumes A's indices are in ``[0, len(b_indptr) - 1)`` and B's in
    ``[0, n_cols)``.  Numba: chunks of rows balanced by products, a dense accumulator per
    chunk; rows are written at upper bounds (their products) and compacted when those fit
    in ``SPGEMM_ONE_PASS_BYTES``, else after a symbolic pass that counts them (two passes).
    A row accumulates in a small hash table, or in a dense row of ``n_cols`` when it has
    more than ``sparse_numba.HASH_MAX // 2`` products."""
    a_indptr, a_indices, a_data = np.asarray(a_indptr), np.asarray(a_indices), np.asarray(a_data)
    b_indptr, b_indices, b_data = np.asarray(b_indptr), np.asarray(b_indices), np.asarray(b_data)
    n_cols = int(n_cols)
    dtype = np.result_type(a_data.dtype, b_data.dtype)
    cd = _compute_dtype(dtype)
    m = len(a_indptr) - 1
    b_len = np.diff(b_indptr).astype(np.int64)
    counts = b_len[a_indices] if len(a_indices) else np.zeros(0, np.int64)
    flops = int(counts.sum())
    if _use_numba(flops + m):
        # chunks of rows with equal numbers of products
        cum = np.zeros(len(counts) + 1, np.int64)
        np.cumsum(counts, out=cum[1:])
        P = max(1, min(4 * _threads(), m))
        rows = np.searchsorted(cum[a_indptr], _entry_bounds(flops, P), "left").astype(np.int64)
        rows[0], rows[-1] = 0, m
        rows = np.minimum(rows, m)
        idt_in = np.result_type(a_indices.dtype, b_indices.dtype)
        ai, bi = a_indices.astype(idt_in, copy=False), b_indices.astype(idt_in, copy=False)
        ap, bp = a_indptr.astype(idt_in, copy=False), b_indptr.astype(idt_in, copy=False)
        # the dense accumulator rows (see sparse_numba's SpGEMM) only when a row is too long
        # for the hash table
        row_products = cum[a_indptr[1:]] - cum[a_indptr[:-1]]
        width = n_cols if m and 2 * int(row_products.max()) > sparse_numba.HASH_MAX else 0
        mask = np.full((P, width), -1, np.int32 if m < 2**31 else np.int64)
        rowcnt = np.empty(m, np.int64)
        acc = np.empty((P, width), cd)
        one_pass = flops * (8 + cd.itemsize) <= SPGEMM_ONE_PASS_BYTES
        if one_pass:        # rows written at their upper bounds (their products), then compacted
            idt = index_dtype(max(m, n_cols), flops)
            indptr = cum[a_indptr].astype(idt)
            indices = np.empty(flops, idt)
            data = np.empty(flops, cd)
        else:               # two passes: the symbolic one counts each row's distinct columns
            _launch("spgemm_count", ap, ai, bp, bi, rows, mask, rowcnt)
            total = int(rowcnt.sum())
            idt = index_dtype(max(m, n_cols), total)
            indptr = _indptr_from_counts(rowcnt, idt)
            indices = np.empty(total, idt)
            data = np.empty(total, cd)
            mask.fill(-1)
        _launch("spgemm_fill", ap, ai, a_data.astype(cd, copy=False), bp, bi, b_data.astype(cd, copy=False),
                rows, mask, acc, indptr, _unsigned(indices), data, rowcnt)
        if one_pass:
            indptr, indices, data = _compact(indptr, rowcnt, indices, data)
    else:
        # NumPy: expand every product (A entry x B row), then sum by (row, col) in generation order.
        a_rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(a_indptr))
        rows = np.repeat(a_rows, counts)
        offs = np.repeat(b_indptr[a_indices].astype(np.int64) - np.cumsum(counts) + counts, counts)
        pos = offs + np.arange(flops, dtype=np.int64)
        cols = b_indices[pos]
        vals = np.repeat(a_data.astype(cd), counts) * b_data[pos].astype(cd)
        key = rows * max(n_cols, 1) + cols
        order = np.argsort(key, kind="stable")
        key, vals = key[order], vals[order]
        first = np.empty(flops, bool)
        if flops:
            first[0] = True
            np.not_equal(key[1:], key[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        data = np.zeros(len(starts), cd)            # from zero, as the Numba accumulator
        np.add.at(data, np.cumsum(first) - 1, vals)
        key = key[starts]
        idt = index_dtype(max(m, n_cols), len(key))
        r = key // max(n_cols, 1)
        indices = (key - r * max(n_cols, 1)).astype(idt)
        indptr = _indptr_from_counts(np.bincount(r, minlength=m), idt)
    data = _from_compute(data, dtype)
    if not data.all():
        return eliminate_zeros(indptr, indices, data)
    return indptr, indices, data


def _merge_positions(a_indptr, a_indices, b_indptr, b_indices, union):
    a_indptr, a_indices = np.asarray(a_indptr), np.asarray(a_indices)
    b_indptr, b_indices = np.asarray(b_indptr), np.asarray(b_indices)
    m = len(a_indptr) - 1
    na, nb = len(a_indices), len(b_indices)
    width = max(int(a_indices.max()) + 1 if na else 1, int(b_indices.max()) + 1 if nb else 1)
    pdt = index_dtype(max(na, nb))
    if _use_numba(na + nb + m):
        it = np.result_type(a_indptr.dtype, a_indices.dtype, b_indptr.dtype, b_indices.dtype)
        args = [x.astype(it, copy=False) for x in (a_indptr, a_indices, b_indptr, b_indices)]
        rowcnt = np.empty(m, np.int64)
        empty_i, empty_p = np.empty(0, it), np.empty(0, pdt)
        _launch("merge", False, union, *args, rowcnt, np.zeros(m + 1, it), empty_i, empty_p, empty_p)
        total = int(rowcnt.sum())
        idt = index_dtype(max(m, width), total)
        indptr = _indptr_from_counts(rowcnt, idt)
        indices = np.empty(total, it)
        a_pos, b_pos = np.empty(total, pdt), np.empty(total, pdt)
        _launch("merge", True, union, *args, rowcnt, indptr.astype(it, copy=False), indices, a_pos, b_pos)
        return indptr, indices.astype(idt, copy=False), a_pos, b_pos
    ka = np.repeat(np.arange(m, dtype=np.int64), np.diff(a_indptr)) * width + a_indices
    kb = np.repeat(np.arange(m, dtype=np.int64), np.diff(b_indptr)) * width + b_indices
    keys = np.union1d(ka, kb) if union else np.intersect1d(ka, kb, assume_unique=True)

    def positions(k):
        p = np.searchsorted(k, keys)
        pc = np.minimum(p, max(len(k) - 1, 0))
        hit = (p < len(k)) & (k[pc] == keys) if len(k) else np.zeros(len(keys), bool)
        return np.where(hit, p, -1).astype(pdt)

    rows = keys // width
    idt = index_dtype(max(m, width), len(keys))
    indptr = _indptr_from_counts(np.bincount(rows, minlength=m), idt)
    return indptr, (keys - rows * width).astype(idt), positions(ka), positions(kb)


def union_positions(a_indptr, a_indices, b_indptr, b_indices):
    """The pattern of ``A op B`` for canonical A, B of one shape, where op keeps an entry of
    either operand (add, subtract, maximum...): ``(indptr, indices, a_pos, b_pos)``, the
    output canonical, and for each output entry its position in A's (B's) data, or -1
    where that operand has none (positions int32 when they fit, else int64)."""
    return _merge_positions(a_indptr, a_indices, b_indptr, b_indices, True)


def intersection_positions(a_indptr, a_indices, b_indptr, b_indices):
    """As :func:`union_positions` for an op that keeps entries of both operands only
    (multiply): every position is >= 0."""
    return _merge_positions(a_indptr, a_indices, b_indptr, b_indices, False)


# ---- BSR and DIA


def to_bsr(indptr, indices, data, shape, blocksize):
    """CSR -> BSR of ``blocksize`` (R, C), which must divide ``shape``: ``(indptr, indices,
    data3d)`` with one entry per non-empty block (a block holding any stored entry),
    blocks sorted within each block row, duplicates summed in stored order."""
    indptr, indices, data = np.asarray(indptr), np.asarray(indices), np.asarray(data)
    R, C = blocksize
    m, n = shape
    nbr, nbc = m // R, n // C
    if _use_numba(len(indices) + nbr):
        return _to_bsr_numba(indptr, indices, data, R, C, nbr, nbc)
    rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(indptr))
    cols = indices.astype(np.int64)
    key = (rows // R) * max(nbc, 1) + cols // C
    ukeys, inv = np.unique(key, return_inverse=True)
    out = np.zeros((len(ukeys), R, C), data.dtype)
    np.add.at(out, (inv, rows % R, cols % C), data)
    brow = ukeys // max(nbc, 1)
    idt = index_dtype(max(nbr, nbc), len(ukeys))
    return (_indptr_from_counts(np.bincount(brow, minlength=nbr), idt),
            (ukeys - brow * max(nbc, 1)).astype(idt), out)


def _to_bsr_numba(indptr, indices, data, R, C, nbr, nbc):
    """Two passes over chunks of block rows (balanced by entries): list each block row's
    distinct block columns (sorted), then zero its blocks in the output and add every entry
    into its block (see ``bsr_count``/``bsr_fill``)."""
    P = max(1, min(_private_parts(len(indices), 8 * nbc), nbr))
    brows = _row_chunks(np.ascontiguousarray(indptr[::R]), P)
    mark = np.full((P, nbc), -1, np.int32 if nbr <= _I32_MAX else np.int64)
    rowcnt = np.empty(nbr, np.int64)
    indices = _unsigned(_contiguous(indices))
    bcols = np.empty(len(indices), np.uint32 if nbc <= _I32_MAX else np.uint64)   # touched: the blocks
    uR, uC = np.uint64(R), np.uint64(C)
    _launch("bsr_count", indptr, indices, uR, uC, brows, mark, rowcnt, bcols)
    total = int(rowcnt.sum())
    idt = index_dtype(max(nbr, nbc), total)
    out_indptr = _indptr_from_counts(rowcnt, idt)
    out_indices = np.empty(total, idt)
    cd = _compute_dtype(data.dtype) if data.dtype.kind == "b" else data.dtype
    out = np.empty((total, R, C), cd)
    slot = np.empty((P, nbc), np.uint32 if total * R * C <= _I32_MAX else np.uint64)
    _launch("bsr_fill", indptr, indices, _contiguous(data, cd), uR, uC, brows, slot, bcols,
            out_indptr, _unsigned(out_indices), out.reshape(-1))
    return out_indptr, out_indices, _from_compute(out, data.dtype)


def bsr_to_csr(indptr, indices, data3d, shape):
    """BSR -> CSR, every entry of every block kept (explicit zeros too, as SciPy's
    ``bsr_tocsr``); sorted when the block indices are."""
    indptr, indices, data3d = np.asarray(indptr), np.asarray(indices), np.asarray(data3d)
    nb, R, C = data3d.shape
    m, n = shape
    nbr = len(indptr) - 1
    nnz = nb * R * C
    idt = index_dtype(max(m, n), nnz)
    out_indptr = np.empty(m + 1, idt)
    out_indptr[-1] = nnz
    if _use_numba(nnz + m):     # (the kernel writes out_indptr[:-1] too)
        out_indices = np.empty(nnz, idt)
        out_data = np.empty(nnz, data3d.dtype)
        _launch("bsr_to_csr", indptr, _contiguous(indices), np.ascontiguousarray(data3d), out_indptr,
                out_indices, out_data)
        return out_indptr, out_indices, out_data
    per_brow = np.diff(indptr).astype(np.int64)
    # row r = I*R + ri starts at R*C*indptr[I] + ri*C*per_brow[I] and holds C*per_brow[I] entries
    out_indptr[:-1] = (R * C * indptr[:-1].astype(np.int64)[:, None]
                       + np.arange(R)[None, :] * (C * per_brow)[:, None]).reshape(-1)
    brow = np.repeat(np.arange(nbr, dtype=np.int64), per_brow)            # per block
    local = np.arange(nb, dtype=np.int64) - indptr[:-1].astype(np.int64)[brow] if nb else brow
    # destination of (b, ri, ci)
    dest = (out_indptr[:-1].astype(np.int64)[(brow * R)[:, None] + np.arange(R)[None, :]][:, :, None]
            + (local * C)[:, None, None] + np.arange(C)[None, None, :])
    out_indices = np.empty(nnz, idt)
    out_data = np.empty(nnz, data3d.dtype)
    cols = indices.astype(np.int64)[:, None, None] * C + np.arange(C)[None, None, :]
    out_indices[dest.reshape(-1)] = np.broadcast_to(cols, (nb, R, C)).reshape(-1)
    out_data[dest.reshape(-1)] = data3d.reshape(-1)
    return out_indptr, out_indices, out_data


def to_dia(indptr, indices, data, shape):
    """CSR -> SciPy's DIA layout ``(offsets, data2d)``: ``offsets`` the sorted distinct
    ``col - row`` of the stored entries, ``data2d[k, j] = A[j - offsets[k], j]``, of width
    ``max col + 1`` (SciPy's ``todia``); duplicates summed."""
    indptr, indices, data = np.asarray(indptr), np.asarray(indices), np.asarray(data)
    m = len(indptr) - 1
    if _use_numba(len(indices) + m):
        return _to_dia_numba(indptr, indices, data, shape)
    rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(indptr))
    cols = indices.astype(np.int64)
    ks = cols - rows
    offsets, inv = np.unique(ks, return_inverse=True)
    width = int(cols.max()) + 1 if len(cols) else 0
    out = np.zeros((len(offsets), width), data.dtype)
    np.add.at(out, (inv, cols), data)
    return offsets.astype(index_dtype(max(shape), len(data))), out


def _to_dia_numba(indptr, indices, data, shape):
    """The diagonals present (private flags per chunk of rows), then every entry added into
    its cell, rows in parallel (a cell belongs to one row: no races)."""
    m, n = shape
    nnz = len(indices)
    P = max(1, min(_private_parts(nnz, m + n), max(m, 1)))
    flags = np.zeros((P, max(m + n - 1, 0)), np.uint8)
    indices = _contiguous(indices)
    _launch("dia_flags", indptr, indices, _row_chunks(indptr, P), flags)
    present = np.flatnonzero(flags.any(axis=0))
    dmap = np.full(flags.shape[1], -1, np.int64)
    dmap[present] = np.arange(len(present))
    width = int(indices.max()) + 1 if nnz else 0
    cd = _compute_dtype(data.dtype) if data.dtype.kind == "b" else data.dtype
    out = np.zeros((len(present), width), cd)
    _launch("dia_fill", indptr, indices, _contiguous(data, cd), dmap, out)
    return (present - (m - 1)).astype(index_dtype(max(shape), nnz)), _from_compute(out, data.dtype)


def dia_to_csr(offsets, data2d, shape, keep_zeros=False):
    """SciPy's DIA -> canonical CSR ``(indptr, indices, data)``: the stored nonzeros that
    lie inside the matrix (SciPy's ``dia.tocsr``: zeros dropped, or every stored position
    with ``keep_zeros``; a repeated offset summed).  Numba: one pass over chunks of rows in
    parallel, each row written in offset order (so sorted, no sort)."""
    offsets, data2d = np.asarray(offsets), np.asarray(data2d)
    m, n = shape
    nd, L = data2d.shape
    if _use_numba(nd * min(L, n) + m):
        return _dia_to_csr_numba(offsets, data2d, m, n, keep_zeros)
    j = np.arange(L, dtype=np.int64)
    rows = j[None, :] - offsets.astype(np.int64)[:, None]
    mask = (rows >= 0) & (rows < m) & (j[None, :] < n)
    if not keep_zeros:
        mask &= data2d != 0
    return coo_to_compressed(rows[mask], np.broadcast_to(j, (nd, L))[mask], data2d[mask], m, n)


def _dia_to_csr_numba(offsets, data2d, m, n, keep_zeros):
    """One pass, chunks of rows in parallel, each writing from an upper bound of its start
    (the stored positions inside the matrix of the rows before it), in offset order: sorted
    rows with no sort; then the chunks moved down over the gaps the dropped zeros left."""
    nd, L = data2d.shape
    width = min(n, L)
    offs = np.ascontiguousarray(offsets, np.int64)
    d = np.ascontiguousarray(data2d)
    # diagonal k is inside the matrix on rows [lo_k, hi_k)
    lo = np.clip(-offs, 0, m)
    hi = np.clip(width - offs, lo, m)
    bound = int((hi - lo).sum())
    P = max(1, min(_threads(), m))
    rows = np.arange(P + 1, dtype=np.int64) * m // P
    start = (np.clip(rows[:-1, None], lo, hi) - lo).sum(axis=1).astype(np.int64)
    end = np.empty(P, np.int64)
    idt = index_dtype(max(m, n), bound)
    indptr = np.empty(m + 1, idt)
    indptr[0] = 0
    indices = np.empty(bound, idt)
    data = np.empty(bound, d.dtype)
    order = np.argsort(offs, kind="stable")
    soffs = offs[order]
    base = order * L + soffs
    _launch("dia_to_csr", bool(keep_zeros), bool(nd > 1 and (np.diff(soffs) == 0).any()), soffs, base,
            d.reshape(-1), width, rows, start, end, indptr, indices, data)
    total = 0
    for c in range(P):                  # in chunk order: a chunk only moves into freed space
        size = int(end[c] - start[c])
        if start[c] != total:
            indices[total:total + size] = indices[start[c]:start[c] + size]
            data[total:total + size] = data[start[c]:start[c] + size]
            indptr[rows[c] + 1:rows[c + 1] + 1] -= start[c] - total
        total += size
    idt = index_dtype(max(m, n), total)
    if 2 * total < bound:
        indices, data = indices[:total].copy(), data[:total].copy()
    else:
        indices, data = indices[:total], data[:total]
    return indptr.astype(idt, copy=False), indices.astype(idt, copy=False), data


def dia_to_coo(offsets, data2d, shape):
    """SciPy's DIA -> COO ``(row, col, data)`` in row-major order (SciPy's ``dia.tocoo``,
    which goes through ``tocsr``)."""
    indptr, indices, data = dia_to_csr(offsets, data2d, shape)
    return expand_indptr(indptr), indices, data


# ---- reductions

_REDUCE_UFUNC = {"sum": np.add, "max": np.maximum, "min": np.minimum}


def segment_reduce(op, indptr, data):
    """``out[i] = op(data[indptr[i]:indptr[i+1]])`` for op "sum", "max" or "min", in
    ``data``'s dtype (cast first for a wider accumulator); empty rows give 0.  "sum" adds in
    stored order from the row's first value (:func:`runs_sum`, Numba for large work);
    "max"/"min" propagate NaN (NumPy's ``maximum.reduceat``, on both executors)."""
    indptr, data = np.asarray(indptr), np.asarray(data)
    n = len(indptr) - 1
    out = np.zeros(n, data.dtype)
    nonempty = np.diff(indptr) > 0
    if len(data):
        starts = indptr[:-1][nonempty]
        if op == "sum":
            out[nonempty] = runs_sum(data, starts)
        else:
            out[nonempty] = _REDUCE_UFUNC[op].reduceat(data, starts)
    return out


def segment_arg(op, indptr, data):
    """The position in ``data`` of the first maximum ("argmax") or minimum ("argmin") of
    each major row (a NaN counts as the extreme, as in NumPy), or -1 for an empty row;
    int64.  Vectorised NumPy on both executors."""
    indptr, data = np.asarray(indptr), np.asarray(data)
    n = len(indptr) - 1
    out = np.full(n, -1, np.int64)
    counts = np.diff(indptr)
    nonempty = counts > 0
    if not len(data):
        return out
    starts = indptr[:-1][nonempty]
    ext = (np.maximum if op == "argmax" else np.minimum).reduceat(data, starts)
    full = np.repeat(ext, counts[nonempty])
    hit = data == full
    if data.dtype.kind in "fc":
        hit |= np.isnan(data) & np.isnan(full)
    pos = np.where(hit, np.arange(len(data), dtype=np.int64), len(data))
    out[nonempty] = np.minimum.reduceat(pos, starts)
    return out


def bucket_reduce(op, keys, data, n):
    """``out[k] = op(data[keys == k])`` for k in ``range(n)`` (column reductions of a CSR:
    ``keys`` = indices), in ``data``'s dtype; empty buckets give 0.  "sum" adds in stored
    order from 0 (``np.add.at``); "max"/"min" propagate NaN.  NumPy on both executors."""
    keys, data = np.asarray(keys), np.asarray(data)
    out = np.zeros(n, data.dtype)
    if op == "sum":
        np.add.at(out, keys, data)
        return out
    if len(data):
        order = np.argsort(keys, kind="stable")
        k = keys[order]
        starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
        out[k[starts]] = _REDUCE_UFUNC[op].reduceat(data[order], starts)
    return out


# ---- sparse x dense products (the SPARSE_MATMUL barrier)

SPMV_CHUNK = 4096        # SpMV: about this many entries per chunk, at most SPMV_CHUNKS chunks
SPMV_CHUNKS = 256
SPMV_AHEAD = 64          # SpMV prefetches x this many entries ahead (see sparse_numba._gather_dot),
SPMM_AHEAD = 8           # SpMM the rows of X (see sparse_numba's "spmm"), ...
SPMV_CACHED_BYTES = 1 << 19     # ... when x / X is larger than this (about a core's L2)
_U64 = {v: np.uint64(v) for v in (0, SPMV_AHEAD, SPMM_AHEAD)}


def _spmv_chunks(nnz):
    return max(1, min(SPMV_CHUNKS, nnz // SPMV_CHUNK))


_SPLITS = ArrayMemo(256)        # frozen indptr -> (entry bounds, owned rows)


def _spmv_split(indptr, nnz):
    """SpMV's chunks of equal numbers of entries (uint64 entry bounds) and the rows each
    chunk owns (see sparse_numba's "spmv").  A structure of the sparse classes is read-only
    and immutable (its nnz is ``indptr[-1]``), and an iterative method multiplies by it
    again and again: its split is kept while the indptr array lives (~15 us a product)."""
    keep = not indptr.flags.writeable
    split = _SPLITS.get(indptr) if keep else None
    if split is None:
        m = len(indptr) - 1
        bounds = _entry_bounds(nnz, _spmv_chunks(nnz))
        own = np.searchsorted(indptr[:m], bounds, "left").astype(np.int64)
        own[-1] = m
        split = bounds.astype(np.uint64), own
        if keep:
            _SPLITS.put(indptr, split)
    return split


def matmul_work(indices_shape, dense_shape):
    """Multiply-adds of a sparse product: nnz times the dense columns."""
    k = dense_shape[1] if len(dense_shape) == 2 else 1
    return int(indices_shape[0]) * max(int(k), 1)


def compressed_matmul(trans, indptr, indices, data, dense, out=None, executor=None):
    """``B @ dense`` (``trans`` False) or ``B.T @ dense`` (True) for the CSR structure ``B``
    of ``(indptr, indices, data)`` (the CSC of a matrix is the CSR of its transpose), and
    ``dense`` 1-D (SpMV) or 2-D (SpMM), any strides; into ``out`` (C-contiguous, the
    result's shape and dtype: ``(len(indptr) - 1, ...)``, resp. ``(n_minor, ...)``) or a new
    array of dtype ``result_type(data, dense)``.  ``executor``: "numpy" or "numba" (None:
    chosen from the work and the executor mode).

    Sums, identical on both executors (integers computed in int64 and wrapped, bool as
    OR of ANDs):

    * ``B @ x``: entries split into chunks of equal nnz; each row sums its piece in each
      chunk from 0, left to right, and the pieces are added in chunk order (one piece for a
      row inside a chunk).  NumPy: the same pieces with ``np.add.at``.
    * ``B @ X``: each row from 0, in entry order, the dense dimension innermost.
    * ``B.T @ x``, ``B.T @ X``: P chunks of whole rows of B (P = 1 for small work, else
      the thread count, at most 8) scatter into private partial results, added in chunk
      order: no racy writes, no transpose of B."""
    indptr, indices, data, dense = (np.asarray(indptr), np.asarray(indices), np.asarray(data),
                                    np.asarray(dense))
    m = len(indptr) - 1
    vector = dense.ndim == 1
    rt = data.dtype if data.dtype == dense.dtype else np.result_type(data.dtype, dense.dtype)
    if out is None:
        if trans:
            raise ValueError("compressed_matmul(trans=True) needs out (B's column count)")
        out = np.empty((m,) + dense.shape[1:], rt)
    rt = out.dtype
    cd = _compute_dtype(rt)
    nnz = len(indices)
    if executor is None:
        executor = "numba" if _use_numba(matmul_work(indices.shape, dense.shape)) else "numpy"
    d = _contiguous(data, cd)
    indptr, indices = np.ascontiguousarray(indptr), np.ascontiguousarray(indices)
    if out.size == 0:
        return out
    k = dense.shape[1] if dense.ndim == 2 else 1
    X = np.ascontiguousarray(dense.astype(cd, copy=False)).reshape(dense.shape[0], k)
    target = out.reshape(out.shape[0], k) if out.dtype == cd else np.empty((out.shape[0], k), cd)
    # how far ahead the kernels prefetch what they gather (x, X's rows) or, transposed,
    # scatter to (the parts, of the target's size): nothing when that fits in cache
    touched = target if trans else X
    ahead = _U64[0 if touched.nbytes <= SPMV_CACHED_BYTES else SPMV_AHEAD if k == 1 else SPMM_AHEAD]
    if not trans:
        if executor == "numba" and nnz:
            if vector:
                bounds, own = _spmv_split(indptr, nnz)
                P = len(own) - 1
                head, tail = np.empty(P, cd), np.empty(P, cd)
                hr, tr = np.empty(P, np.int64), np.empty(P, np.int64)
                _launch("spmv", indptr, _unsigned(indices), d, X.reshape(-1), np.zeros(1, cd), ahead, bounds, own,
                        head, tail, hr, tr, target.reshape(-1))
            else:
                _launch("spmm", indptr, _unsigned(indices), d, X, ahead, _row_chunks(indptr, min(SPMV_CHUNKS, max(1, m))), target)
        else:
            _spmm_numpy(indptr, indices, d, X, target, vector)
    else:
        P = _private_parts(matmul_work(indices.shape, dense.shape), target.nbytes)
        rows = _row_chunks(indptr, P)
        if executor == "numba" and nnz:
            if vector:
                parts = np.empty((P, target.shape[0]), cd)
                _launch("spmv_t", indptr, _unsigned(indices), d, X.reshape(-1), ahead, rows, parts, target.reshape(-1))
            else:
                parts = np.empty((P, target.shape[0], k), cd)
                _launch("spmm_t", indptr, _unsigned(indices), d, X, rows, parts, target)
        else:
            target[...] = 0
            for c in range(P):
                a, b = int(indptr[rows[c]]), int(indptr[rows[c + 1]])
                part = np.zeros_like(target)
                r = np.repeat(np.arange(rows[c], rows[c + 1]), np.diff(indptr[rows[c]:rows[c + 1] + 1]))
                np.add.at(part, indices[a:b], d[a:b, None] * X[r])
                target += part
    if target.dtype != out.dtype:
        res = _from_compute(target, out.dtype)
        np.copyto(out.reshape(target.shape), res, casting="unsafe")
    return out


def _spmm_numpy(indptr, indices, d, X, target, vector):
    """The NumPy twin of the spmv/spmm kernels (same pieces, same order)."""
    m = len(indptr) - 1
    nnz = len(indices)
    target[...] = 0
    if not nnz:
        return
    rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(indptr))
    prod = d[:, None] * X[indices]
    if not vector:
        np.add.at(target, rows, prod)
        return
    prod = prod[:, 0]
    P = _spmv_chunks(nnz)
    if P == 1:
        np.add.at(target[:, 0], rows, prod)
        return
    first = np.zeros(nnz, bool)
    first[indptr[:-1][np.diff(indptr) > 0]] = True     # row starts
    first[_entry_bounds(nnz, P)[:-1]] = True           # chunk starts
    seg = np.cumsum(first) - 1
    pieces = np.zeros(int(seg[-1]) + 1, d.dtype)
    np.add.at(pieces, seg, prod)
    np.add.at(target[:, 0], rows[first], pieces)


# ---- the SPARSE_MATMUL entry of the barrier registry (lowering.kernels)

from ..ir import OpKind  # noqa: E402
from . import Barrier, register  # noqa: E402


class SparseMatmul(Barrier):
    """Inputs (indptr, indices, data, dense); arg "n" (B @ dense) or "t" (B.T @ dense)."""
    name = "sparse_matmul"

    def executor(self, root, operand_shapes, mode, policy):
        if mode != "auto":
            return mode
        return policy(matmul_work(operand_shapes[1], operand_shapes[3]))

    def describe(self, root, executor):
        vector = len(root.shape) == 1
        if root.arg == "t":
            variant = "spmv-t private parts" if vector else "spmm-t private parts"
        else:
            variant = "spmv nnz-split" if vector else "spmm rows"
        return ("cpu" if executor == "numba" else "numpy"), variant

    def run(self, root, operands, out, executor):
        indptr, indices, data, dense = operands
        return compressed_matmul(root.arg == "t", indptr, indices, data, dense, out, executor)

    # CUDA: device nodes carry ``(trans, variant, lanes)`` (the SpMV kernel chosen once per
    # structure by arrayforge.sparse) or ``("dense", major, unique)`` (toarray): sparse_cuda.py
    cuda_module = ".sparse_cuda"

    def cuda_describe(self, root):
        kind, variant, lanes = root.arg
        if kind == "dense":
            return "toarray scatter"
        if len(root.shape) == 2:
            return "spmm-t atomics" if kind == "t" else "spmm thread per (row, column)"
        if kind == "t":
            return f"spmv-t atomics, {lanes} lanes per row"
        return "spmv nnz-split" if variant == "split" else f"spmv {lanes} lanes per row"

    def cuda_unsupported(self, op, arg, dtype, inputs):
        if not isinstance(arg, tuple):
            return "needs its sparse structure on the device (A.to_device('cuda'))"
        return None


register(OpKind.SPARSE_MATMUL, SparseMatmul())
