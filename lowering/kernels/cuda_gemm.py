"""GEMM on a CUDA device: a tiled shared-memory Numba kernel, and cuBLAS (through CuPy) for
floating dtypes when CuPy is importable on a real GPU.

The device-neutral entry point is :func:`gemm`::

    gemm(a, b, out, *, trans_a=False, trans_b=False, accumulate=False)

on C-contiguous device arrays ``a`` (batch, M, K) (``(batch, K, M)`` when ``trans_a``),
``b`` (batch, K, N) (``(batch, N, K)`` when ``trans_b``) and ``out`` (batch, M, N).  A batch
of 1 on either side broadcasts.  ``accumulate`` adds the product to ``out`` (OR for bool).
Every dtype the namespace has on a GPU: float32/float64 accumulate in their own type (as
NumPy's BLAS does), integers in int64 (uint64 in uint64) and wrap exactly as the CPU's
int-gemm does (the product modulo 2**64 cast back), bool is OR of ANDs; complex types need
no change here (the accumulator is the output's type).

The tiled kernel (:func:`tiled_kernel`) computes a ``BM x BN`` output tile per block (a
grid-stride loop over tiles and batch, so any size fits the grid limits), streaming ``BK``
slices of ``a`` and ``b`` through shared memory; each thread holds a ``TM x TN`` register
block, its rows and columns strided by ``BM/TM`` and ``BN/TN`` so that a warp reads
consecutive shared-memory words (no bank conflicts) and writes consecutive output columns.
Loads from global memory are coalesced whichever way an operand is stored (the trans flags
choose which index runs fastest across threads), and every load and store is bounds-checked
(the edges of a tile read zeros).  Tile sizes are a per-target table (:data:`TILES`): the
simulator runs every thread as a Python thread and every ``syncthreads`` costs milliseconds,
so its tiles are tiny.

The kernels are compiled lazily, one per (accumulator, tile configuration, transposes, ...)
with Numba's dispatcher specialising the operand dtypes; importing this module imports
numba.cuda (it is imported on the first contraction on a device only).
"""
from __future__ import annotations

import functools
import math
import os

import numpy as np
from numba import cuda     # (a module global: the simulator swaps it inside kernels)

# (BM, BN, BK, TM, TN) per target: output tile BM x BN, K slice BK, TM x TN outputs per thread.
TILES = {"gpu": (64, 64, 16, 4, 4), "sim": (8, 8, 8, 4, 4)}
# Threads per block of the batched dot kernel (no free dims), per target.
DOT_BLOCK = {"gpu": 128, "sim": 4}
MAX_GRID = 65535        # (grid y and z limit; x goes further, but the loops stride anyway)

# Set ARRAYFORGE_CUBLAS=0 to use the tiled kernel for floating dtypes too (tests, comparisons).
_ENV_CUBLAS = "ARRAYFORGE_CUBLAS"


def _target():
    from .. import cuda_runtime
    return cuda_runtime.target()[0]


def accumulator(dtype):
    """The accumulator type of a GEMM into ``dtype`` (a NumPy scalar type)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "fc":
        return dtype.type
    return np.uint64 if dtype == np.uint64 else np.int64


# ---- the tiled kernel ---------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def tiled_kernel(acc, out_t, tiles, trans_a, trans_b, accumulate):
    """The tiled GEMM kernel for accumulator ``acc`` and output type ``out_t`` (NumPy scalar
    types), ``tiles`` = (BM, BN, BK, TM, TN), the operands' layouts and ``accumulate``.

    ``kernel(a, b, out, nbatch, m, n, k, a_step, b_step)``: ``a``, ``b``, ``out`` are 3-d
    C-contiguous arrays; ``a_step``/``b_step`` are 1, or 0 for a broadcast batch of one."""
    bm, bn, bk, tm, tn = tiles
    ty_n, tx_n = bm // tm, bn // tn         # threads along M and N
    threads = ty_n * tx_n
    a_loads = -(-bm * bk // threads)
    b_loads = -(-bk * bn // threads)
    to_bool = np.dtype(out_t) == np.bool_
    bm_pad, bn_pad = bm + 1, bn + 1         # (+1 column: the transposing stores hit distinct banks)

    @cuda.jit
    def kernel(a, b, out, nbatch, m, n, k, a_step, b_step):
        As = cuda.shared.array((bk, bm_pad), acc)
        Bs = cuda.shared.array((bk, bn_pad), acc)
        regs = cuda.local.array((tm, tn), acc)
        fa = cuda.local.array(tm, acc)
        fb = cuda.local.array(tn, acc)
        t = cuda.threadIdx.x
        ty = t // tx_n
        tx = t % tx_n
        tiles_m = (m + bm - 1) // bm
        tiles_n = (n + bn - 1) // bn
        p = cuda.blockIdx.z
        while p < nbatch:
            pa = p * a_step
            pb = p * b_step
            tiy = cuda.blockIdx.y
            while tiy < tiles_m:
                m0 = tiy * bm
                tix = cuda.blockIdx.x
                while tix < tiles_n:
                    n0 = tix * bn
                    for i in range(tm):
                        for j in range(tn):
                            regs[i, j] = acc(0)
                    for k0 in range(0, k, bk):
                        # the slices of a and b into shared memory, coalesced, zeros past the edges
                        for r in range(a_loads):
                            idx = t + r * threads
                            if idx < bm * bk:
                                if trans_a:         # a[p] is (k, m): threads run along m
                                    kk = idx // bm
                                    mm = idx - kk * bm
                                else:               # a[p] is (m, k): threads run along k
                                    mm = idx // bk
                                    kk = idx - mm * bk
                                gm = m0 + mm
                                gk = k0 + kk
                                v = acc(0)
                                if gm < m and gk < k:
                                    v = acc(a[pa, gk, gm]) if trans_a else acc(a[pa, gm, gk])
                                As[kk, mm] = v
                        for r in range(b_loads):
                            idx = t + r * threads
                            if idx < bk * bn:
                                if trans_b:         # b[p] is (n, k): threads run along k
                                    nn = idx // bk
                                    kk = idx - nn * bk
                                else:               # b[p] is (k, n): threads run along n
                                    kk = idx // bn
                                    nn = idx - kk * bn
                                gn = n0 + nn
                                gk = k0 + kk
                                v = acc(0)
                                if gn < n and gk < k:
                                    v = acc(b[pb, gn, gk]) if trans_b else acc(b[pb, gk, gn])
                                Bs[kk, nn] = v
                        cuda.syncthreads()
                        for kk in range(bk):
                            for i in range(tm):
                                fa[i] = As[kk, ty + i * ty_n]
                            for j in range(tn):
                                fb[j] = Bs[kk, tx + j * tx_n]
                            for i in range(tm):
                                for j in range(tn):
                                    regs[i, j] += fa[i] * fb[j]
                        cuda.syncthreads()
                    for i in range(tm):
                        gm = m0 + ty + i * ty_n
                        if gm < m:
                            for j in range(tn):
                                gn = n0 + tx + j * tx_n
                                if gn < n:
                                    if to_bool:
                                        v = regs[i, j] != 0
                                        if accumulate:
                                            v = v or out[p, gm, gn]
                                        out[p, gm, gn] = v
                                    elif accumulate:
                                        out[p, gm, gn] = out_t(acc(out[p, gm, gn]) + regs[i, j])
                                    else:
                                        out[p, gm, gn] = out_t(regs[i, j])
                    tix += cuda.gridDim.x
                tiy += cuda.gridDim.y
            p += cuda.gridDim.z

    kernel.threads = threads
    return kernel


@functools.lru_cache(maxsize=None)
def dot_kernel(acc, out_t, block):
    """``out[p] = sum_k a[p * a_step, k] * b[p * b_step, k]``: a block per output (grid-stride),
    each thread a strided part of k (coalesced), combined in a shared-memory tree."""
    to_bool = np.dtype(out_t) == np.bool_

    @cuda.jit
    def kernel(a, b, out, nbatch, k, a_step, b_step):
        sh = cuda.shared.array(block, acc)
        t = cuda.threadIdx.x
        p = cuda.blockIdx.x
        while p < nbatch:
            s = acc(0)
            j = t
            while j < k:
                s += acc(a[p * a_step, j]) * acc(b[p * b_step, j])
                j += block
            sh[t] = s
            cuda.syncthreads()
            h = block // 2
            while h >= 1:
                if t < h:
                    sh[t] += sh[t + h]
                cuda.syncthreads()
                h //= 2
            if t == 0:
                if to_bool:
                    out[p] = sh[0] != 0
                else:
                    out[p] = out_t(sh[0])
            cuda.syncthreads()          # (sh is reused by the next output)
            p += cuda.gridDim.x

    return kernel


# ---- cuBLAS through CuPy --------------------------------------------------------------------

def cublas_available():
    """Is the cuBLAS path usable (CuPy importable, a real GPU, not switched off)?"""
    return _cupy() is not None


@functools.lru_cache(maxsize=1)
def _cupy_module():
    try:
        import cupy
        return cupy
    except Exception:       # ImportError, or a CuPy without its CUDA libraries
        return None


def _cupy():
    if os.environ.get(_ENV_CUBLAS, "1") == "0" or _target() != "gpu":
        return None
    return _cupy_module()


def routine(dtype):
    """``"cublas"`` or ``"tiled"``: what :func:`gemm` runs for output ``dtype`` here."""
    return "cublas" if np.dtype(dtype).kind in "fc" and cublas_available() else "tiled"


def _cublas(a, b, out, trans_a, trans_b, accumulate):
    cp = _cupy()
    with cp.cuda.Stream.null:       # Numba launches on the legacy default stream: same order
        A, B, C = cp.asarray(a), cp.asarray(b), cp.asarray(out)     # zero-copy (__cuda_array_interface__)
        if trans_a:
            A = A.transpose(0, 2, 1)
        if trans_b:
            B = B.transpose(0, 2, 1)
        if accumulate:
            C += cp.matmul(A, B)
        else:
            cp.matmul(A, B, out=C)


# ---- the entry point ------------------------------------------------------------------------

def _shape3(x, name):
    if len(x.shape) != 3:
        raise ValueError(f"gemm: {name} must be 3-d (batch, rows, cols), got shape {x.shape}")
    return x.shape


def gemm(a, b, out, *, trans_a=False, trans_b=False, accumulate=False, variant=None):
    """``out[p] (+)= op(a[p]) @ op(b[p])`` on C-contiguous device arrays (see the module
    docstring); ``variant`` forces ``"tiled"`` or ``"cublas"`` (default: :func:`routine`).
    Returns ``out``."""
    ba, *am = _shape3(a, "a")
    bb, *bm_ = _shape3(b, "b")
    nbatch, m, n = _shape3(out, "out")
    ma, ka = am[::-1] if trans_a else am
    kb, nb_ = bm_[::-1] if trans_b else bm_
    if (ma, nb_) != (m, n) or ka != kb or ba not in (1, nbatch) or bb not in (1, nbatch):
        raise ValueError(f"gemm: shapes a {a.shape} (trans_a={trans_a}), b {b.shape} (trans_b={trans_b}) "
                         f"do not give out {out.shape}")
    k = ka
    if out.size == 0:
        return out
    if k == 0:
        if not accumulate:
            fill_zero(out)
        return out
    variant = variant or routine(out.dtype)
    if variant == "cublas":
        _cublas(a, b, out, trans_a, trans_b, accumulate)
        return out
    if nbatch == 1 and not accumulate and n == 1 and not trans_a:       # GEMV: a dot per row
        return _gemv(a.reshape((m, k)), b.reshape((1, k)), out)
    if nbatch == 1 and not accumulate and m == 1 and trans_b:           # a row times b^T: the same
        return _gemv(b.reshape((n, k)), a.reshape((1, k)), out)
    tgt = _target()
    tiles = TILES[tgt]
    kernel = tiled_kernel(accumulator(out.dtype), np.dtype(out.dtype).type, tiles,
                          bool(trans_a), bool(trans_b), bool(accumulate))
    bm, bn = tiles[0], tiles[1]
    grid = (min(-(-n // bn), MAX_GRID), min(-(-m // bm), MAX_GRID), min(nbatch, MAX_GRID))
    if tgt == "sim":            # (a simulated block costs ~0.1 s: few blocks, grid-striding)
        grid = tuple(min(g, 2) for g in grid)
    kernel[grid, kernel.threads](a, b, out, np.int64(nbatch), np.int64(m), np.int64(n), np.int64(k),
                                 np.int64(ba != 1), np.int64(bb != 1))
    return out


def _gemv(rows, vec, out):
    batched_dot(rows, vec, out.reshape((rows.shape[0],)))
    return out


def batched_dot(a, b, out):
    """``out[p] = sum(a[p] * b[p])`` for C-contiguous device arrays ``a`` (batch, K) and ``b``
    (batch, K) (a batch of 1 broadcasts) into ``out`` (batch,); returns ``out``."""
    nbatch = out.shape[0]
    k = a.shape[1]
    if a.shape[0] not in (1, nbatch) or b.shape[0] not in (1, nbatch) or b.shape[1] != k:
        raise ValueError(f"batched_dot: shapes {a.shape} and {b.shape} do not give {out.shape}")
    if nbatch == 0:
        return out
    if k == 0:
        fill_zero(out)
        return out
    tgt = _target()
    block = DOT_BLOCK[tgt]
    kernel = dot_kernel(accumulator(out.dtype), np.dtype(out.dtype).type, block)
    blocks = min(nbatch, 2 if tgt == "sim" else 32 * _sm_count())
    kernel[blocks, block](a, b, out, np.int64(nbatch), np.int64(k), np.int64(a.shape[0] != 1),
                          np.int64(b.shape[0] != 1))
    return out


@functools.lru_cache(maxsize=1)
def _sm_count():
    return cuda.get_current_device().MULTIPROCESSOR_COUNT


def fill_zero(out):
    """Zeros into the contiguous device array ``out`` (an empty contraction)."""
    from .. import cuda_runtime
    flat = cuda_runtime.flat(out)
    n = math.prod(out.shape)
    flat.copy_to_device(np.zeros(n, np.dtype(out.dtype)))


def compile_ptx(dtype, trans_a=False, trans_b=False, accumulate=False, cc=(8, 0), kind="gemm"):
    """PTX of the GPU configuration of the tiled GEMM (``kind="gemm"``) or the batched dot
    (``"dot"``) for operands and output of ``dtype`` (no GPU needed; numba-cuda[cu12])."""
    from numba.core import types
    from numba.np.numpy_support import from_dtype
    dtype = np.dtype(dtype)
    acc, out_t = accumulator(dtype), dtype.type
    if kind == "dot":
        kernel = dot_kernel(acc, out_t, DOT_BLOCK["gpu"])
        arr2, arr1 = types.Array(from_dtype(dtype), 2, "C"), types.Array(from_dtype(dtype), 1, "C")
        sig = (arr2, arr2, arr1) + (types.int64,) * 4
    else:
        kernel = tiled_kernel(acc, out_t, TILES["gpu"], trans_a, trans_b, accumulate)
        arr = types.Array(from_dtype(dtype), 3, "C")
        sig = (arr, arr, arr) + (types.int64,) * 6
    return cuda.compile_ptx(kernel.py_func, sig, cc=cc)
