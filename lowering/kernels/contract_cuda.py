"""The CONTRACT node on a CUDA device (the ``cuda_module`` of :class:`contract.Contract`).

The einsum-subscript :class:`contract.Contraction` maps onto :func:`cuda_gemm.gemm` as on the
CPU: each operand (a contiguous buffer, with a transposed view's letters in the buffer's
order: ``cuda_permuted_operands``) is viewed as ``(batch, M, K)`` or
``(batch, K, M)`` by a reshape when its letters are already grouped that way (the second is
a transposed operand: the GEMM's trans flag, no copy), else it is permuted into that order by
one device copy.  No free dims (``vecdot``, full contractions) is a batched dot; an output
order other than batch, M, N (never recorded by the front end) goes through a temporary.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from numba import cuda

from .. import cuda_runtime as rt
from . import cuda_gemm
from .contract import parse


def variant(root):
    """What runs ``root`` here: ``"dot"``, ``"cublas"`` or ``"tiled"`` (for ``explain()``)."""
    c = parse(root.arg)
    if not (c.m or c.n):
        return "dot"
    return cuda_gemm.routine(root.dtype)


def _sizes(c, a, b):
    return dict(zip(c.a, a.shape)) | dict(zip(c.b, b.shape))


def _permuted(x, letters, order):
    """``x`` (contiguous, dims named by ``letters``) with its dims in ``order``: a contiguous
    device array (the same buffer when the order is already right)."""
    if letters == order:
        return x
    perm = [letters.index(ch) for ch in order]
    strides = []
    acc = 1
    for n in reversed(x.shape):
        strides.append(acc)
        acc *= max(n, 1)
    strides = strides[::-1]
    src = rt.Operand(rt.flat(x), 0, tuple(strides[p] for p in perm), tuple(x.shape[p] for p in perm))
    return rt._run_copy(src, np.dtype(x.dtype))


def _grouped(x, letters, batch, first, second, sizes, keep):
    """``x`` as a 3-d ``(batch, first, second)`` array (each group merged), or as
    ``(batch, second, first)`` with True when that needs no copy.  A copy made is appended
    to ``keep``: the device pool takes a buffer back when the array it handed out is
    collected, and a reshaped view does not keep that array alive."""
    def shape3(g1, g2):
        return (math.prod(sizes[ch] for ch in batch), math.prod(sizes[ch] for ch in g1),
                math.prod(sizes[ch] for ch in g2))
    if letters == batch + second + first and letters != batch + first + second:
        return x.reshape(shape3(second, first)), True
    keep.append(_permuted(x, letters, batch + first + second))
    return keep[-1].reshape(shape3(first, second)), False


def _in_memory_order(operand, letters):
    """The contiguous array of an ``(array, axes)`` operand and its letters in memory order."""
    array, axes = operand
    return array, "".join(letters[axes.index(j)] for j in range(len(axes)))


def run(root, operands, out):
    c = parse(root.arg)
    if math.prod(out.shape) == 0:
        return out
    (a, la), (b, lb) = _in_memory_order(operands[0], c.a), _in_memory_order(operands[1], c.b)
    if c.conj_a:                # (vecdot of complex operands: conj(a) . b)
        a = conjugated(a)
    if c.conj_b:
        b = conjugated(b)
    c = dataclasses.replace(c, a=la, b=lb)
    sizes = _sizes(c, a, b)
    canonical = c.batch + c.m + c.n
    target = out
    if c.out != canonical:      # (the front end never records this; kept for completeness)
        target = rt.pool.empty(tuple(sizes[ch] for ch in canonical), out.dtype)
    nb = math.prod(sizes[ch] for ch in c.batch)
    if any(sizes[ch] == 0 for ch in c.k):         # nothing contracted: zeros
        cuda_gemm.fill_zero(target)
    elif not (c.m or c.n):
        kept = _permuted(a, c.a, c.batch + c.k), _permuted(b, c.b, c.batch + c.k)    # (see _grouped)
        A, B = (x.reshape((nb, math.prod(sizes[ch] for ch in c.k))) for x in kept)
        cuda_gemm.batched_dot(A, B, rt.flat(target))
    else:
        kept = []
        A, trans_a = _grouped(a, c.a, c.batch, c.m, c.k, sizes, kept)
        B, trans_b = _grouped(b, c.b, c.batch, c.k, c.n, sizes, kept)
        dst = target.reshape((nb, A.shape[1 + trans_a], B.shape[2 - trans_b]))
        cuda_gemm.gemm(A, B, dst, trans_a=trans_a, trans_b=trans_b)
    if target is not out:
        src = _permuted(target, canonical, c.out)
        rt.flat(out).copy_to_device(rt.flat(src))
    return out


_kernels = {}


def conjugated(x):
    """A conjugated copy of the contiguous device array ``x`` (a real array is returned as it
    is): one grid-stride kernel, coalesced."""
    if np.dtype(x.dtype).kind != "c":
        return x
    out = rt.pool.empty(tuple(x.shape), x.dtype)
    n = math.prod(x.shape)
    if n:
        kernel = _kernels.get("conj")
        if kernel is None:
            kernel = _kernels["conj"] = cuda.jit(_conj)
        blocks, threads = rt._launch_config(n)
        kernel[blocks, threads](rt.flat(x), rt.flat(out))
    return out


def _conj(src, dst):
    i = cuda.grid(1)
    step = cuda.gridsize(1)
    while i < src.shape[0]:
        dst[i] = src[i].conjugate()
        i += step
