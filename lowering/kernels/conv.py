"""Convolution kernels: the back end of the CONV node kind (``arrayforge.nn``).

Every op of the kind works on a canonical 3-D layout: the front end's 1-, 2- or 3-D
operands are seen as ``(N, C, D, H, W)`` by prepending unit spatial dims (a free reshape),
so one kernel per dtype serves conv1d, conv2d and conv3d.  A geometry is a small int64
array (kernel, stride, padding before, dilation, grid; 3 each): sizes are arguments, never
part of a kernel's key.  The ops and their ``arg`` (one int per spatial dim of the node):

* ``CONV (x, w)``, ``arg = (stride, pad_before, pad_after, dilation, groups)``: zero padding
  is done by the kernels (an out-of-range input reads as 0; nothing is copied).
* ``CONV_TRANSPOSE (x, w)``, ``arg = (stride, padding, dilation, groups)``: the adjoint of
  CONV: ``cols = w_g^T @ x_g`` (a GEMM), then col2im sums the columns into the output
  (cropped by ``padding``; ``output_padding`` is in the node's shape).
* ``UNFOLD (x)`` (im2col) and ``FOLD (cols)`` (col2im), ``arg = (kernel, stride, pad, dilation)``.
* ``PAD (x)``, ``arg = (pads, mode, value)``: ``np.pad`` (the front end's padding modes).

Routines, chosen per node by :func:`routine` from the channel counts and dtype:

* ``gemm-1x1``: a 1x1 kernel with stride 1 and no padding is a GEMM over channels,
  ``w_g (C_out_g, C_g) @ x_g (C_g, L)`` for all images at once (np.matmul, BLAS), no im2col.
* ``im2col-gemm``: blocks of images (or of output positions of one image) are unfolded into
  a column matrix of at most ``COLS_BYTES`` (so it stays in cache; never one matrix for the
  whole batch) by a parallel im2col kernel, and ``np.matmul`` writes ``w_g @ cols`` straight
  into the output slice.  The NumPy executor builds the same columns with NumPy and runs the
  same GEMMs, so both executors give identical results.
* ``direct``: a parallel direct loop per (image, output channel) plane, for few channels per
  group (depthwise and near) and for integers (exact: int64 accumulation, wrapping, cast back
  like the int-gemm of CONTRACT).  Its NumPy twin adds the same products in the same order.

Kernels are static module sources loaded through :func:`lowering.cache.get_kernel` on first
use (nothing compiles at import); their interfaces are plain arrays in, arrays out, so a CUDA
renderer can serve the same routines.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import cache as kcache

COLS_BYTES = 1 << 21        # an im2col block: 2 MiB, so the GEMM reads it from cache
DIRECT_CHANNELS = 4         # channels per group at or below which the direct loop wins
_WIDE_INT = np.dtype(np.int64)


# ---- geometry


def as3d(shape_spatial, fill=1):
    """Spatial dims padded in front to three."""
    return (fill,) * (3 - len(shape_spatial)) + tuple(shape_spatial)


def geometry(kernel, stride, pad, dilation, grid):
    """The int64 geometry array of the kernels (each argument: one int per spatial dim)."""
    return np.array(as3d(kernel) + as3d(stride) + as3d(pad, 0) + as3d(dilation) + as3d(grid),
                    dtype=np.int64)


def _five(a, spatial):
    """``a`` (N, C, *spatial) as (N, C, D, H, W): a view."""
    return a.reshape(a.shape[:2] + as3d(spatial))


def routine(root):
    """The routine computing node ``root``: "gemm-1x1", "im2col-gemm", "direct", "col2im",
    "im2col" or "pad" (see the module docstring)."""
    name = root.op.name
    if name == "CONV":
        stride, before, after, dilation, groups = root.arg
        x, w = root.inputs
        if root.dtype.kind not in "fc" or w.shape[1] <= DIRECT_CHANNELS:
            return "direct"
        if all(k == 1 for k in w.shape[2:]) and set(stride) == {1} and not any(before + after):
            return "gemm-1x1"
        return "im2col-gemm"
    return {"CONV_TRANSPOSE": "gemm-col2im", "UNFOLD": "im2col", "FOLD": "col2im", "PAD": "pad"}[name]


def work(root, operand_shapes):
    """Multiply-adds (or elements moved) of the node, for the executor policy."""
    name = root.op.name
    if name == "CONV":
        w = operand_shapes[1]
        return math.prod(root.shape) * math.prod(w[1:])
    if name == "CONV_TRANSPOSE":
        w = operand_shapes[1]
        return math.prod(operand_shapes[0]) * math.prod(w[1:])
    return max(math.prod(root.shape), math.prod(operand_shapes[0]))


# ---- the kernels (static module sources, compiled on first use)

_HEADER = '''# {what} of lowering.kernels.conv; do not edit.
import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True, nogil=True, boundscheck=False, error_model="numpy")
'''

_RANGE = '''
@njit(inline="always")
def valid(base, step, n, size):
    """The m in [lo, hi) with 0 <= base + m*step < size, clipped to [0, n)."""
    lo = 0
    if base < 0:
        lo = (-base + step - 1) // step
    hi = 0
    if size - base > 0:
        hi = (size - base + step - 1) // step
    if hi > n:
        hi = n
    if lo > hi:
        lo = hi
    return lo, hi
'''

IM2COL_SOURCE = _HEADER.format(what="The im2col kernel") + '''def kernel(parallel, x, cols, geom, p0):
    """``cols[b, (c, i, j, l), q] = x[b, c, z*sd - pd + i*dd, y*sh - ph + j*dh, o*sw - pw + l*dw]``
    for the output position ``p0 + q = (z, y, o)`` of the grid, 0 where that is outside ``x``.
    x: (B, C, D, H, W); cols: (B, C*KD*KH*KW, P), C-contiguous."""
    B, C, D, H, W = x.shape
    R = cols.shape[1]
    P = cols.shape[2]
    kd, kh, kw = geom[0], geom[1], geom[2]
    sd, sh, sw = geom[3], geom[4], geom[5]
    pd, ph, pw = geom[6], geom[7], geom[8]
    dd, dh, dw = geom[9], geom[10], geom[11]
    oh, ow = geom[13], geom[14]
    K = kd * kh * kw
    zero = x.dtype.type(0)
    for t in prange(B * R):
        b = t // R
        r = t - b * R
        c = r // K
        k = r - c * K
        i = k // (kh * kw)
        j = (k // kw) % kh
        l = k % kw
        row = cols[b, r]
        q = 0
        p = p0
        while q < P:
            z = p // (oh * ow)
            y = (p // ow) % oh
            o = p % ow
            n = min(ow - o, P - q)
            iz = z * sd - pd + i * dd
            iy = y * sh - ph + j * dh
            if iz < 0 or iz >= D or iy < 0 or iy >= H:
                for m in range(n):
                    row[q + m] = zero
            else:
                src = x[b, c, iz, iy]
                base = o * sw - pw + l * dw
                lo, hi = valid(base, sw, n, W)
                for m in range(lo):
                    row[q + m] = zero
                for m in range(lo, hi):
                    row[q + m] = src[base + m * sw]
                for m in range(hi, n):
                    row[q + m] = zero
            q += n
            p += n
''' + _RANGE

COL2IM_SOURCE = _HEADER.format(what="The col2im kernel") + '''def kernel(parallel, cols, x, geom):
    """The adjoint of im2col: ``x[b, c]`` = the sum of every column entry that im2col would
    read from it.  cols: (B, C*KD*KH*KW, L) over the grid ``geom[12:15]``; x: (B, C, D, H, W),
    overwritten.  One parallel task per (image, channel) plane: no two tasks write one element."""
    B, C, D, H, W = x.shape
    kd, kh, kw = geom[0], geom[1], geom[2]
    sd, sh, sw = geom[3], geom[4], geom[5]
    pd, ph, pw = geom[6], geom[7], geom[8]
    dd, dh, dw = geom[9], geom[10], geom[11]
    od, oh, ow = geom[12], geom[13], geom[14]
    K = kd * kh * kw
    zero = x.dtype.type(0)
    for t in prange(B * C):
        b = t // C
        c = t - b * C
        plane = x[b, c]
        for a in range(D):
            for e in range(H):
                for f in range(W):
                    plane[a, e, f] = zero
        for k in range(K):
            i = k // (kh * kw)
            j = (k // kw) % kh
            l = k % kw
            row = cols[b, c * K + k]
            base = -pw + l * dw
            lo, hi = valid(base, sw, ow, W)
            for z in range(od):
                iz = z * sd - pd + i * dd
                if iz < 0 or iz >= D:
                    continue
                for y in range(oh):
                    iy = y * sh - ph + j * dh
                    if iy < 0 or iy >= H:
                        continue
                    dst = plane[iz, iy]
                    p = (z * oh + y) * ow
                    for m in range(lo, hi):
                        dst[base + m * sw] += row[p + m]
''' + _RANGE

DIRECT_SOURCE = _HEADER.format(what="The direct convolution kernel") + '''def kernel(parallel, x, w, out, geom, groups):
    """``out[n, co] = sum over ci of the group, kernel offsets (i, j, l) of w[co, ci, i, j, l] *
    x[n, g*Cg + ci, shifted]`` (zeros outside x), accumulated in out's dtype in the order
    (ci, i, j, l).  x: (N, C, D, H, W); w: (C_out, Cg, KD, KH, KW); out: (N, C_out, OD, OH, OW),
    overwritten.  One parallel task per output plane."""
    N, C, D, H, W = x.shape
    Cout, Cg, kd, kh, kw = w.shape
    OD, OH, OW = out.shape[2], out.shape[3], out.shape[4]
    sd, sh, sw = geom[3], geom[4], geom[5]
    pd, ph, pw = geom[6], geom[7], geom[8]
    dd, dh, dw = geom[9], geom[10], geom[11]
    cout_g = Cout // groups
    zero = out.dtype.type(0)
    for t in prange(N * Cout):
        n = t // Cout
        co = t - n * Cout
        g = co // cout_g
        o = out[n, co]
        for a in range(OD):
            for e in range(OH):
                for f in range(OW):
                    o[a, e, f] = zero
        for ci in range(Cg):
            xc = x[n, g * Cg + ci]
            for i in range(kd):
                for j in range(kh):
                    for l in range(kw):
                        wv = w[co, ci, i, j, l]
                        base = -pw + l * dw
                        lo, hi = valid(base, sw, OW, W)
                        for z in range(OD):
                            iz = z * sd - pd + i * dd
                            if iz < 0 or iz >= D:
                                continue
                            for y in range(OH):
                                iy = y * sh - ph + j * dh
                                if iy < 0 or iy >= H:
                                    continue
                                src = xc[iz, iy]
                                dst = o[z, y]
                                for m in range(lo, hi):
                                    dst[m] += wv * src[base + m * sw]
''' + _RANGE

_SOURCES = {"im2col": (IM2COL_SOURCE, "conv im2col: (B, C, D, H, W) -> (B, C*K, P)"),
            "col2im": (COL2IM_SOURCE, "conv col2im: (B, C*K, L) -> (B, C, D, H, W)"),
            "direct": (DIRECT_SOURCE, "conv direct: (N, C, D, H, W) * (C_out, Cg, K...)")}


def _kernel(name):
    source, description = _SOURCES[name]
    return kcache.get_kernel(("conv", name), lambda: source, description)


# ---- the NumPy twins of the kernels (same values, same order of additions)


def im2col_numpy(x, cols, geom, p0):
    """NumPy's :data:`IM2COL_SOURCE`: fills ``cols`` (B, C*K, P) for positions ``p0..p0+P``."""
    B, C = x.shape[:2]
    kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw, od, oh, ow = (int(v) for v in geom)
    P = cols.shape[2]
    pads = []
    for n, k, s, p, d, o in ((x.shape[2], kd, sd, pd, dd, od), (x.shape[3], kh, sh, ph, dh, oh),
                             (x.shape[4], kw, sw, pw, dw, ow)):
        need = (o - 1) * s + (k - 1) * d + 1        # the extent the grid reads, from -p
        pads.append((p, max(0, need - p - n)))
    xp_ = np.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    win = sliding_window_view(xp_, ((kd - 1) * dd + 1, (kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(2, 3, 4))
    win = win[:, :, :(od - 1) * sd + 1:sd, :(oh - 1) * sh + 1:sh, :(ow - 1) * sw + 1:sw, ::dd, ::dh, ::dw]
    full = win.transpose(0, 1, 5, 6, 7, 2, 3, 4).reshape(B, C * kd * kh * kw, od * oh * ow)
    cols[...] = full[:, :, p0:p0 + P]


def col2im_numpy(cols, x, geom):
    """NumPy's :data:`COL2IM_SOURCE` (the kernel offsets in the same order)."""
    B, C, D, H, W = x.shape
    kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw, od, oh, ow = (int(v) for v in geom)
    K = kd * kh * kw
    lo = [min(0, -pd), min(0, -ph), min(0, -pw)]
    hi = [max(D, (od - 1) * sd - pd + (kd - 1) * dd + 1), max(H, (oh - 1) * sh - ph + (kh - 1) * dh + 1),
          max(W, (ow - 1) * sw - pw + (kw - 1) * dw + 1)]
    big = np.zeros((B, C) + tuple(h - l_ for l_, h in zip(lo, hi)), x.dtype)
    c5 = cols.reshape(B, C, K, od, oh, ow)
    for k in range(K):
        i, j, l = k // (kh * kw), (k // kw) % kh, k % kw
        z0, y0, o0 = i * dd - pd - lo[0], j * dh - ph - lo[1], l * dw - pw - lo[2]
        big[:, :, z0:z0 + (od - 1) * sd + 1:sd, y0:y0 + (oh - 1) * sh + 1:sh,
            o0:o0 + (ow - 1) * sw + 1:sw] += c5[:, :, k]
    x[...] = big[:, :, -lo[0]:-lo[0] + D, -lo[1]:-lo[1] + H, -lo[2]:-lo[2] + W]


def direct_numpy(x, w, out, geom, groups):
    """NumPy's :data:`DIRECT_SOURCE`: the same products, added in the same order."""
    N, C, D, H, W = x.shape
    Cout, Cg, kd, kh, kw = w.shape
    OD, OH, OW = out.shape[2:]
    sd, sh, sw, pd, ph, pw, dd, dh, dw = (int(v) for v in geom[3:12])
    cout_g = Cout // groups
    pads = []
    for n, k, s, p, d, o in ((D, kd, sd, pd, dd, OD), (H, kh, sh, ph, dh, OH), (W, kw, sw, pw, dw, OW)):
        pads.append((p, max(0, (o - 1) * s + (k - 1) * d + 1 - p - n)))
    xp_ = np.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    # x of output channel co's group, channel ci: (N, C_out, D', H', W')
    gather = np.arange(Cout) // cout_g * Cg
    out[...] = 0
    for ci in range(Cg):
        xc = xp_[:, gather + ci]
        for i in range(kd):
            for j in range(kh):
                for l in range(kw):
                    wv = w[:, ci, i, j, l].reshape(1, Cout, 1, 1, 1)
                    src = xc[:, :, i * dd:i * dd + (OD - 1) * sd + 1:sd, j * dh:j * dh + (OH - 1) * sh + 1:sh,
                             l * dw:l * dw + (OW - 1) * sw + 1:sw]
                    out += wv * src


# ---- the routines


def _compute_dtype(dtype):
    """Floats compute in their own dtype; integers and bool in int64 (exact, wrapping)."""
    return dtype if dtype.kind in "fc" else _WIDE_INT


def _as(a, dtype):
    a = a.astype(dtype, copy=False)
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _finish(result, out):
    """Cast the int64 result back (wrapping as NumPy's loops do) unless it is ``out``."""
    if result is not out:
        if out.dtype == np.bool_:
            np.not_equal(result, 0, out=out)
        else:
            np.copyto(out, result, casting="unsafe")
    return out


def _block(rows, grid, n_images, itemsize):
    """(images per block, positions per block) so a column block holds about COLS_BYTES."""
    per_image = rows * grid * itemsize
    if per_image <= COLS_BYTES:
        return max(1, min(n_images, COLS_BYTES // per_image)), grid
    return 1, max(1, min(grid, COLS_BYTES // (rows * itemsize)))


def run_conv(root, x, w, out, executor):
    stride, before, _after, dilation, groups = root.arg
    nd = len(stride)
    r = routine(root)
    ct = _compute_dtype(out.dtype)
    x5 = _five(_as(x, ct), x.shape[2:])
    w5 = _five(_as(w, ct), w.shape[2:])
    res = out if ct == out.dtype else np.empty(out.shape, ct)
    o5 = _five(res, out.shape[2:])
    geom = geometry(w.shape[2:], stride, before, dilation, out.shape[2:])
    if r == "direct":
        if executor == "numba":
            _kernel("direct")(True, x5, w5, o5, geom, groups)
        else:
            direct_numpy(x5, w5, o5, geom, groups)
        return _finish(res, out)
    N, C = x.shape[:2]
    Cout, Cg = w.shape[:2]
    cout_g = Cout // groups
    K = math.prod(w.shape[2:])
    L = math.prod(out.shape[2:])
    wg = w5.reshape(groups, cout_g, Cg * K)
    o3 = res.reshape(N, Cout, L)
    if r == "gemm-1x1":
        x3 = x5.reshape(N, C, L)
        for g in range(groups):
            np.matmul(wg[g], x3[:, g * Cg:(g + 1) * Cg], out=o3[:, g * cout_g:(g + 1) * cout_g])
        return _finish(res, out)
    rows = C * K
    nb, P = _block(rows, L, N, res.itemsize)
    scratch = np.empty(nb * rows * P, ct)
    im2col = _kernel("im2col") if executor == "numba" else None
    for n0 in range(0, N, nb):
        b = min(nb, N - n0)
        for p0 in range(0, L, P):
            pp = min(P, L - p0)
            cols = scratch[:b * rows * pp].reshape(b, rows, pp)
            if im2col is not None:
                im2col(True, x5[n0:n0 + b], cols, geom, p0)
            else:
                im2col_numpy(x5[n0:n0 + b], cols, geom, p0)
            for g in range(groups):
                np.matmul(wg[g], cols[:, g * Cg * K:(g + 1) * Cg * K],
                          out=o3[n0:n0 + b, g * cout_g:(g + 1) * cout_g, p0:p0 + pp])
    return _finish(res, out)


def run_conv_transpose(root, x, w, out, executor):
    """``out = col2im(w_g^T @ x_g)`` per block of images (the adjoint of :func:`run_conv`)."""
    stride, padding, dilation, groups = root.arg
    ct = _compute_dtype(out.dtype)
    N, Cin = x.shape[:2]
    cout_g = w.shape[1]
    Cout = cout_g * groups
    cin_g = Cin // groups
    K = math.prod(w.shape[2:])
    L = math.prod(x.shape[2:])
    x3 = _as(x, ct).reshape(N, Cin, L)
    # w (Cin, Cout_g, K) -> per group (Cout_g*K, Cin_g): the transposed weight
    wt = _as(w, ct).reshape(groups, cin_g, cout_g * K).transpose(0, 2, 1)
    res = out if ct == out.dtype else np.empty(out.shape, ct)
    o5 = _five(res, out.shape[2:])
    geom = geometry(w.shape[2:], stride, padding, dilation, x.shape[2:])
    rows = Cout * K
    nb, _ = _block(rows, L, N, res.itemsize)
    scratch = np.empty(nb * rows * L, ct)
    col2im = _kernel("col2im") if executor == "numba" else None
    for n0 in range(0, N, nb):
        b = min(nb, N - n0)
        cols = scratch[:b * rows * L].reshape(b, rows, L)
        for g in range(groups):
            np.matmul(wt[g], x3[n0:n0 + b, g * cin_g:(g + 1) * cin_g],
                      out=cols[:, g * cout_g * K:(g + 1) * cout_g * K])
        if col2im is not None:
            col2im(True, cols, o5[n0:n0 + b], geom)
        else:
            col2im_numpy(cols, o5[n0:n0 + b], geom)
    return _finish(res, out)


def run_unfold(root, x, out, executor):
    kernel, stride, pad, dilation = root.arg
    grid = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                 for n, k, s, p, d in zip(x.shape[2:], kernel, stride, pad, dilation))
    geom = geometry(kernel, stride, pad, dilation, grid)
    x5 = _five(np.ascontiguousarray(x), x.shape[2:])
    if executor == "numba":
        _kernel("im2col")(True, x5, out, geom, 0)
    else:
        im2col_numpy(x5, out, geom, 0)
    return out


def run_fold(root, cols, out, executor):
    kernel, stride, pad, dilation = root.arg
    grid = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                 for n, k, s, p, d in zip(out.shape[2:], kernel, stride, pad, dilation))
    geom = geometry(kernel, stride, pad, dilation, grid)
    o5 = _five(out, out.shape[2:])
    cols = np.ascontiguousarray(cols)
    if executor == "numba" and out.dtype != np.bool_:
        _kernel("col2im")(True, cols, o5, geom)
    else:
        col2im_numpy(cols, o5, geom)
    return out


def run_pad(root, x, out):
    pads, mode, value = root.arg
    if mode == "constant":
        out[...] = value
        out[tuple(slice(b, b + n) for (b, _), n in zip(pads, x.shape))] = x
    else:
        np.copyto(out, np.pad(x, pads, mode=mode))
    return out


# ---- the CONV entry of the barrier registry (lowering.kernels)

from ..ir import OpKind  # noqa: E402
from . import Barrier, register  # noqa: E402


class Conv(Barrier):
    name = "conv"

    def executor(self, root, operand_shapes, mode, policy):
        if root.op.name == "PAD":
            return "numpy"
        if mode != "auto":
            return mode
        return policy(work(root, operand_shapes))

    def describe(self, root, executor):
        variant = routine(root)
        backend = "cpu" if executor == "numba" else "numpy"
        if variant in ("gemm-1x1", "gemm-col2im", "im2col-gemm") and root.dtype.kind in "fc":
            backend = "blas" if variant == "gemm-1x1" else backend + "+blas"
        return backend, variant

    def run(self, root, operands, out, executor):
        name = root.op.name
        if out.size == 0:
            return out
        if name == "CONV":
            return run_conv(root, operands[0], operands[1], out, executor)
        if name == "CONV_TRANSPOSE":
            return run_conv_transpose(root, operands[0], operands[1], out, executor)
        if name == "UNFOLD":
            return run_unfold(root, operands[0], out, executor)
        if name == "FOLD":
            return run_fold(root, operands[0], out, executor)
        return run_pad(root, operands[0], out)


register(OpKind.CONV, Conv())
