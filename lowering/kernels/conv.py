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
* ``rows-gemm`` (stride 1 along H, no depth kernel: the common 2-D case): unfold along W only
  (``C*KW`` rows, a third of im2col's volume for 3x3), then one GEMM per kernel row on a column
  range of that matrix (read in place by BLAS), summed into the output slice.
* ``im2col-gemm`` (the rest): blocks of images (or of output rows of one image) are unfolded
  into a column matrix of at most ``COLS_BYTES`` (it stays in cache; never one matrix for the
  whole batch) and ``np.matmul`` writes ``w_g @ cols`` straight into the output slice.
* ``direct``: a parallel direct loop per (image, output channel) plane, for few channels per
  group (depthwise and near: see DIRECT_CHANNELS) and for integers (exact: int64 accumulation,
  wrapping, cast back like the int-gemm of CONTRACT).  Its NumPy twin adds the same products
  in the same order.
* ``gemm-col2im`` (CONV_TRANSPOSE): a GEMM per block of images, then col2im.

The GEMM routines split the batch over worker threads (see :func:`_by_images`).  The NumPy
executor builds the same column matrices with NumPy and runs the same GEMMs, so both executors
give identical results.

Kernels are static module sources loaded through :func:`lowering.cache.get_kernel` on first
use (nothing compiles at import); their interfaces are plain arrays in, arrays out, so a CUDA
renderer can serve the same routines.
"""
from __future__ import annotations

import math
import os
import threading

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import cache as kcache

COLS_BYTES = 1 << 21        # an im2col block: 2 MiB, so the GEMM reads it from cache
# (input channels per group) x (output channels per group) at or below which the direct loop
# beats GEMMs (measured on 32x56x56 3x3 float32: depthwise 8 vs 210 ms, 2x4 44 vs 92, 4x4 38 vs 79;
# 3x16 8 vs 7, 4x64 40 vs 28): a GEMM with so few rows or columns runs far below the BLAS peak
DIRECT_CHANNELS = 32
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
        if root.dtype.kind not in "fc" or w.shape[1] * (w.shape[0] // groups) <= DIRECT_CHANNELS:
            return "direct"
        if all(k == 1 for k in w.shape[2:]) and set(stride) == {1} and not any(before + after):
            return "gemm-1x1"
        k3, s3 = as3d(w.shape[2:]), as3d(stride)
        if k3[0] == 1 and s3[1] == 1:
            return "rows-gemm"
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
U = np.uint64     # unsigned loop counters over slice views: no wraparound checks, so loops vectorise


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
    x: (B, C, D, H, W); cols: (B, C*KD*KH*KW, P), C-contiguous; ``p0`` and ``P`` are whole
    rows of the grid (multiples of its last dim).  One parallel task per (image, channel): its
    K rows read one input plane, which stays in cache."""
    B, C, D, H, W = x.shape
    P = cols.shape[2]
    kd, kh, kw = geom[0], geom[1], geom[2]
    sd, sh, sw = geom[3], geom[4], geom[5]
    pd, ph, pw = geom[6], geom[7], geom[8]
    dd, dh, dw = geom[9], geom[10], geom[11]
    oh, ow = geom[13], geom[14]
    K = kd * kh * kw
    r0 = p0 // ow
    r1 = r0 + P // ow
    zero = x.dtype.type(0)
    for t in prange(B * C):
        b = t // C
        c = t - b * C
        for k in range(K):
            i = k // (kh * kw)
            j = (k // kw) % kh
            l = k % kw
            row = cols[b, c * K + k]
            base = -pw + l * dw
            lo, hi = valid(base, sw, ow, W)
            q = 0
            z = r0 // oh
            y = r0 - z * oh - 1
            for _ in range(r1 - r0):
                y += 1              # (z, y) walks the grid rows without a division per row
                if y == oh:
                    y = 0
                    z += 1
                iz = z * sd - pd + i * dd
                iy = y * sh - ph + j * dh
                if iz < 0 or iz >= D or iy < 0 or iy >= H:
                    dst = row[q:q + ow]
                    for m in range(U(ow)):
                        dst[m] = zero
                else:
                    for m in range(q, q + lo):      # the padding: short runs at the ends
                        row[m] = zero
                    for m in range(q + hi, q + ow):
                        row[m] = zero
                    dst = row[q + lo:q + hi]
                    if sw == 1:
                        src = x[b, c, iz, iy, base + lo:base + hi]
                        for m in range(U(hi - lo)):
                            dst[m] = src[m]
                    else:
                        srcs = x[b, c, iz, iy, base + lo * sw:base + (hi - 1) * sw + 1:sw]
                        for m in range(U(hi - lo)):
                            dst[m] = srcs[m]
                q += ow
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
                    p = (z * oh + y) * ow
                    src = row[p + lo:p + hi]
                    if sw == 1:
                        dst = plane[iz, iy, base + lo:base + hi]
                        for m in range(U(hi - lo)):
                            dst[m] += src[m]
                    else:
                        dsts = plane[iz, iy, base + lo * sw:base + (hi - 1) * sw + 1:sw]
                        for m in range(U(hi - lo)):
                            dsts[m] += src[m]
''' + _RANGE

DIRECT_SOURCE = _HEADER.format(what="The direct convolution kernel") + '''def kernel(parallel, x, w, out, geom, groups, pad_in, acc):
    """``out[n, co] = sum over ci of the group, kernel offsets (i, j, l) of w[co, ci, i, j, l] *
    x[n, g*Cg + ci, shifted]`` (zeros outside x), accumulated in out's dtype in the order
    (ci, i, j, l).  x: (N, C, D, H, W); w: (C_out, Cg, KD, KH, KW); out: (N, C_out, OD, OH, OW),
    overwritten; all C-contiguous.  The (image, output channel) planes are shared among
    ``pad_in.shape[0]`` parallel chunks, each with its scratch rows ``pad_in[c]``, ``acc[c]``.

    Stride 1 (the common depthwise case): the input plane is copied into the zero-padded
    ``pad_in`` (the extent the grid reads), so each kernel offset is ONE long loop
    ``acc[p] += w * pad_in[p + offset]`` over the output laid out with the padded row stride
    (a few columns of waste per row); the valid part is then copied out.  Other strides: one
    loop per output row over its valid range, on x itself.  Loops index flat arrays with
    unsigned offsets, so they vectorise."""
    N, C, D, H, W = x.shape
    Cout, Cg, kd, kh, kw = w.shape
    OD, OH, OW = out.shape[2], out.shape[3], out.shape[4]
    sd, sh, sw = geom[3], geom[4], geom[5]
    pd, ph, pw = geom[6], geom[7], geom[8]
    dd, dh, dw = geom[9], geom[10], geom[11]
    cout_g = Cout // groups
    xf = x.reshape(x.size)
    of = out.reshape(out.size)
    plane_in = D * H * W
    plane_out = OD * OH * OW
    step = U(sw)
    zero = out.dtype.type(0)
    flat = sd == 1 and sh == 1 and sw == 1
    Dp = OD + (kd - 1) * dd
    Hp = OH + (kh - 1) * dh
    Wp = OW + (kw - 1) * dw
    span = ((OD - 1) * Hp + OH - 1) * Wp + OW
    chunks = pad_in.shape[0]
    T = N * Cout
    for c in prange(chunks):
        pin = pad_in[c]
        pac = acc[c]
        for t in range(c * T // chunks, (c + 1) * T // chunks):
            n = t // Cout
            co = t - n * Cout
            g = co // cout_g
            o0 = t * plane_out
            if flat:
                for m in range(U(span)):
                    pac[m] = zero
                for ci in range(Cg):
                    x0 = (n * C + g * Cg + ci) * plane_in
                    for m in range(U(Dp * Hp * Wp)):
                        pin[m] = zero
                    ncol = min(W, Wp - pw)
                    for a in range(min(D, Dp - pd)):
                        for e in range(min(H, Hp - ph)):
                            db = U(((a + pd) * Hp + e + ph) * Wp + pw)
                            sb = U(x0 + (a * H + e) * W)
                            for m in range(U(ncol)):
                                pin[db + m] = xf[sb + m]
                    for i in range(kd):
                        for j in range(kh):
                            for l in range(kw):
                                wv = w[co, ci, i, j, l]
                                off = U((i * dd * Hp + j * dh) * Wp + l * dw)
                                for m in range(U(span)):
                                    pac[m] += wv * pin[off + m]
                for z in range(OD):
                    for y in range(OH):
                        db = U(o0 + (z * OH + y) * OW)
                        sb = U((z * Hp + y) * Wp)
                        for m in range(U(OW)):
                            of[db + m] = pac[sb + m]
                continue
            ob0 = U(o0)
            for m in range(U(plane_out)):
                of[ob0 + m] = zero
            for ci in range(Cg):
                x0 = (n * C + g * Cg + ci) * plane_in
                for i in range(kd):
                    for j in range(kh):
                        for l in range(kw):
                            wv = w[co, ci, i, j, l]
                            base = -pw + l * dw
                            lo, hi = valid(base, sw, OW, W)
                            if hi <= lo:
                                continue
                            cnt = U(hi - lo)
                            for z in range(OD):
                                iz = z * sd - pd + i * dd
                                if iz < 0 or iz >= D:
                                    continue
                                for y in range(OH):
                                    iy = y * sh - ph + j * dh
                                    if iy < 0 or iy >= H:
                                        continue
                                    ob = U(o0 + (z * OH + y) * OW + lo)
                                    xb = U(x0 + (iz * H + iy) * W + base + lo * sw)
                                    for m in range(cnt):
                                        of[ob + m] += wv * xf[xb + m * step]
''' + _RANGE

# im2col and col2im run inside the image-parallel threads of :func:`_by_images` (beside BLAS),
# so they are serial loops: no second thread pool competes with those threads.
_SOURCES = {"im2col": (IM2COL_SOURCE.replace("parallel=True", "parallel=False"),
                       "conv im2col: (B, C, D, H, W) -> (B, C*K, P)"),
            "col2im": (COL2IM_SOURCE.replace("parallel=True", "parallel=False"),
                       "conv col2im: (B, C*K, L) -> (B, C, D, H, W)"),
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


# ---- dtypes and blocks


def _compute_dtype(dtype):
    """Floats compute in their own dtype; integers and bool in int64 (exact, wrapping)."""
    return dtype if dtype.kind in "fc" else _WIDE_INT


def _as(a, dtype):
    """``a`` as a C-contiguous, read-only array of ``dtype``.  Read-only always: Numba types a
    read-only array apart from a writeable one, so operands that are sometimes leaf buffers
    (read-only) and sometimes converted copies would compile every kernel twice."""
    a = a.astype(dtype, copy=False)
    if not a.flags.c_contiguous:
        a = np.ascontiguousarray(a)
    if a.flags.writeable:
        a = a.view()
        a.flags.writeable = False
    return a


def _finish(result, out):
    """Cast the int64 result back (wrapping as NumPy's loops do) unless it is ``out``."""
    if result is not out:
        if out.dtype == np.bool_:
            np.not_equal(result, 0, out=out)
        else:
            np.copyto(out, result, casting="unsafe")
    return out


def _block(rows, grid, row_len, n_images, itemsize):
    """(images per block, positions per block) so a column block holds about COLS_BYTES;
    positions come in whole rows of the output grid (``row_len`` each)."""
    per_image = rows * grid * itemsize
    if per_image <= COLS_BYTES:
        return max(1, min(n_images, COLS_BYTES // per_image)), grid
    row = rows * row_len * itemsize
    return 1, row_len * max(1, min(grid // row_len, COLS_BYTES // row))


# ---- image-parallel execution beside BLAS
#
# Alternating a Numba parallel region (im2col) with multi-threaded BLAS calls made the two
# thread pools fight over the cores (each spins after its work): the conv of the issue took
# 95-140 ms where its GEMMs alone took 60.  Instead the batch is split over worker threads,
# each running serial im2col/col2im and single-threaded BLAS on its own images (the kernels and
# np.matmul release the GIL): 77-82 ms, stable.  The BLAS limit needs threadpoolctl; without it
# the images run in one thread with BLAS's own threads.  The limit is process-wide while a
# convolution runs.  Each image's values do not depend on the split: OpenBLAS splits a GEMM
# over M and N among its threads, never over K.

_threads = {"pool": None, "pid": None, "controller": None, "workers": 0}
_threads_lock = threading.Lock()    # one limited section at a time: the limit is saved and restored


def _workers():
    if _threads["controller"] is None:
        try:
            import numba
            from threadpoolctl import ThreadpoolController
            _threads["controller"] = ThreadpoolController()
            _threads["workers"] = numba.get_num_threads()
        except ImportError:          # no threadpoolctl: one thread, BLAS threads
            _threads["controller"] = False
            _threads["workers"] = 1
    return _threads["workers"]


def _by_images(n, body):
    """``body(n0, n1)`` over image ranges covering ``range(n)``: on worker threads (one
    range each, BLAS single-threaded) when there are images enough, else in this thread."""
    workers = min(n, _workers())
    if workers < 2:
        body(0, n)
        return
    bounds = [n * i // workers for i in range(workers + 1)]
    with _threads_lock:
        if _threads["pool"] is None or _threads["pid"] != os.getpid():     # (a forked child has no threads)
            from concurrent.futures import ThreadPoolExecutor
            _threads["pool"] = ThreadPoolExecutor(_threads["workers"], thread_name_prefix="arrayforge-conv")
            _threads["pid"] = os.getpid()
        with _threads["controller"].limit(limits=1, user_api="blas"):
            for f in [_threads["pool"].submit(body, bounds[i], bounds[i + 1]) for i in range(workers)]:
                f.result()


def _im2col(executor):
    if executor == "numba":
        k = _kernel("im2col")
        return lambda x, cols, geom, p0: k(False, x, cols, geom, p0)
    return im2col_numpy


def _col2im(executor):
    if executor == "numba":
        k = _kernel("col2im")
        return lambda cols, x, geom: k(False, cols, x, geom)
    return col2im_numpy


# ---- the routines


def _direct(x5, w5, o5, geom, groups):
    """Run the direct kernel with its per-chunk scratch (4 chunks per thread, for balance)."""
    import numba
    OD, OH, OW = o5.shape[2:]
    kd, kh, kw = w5.shape[2:]
    dd, dh, dw = (int(v) for v in geom[9:12])
    chunks = max(1, min(o5.shape[0] * o5.shape[1], 4 * numba.get_num_threads()))
    flat = all(int(v) == 1 for v in geom[3:6])
    size = (OD + (kd - 1) * dd) * (OH + (kh - 1) * dh) * (OW + (kw - 1) * dw) if flat else 1
    pad_in = np.empty((chunks, size), o5.dtype)
    acc = np.empty((chunks, size), o5.dtype)
    _kernel("direct")(True, x5, w5, o5, geom, groups, pad_in, acc)


def run_conv(root, x, w, out, executor):
    stride, before, _after, dilation, groups = root.arg
    r = routine(root)
    ct = _compute_dtype(out.dtype)
    x5 = _five(_as(x, ct), x.shape[2:])
    w5 = _five(_as(w, ct), w.shape[2:])
    res = out if ct == out.dtype else np.empty(out.shape, ct)
    o5 = _five(res, out.shape[2:])
    geom = geometry(w.shape[2:], stride, before, dilation, out.shape[2:])
    if r == "direct":
        if executor == "numba":
            _direct(x5, w5, o5, geom, groups)
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
    if r == "gemm-1x1":            # BLAS alone: its own threads
        x3 = x5.reshape(N, C, L)
        for g in range(groups):
            np.matmul(wg[g], x3[:, g * Cg:(g + 1) * Cg], out=o3[:, g * cout_g:(g + 1) * cout_g])
        return _finish(res, out)
    if r == "rows-gemm":
        body = _rows_gemm(x5, w5, o5, stride, before, dilation, groups, _im2col(executor))
        _by_images(N, body)
        return _finish(res, out)
    im2col = _im2col(executor)
    rows = C * K

    def body(n_lo, n_hi):
        nb, P = _block(rows, L, out.shape[-1], n_hi - n_lo, res.itemsize)
        scratch = np.empty(nb * rows * P, ct)
        for n0 in range(n_lo, n_hi, nb):
            b = min(nb, n_hi - n0)
            for p0 in range(0, L, P):
                pp = min(P, L - p0)
                cols = scratch[:b * rows * pp].reshape(b, rows, pp)
                im2col(x5[n0:n0 + b], cols, geom, p0)
                for g in range(groups):
                    np.matmul(wg[g], cols[:, g * Cg * K:(g + 1) * Cg * K],
                              out=o3[n0:n0 + b, g * cout_g:(g + 1) * cout_g, p0:p0 + pp])

    _by_images(N, body)
    return _finish(res, out)


def _rows_gemm(x5, w5, o5, stride, before, dilation, groups, im2col):
    """The body (over a range of images) of the "rows-gemm" routine.

    Stride 1 along H and no depth kernel: unfold along W only into Q (``C*KW`` rows over
    the padded input rows: a third of im2col's volume for a 3x3 kernel), then for each kernel
    row ``i`` the GEMM ``w[:, :, i] (C_out, C*KW) @ Q[:, rows i*dh ...]``, a column range of Q
    that BLAS reads in place; the KH products are summed into the output slice.  Blocks of
    images, or of output rows (with their halo), keep Q within COLS_BYTES."""
    C = x5.shape[1]
    Cout, Cg, _, kh, kw = w5.shape
    cout_g = Cout // groups
    N, _, _, OH, OW = o5.shape
    s3, b3, d3 = as3d(stride), as3d(before, 0), as3d(dilation)
    dh = d3[1]
    halo = (kh - 1) * dh
    geom = geometry((1, 1, kw), (1, 1, s3[2]), (0, b3[1], b3[2]), (1, 1, d3[2]), (1, OH + halo, OW))
    o3 = o5.reshape(N, Cout, OH * OW)
    # (groups, KH, C_out/groups, Cg*KW): the weight of each kernel row as a GEMM operand
    wq = np.ascontiguousarray(w5[:, :, 0].reshape(groups, cout_g, Cg, kh, kw).transpose(0, 3, 1, 2, 4)
                              ).reshape(groups, kh, cout_g, Cg * kw)
    rows = C * kw
    row_bytes = rows * OW * o5.itemsize

    def body(n_lo, n_hi):
        if (OH + halo) * row_bytes <= COLS_BYTES:
            nb, R = max(1, min(n_hi - n_lo, COLS_BYTES // ((OH + halo) * row_bytes))), OH
        else:
            nb, R = 1, max(1, min(OH, COLS_BYTES // row_bytes - halo))
        scratch = np.empty(nb * rows * (R + halo) * OW, o5.dtype)
        tmp = np.empty(nb * cout_g * R * OW, o5.dtype) if kh > 1 else None
        for n0 in range(n_lo, n_hi, nb):
            b = min(nb, n_hi - n0)
            for y0 in range(0, OH, R):
                rr = min(R, OH - y0)
                span = (rr + halo) * OW
                q = scratch[:b * rows * span].reshape(b, rows, span)
                im2col(x5[n0:n0 + b], q, geom, y0 * OW)
                for g in range(groups):
                    dst = o3[n0:n0 + b, g * cout_g:(g + 1) * cout_g, y0 * OW:(y0 + rr) * OW]
                    qg = q[:, g * Cg * kw:(g + 1) * Cg * kw]
                    np.matmul(wq[g, 0], qg[:, :, :rr * OW], out=dst)
                    for i in range(1, kh):
                        t = tmp[:b * cout_g * rr * OW].reshape(b, cout_g, rr * OW)
                        np.matmul(wq[g, i], qg[:, :, i * dh * OW:(i * dh + rr) * OW], out=t)
                        dst += t

    return body


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
    col2im = _col2im(executor)

    def body(n_lo, n_hi):
        nb, _ = _block(rows, L, L, n_hi - n_lo, res.itemsize)
        scratch = np.empty(nb * rows * L, ct)
        for n0 in range(n_lo, n_hi, nb):
            b = min(nb, n_hi - n0)
            cols = scratch[:b * rows * L].reshape(b, rows, L)
            for g in range(groups):
                np.matmul(wt[g], x3[n0:n0 + b, g * cin_g:(g + 1) * cin_g],
                          out=cols[:, g * cout_g * K:(g + 1) * cout_g * K])
            col2im(_as(cols, ct), o5[n0:n0 + b], geom)      # (read-only: fold's signature)

    _by_images(N, body)
    return _finish(res, out)


def unfold_geometry(arg, spatial):
    """The geometry arguments (kernel, stride, pad, dilation, grid) of an UNFOLD or FOLD node
    with ``arg`` over the image size ``spatial``."""
    kernel, stride, pad, dilation = arg
    grid = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                 for n, k, s, p, d in zip(spatial, kernel, stride, pad, dilation))
    return kernel, stride, pad, dilation, grid


def run_unfold(root, x, out, executor):
    geom = geometry(*unfold_geometry(root.arg, x.shape[2:]))
    x5 = _five(_as(x, x.dtype), x.shape[2:])
    _im2col(executor)(x5, out, geom, 0)
    return out


def run_fold(root, cols, out, executor):
    geom = geometry(*unfold_geometry(root.arg, out.shape[2:]))
    o5 = _five(out, out.shape[2:])
    cols = _as(cols, cols.dtype)
    _col2im(executor if out.dtype != np.bool_ else "numpy")(cols, o5, geom)
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
        if variant in ("gemm-1x1", "gemm-col2im", "im2col-gemm", "rows-gemm") and root.dtype.kind in "fc":
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

    # every CONV node has a GPU kernel (complex dtypes are refused for devices as a whole)
    cuda_module = ".conv_cuda"

    def cuda_unsupported(self, op, arg, dtype, inputs):
        return None

    def cuda_describe(self, root):
        return "im2col-gemm" if routine(root) == "rows-gemm" else routine(root)


register(OpKind.CONV, Conv())
