"""The CORRELATE barrier (``arrayforge.signal``'s direct method) on a CUDA device.

As on the CPU (lowering.kernels.correlate): the operand ``a`` is extended by the node's pads into
a scratch array of the compute dtype (the PAD kernel of conv_cuda: ``fill`` is numpy.pad's
constant, ``wrap`` its wrap, ``symm`` its symmetric mode, periodic also when a pad exceeds the
size), then the valid correlation with the kernel ``w`` runs with no bounds tests: a thread per
output element, a block row per output row (the leading two dims of the 3-D view), its threads
along the contiguous last dim (coalesced reads and writes, the kernel's taps shared by the
warp), the taps summed in C order as the CPU does.  Integers and bool sum in int64 and wrap back
(bool: nonzero).  Ranks above 3 (of dims not of size 1) have no kernel (``cuda_unsupported``);
the FFT methods are EXTERN nodes, which refuse device arrays (``signal``'s ``method="auto"``
takes this direct kernel on a GPU whatever the size).
"""
from __future__ import annotations

import functools
import math

import numpy as np
from numba import cuda

from .. import cuda_runtime
from . import correlate as kc
from .conv_cuda import cast_to, grid_2d, pad

_PAD_MODE = {"fill": "constant", "wrap": "wrap", "symm": "symmetric"}


@functools.lru_cache(maxsize=None)
def correlate_kernel(acc_t, out_t):
    """``out[i] = sum_j w[j] * p[i + j]`` over 3-D arrays, j in C order (the valid correlation of
    the extended array ``p``, of dtype ``acc_t``, with the kernel ``w``)."""
    cast = cast_to(out_t)

    @cuda.jit
    def kernel(p, w, out):
        o0, o1, o2 = out.shape
        k0, k1, k2 = w.shape
        start = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        step = cuda.gridDim.x * cuda.blockDim.x
        row = cuda.blockIdx.y
        while row < o0 * o1:
            i0 = row // o1
            i1 = row - i0 * o1
            i2 = start
            while i2 < o2:
                acc = acc_t(0)
                for j0 in range(k0):
                    for j1 in range(k1):
                        for j2 in range(k2):
                            acc += acc_t(w[j0, j1, j2]) * p[i0 + j0, i1 + j1, i2 + j2]
                out[i0, i1, i2] = cast(acc)
                i2 += step
            row += cuda.gridDim.y

    return kernel


def _as3(a, keep):
    shape = tuple(a.shape[d] for d in keep)
    return a.reshape((1,) * (kc.MAX_RANK - len(shape)) + shape)


def run(root, operands, out):
    """The CUDA ``run`` of the CORRELATE barrier entry (see lowering.kernels)."""
    a, w = operands
    pads, boundary, (fill, _), _conj_a, _conj_w = root.arg     # (conjugation: complex, not on a GPU)
    shape = tuple(root.shape)
    if math.prod(shape) == 0:
        return out
    dtype = np.dtype(out.dtype)
    ct = kc.compute_dtype(dtype)
    if math.prod(w.shape) == 0:         # an empty sum (the front end records zeros instead)
        cuda_runtime.flat(out).copy_to_device(np.zeros(math.prod(shape), dtype))
        return out
    p = cuda_runtime.pool.empty(tuple(n + lo + hi for n, (lo, hi) in zip(a.shape, pads)), ct)
    pad(a, p, [lo for lo, _ in pads], _PAD_MODE[boundary], fill)
    keep = kc.kept_dims(p.shape, w.shape, shape)
    o3 = _as3(out, keep)
    blocks, threads = grid_2d(o3.shape[0] * o3.shape[1], o3.shape[2])
    correlate_kernel(ct.type, dtype.type)[blocks, threads](_as3(p, keep), _as3(w, keep), o3)
    return out


def compile_ptx(dtype, kernel_dtype=None, cc=(8, 0)):
    """PTX of the correlation kernel for an output of ``dtype`` (``kernel_dtype``: the kernel
    operand's, default the same)."""
    from numba.core import types
    from numba.np.numpy_support import from_dtype
    dtype = np.dtype(dtype)
    ct = kc.compute_dtype(dtype)

    def arr(dt):
        return types.Array(from_dtype(np.dtype(dt)), 3, "C")
    kernel = correlate_kernel(ct.type, dtype.type)
    return cuda.compile_ptx(kernel.py_func, (arr(ct), arr(kernel_dtype or dtype), arr(dtype)), cc=cc)
