"""CUDA kernels of sparse arrays: the SPARSE_MATMUL barrier's GPU entry (``run``) and the
structure conversions of device sparse arrays (``coo_to_compressed``, ``transpose``,
``expand_indptr``).

Imported on the first CUDA use only (``SparseMatmul.cuda_module``), like every CUDA module.
A device sparse structure is CSR buffers ``(indptr, indices)`` (CSC: the CSR of the
transpose) as contiguous device arrays, validated on the host before they were copied, so
every index is in range and the kernels never read out of bounds.

Kernels (``kernels(target, compute_dtype)``; ``target`` "gpu" or "sim"):

* ``spmv_rows``: a group of G lanes per row (G a power of two <= 32 chosen from the mean
  row length), lanes striding over the row (coalesced), summed by xor shuffles.
* ``spmv_split`` + ``spmv_combine``: the nnz-balanced variant for skewed rows: a warp per
  chunk of E consecutive entries (found by a binary search of indptr); rows inside a chunk
  are stored directly, the pieces of rows that cross chunk boundaries go to per-chunk head
  and tail slots, and a second pass adds them in a fixed order (deterministic).
* ``spmv_t``, ``spmm_t``: ``B.T @ x`` / ``B.T @ X`` without a transpose: every entry adds
  ``data * x[row]`` into ``out[col]`` with atomics (float sums in a nondeterministic order:
  equal to the CPU's up to rounding; integer sums exact).
* ``spmm``: a thread per (row, column) of ``B @ X``: consecutive threads read consecutive
  columns of X's rows (coalesced) and the row's entries once per warp (broadcast).
* ``todense``: a thread per major row adds its entries into a zeroed dense output in stored
  order (duplicates summed deterministically).
* conversions: counting sorts (histogram with atomics, exclusive scan, scatter with atomic
  slots), then each row sorted by (key, original position), which makes the result
  independent of the atomics' order; duplicates summed in original order.  (Limits: the
  row sort is a heapsort by one thread per row, and the scan's middle pass is one thread:
  fine for ordinary rows, slow for rows of 1e5+ entries; a segmented block sort and a
  decoupled look-back scan are the next step.)

Sums are accumulated in the compute dtype (int64 for integers and bool, else the result's
dtype) and cast on store, as the CPU kernels do.  Under the simulator there are no
shuffles: group sums go through shared memory with one warp per block.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from numba import cuda

from .. import cuda_runtime as cr

WARP = 32
BLOCK = {"gpu": 256, "sim": WARP}     # (sim: one warp per block, so warp-uniform == block-uniform)
SPLIT_CHUNK = {"gpu": 8 * WARP, "sim": 8}   # entries per warp in spmv_split
SCAN_TILE = {"gpu": 256, "sim": 8}          # entries per thread in the serial-tile scan


def compute_dtype(dtype):
    dtype = np.dtype(dtype)
    return np.dtype(np.int64) if dtype.kind in "biu" else dtype


# ---- the kernel choice, made once per structure (arrayforge.sparse calls this on the host)

ROWS_SKEW = 16          # rows kernel unless the longest row exceeds this many times the mean ...
ROWS_SKEW_MIN = 256     # ... and this many entries (short rows never need splitting)


def spmv_plan(indptr_host):
    """``(variant, lanes)`` for SpMV with the CSR ``indptr`` (a host array, read once when the
    structure is built): see :func:`spmv_plan_of`."""
    indptr_host = np.asarray(indptr_host)
    m = len(indptr_host) - 1
    if m <= 0:
        return ("rows", 1)
    return spmv_plan_of(m, int(indptr_host[-1]), int(np.diff(indptr_host).max()))


def spmv_plan_of(m, nnz, longest):
    """``(variant, lanes)`` for SpMV over ``m`` rows holding ``nnz`` entries, the longest
    ``longest``: ("rows", G) with G lanes per row (a power of two near half the mean row
    length, at most a warp), or ("split", 32) when the rows are skewed (the longest row holds
    more than ROWS_SKEW times the mean and more than ROWS_SKEW_MIN entries)."""
    if m <= 0 or nnz == 0:
        return ("rows", 1)
    mean = nnz / m
    if longest > max(ROWS_SKEW * mean, ROWS_SKEW_MIN):
        return ("split", WARP)
    g = 1
    while g < WARP and g < mean / 2:
        g *= 2
    return ("rows", g)


# ---- kernels ----------------------------------------------------------------------------

def _group_sum_gpu():
    @cuda.jit(device=True, inline=True)
    def group_sum(v, G, sh):
        off = G // 2
        while off > 0:
            v += cuda.shfl_xor_sync(0xffffffff, v, off)
            off //= 2
        return v
    return group_sum


def _group_sum_sim():
    @cuda.jit(device=True)
    def group_sum(v, G, sh):
        t = cuda.threadIdx.x
        sh[t] = v
        cuda.syncthreads()
        start = t - t % G
        total = sh[start]
        for i in range(1, G):
            total += sh[start + i]
        cuda.syncthreads()
        return total
    return group_sum


@cuda.jit(device=True, inline=True)      # (inlined: compiles for any cc without a driver)
def lower_bound(a, n, value):
    """The first i in [0, n) with a[i] >= value (n if none): a binary search of sorted ``a``."""
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


@functools.lru_cache(maxsize=None)
def kernels(target, cd):
    """The sparse kernels for ``target`` ("gpu"/"sim") accumulating in dtype ``cd`` (a dtype
    string); each compiles per argument types on first launch."""
    CT = np.dtype(cd).type
    SH = BLOCK[target] if target == "sim" else 1
    group_sum = _group_sum_sim() if target == "sim" else _group_sum_gpu()
    ns = {}

    @cuda.jit
    def spmv_rows(indptr, indices, data, x, out, G):
        sh = cuda.shared.array(SH, CT)
        tid = cuda.grid(1)
        lane = tid % G
        group = tid // G
        ngroups = cuda.gridsize(1) // G
        m = out.shape[0]
        base = 0
        while base < m:                 # the same trip count for every thread (shuffles/syncs)
            r = base + group
            acc = CT(0)
            if r < m:
                j = indptr[r] + lane
                end = indptr[r + 1]
                while j < end:
                    acc += CT(data[j]) * CT(x[indices[j]])
                    j += G
            acc = group_sum(acc, G, sh)
            if r < m and lane == 0:
                out[r] = acc
            base += ngroups
    ns["spmv_rows"] = spmv_rows

    @cuda.jit
    def spmv_split(indptr, indices, data, x, out, head, tail, E):
        sh = cuda.shared.array(SH, CT)
        tid = cuda.grid(1)
        lane = tid % WARP
        warp = tid // WARP
        nwarps = cuda.gridsize(1) // WARP
        m = out.shape[0]
        nnz = indices.shape[0]
        nchunks = (nnz + E - 1) // E
        c = warp
        while c < nchunks:              # warp-uniform
            s = c * E
            e = min(s + E, nnz)
            r = lower_bound(indptr, m, s)   # the first row starting at or after s
            if indptr[r] > s:           # entry s belongs to the row before, started earlier
                r -= 1
            last = c == nchunks - 1
            while r < m:
                rs = indptr[r]
                re = indptr[r + 1]
                if rs >= e and not last:
                    break
                j = max(rs, s) + lane
                stop = min(re, e)
                acc = CT(0)
                while j < stop:
                    acc += CT(data[j]) * CT(x[indices[j]])
                    j += WARP
                acc = group_sum(acc, WARP, sh)
                if lane == 0:
                    if rs >= s and re <= e:
                        out[r] = acc        # the whole row is in this chunk
                    elif rs < s:
                        head[c] = acc       # the end piece of a row begun in an earlier chunk
                    else:
                        tail[c] = acc       # the first piece of a row continued later
                r += 1
            c += nwarps
    ns["spmv_split"] = spmv_split

    @cuda.jit
    def spmv_combine(indptr, out, head, tail, E, nnz):
        sh = cuda.shared.array(SH, CT)
        tid = cuda.grid(1)
        lane = tid % WARP
        warp = tid // WARP
        nwarps = cuda.gridsize(1) // WARP
        m = out.shape[0]
        nchunks = (nnz + E - 1) // E
        c = warp
        while c < nchunks:              # warp-uniform
            s = c * E
            e = min(s + E, nnz)
            # the row holding the chunk's last entry: before the first row starting at or after e
            r = lower_bound(indptr, m + 1, e) - 1
            re = indptr[r + 1]
            if indptr[r] >= s and re > e:
                cb = (re - 1) // E      # the last chunk holding a piece of row r
                acc = CT(0)
                k = c + 1 + lane
                while k <= cb:
                    acc += head[k]
                    k += WARP
                acc = group_sum(acc, WARP, sh)
                if lane == 0:
                    out[r] = tail[c] + acc
            c += nwarps
    ns["spmv_combine"] = spmv_combine

    @cuda.jit
    def spmv_t(indptr, indices, data, x, acc_out, G):
        tid = cuda.grid(1)
        lane = tid % G
        group = tid // G
        ngroups = cuda.gridsize(1) // G
        m = indptr.shape[0] - 1
        r = group
        while r < m:
            xr = CT(x[r])
            j = indptr[r] + lane
            end = indptr[r + 1]
            while j < end:
                cuda.atomic.add(acc_out, indices[j], CT(data[j]) * xr)
                j += G
            r += ngroups
    ns["spmv_t"] = spmv_t

    @cuda.jit
    def spmm(indptr, indices, data, X, out):
        m = out.shape[0]
        k = out.shape[1]
        t = cuda.grid(1)
        step = cuda.gridsize(1)
        while t < m * k:
            r = t // k
            col = t - r * k
            acc = CT(0)
            for j in range(indptr[r], indptr[r + 1]):
                acc += CT(data[j]) * CT(X[indices[j], col])
            out[r, col] = acc
            t += step
    ns["spmm"] = spmm

    @cuda.jit
    def spmm_t(indptr, indices, data, X, acc_out):
        m = X.shape[0]
        k = X.shape[1]
        t = cuda.grid(1)
        step = cuda.gridsize(1)
        while t < m * k:
            r = t // k
            col = t - r * k
            xr = CT(X[r, col])
            for j in range(indptr[r], indptr[r + 1]):
                cuda.atomic.add(acc_out, indices[j] * k + col, CT(data[j]) * xr)
            t += step
    ns["spmm_t"] = spmm_t

    @cuda.jit
    def cast(src, out):
        t = cuda.grid(1)
        step = cuda.gridsize(1)
        while t < out.shape[0]:
            out[t] = src[t]
            t += step
    ns["cast"] = cast

    return ns


@functools.lru_cache(maxsize=None)
def structure_kernels(target):
    """Kernels that move values and indices (no accumulation dtype)."""
    ns = {}

    @cuda.jit
    def todense(indptr, indices, data, out, stride_major, stride_minor, unique):
        # out: flat, zeroed (unless unique); a thread per major row, entries in stored order
        m = indptr.shape[0] - 1
        r = cuda.grid(1)
        step = cuda.gridsize(1)
        while r < m:
            for j in range(indptr[r], indptr[r + 1]):
                p = r * stride_major + indices[j] * stride_minor
                if unique:
                    out[p] = data[j]
                else:
                    out[p] += data[j]
            r += step
    ns["todense"] = todense

    @cuda.jit
    def fill(out, value):
        t = cuda.grid(1)
        step = cuda.gridsize(1)
        while t < out.shape[0]:
            out[t] = value
            t += step
    ns["fill"] = fill

    @cuda.jit
    def expand(indptr, rows):
        m = indptr.shape[0] - 1
        r = cuda.grid(1)
        step = cuda.gridsize(1)
        while r < m:
            for j in range(indptr[r], indptr[r + 1]):
                rows[j] = r
            r += step
    ns["expand"] = expand

    @cuda.jit
    def histogram(keys, counts):
        t = cuda.grid(1)
        step = cuda.gridsize(1)
        while t < keys.shape[0]:
            cuda.atomic.add(counts, keys[t], 1)
            t += step
    ns["histogram"] = histogram

    @cuda.jit
    def scan_tiles(counts, tile_sums, T):
        # thread per tile of T counts: its sum
        n = counts.shape[0]
        t = cuda.grid(1)
        step = cuda.gridsize(1)
        while t < tile_sums.shape[0]:
            s = 0
            for i in range(t * T, min(t * T + T, n)):
                s += counts[i]
            tile_sums[t] = s
            t += step
    ns["scan_tiles"] = scan_tiles

    @cuda.jit
    def scan_serial(tile_sums):
        # one thread: exclusive scan of the tile sums, in place
        if cuda.grid(1) == 0:
            s = 0
            for i in range(tile_sums.shape[0]):
                v = tile_sums[i]
                tile_sums[i] = s
                s += v
    ns["scan_serial"] = scan_serial

    @cuda.jit
    def scan_apply(counts, tile_sums, out, T):
        # out[i] = sum(counts[:i]) (out has n + 1 entries)
        n = counts.shape[0]
        t = cuda.grid(1)
        step = cuda.gridsize(1)
        while t < tile_sums.shape[0]:
            s = tile_sums[t]
            for i in range(t * T, min(t * T + T, n)):
                out[i] = s
                s += counts[i]
            if t == tile_sums.shape[0] - 1:
                out[n] = s
            t += step
    ns["scan_apply"] = scan_apply

    @cuda.jit
    def scatter_slots(keys, starts, fill_count, perm):
        # each entry k goes to a free slot of its key's bucket (order fixed later by sorting)
        t = cuda.grid(1)
        step = cuda.gridsize(1)
        while t < keys.shape[0]:
            b = keys[t]
            slot = cuda.atomic.add(fill_count, b, 1)
            perm[starts[b] + slot] = t
            t += step
    ns["scatter_slots"] = scatter_slots

    @cuda.jit(device=True, inline=True)
    def _less(sub, p, q, by_sub):
        if by_sub and sub[p] != sub[q]:
            return sub[p] < sub[q]
        return p < q

    @cuda.jit(device=True, inline=True)
    def _sift(perm, sub, lo, root, n, by_sub):
        while True:
            child = 2 * root + 1
            if child >= n:
                return
            if child + 1 < n and _less(sub, perm[lo + child], perm[lo + child + 1], by_sub):
                child += 1
            if _less(sub, perm[lo + root], perm[lo + child], by_sub):
                tmp = perm[lo + root]
                perm[lo + root] = perm[lo + child]
                perm[lo + child] = tmp
                root = child
            else:
                return

    @cuda.jit
    def sort_buckets(starts, perm, sub, by_sub, ucount):
        # a thread per bucket: heapsort its positions by (sub[p], p) (or p), then count the
        # distinct sub keys (the bucket's length after summing duplicates)
        nb = starts.shape[0] - 1
        b = cuda.grid(1)
        step = cuda.gridsize(1)
        while b < nb:
            lo = starts[b]
            n = starts[b + 1] - lo
            i = n // 2 - 1
            while i >= 0:
                _sift(perm, sub, lo, i, n, by_sub)
                i -= 1
            end = n - 1
            while end > 0:
                tmp = perm[lo]
                perm[lo] = perm[lo + end]
                perm[lo + end] = tmp
                _sift(perm, sub, lo, 0, end, by_sub)
                end -= 1
            u = 0
            for j in range(n):
                if j == 0 or sub[perm[lo + j]] != sub[perm[lo + j - 1]]:
                    u += 1
            ucount[b] = u
            b += step
    ns["sort_buckets"] = sort_buckets

    @cuda.jit
    def compact_sum(starts, perm, sub, data, new_starts, out_indices, out_data):
        # a thread per bucket: the distinct sub keys and the sums of their values in order
        nb = starts.shape[0] - 1
        b = cuda.grid(1)
        step = cuda.gridsize(1)
        while b < nb:
            w = new_starts[b] - 1
            for j in range(starts[b], starts[b + 1]):
                p = perm[j]
                if j == starts[b] or sub[p] != sub[perm[j - 1]]:
                    w += 1
                    out_indices[w] = sub[p]
                    out_data[w] = data[p]
                else:
                    out_data[w] += data[p]
            b += step
    ns["compact_sum"] = compact_sum

    @cuda.jit
    def gather(src, perm, out):
        t = cuda.grid(1)
        step = cuda.gridsize(1)
        while t < out.shape[0]:
            out[t] = src[perm[t]]
            t += step
    ns["gather"] = gather
    return ns


# ---- launching --------------------------------------------------------------------------

def _target():
    return cr.target()[0]


def _config(n_threads, target=None):
    """(blocks, threads) covering ``n_threads`` work items (grid-stride beyond)."""
    target = target or _target()
    threads = BLOCK[target]
    if target == "sim":
        return max(1, min(2, -(-n_threads // threads))), threads
    sms = cr.cuda().get_current_device().MULTIPROCESSOR_COUNT
    return max(1, min(sms * 32, -(-n_threads // threads))), threads


def _launch(kernel, n_threads, *args):
    if n_threads <= 0:
        return
    blocks, threads = _config(n_threads)
    kernel[blocks, threads](*args)


def _fill(arr, value):
    flat = cr.flat(arr)
    n = flat.shape[0]
    if n:
        _launch(structure_kernels(_target())["fill"], n, flat, np.dtype(arr.dtype).type(value))


def run(root, operands, out):
    """The SPARSE_MATMUL barrier on a GPU: ``root.arg`` is ``(trans, variant, lanes)`` for
    products (trans "n"/"t") or ``("dense", major, unique)`` for ``toarray``."""
    kind = root.arg[0]
    if kind == "dense":
        indptr, indices, data = operands
        return todense(indptr, indices, data, out, root.arg[1], root.arg[2])
    indptr, indices, data, dense = operands
    return matmul(kind == "t", root.arg[1], root.arg[2], indptr, indices, data, dense, out)


def todense(indptr, indices, data, out, major, unique):
    """Scatter the CSR (``major`` 0) or CSC (1) structure into the dense ``out``."""
    m, n = out.shape
    if not unique or indices.shape[0] < out.size:
        _fill(out, 0)
    if indices.shape[0]:
        strides = (n, 1) if major == 0 else (1, n)
        _launch(structure_kernels(_target())["todense"], indptr.shape[0] - 1, indptr, indices, data,
                cr.flat(out), np.int64(strides[0]), np.int64(strides[1]), bool(unique))
    return out


def matmul(trans, variant, lanes, indptr, indices, data, dense, out):
    """``B @ dense`` / ``B.T @ dense`` (``trans``) into ``out`` (of the result dtype)."""
    tgt = _target()
    cd = compute_dtype(out.dtype)
    ks = kernels(tgt, cd.str)
    m = indptr.shape[0] - 1
    nnz = indices.shape[0]
    vector = len(dense.shape) == 1
    if out.size == 0:
        return out
    if nnz == 0:
        _fill(out, 0)
        return out
    if trans:
        acc = out if np.dtype(out.dtype) == cd else cr.pool.empty(out.shape, cd)
        _fill(acc, 0)
        if vector:
            _launch(ks["spmv_t"], m * lanes, indptr, indices, data, dense, cr.flat(acc), np.int64(lanes))
        else:
            _launch(ks["spmm_t"], m * dense.shape[1], indptr, indices, data, dense, cr.flat(acc))
        if acc is not out:
            _launch(ks["cast"], out.size, cr.flat(acc), cr.flat(out))
        return out
    if not vector:
        _launch(ks["spmm"], m * dense.shape[1], indptr, indices, data, dense, out)
        return out
    if variant == "split":
        E = SPLIT_CHUNK[tgt]
        nchunks = -(-nnz // E)
        head = cr.pool.empty((nchunks,), cd)
        tail = cr.pool.empty((nchunks,), cd)
        if np.dtype(out.dtype) == cd:
            target_out = out
        else:
            target_out = cr.pool.empty(out.shape, cd)
        _launch(ks["spmv_split"], nchunks * WARP, indptr, indices, data, dense, target_out, head, tail,
                np.int64(E))
        _launch(ks["spmv_combine"], nchunks * WARP, indptr, target_out, head, tail, np.int64(E),
                np.int64(nnz))
        if target_out is not out:
            _launch(ks["cast"], out.size, target_out, out)
        return out
    _launch(ks["spmv_rows"], m * lanes, indptr, indices, data, dense, out, np.int64(lanes))
    return out


# ---- conversions (eager: device arrays in, new device arrays out) ------------------------

def _exclusive_scan(counts, dtype):
    """``out[i] = sum(counts[:i])`` for i in 0..n (n + 1 entries), on the device."""
    tgt = _target()
    ks = structure_kernels(tgt)
    n = counts.shape[0]
    out = cr.pool.empty((n + 1,), dtype)
    T = SCAN_TILE[tgt]
    ntiles = max(1, -(-n // T))
    tiles = cr.pool.empty((ntiles,), np.int64)
    _launch(ks["scan_tiles"], ntiles, counts, tiles, np.int64(T))
    ks["scan_serial"][1, 1](tiles)
    _launch(ks["scan_apply"], ntiles, counts, tiles, out, np.int64(T))
    return out


def _bucket_sort(keys, sub, n_buckets, by_sub):
    """Counting sort of positions 0..len(keys)-1 by ``keys`` (into ``n_buckets``), each bucket
    then sorted by (sub[p], p) (``by_sub``) or p: returns (starts, perm, ucount)."""
    ks = structure_kernels(_target())
    nnz = keys.shape[0]
    counts = cr.pool.empty((max(n_buckets, 0),), np.int64)
    _fill(counts, 0)
    _launch(ks["histogram"], nnz, keys, counts)
    starts = _exclusive_scan(counts, np.int64)
    _fill(counts, 0)
    perm = cr.pool.empty((nnz,), np.int64)
    _launch(ks["scatter_slots"], nnz, keys, starts, counts, perm)
    ucount = cr.pool.empty((max(n_buckets, 0),), np.int64)
    _launch(ks["sort_buckets"], n_buckets, starts, perm, sub, bool(by_sub), ucount)
    return starts, perm, ucount


def coo_to_compressed(major, minor, data, n_major, idt):
    """COO -> compressed on the device: ``(indptr, indices, data, canonical)``, sorted by
    (major, minor, original position), duplicates summed in original order."""
    ks = structure_kernels(_target())
    nnz = major.shape[0]
    if nnz == 0:
        indptr = cr.pool.empty((n_major + 1,), idt)
        _fill(indptr, 0)
        return indptr, cr.pool.empty((0,), idt), cr.pool.empty((0,), data.dtype)
    starts, perm, ucount = _bucket_sort(major, minor, n_major, True)
    new_starts = _exclusive_scan(ucount, np.int64)
    total = int(new_starts[n_major:n_major + 1].copy_to_host()[0])
    indices = cr.pool.empty((total,), idt)
    out = cr.pool.empty((total,), data.dtype)
    _launch(ks["compact_sum"], n_major, starts, perm, minor, data, new_starts, indices, out)
    indptr = cr.pool.empty((n_major + 1,), idt)
    _cast_into(new_starts, indptr)
    return indptr, indices, out


def _cast_into(src, dst):
    ks = kernels(_target(), np.dtype(np.int64).str)
    _launch(ks["cast"], dst.shape[0], src, dst)


def expand_indptr(indptr, nnz, idt):
    """The major index of each of the ``nnz`` entries (CSR -> COO rows), on the device."""
    ks = structure_kernels(_target())
    m = indptr.shape[0] - 1
    rows = cr.pool.empty((nnz,), idt)
    _launch(ks["expand"], m, indptr, rows)
    return rows


def transpose(indptr, indices, data, n_minor, idt):
    """CSR <-> CSC on the device: ``(indptr, indices, data)`` of the other axis, each output
    row listing the old major indices in increasing order (duplicates kept)."""
    ks = structure_kernels(_target())
    nnz = indices.shape[0]
    m = indptr.shape[0] - 1
    if nnz == 0:
        out_indptr = cr.pool.empty((n_minor + 1,), idt)
        _fill(out_indptr, 0)
        return out_indptr, cr.pool.empty((0,), idt), cr.pool.empty((0,), data.dtype)
    rows = cr.pool.empty((nnz,), idt)
    _launch(ks["expand"], m, indptr, rows)
    starts, perm, _ = _bucket_sort(indices, indices, n_minor, False)
    out_indptr = cr.pool.empty((n_minor + 1,), idt)
    _cast_into(starts, out_indptr)
    out_indices = cr.pool.empty((nnz,), idt)
    _launch(ks["gather"], nnz, rows, perm, out_indices)
    out_data = cr.pool.empty((nnz,), data.dtype)
    _launch(ks["gather"], nnz, data, perm, out_data)
    return out_indptr, out_indices, out_data


# ---- PTX (tests): every kernel compiled for a GPU without one ------------------------------

def ptx_signatures():
    """``[(name, python function, signature)]`` covering every kernel for a few dtypes."""
    from numba.core import types
    from numba.np.numpy_support import from_dtype

    def arr(dt, nd=1):
        return types.Array(from_dtype(np.dtype(dt)), nd, "C")
    i32, i64 = arr(np.int32), arr(np.int64)
    out = []
    for cd, dd, xd in (("float64", "float64", "float64"), ("int64", "int32", "int32")):
        ks = kernels("gpu", np.dtype(cd).str)
        od = np.int32 if cd == "int64" else cd
        out += [
            ("spmv_rows", ks["spmv_rows"], (i32, i32, arr(dd), arr(xd), arr(od), types.int64)),
            ("spmv_split", ks["spmv_split"], (i32, i32, arr(dd), arr(xd), arr(cd), arr(cd), arr(cd),
                                              types.int64)),
            ("spmv_combine", ks["spmv_combine"], (i32, arr(cd), arr(cd), arr(cd), types.int64, types.int64)),
            ("spmv_t", ks["spmv_t"], (i32, i32, arr(dd), arr(xd), arr(cd), types.int64)),
            ("spmm", ks["spmm"], (i32, i32, arr(dd), arr(xd, 2), arr(od, 2))),
            ("spmm_t", ks["spmm_t"], (i32, i32, arr(dd), arr(xd, 2), arr(cd))),
            ("cast", ks["cast"], (arr(cd), arr(od))),
        ]
    f32 = arr(np.float32)
    out.append(("spmv_rows", kernels("gpu", np.dtype(np.float32).str)["spmv_rows"],
                (i32, i32, f32, f32, f32, types.int64)))
    sk = structure_kernels("gpu")
    f64 = arr(np.float64)
    out += [
        ("todense", sk["todense"], (i32, i32, f64, f64, types.int64, types.int64, types.boolean)),
        ("fill", sk["fill"], (f64, types.float64)),
        ("expand", sk["expand"], (i32, i32)),
        ("histogram", sk["histogram"], (i32, i64)),
        ("scan_tiles", sk["scan_tiles"], (i64, i64, types.int64)),
        ("scan_serial", sk["scan_serial"], (i64,)),
        ("scan_apply", sk["scan_apply"], (i64, i64, i64, types.int64)),
        ("scatter_slots", sk["scatter_slots"], (i32, i64, i64, i64)),
        ("sort_buckets", sk["sort_buckets"], (i64, i64, i32, types.boolean, i64)),
        ("compact_sum", sk["compact_sum"], (i64, i64, i32, f64, i64, i32, f64)),
        ("gather", sk["gather"], (f64, i64, f64)),
    ]
    return out
