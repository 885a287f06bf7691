"""The Numba kernels of :mod:`lowering.kernels.sparse`, as static module sources.

Each source defines ``kernel(parallel, ...)`` (the kernel cache's calling convention; the
argument is unused: these kernels are only sent large work).  They are loaded on first use
through :func:`lowering.cache.get_kernel` by :func:`get`, never compiled at import.  Every
output and scratch array is allocated by the caller (plain arrays in, arrays out), except
the per-row sort of a long row (``np.argsort``), so a CUDA renderer can serve the same
entries.

Kernels assume a valid structure (``indptr`` non-decreasing from 0 to nnz, every index in
range): the front end validates before calling; nothing here reads out of bounds on a valid
structure.  Summation orders are documented per kernel and are exactly the orders of the
NumPy paths in ``sparse.py`` (so both executors give identical results).
"""
from __future__ import annotations

from .. import cache as kcache

HASH_MAX = 4096     # SpGEMM: rows of at most HASH_MAX // 2 products accumulate in a hash table

_HEADER = '''# A sparse kernel of lowering.kernels.sparse_numba; do not edit.
import numpy as np
from numba import njit, prange
from lowering.kernels.intrinsics import prefetch

SHORT = 32
BUCKET_MAX = 4096
GOLD = np.uint64(0x9E3779B97F4A7C15)
U = np.uint64
U1 = np.uint64(1)
''' + f"HASH_MAX = {HASH_MAX}\n\n\n"

_HEADER += '''
@njit(inline="always")
def _prefix(counts, indptr):
    """counts (P, n) uint64 private histograms -> each chunk's first output position per bin
    (bins in order, chunks in order within a bin); indptr[i + 1] = end of bin i."""
    P, n = counts.shape
    for i in prange(n):
        s = U(0)
        for c in range(P):
            t = counts[c, i]
            counts[c, i] = s
            s += t
        indptr[i + 1] = s
    indptr[0] = 0
    for i in range(n):
        indptr[i + 1] += indptr[i]
    for i in prange(n):
        base = U(indptr[i])
        for c in range(P):
            counts[c, i] += base


@njit(inline="always")
def _prefetch_stop(end, ahead):
    """The first entry whose look-ahead ``ahead`` entries on would pass ``end`` (the chunk's
    end): entries below it prefetch; 0 (none do) when ``ahead`` is 0 (the operand fits in
    cache, where prefetches only cost)."""
    return end - ahead if ahead > U(0) and end > ahead else U(0)


@njit(inline="always")
def _gather_dot(indices, data, x, j, b, end, ahead, acc):
    """acc + data[j] * x[indices[j]] + ... for entries j:b, left to right.  With ``ahead``
    > 0, x at entry j + ahead is prefetched while that is below ``end`` (the chunk's last
    entry): the gathers are independent, and asking early lets many be in flight (measured
    on the 1e6 x 1e6, 1e7-nonzero SpMV with 2 threads: 80-106 ms -> 20-24 ms, uniform and
    power-law rows, with 64 ahead; 32 was slower, 256 too).  The caller passes 0 when x
    fits in cache: there the prefetches only cost (4000 x 4000 at 1%: 149 -> 86 us)."""
    stop = max(j, min(b, _prefetch_stop(end, ahead)))
    while j < stop:
        prefetch(x, U(indices[j + ahead]))
        acc += data[j] * x[indices[j]]
        j += U1
    while j < b:
        acc += data[j] * x[indices[j]]
        j += U1
    return acc


@njit(inline="always")
def _sort_pairs(keys, vals, a, b):
    """Stably sort keys[a:b] (contiguous) with vals: insertion sort for short runs, merge
    sort (np.argsort kind="mergesort") for long ones."""
    n = b - a
    if n <= SHORT:
        i = a + U1
        while i < b:
            k = keys[i]
            v = vals[i]
            j = i
            while j > a and keys[j - U1] > k:
                keys[j] = keys[j - U1]
                vals[j] = vals[j - U1]
                j -= U1
            keys[j] = k
            vals[j] = v
            i += U1
    else:
        ks = keys[a:b].copy()
        vs = vals[a:b].copy()
        order = np.argsort(ks, kind="mergesort")
        for i in range(n):
            keys[a + i] = ks[order[i]]
            vals[a + i] = vs[order[i]]


@njit(inline="always")
def _sort_keys(keys, a, b):
    """Sort keys[a:b] (a, b unsigned) in place: an insertion sort for short runs (linear
    when already sorted), the array's own sort for long ones."""
    if b - a <= SHORT:
        i = a + U1
        while i < b:
            k = keys[i]
            j = i
            while j > a and keys[j - U1] > k:
                keys[j] = keys[j - U1]
                j -= U1
            keys[j] = k
            i += U1
    else:
        keys[a:b].sort()


@njit(inline="always")
def _block_of(col, C):
    """The block column of col (unsigned) and its columns [lo, hi): one division, which a
    scan skips while its entries stay in [lo, hi)."""
    bc = col // C
    lo = bc * C
    return bc, lo, lo + C


@njit(inline="always")
def _dedupe_row(keys, vals, a, b):
    """Sum runs of equal keys of the sorted keys[a:b] in place, left to right from the
    first value; returns how many entries remain (at a:a + count)."""
    if b <= a:
        return U(0)
    w = a
    j = a + U1
    while j < b:
        if keys[j] == keys[w]:
            vals[w] += vals[j]
        else:
            w += U1
            keys[w] = keys[j]
            vals[w] = vals[j]
        j += U1
    return w - a + U1

@njit(inline="always")
def _bucket_sort(keys, a, p, tmp, cnt):
    """Sort the distinct keys[a:p] (at most BUCKET_MAX of them): counting sort into a power
    of two >= p - a buckets by their offset from the row's smallest key (high bits of the
    row's own range, so a narrow band of columns spreads as well as the whole width), then
    an insertion sort of the nearly sorted result (one key per bucket on average)."""
    n = p - a
    lo = U(keys[a])
    hi = lo
    i = a + U1
    while i < p:
        k = U(keys[i])
        lo = min(lo, k)
        hi = max(hi, k)
        i += U1
    lb = U(0)
    while (U1 << lb) < n:
        lb += U1
    nb = U1 << lb
    rb = U(0)                                    # bits of the key range
    while ((hi - lo) >> rb) > U(0):
        rb += U1
    shift = rb - lb if rb > lb else U(0)
    i = U(0)
    while i <= nb:
        cnt[i] = 0
        i += U1
    i = a
    while i < p:
        cnt[((U(keys[i]) - lo) >> shift) + U1] += U1
        i += U1
    i = U(0)
    while i < nb:
        cnt[i + U1] += cnt[i]
        i += U1
    i = a
    while i < p:
        b = (U(keys[i]) - lo) >> shift
        tmp[cnt[b]] = keys[i]
        cnt[b] += U1
        i += U1
    for i in range(1, n):
        v = tmp[i]
        q = i - 1
        while q >= 0 and tmp[q] > v:
            tmp[q + 1] = tmp[q]
            q -= 1
        tmp[q + 1] = v
    for i in range(n):
        keys[a + i] = tmp[i]


@njit(inline="always")
def _sort_row(keys, a, p, tmp, cnt):
    """Sort the distinct keys[a:p] (a, p unsigned) in place: insertion sort for short rows,
    bucket sort up to BUCKET_MAX keys, the array's own sort beyond."""
    if SHORT < p - a <= BUCKET_MAX:
        _bucket_sort(keys, a, p, tmp, cnt)
    else:
        _sort_keys(keys, a, p)


@njit(inline="always")
def _row_table(a_indptr, a_indices, b_indptr, r, tk):
    """Row r of A @ B: (short, lb).  ``short``: its products (an upper bound on its entries)
    fit the hash table tk at load <= 1/2; then its 2**lb slots (a power of two >= twice
    the products, >= 16) are emptied (-1)."""
    fl = 0
    for j in range(a_indptr[r], a_indptr[r + 1]):
        kk = a_indices[j]
        fl += b_indptr[kk + 1] - b_indptr[kk]
    short = 2 * fl <= HASH_MAX
    lb = U(4)
    if short:
        while (U1 << lb) < U(2 * fl):
            lb += U1
        for i in range(U1 << lb):
            tk[i] = -1
    return short, lb


@njit(inline="always")
def _probe(tk, col, lb):
    """The slot of key col (>= 0) in the open-addressing table tk (2**lb slots, -1 empty,
    linear probing), inserted there if absent; returns (slot, inserted).  Fibonacci hashing
    (the high bits of col * 2**64 / phi) spreads strided columns too."""
    hm = (U1 << lb) - U1
    h = (U(col) * GOLD) >> (U(64) - lb)
    while True:
        k = tk[h]
        if k == col:
            return h, False
        if k < 0:
            tk[h] = col
            return h, True
        h = (h + U1) & hm


@njit(inline="always")
def _slot(short, tk, mk, col, lb, r):
    """Where row r of a SpGEMM accumulates column col, and whether col is new in the row:
    a slot of the hash table tk (``short`` rows), else col itself, marked in the row of
    markers mk (a marker r there: col was seen in row r; a later lookup finds it)."""
    if short:
        return _probe(tk, col, lb)
    if mk[col] != r:
        mk[col] = r
        return U(col), True
    return U(col), False


@njit(inline="always")
def _prefetch_ahead(a_indices, b_indptr, b_indices, b_data, j, aend):
    """SpGEMM reads B's rows in A's column order, i.e. at random: the row pointer of the B
    row 8 entries of A ahead and the start of the B row 3 ahead (across A's row ends, up to
    aend; measured 15-20% on the 1e5 x 1e5 A @ A.T)."""
    if j + 8 < aend:
        prefetch(b_indptr, a_indices[j + 8])
    if j + 3 < aend:
        s = b_indptr[a_indices[j + 3]]
        prefetch(b_indices, s)
        prefetch(b_data, s)
'''

_JIT = '@njit(parallel=True, cache=True, nogil=True, boundscheck=False, error_model="numpy")\n'

_JIT_SEQ = '@njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")\n'

SOURCES = {}

SOURCES["expand"] = _JIT + '''def kernel(parallel, indptr, out):
    """out[j] = the row of entry j."""
    m = indptr.shape[0] - 1
    for r in prange(m):
        for j in range(indptr[r], indptr[r + 1]):
            out[j] = r
'''

# Counting sort of COO entries by major (stable: P chunks of entries, private histograms,
# chunk c's entries of a row placed after those of chunks < c), writing minor and data in
# place; then a stable sort by minor within each row (insertion sort of the (minor, value)
# pairs, merge sort for long rows) and, when ``dedupe``, duplicates summed in place left to
# right from the first (rowrun[r]: the row's entries after that; the caller compacts).
SOURCES["coo_sort"] = _JIT + '''def kernel(parallel, dedupe, major, minor, data, bounds, counts, indptr, out_minor, out_data,
           rowrun):
    P = bounds.shape[0] - 1
    n_major = indptr.shape[0] - 1
    for c in prange(P):
        cnt = counts[c]
        e = U(bounds[c])
        e1 = U(bounds[c + 1])
        while e < e1:
            cnt[major[e]] += U1
            e += U1
    _prefix(counts, indptr)
    for c in prange(P):
        cnt = counts[c]
        e = U(bounds[c])
        e1 = U(bounds[c + 1])
        while e < e1:
            r = major[e]
            p = cnt[r]
            cnt[r] = p + U1
            out_minor[p] = minor[e]
            out_data[p] = data[e]
            e += U1
    for r in prange(n_major):
        a = U(indptr[r])
        b = U(indptr[r + 1])
        _sort_pairs(out_minor, out_data, a, b)
        rowrun[r] = _dedupe_row(out_minor, out_data, a, b) if dedupe else b - a
'''

# Move the first rowrun[r] entries of each row down to new_indptr[r] <= indptr[r], in place
# (sequential, in row order, so no entry is overwritten before it moves: fresh output arrays
# would cost more in page faults than the parallel copy saves).
SOURCES["compact"] = _JIT_SEQ + '''def kernel(parallel, indptr, rowrun, new_indptr, indices, data):
    for r in range(indptr.shape[0] - 1):
        a = U(indptr[r])
        w = U(new_indptr[r])
        n = U(rowrun[r])
        if a != w:
            i = U(0)
            while i < n:
                indices[w + i] = indices[a + i]
                data[w + i] = data[a + i]
                i += U1
'''

# Stable sort of (index, value) pairs within each row, in place (copies made by the caller),
# and, when ``dedupe``, duplicates summed as in coo_sort (rowrun[r]: entries left).
SOURCES["row_sort"] = _JIT + '''def kernel(parallel, dedupe, indptr, keys, vals, rowrun):
    for r in prange(indptr.shape[0] - 1):
        a = U(indptr[r])
        b = U(indptr[r + 1])
        _sort_pairs(keys, vals, a, b)
        rowrun[r] = _dedupe_row(keys, vals, a, b) if dedupe else b - a
'''

# CSR <-> CSC: counting sort by index; P chunks of whole rows (rows[c]:rows[c+1]) with
# private histograms, so each output row lists the old majors in increasing order; the
# indices and values are written in place.
SOURCES["transpose"] = _JIT + '''def kernel(parallel, indptr, indices, data, rows, counts, out_indptr, out_indices, out_data):
    P = rows.shape[0] - 1
    for c in prange(P):
        cnt = counts[c]
        j = U(indptr[rows[c]])
        e = U(indptr[rows[c + 1]])
        while j < e:
            cnt[indices[j]] += U1
            j += U1
    _prefix(counts, out_indptr)
    for c in prange(P):
        cnt = counts[c]
        for r in range(rows[c], rows[c + 1]):
            j = U(indptr[r])
            e = U(indptr[r + 1])
            while j < e:
                i = indices[j]
                p = cnt[i]
                cnt[i] = p + U1
                out_indices[p] = r
                out_data[p] = data[j]
                j += U1
'''

# Sum runs: out[s] = data[starts[s]] + data[starts[s] + 1] + ... (left to right, from the
# first value) up to starts[s + 1]; starts has one more entry than out.
SOURCES["segsum"] = _JIT + '''def kernel(parallel, data, starts, out):
    for s in prange(out.shape[0]):
        a = starts[s]
        acc = data[a]
        for e in range(a + 1, starts[s + 1]):
            acc += data[e]
        out[s] = acc
'''

# SpMV, B @ x: entries split into chunks of equal nnz (bounds[c]:bounds[c+1]).  A row is
# "owned" by the chunk where it starts (rows own[c]:own[c+1], empty rows included) and
# written there if it ends in that chunk; a row crossing chunk boundaries keeps one partial
# sum per chunk (tail: its first piece; head: a later piece), combined after the parallel
# loop in chunk order: out[r] = 0 + piece_1 + piece_2 + ...; every piece sums from 0, left to right.
SOURCES["spmv"] = _JIT + '''def kernel(parallel, indptr, indices, data, x, zero, ahead, bounds, own, head, tail, headrow, tailrow, out):
    P = bounds.shape[0] - 1
    for c in prange(P):
        e0 = bounds[c]
        e1 = bounds[c + 1]
        r0 = own[c]
        r1 = own[c + 1]
        headrow[c] = -1
        tailrow[c] = -1
        s = U(indptr[r0])
        if r0 > 0 and s > e0:                   # row r0 - 1 started in an earlier chunk
            head[c] = _gather_dot(indices, data, x, e0, min(s, e1), e1, ahead, zero[0])
            headrow[c] = r0 - 1
        j = s
        for r in range(r0, r1):
            b = U(indptr[r + 1])
            if b > e1:                            # continues in the next chunk
                tail[c] = _gather_dot(indices, data, x, j, e1, e1, ahead, zero[0])
                tailrow[c] = r
            else:
                out[r] = _gather_dot(indices, data, x, j, b, e1, ahead, zero[0])
                j = b
    for c in range(P):
        if headrow[c] >= 0:
            out[headrow[c]] += head[c]
        if tailrow[c] >= 0:
            out[tailrow[c]] = tail[c]
'''

# SpMM, B @ X (X C-contiguous (n, k)): chunks of whole rows (balanced by nnz), the dense
# dimension innermost; out[r, :] = 0 + products in entry order.  With ``ahead`` > 0 (X
# larger than the cache), every cache line of the row of X that entry j + ahead gathers is
# prefetched while entry j computes, looking ahead across row ends within the chunk: rows
# hold a few entries each, so a look-ahead that stopped at the row's end would prefetch
# almost nothing (measured on the 1e6 x 1e6, 1e7-nonzero SpMM with 16 columns: 500 ->
# 250-300 ms with 2 threads).
SOURCES["spmm"] = _JIT + '''def kernel(parallel, indptr, indices, data, X, ahead, rows, out):
    P = rows.shape[0] - 1
    k = U(X.shape[1])
    last = k - U1
    line = U(max(1, 64 // X.itemsize))          # elements per 64-byte cache line
    for c in prange(P):
        acc = np.empty(X.shape[1], out.dtype)     # a row's sums, then stored once (7-9% faster)
        end = U(indptr[rows[c + 1]])
        stop = _prefetch_stop(end, ahead)
        for r in range(rows[c], rows[c + 1]):
            for t in range(k):
                acc[t] = 0
            j = U(indptr[r])
            b = U(indptr[r + 1])
            while j < b:
                if j < stop:
                    q = U(indices[j + ahead]) * k
                    p = U(0)
                    while p < k:                  # one prefetch per cache line of the row
                        prefetch(X, q + p)
                        p += line
                    prefetch(X, q + last)         # (a row need not start on a line)
                a = data[j]
                xr = X[indices[j]]
                for t in range(k):
                    acc[t] += a * xr[t]
                j += U1
            o = out[r]
            for t in range(k):
                o[t] = acc[t]
'''

# Transposed SpMV/SpMM, B.T @ X (X (n_major, k) C-contiguous, a vector as k == 1): chunks
# of whole rows of B scatter into private parts[c] (zeroed here), then
# out[i] = 0 + parts[0, i] + parts[1, i] + ...: no racy writes.
SOURCES["spmm_t"] = _JIT + '''def kernel(parallel, indptr, indices, data, X, rows, parts, out):
    P = rows.shape[0] - 1
    k = U(X.shape[1])
    n = out.shape[0]
    for c in prange(P):
        part = parts[c]
        for i in range(n):
            pr = part[i]
            for t in range(k):
                pr[t] = 0
        for r in range(rows[c], rows[c + 1]):
            xr = X[r]
            j = U(indptr[r])
            b = U(indptr[r + 1])
            while j < b:
                a = data[j]
                pr = part[indices[j]]
                for t in range(k):
                    pr[t] += a * xr[t]
                j += U1
    for i in prange(n):
        o = out[i]
        for t in range(k):
            o[t] = 0
        for c in range(P):
            pr = parts[c, i]
            for t in range(k):
                o[t] += pr[t]
'''


# Transposed SpMV, B.T @ x: spmm_t for a vector, without the dense-dimension loop.
SOURCES["spmv_t"] = _JIT + '''def kernel(parallel, indptr, indices, data, x, ahead, rows, parts, out):
    P = rows.shape[0] - 1
    n = out.shape[0]
    for c in prange(P):
        part = parts[c]
        for i in range(n):
            part[i] = 0
        end = U(indptr[rows[c + 1]])
        stop = _prefetch_stop(end, ahead)
        for r in range(rows[c], rows[c + 1]):
            xr = x[r]
            j = U(indptr[r])
            b = U(indptr[r + 1])
            while j < b:
                if j < stop:                        # (as _gather_dot: the scattered-to element early)
                    prefetch(part, U(indices[j + ahead]))
                part[indices[j]] += data[j] * xr
                j += U1
    for i in prange(n):
        out[i] = 0
        for c in range(P):
            out[i] += parts[c, i]
'''


# SpGEMM, per row of A @ B (chunks of rows): a row of at most HASH_MAX // 2 products
# accumulates in a small open-addressing table (a few KB, in L1: the measured 1e5 x 1e5
# A @ A.T went from 512 to 350 ms on one thread), a longer row in the chunk's dense row of
# n_cols markers (mask, -1 initially) and sums (acc); the caller allocates mask and acc
# with width n_cols only when some row is that long (see _slot).
# Symbolic pass: rowcnt[r] = the row's distinct columns.
SOURCES["spgemm_count"] = _JIT + '''def kernel(parallel, a_indptr, a_indices, b_indptr, b_indices, rows, mask, rowcnt):
    P = rows.shape[0] - 1
    for c in prange(P):
        tk = np.empty(HASH_MAX, np.int64)
        mk = mask[c]
        aend = a_indptr[rows[c + 1]]
        for r in range(rows[c], rows[c + 1]):
            cnt = 0
            short, lb = _row_table(a_indptr, a_indices, b_indptr, r, tk)
            for j in range(a_indptr[r], a_indptr[r + 1]):
                _prefetch_ahead(a_indices, b_indptr, b_indices, b_indices, j, aend)
                kk = a_indices[j]
                for t in range(b_indptr[kk], b_indptr[kk + 1]):
                    h, new = _slot(short, tk, mk, b_indices[t], lb, r)
                    if new:
                        cnt += 1
            rowcnt[r] = cnt
'''

# Numeric pass (Gustavson): each entry sums its products in A-then-B entry order from 0;
# the row's columns are sorted and written at indptr[r] (the exact row starts of the
# symbolic pass, or upper bounds: the row's products); rowcnt[r] = the row's entries.
SOURCES["spgemm_fill"] = _JIT + '''def kernel(parallel, a_indptr, a_indices, a_data, b_indptr, b_indices, b_data, rows, mask,
           acc, indptr, out_indices, out_data, rowcnt):
    P = rows.shape[0] - 1
    for c in prange(P):
        tk = np.empty(HASH_MAX, np.int64)
        tv = np.empty(HASH_MAX, out_data.dtype)
        tmp = np.empty(BUCKET_MAX, out_indices.dtype)
        cnt = np.empty(BUCKET_MAX + 1, np.uint64)
        mk = mask[c]
        aend = a_indptr[rows[c + 1]]
        for r in range(rows[c], rows[c + 1]):
            a = indptr[r]
            p = a
            short, lb = _row_table(a_indptr, a_indices, b_indptr, r, tk)
            vals = tv if short else acc[c]
            for j in range(a_indptr[r], a_indptr[r + 1]):
                _prefetch_ahead(a_indices, b_indptr, b_indices, b_data, j, aend)
                kk = a_indices[j]
                av = a_data[j]
                for t in range(b_indptr[kk], b_indptr[kk + 1]):
                    col = b_indices[t]
                    h, new = _slot(short, tk, mk, col, lb, r)
                    if new:
                        vals[h] = 0
                        out_indices[p] = col
                        p += 1
                    vals[h] += av * b_data[t]
            _sort_row(out_indices, U(a), U(p), tmp, cnt)
            for i in range(a, p):
                h, new = _slot(short, tk, mk, np.int64(out_indices[i]), lb, r)
                out_data[i] = vals[h]
            rowcnt[r] = p - a
'''

# Union / intersection of two canonical structures, per row (two calls: fill=False counts
# into rowcnt, fill=True writes at indptr[r]); positions -1 where an operand has no entry.
SOURCES["merge"] = _JIT + '''def kernel(parallel, fill, union, a_indptr, a_indices, b_indptr, b_indices, rowcnt, indptr,
           out_indices, a_pos, b_pos):
    m = a_indptr.shape[0] - 1
    for r in prange(m):
        i = a_indptr[r]
        ie = a_indptr[r + 1]
        j = b_indptr[r]
        je = b_indptr[r + 1]
        p = indptr[r] if fill else 0
        while i < ie or j < je:
            if j >= je or (i < ie and a_indices[i] < b_indices[j]):
                if union:
                    if fill:
                        out_indices[p] = a_indices[i]
                        a_pos[p] = i
                        b_pos[p] = -1
                    p += 1
                i += 1
            elif i >= ie or b_indices[j] < a_indices[i]:
                if union:
                    if fill:
                        out_indices[p] = b_indices[j]
                        a_pos[p] = -1
                        b_pos[p] = j
                    p += 1
                j += 1
            else:
                if fill:
                    out_indices[p] = a_indices[i]
                    a_pos[p] = i
                    b_pos[p] = j
                p += 1
                i += 1
                j += 1
        if not fill:
            rowcnt[r] = p
'''


# CSR -> BSR, counting pass: the distinct block columns of each block row (chunks of block
# rows brows[c]:brows[c+1], a private marker row per chunk, -1 initially), listed in bcols,
# each chunk's lists one after another from its first entry (indptr[brows[c] * R]: a block
# row has at least as many entries as blocks, so chunks never overlap), first seen first,
# then sorted (checked first: a canonical CSR's usually are).  Indices unsigned, R and C
# uint64: an entry in the block column of the entry before it (lo <= col < lo + C) needs no
# division.
SOURCES["bsr_count"] = _JIT + '''def kernel(parallel, indptr, indices, R, C, brows, mark, rowcnt, bcols):
    P = brows.shape[0] - 1
    m = U(indptr.shape[0] - 1)
    for c in prange(P):
        mk = mark[c]
        p = U(indptr[U(brows[c]) * R])
        for br in range(brows[c], brows[c + 1]):
            r0 = U(br) * R
            j = U(indptr[r0])
            e = U(indptr[min(r0 + R, m)])
            a = p
            lo = U(0)
            hi = U(0)
            ordered = True
            while j < e:
                col = U(indices[j])
                if col < lo or col >= hi:
                    bc, lo, hi = _block_of(col, C)
                    if mk[bc] != br:
                        mk[bc] = br
                        if p > a and bcols[p - U1] > bc:
                            ordered = False
                        bcols[p] = bc
                        p += U1
                j += U1
            if not ordered:
                _sort_keys(bcols, a, p)
            rowcnt[br] = p - a
'''

# CSR -> BSR, fill pass: each chunk's sorted block columns (bcols, from bsr_count) copied to
# out_indices from out_indptr[brows[c]], slot[c, bc] = the flat offset of its block in
# out_data (flat: nblocks * R * C), the block row's blocks zeroed, then every entry added
# into its block in stored order (as np.add.at): no sort, no scratch blocks.
SOURCES["bsr_fill"] = _JIT + '''def kernel(parallel, indptr, indices, data, R, C, brows, slot, bcols, out_indptr, out_indices,
           out_data):
    P = brows.shape[0] - 1
    m = U(indptr.shape[0] - 1)
    RC = R * C
    for c in prange(P):
        sl = slot[c]
        shift = U(indptr[U(brows[c]) * R]) - U(out_indptr[brows[c]])    # wraps: bcols[i + shift]
        for br in range(brows[c], brows[c + 1]):
            r0 = U(br) * R
            r1 = min(r0 + R, m)
            a = U(out_indptr[br])
            b = U(out_indptr[br + 1])
            i = a
            while i < b:
                bc = bcols[i + shift]
                out_indices[i] = bc
                sl[bc] = i * RC
                i += U1
            i = a * RC
            while i < b * RC:
                out_data[i] = 0
                i += U1
            r = r0
            while r < r1:
                base = (r - r0) * C
                lo = U(0)
                hi = U(0)
                q = U(0)
                j = U(indptr[r])
                e = U(indptr[r + U1])
                while j < e:
                    col = U(indices[j])
                    if col < lo or col >= hi:
                        bc, lo, hi = _block_of(col, C)
                        q = sl[bc] + base - lo      # wraps: q + col is the cell
                    out_data[q + col] += data[j]
                    j += U1
                r += U1
'''

# BSR -> CSR: a permutation; row r = I*R + ri lists block I's blocks in order, C entries
# each, from out_indptr[r] (computed by the caller).
SOURCES["bsr_to_csr"] = _JIT + '''def kernel(parallel, indptr, indices, data3d, out_indptr, out_indices, out_data):
    nbr = indptr.shape[0] - 1
    R = data3d.shape[1]
    C = data3d.shape[2]
    for br in prange(nbr):
        start = indptr[br]
        per = indptr[br + 1] - start
        for ri in range(R):
            # row br*R + ri starts after the rows of the earlier block rows and its own R rows
            p = R * C * start + ri * C * per
            out_indptr[br * R + ri] = p
            for b in range(indptr[br], indptr[br + 1]):
                base = indices[b] * C
                for ci in range(C):
                    out_indices[p] = base + ci
                    out_data[p] = data3d[b, ri, ci]
                    p += 1
'''

# CSR -> DIA, diagonal pass: flags[c, col - row + m - 1] = 1 for the entries of the chunk's
# rows (private flags per chunk, combined by the caller).
SOURCES["dia_flags"] = _JIT + '''def kernel(parallel, indptr, indices, rows, flags):
    P = rows.shape[0] - 1
    m = indptr.shape[0] - 1
    for c in prange(P):
        fl = flags[c]
        for r in range(rows[c], rows[c + 1]):
            for j in range(indptr[r], indptr[r + 1]):
                fl[indices[j] - r + m - 1] = 1
'''

# CSR -> DIA, fill pass: out[dmap[col - row + m - 1], col] += data (out zeros), rows in
# parallel: two rows never share a cell (a cell fixes the row), so no write races; each
# cell's entries are added in stored order, as np.add.at.
SOURCES["dia_fill"] = _JIT + '''def kernel(parallel, indptr, indices, data, dmap, out):
    m = indptr.shape[0] - 1
    for r in prange(m):
        for j in range(indptr[r], indptr[r + 1]):
            col = indices[j]
            out[dmap[col - r + m - 1], col] += data[j]
'''

# DIA -> CSR, one pass: chunks of rows rows[c]:rows[c+1], chunk c writing from start[c]
# (the stored positions inside the matrix of the rows before it: an upper bound).  soffs:
# the offsets sorted (stably), base[t] = the flat position in data (the DIA data, raveled)
# of column 0 of diagonal t; row r's entries are data[base[t] + r] at column r + soffs[t]
# for the t in [t0, t1) (those inside the matrix: a range, moving down with r), so a row
# comes out sorted with no sort.  Every value is written and kept (p advanced) when nonzero
# or keep_zeros: no unpredictable branch.  Runs of up to DIA_TILE rows inside every diagonal
# and without zeros are written a diagonal at a time (one thread, 9-diagonal band: 1.7-2x
# faster at 3e4 rows; at 3e5 rows memory bounds it either way).  With a repeated offset
# (repeated) the kept value of the same column is added to the entry before it (in stored
# order, from the first).
# indptr[r + 1] = the row's end in this layout, end[c] = the chunk's (the caller moves
# chunks down over the gaps dropped zeros leave).
SOURCES["dia_to_csr"] = '''DIA_TILE = 32     # rows of a tile (its output stays in L1)


''' + _JIT + '''def kernel(parallel, keep_zeros, repeated, soffs, base, data, width, rows, start, end, indptr,
           out_indices, out_data):
    P = rows.shape[0] - 1
    nd = soffs.shape[0]
    kz = U(1) if keep_zeros else U(0)
    for c in prange(P):
        p = U(start[c])
        r = rows[c]
        t0 = 0
        t1 = 0
        while t0 < nd and soffs[t0] < -r:
            t0 += 1
        while t1 < nd and soffs[t1] < width - r:
            t1 += 1
        while r < rows[c + 1]:
            while t0 > 0 and soffs[t0 - 1] >= -r:
                t0 -= 1
            while t1 > 0 and soffs[t1 - 1] >= width - r:
                t1 -= 1
            if t0 == 0 and t1 == nd and nd > 0 and not repeated:
                # rows r:rb inside every diagonal: if they hold no zero (or keep_zeros), each
                # row gets nd entries, written a diagonal at a time (contiguous reads, no
                # dependence on p between entries)
                rb = min(rows[c + 1], r + DIA_TILE, width - soffs[nd - 1])
                ok = keep_zeros
                if not ok:
                    z = 0
                    for t in range(nd):
                        b = U(base[t] + r)
                        for q in range(U(rb - r)):
                            z += data[b + q] == 0
                    ok = z == 0
                if ok:
                    und = U(nd)
                    for t in range(nd):
                        b = U(base[t] + r)
                        o = r + soffs[t]
                        k = p + U(t)
                        for q in range(U(rb - r)):
                            out_indices[k] = o + q
                            out_data[k] = data[b + q]
                            k += und
                    for q in range(r, rb):
                        p += und
                        indptr[q + 1] = p
                    r = rb
                    continue
            t = U(t0)
            te = U(t1)
            if repeated:
                last = -1
                while t < te:
                    v = data[U(base[t] + r)]
                    if keep_zeros or v != 0:
                        j = r + soffs[t]
                        if j == last:
                            out_data[p - U1] += v
                        else:
                            out_indices[p] = j
                            out_data[p] = v
                            p += U1
                            last = j
                    t += U1
            else:
                while t < te:
                    v = data[U(base[t] + r)]
                    out_indices[p] = r + soffs[t]
                    out_data[p] = v
                    p += U(v != 0) | kz
                    t += U1
            indptr[r + 1] = p
            r += 1
        end[c] = p
'''


def get(name):
    """The compiled kernel ``name`` of :data:`SOURCES` (loaded through the kernel cache)."""
    return kcache.get_kernel(("sparse", name), lambda: _HEADER + "\n\n" + SOURCES[name],
                             f"sparse {name}")
