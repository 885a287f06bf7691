"""The CONV barrier on a CUDA device: im2col, col2im, direct, pad kernels and the GEMM.

``run(root, operands, out)`` (the entry's ``cuda_module``) computes one CONV, CONV_TRANSPOSE,
UNFOLD, FOLD or PAD node on C-contiguous device arrays.  The routines are the CPU's
(:func:`lowering.kernels.conv.routine`), on the canonical ``(N, C, D, H, W)`` layout:

* ``gemm-1x1``: ``w (C_out, C) @ x_n (C, L)`` for all images in one batched GEMM
  (:func:`lowering.kernels.cuda_gemm.gemm`; per image, batched over the groups, when grouped);
* ``im2col-gemm`` and ``rows-gemm``: the im2col kernel writes the column matrix of a chunk of
  images (at most :data:`COLS_BYTES`, at least one image), then the GEMM writes the output;
* ``direct`` (few channels per group, depthwise, integers): a thread per output element; a
  block per (image, output channel) plane holds that channel's filter in shared memory, its
  threads run along the output's last dim (coalesced), sums in the CPU's order (ci, i, j, l),
  integers in int64 and wrapped back;
* ``gemm-col2im`` (CONV_TRANSPOSE): ``cols = w_g^T @ x_g`` (the GEMM with ``trans_a``), then
  the col2im kernel: each output element *gathers* the column entries that land on it (no
  atomics: deterministic, each output written once, in the CPU's order of kernel offsets);
* UNFOLD / FOLD are the im2col / col2im kernels alone; PAD a thread per output element mapping
  its index into the input (constant, edge, reflect, wrap, symmetric: ``numpy.pad``'s modes).

Every kernel strides over a 2-D grid: ``blockIdx.y`` walks rows (planes), the x threads walk
positions inside a row with a mixed-radix counter (no division per element), and every read
is bounds-checked (out-of-range taps read zero).  The kernels are built on first use per
(accumulator, output type) by small factories; importing this module imports numba.cuda.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from numba import cuda

from .. import cuda_runtime
from . import conv as kconv
from .cuda_gemm import gemm

THREADS = {"gpu": 256, "sim": 16}       # threads per block
ROW_BLOCKS = {"gpu": 65535, "sim": 2}   # grid y (rows) at most; the simulator runs few blocks
COLS_BYTES = 1 << 28                    # the column matrix of one GEMM chunk (>= one image)
FILTER_SHARED = 1024                    # weights per output channel the direct kernel keeps in shared memory
PAD_MODES = {"constant": 0, "edge": 1, "reflect": 2, "wrap": 3, "symmetric": 4}


def _target():
    return cuda_runtime.target()[0]


def grid_2d(rows, span):
    """(blocks, threads) for ``rows`` rows of ``span`` positions each."""
    tgt = _target()
    threads = THREADS[tgt]
    if tgt == "sim":
        return (1, max(1, min(rows, ROW_BLOCKS[tgt]))), threads
    threads = min(threads, max(32, -(-span // 32) * 32))
    sms = cuda_runtime.cuda().get_current_device().MULTIPROCESSOR_COUNT
    gy = max(1, min(rows, ROW_BLOCKS[tgt]))
    gx = max(1, min(-(-span // threads), (sms * 32) // gy))     # long rows: several blocks per row
    return (gx, gy), threads


def accumulator(dtype):
    """Floats sum in their own type, integers and bool in int64 (wrapping, as the CPU)."""
    dtype = np.dtype(dtype)
    return dtype.type if dtype.kind == "f" else np.int64


# ---- device helpers ------------------------------------------------------------------------

@cuda.jit(device=True, inline=True)
def radix_start(s, d1, d2):
    """``s`` as digits (z, y, o) of the mixed radix (., d1, d2)."""
    t = s // d2
    return t // d1, t - (t // d1) * d1, s - t * d2


@cuda.jit(device=True, inline=True)
def radix_step(z, y, o, sz, sy, so, d1, d2):
    """(z, y, o) + (sz, sy, so) in the mixed radix (., d1, d2); sy < d1, so < d2."""
    o += so
    y += sy
    z += sz
    if o >= d2:
        o -= d2
        y += 1
    if y >= d1:
        y -= d1
        z += 1
    return z, y, o


@cuda.jit(device=True, inline=True)
def source_index(i, n, mode):
    """Where output index ``i`` (-inf, inf) of a padded dim of size ``n`` reads: -1 for the
    constant; else ``numpy.pad``'s edge / reflect / wrap / symmetric extension."""
    if 0 <= i < n:
        return i
    if mode == 0:
        return -1
    if mode == 1:
        return 0 if i < 0 else n - 1
    if mode == 2:
        if n == 1:
            return 0
        m = i % (2 * n - 2)
        return 2 * n - 2 - m if m >= n else m
    if mode == 3:
        return i % n
    m = i % (2 * n)
    return 2 * n - 1 - m if m >= n else m


@cuda.jit(device=True, inline=True)
def first_tap(r, s, d):
    """(first, step) of the kernel offsets t worth visiting for the output index ``r`` (padded)
    along a dim of stride ``s`` and dilation ``d``: with d == 1 only the t with r - t
    divisible by s (no test per offset); else all of them (tap_source tests each)."""
    if d == 1 and s != 1:
        return r % s, s
    return 0, 1


@cuda.jit(device=True, inline=True)
def tap_source(rr, s, d, n):
    """The grid position whose window puts offset ``rr`` (= r - t*d) on this output index:
    ``rr / s`` when that is a whole number in [0, n), else -1."""
    if rr < 0:
        return -1
    q = rr
    if s != 1:
        q = rr // s
        if d != 1 and q * s != rr:
            return -1
    return q if q < n else -1


@functools.lru_cache(maxsize=None)
def cast_to(out_t):
    """The device function storing an accumulator as ``out_t``: wrapped to an integer's width
    (the CPU's cast back from int64), bool as nonzero."""
    if np.dtype(out_t) == np.bool_:
        @cuda.jit(device=True, inline=True)
        def cast(acc):
            return acc != 0
    else:
        @cuda.jit(device=True, inline=True)
        def cast(acc):
            return out_t(acc)
    return cast


# ---- kernels -------------------------------------------------------------------------------

@cuda.jit
def im2col_kernel(x, cols, g):
    """``cols[b, (c, i, j, l), (z, y, o)] = x[b, c, z*sd - pd + i*dd, y*sh - ph + j*dh,
    o*sw - pw + l*dw]`` (0 outside x).  x (B, C, D, H, W), cols (B, C*K, P), ``g`` the
    geometry tuple of lowering.kernels.conv.geometry.  A block row per (b, c, k) row of cols,
    its threads along the positions (coalesced writes)."""
    B, C, D, H, W = x.shape
    kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw, od, oh, ow = g
    K = kd * kh * kw
    R = C * K
    P = cols.shape[2]
    start = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    step = cuda.gridDim.x * cuda.blockDim.x
    sz, sy, so = radix_start(step, oh, ow)
    z0, y0, o0 = radix_start(start, oh, ow)
    row = cuda.blockIdx.y
    while row < B * R:
        b = row // R
        r = row - b * R
        c = r // K
        k = r - c * K
        i = k // (kh * kw)
        j = (k // kw) % kh
        l = k % kw
        zb = i * dd - pd
        yb = j * dh - ph
        xb = l * dw - pw
        z, y, o = z0, y0, o0
        q = start
        while q < P:
            iz = z * sd + zb
            iy = y * sh + yb
            ix = o * sw + xb
            if 0 <= iz < D and 0 <= iy < H and 0 <= ix < W:
                cols[b, r, q] = x[b, c, iz, iy, ix]
            else:
                cols[b, r, q] = 0
            q += step
            z, y, o = radix_step(z, y, o, sz, sy, so, oh, ow)
        row += cuda.gridDim.y


@functools.lru_cache(maxsize=None)
def col2im_kernel(acc_t, out_t):
    """``x[b, c, a, e, f]`` = the sum of the column entries im2col would read from it, each
    output element gathering its own (no atomics), kernel offsets in C order as the CPU.
    cols (B, C*K, L) over the grid ``g[12:15]``; x (B, C, D, H, W), overwritten."""
    cast = cast_to(out_t)

    @cuda.jit
    def kernel(cols, x, g):
        B, C, D, H, W = x.shape
        kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw, od, oh, ow = g
        K = kd * kh * kw
        S = D * H * W
        start = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        step = cuda.gridDim.x * cuda.blockDim.x
        sa, se, sf = radix_start(step, H, W)
        a0, e0, f0 = radix_start(start, H, W)
        row = cuda.blockIdx.y
        while row < B * C:
            b = row // C
            c = row - b * C
            a, e, f = a0, e0, f0
            q = start
            while q < S:
                acc = acc_t(0)
                i0, di = first_tap(a + pd, sd, dd)
                j0, dj = first_tap(e + ph, sh, dh)
                l0, dl = first_tap(f + pw, sw, dw)
                for i in range(i0, kd, di):
                    z = tap_source(a + pd - i * dd, sd, dd, od)
                    if z < 0:
                        continue
                    for j in range(j0, kh, dj):
                        y = tap_source(e + ph - j * dh, sh, dh, oh)
                        if y < 0:
                            continue
                        for l in range(l0, kw, dl):
                            o = tap_source(f + pw - l * dw, sw, dw, ow)
                            if o < 0:
                                continue
                            acc += acc_t(cols[b, c * K + (i * kh + j) * kw + l, (z * oh + y) * ow + o])
                x[b, c, a, e, f] = cast(acc)
                q += step
                a, e, f = radix_step(a, e, f, sa, se, sf, H, W)
            row += cuda.gridDim.y

    return kernel


@functools.lru_cache(maxsize=None)
def direct_kernel(acc_t, out_t, shared_w):
    """The direct convolution: ``out[n, co] = sum over ci of the group, offsets (i, j, l) of
    w[co, ci*K + (i, j, l)] * x[n, g*Cg + ci, shifted]`` (zeros outside x), summed in that order.
    A block row per (image, output channel) plane, its filter in shared memory (``shared_w``:
    it fits in FILTER_SHARED), threads along the plane's positions.  x (N, C, D, H, W),
    w (C_out, Cg*K), out (N, C_out, OD, OH, OW)."""
    cast = cast_to(out_t)
    nshared = FILTER_SHARED if shared_w else 1

    @cuda.jit
    def kernel(x, w, out, g, groups):
        N, C, D, H, W = x.shape
        Cout = out.shape[1]
        OD, OH, OW = out.shape[2], out.shape[3], out.shape[4]
        kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw, _od, _oh, _ow = g
        K = kd * kh * kw
        F = w.shape[1]
        Cg = F // K
        cout_g = Cout // groups
        S = OD * OH * OW
        ws = cuda.shared.array(nshared, acc_t)
        start = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        step = cuda.gridDim.x * cuda.blockDim.x
        sz, sy, so = radix_start(step, OH, OW)
        z0, y0, o0 = radix_start(start, OH, OW)
        plane = cuda.blockIdx.y
        while plane < N * Cout:
            n = plane // Cout
            co = plane - n * Cout
            c0 = (co // cout_g) * Cg
            if shared_w:
                cuda.syncthreads()              # (the previous plane's readers are done)
                t = cuda.threadIdx.x
                while t < F:
                    ws[t] = acc_t(w[co, t])
                    t += cuda.blockDim.x
                cuda.syncthreads()
            z, y, o = z0, y0, o0
            q = start
            while q < S:
                acc = acc_t(0)
                for ci in range(Cg):
                    for i in range(kd):
                        iz = z * sd - pd + i * dd
                        if iz < 0 or iz >= D:
                            continue
                        for j in range(kh):
                            iy = y * sh - ph + j * dh
                            if iy < 0 or iy >= H:
                                continue
                            for l in range(kw):
                                ix = o * sw - pw + l * dw
                                if ix < 0 or ix >= W:
                                    continue
                                f = (ci * kd + i) * kh * kw + j * kw + l
                                wv = ws[f] if shared_w else acc_t(w[co, f])
                                acc += wv * acc_t(x[n, c0 + ci, iz, iy, ix])
                out[n, co, z, y, o] = cast(acc)
                q += step
                z, y, o = radix_step(z, y, o, sz, sy, so, OH, OW)
            plane += cuda.gridDim.y

    return kernel


@functools.lru_cache(maxsize=None)
def pad_kernel(mode, out_t):
    """``out`` (flat, of shape ``oshape``) = the flat input ``x`` of shape ``ishape`` padded by
    ``before`` in front of each dim, ``mode`` a PAD_MODES value (``value`` for the constant),
    converted to ``out_t`` (the CORRELATE kernel extends its operand with it)."""
    @cuda.jit
    def kernel(x, out, ishape, oshape, before, value):
        rank = len(ishape)
        n = out.shape[0]
        e = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        while e < n:
            rem = e
            src = 0
            mul = 1
            inside = True
            for k in range(rank):
                d = rank - 1 - k
                m = oshape[d]
                q = rem % m
                rem = rem // m
                i = source_index(q - before[d], ishape[d], mode)
                if i < 0:
                    inside = False
                src += i * mul
                mul *= ishape[d]
            if inside:
                out[e] = out_t(x[src])
            else:
                out[e] = value
            e += cuda.gridDim.x * cuda.blockDim.x

    return kernel


# ---- the routines --------------------------------------------------------------------------

def _five(a, spatial):
    return a.reshape(tuple(a.shape[:2]) + kconv.as3d(tuple(spatial)))


def _geom(*args):
    return tuple(int(v) for v in kconv.geometry(*args))


def im2col(x5, cols, geom):
    if cols.size:
        blocks, threads = grid_2d(cols.shape[0] * cols.shape[1], cols.shape[2])
        im2col_kernel[blocks, threads](x5, cols, geom)


def col2im(cols, x5, geom):
    dtype = np.dtype(x5.dtype)
    if x5.size:
        blocks, threads = grid_2d(x5.shape[0] * x5.shape[1], math.prod(x5.shape[2:]))
        col2im_kernel(accumulator(dtype), dtype.type)[blocks, threads](cols, x5, geom)


def direct(x5, w2, o5, geom, groups):
    dtype = np.dtype(o5.dtype)
    kernel = direct_kernel(accumulator(dtype), dtype.type, w2.shape[1] <= FILTER_SHARED)
    blocks, threads = grid_2d(o5.shape[0] * o5.shape[1], math.prod(o5.shape[2:]))
    kernel[blocks, threads](x5, w2, o5, geom, np.int64(groups))


def pad(x, out, before, mode, value):
    """``out`` = ``x`` padded (``before`` per dim; ``out``'s shape gives the after), both
    contiguous device arrays; ``mode`` a numpy.pad mode name."""
    n = math.prod(out.shape)
    if n == 0:
        return out
    dtype = np.dtype(out.dtype)
    kernel = pad_kernel(PAD_MODES[mode], dtype.type)
    blocks, threads = cuda_runtime._launch_config(n)
    xf = cuda_runtime.flat(x) if math.prod(x.shape) else cuda_runtime.pool.empty((1,), x.dtype)
    kernel[blocks, threads](xf, cuda_runtime.flat(out), tuple(int(v) for v in x.shape),
                            tuple(int(v) for v in out.shape), tuple(int(v) for v in before),
                            dtype.type(value))
    return out


def _grouped_gemm(a, b, out, groups, trans_a=False):
    """``out[n] = a_g @ b[n]_g`` per group g (the channel blocks of ``b``'s and ``out``'s dim 1):
    ``a`` (groups * M, K) (``(groups * K, M)`` when ``trans_a``), ``b`` (nb, groups * K, L),
    ``out`` (nb, groups * M, L).  One batched GEMM over the images when ungrouped, else one
    per image batched over the groups (each output slice then is contiguous)."""
    nb, _, L = b.shape
    rows = out.shape[1] // groups
    inner = b.shape[1] // groups
    a3 = a.reshape((groups,) + ((inner, rows) if trans_a else (rows, inner)))
    if groups == 1:
        gemm(a3, b, out, trans_a=trans_a)
        return
    for n in range(nb):
        gemm(a3, b[n].reshape((groups, inner, L)), out[n].reshape((groups, rows, L)), trans_a=trans_a)


def _chunk(n, rows, span, itemsize):
    """Images per column-matrix chunk: at most COLS_BYTES, at least one image."""
    return max(1, min(n, COLS_BYTES // max(1, rows * span * itemsize)))


def run_conv(root, x, w, out):
    stride, before, _after, dilation, groups = root.arg
    N, C = x.shape[:2]
    Cout = w.shape[0]
    K = math.prod(w.shape[2:])
    L = math.prod(out.shape[2:])
    x5 = _five(x, x.shape[2:])
    o5 = _five(out, out.shape[2:])
    w2 = w.reshape((Cout, math.prod(w.shape[1:])))
    geom = _geom(w.shape[2:], stride, before, dilation, out.shape[2:])
    r = kconv.routine(root)
    if r == "direct":
        direct(x5, w2, o5, geom, groups)
        return out
    o3 = out.reshape((N, Cout, L))
    if r == "gemm-1x1":
        _grouped_gemm(w2, x.reshape((N, C, L)), o3, groups)
        return out
    nb = _chunk(N, C * K, L, np.dtype(out.dtype).itemsize)
    cols = cuda_runtime.pool.empty((nb, C * K, L), out.dtype)
    for n0 in range(0, N, nb):
        b = min(nb, N - n0)
        part = cols[:b]
        im2col(x5[n0:n0 + b], part, geom)
        _grouped_gemm(w2, part, o3[n0:n0 + b], groups)
    return out


def run_conv_transpose(root, x, w, out):
    """``out = col2im(w_g^T @ x_g)`` per chunk of images (the adjoint of :func:`run_conv`)."""
    stride, padding, dilation, groups = root.arg
    N, Cin = x.shape[:2]
    cout_g = w.shape[1]
    Cout = cout_g * groups
    K = math.prod(w.shape[2:])
    L = math.prod(x.shape[2:])
    x3 = x.reshape((N, Cin, L))
    w2 = w.reshape((Cin, cout_g * K))
    o5 = _five(out, out.shape[2:])
    geom = _geom(w.shape[2:], stride, padding, dilation, x.shape[2:])
    nb = _chunk(N, Cout * K, L, np.dtype(out.dtype).itemsize)
    cols = cuda_runtime.pool.empty((nb, Cout * K, L), out.dtype)
    for n0 in range(0, N, nb):
        b = min(nb, N - n0)
        part = cols[:b]
        # (integers: the GEMM wraps its products to the output's width; sums modulo 2**width agree)
        _grouped_gemm(w2, x3[n0:n0 + b], part, groups, trans_a=True)
        col2im(part, o5[n0:n0 + b], geom)
    return out


def run(root, operands, out):
    """The CUDA ``run`` of the CONV barrier entry (see lowering.kernels)."""
    name = root.op.name
    if math.prod(root.shape) == 0:
        return out
    if name == "CONV":
        return run_conv(root, operands[0], operands[1], out)
    if name == "CONV_TRANSPOSE":
        return run_conv_transpose(root, operands[0], operands[1], out)
    if name == "UNFOLD":
        x = operands[0]
        im2col(_five(x, x.shape[2:]), out, _geom(*kconv.unfold_geometry(root.arg, x.shape[2:])))
        return out
    if name == "FOLD":
        col2im(operands[0], _five(out, out.shape[2:]), _geom(*kconv.unfold_geometry(root.arg, out.shape[2:])))
        return out
    pads, mode, value = root.arg
    return pad(operands[0], out, [b for b, _ in pads], mode, value)


# ---- PTX (no GPU needed: numba-cuda[cu12]) -------------------------------------------------

def compile_ptx(kind, dtype, cc=(8, 0)):
    """PTX of kernel ``kind`` ("im2col", "col2im", "direct", "direct-global", "pad-<mode>")
    for ``dtype`` operands and output."""
    from numba.core import types
    from numba.np.numpy_support import from_dtype
    dtype = np.dtype(dtype)
    nb = from_dtype(dtype)

    def arr(nd, t=nb):
        return types.Array(t, nd, "C")
    geom = types.UniTuple(types.int64, 15)
    acc, out_t = accumulator(dtype), dtype.type
    if kind == "im2col":
        return cuda.compile_ptx(im2col_kernel.py_func, (arr(5), arr(3), geom), cc=cc)
    if kind == "col2im":
        return cuda.compile_ptx(col2im_kernel(acc, out_t).py_func, (arr(3), arr(5), geom), cc=cc)
    if kind.startswith("direct"):
        kernel = direct_kernel(acc, out_t, kind == "direct")
        return cuda.compile_ptx(kernel.py_func, (arr(5), arr(2), arr(5), geom, types.int64), cc=cc)
    mode = kind.split("-", 1)[1]
    tup = types.UniTuple(types.int64, 4)
    return cuda.compile_ptx(pad_kernel(PAD_MODES[mode], out_t).py_func,
                            (arr(1), arr(1), tup, tup, tup, nb), cc=cc)
