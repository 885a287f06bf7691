"""Direct correlation: the back end of the CORRELATE node.

A CORRELATE node has two operands, an array ``a`` and a kernel ``w`` of the same rank (of any
dtypes: they are converted to the node's dtype while the array is extended), and
``arg = (pads, boundary, fill, conj_a, conj_w)``:

* ``pads``: ``(lo, hi)`` per dim, non-negative: how far ``a`` is extended on each side;
* ``boundary``: how the extension is filled: ``"fill"`` (the constant ``fill``), ``"wrap"``
  (periodic) or ``"symm"`` (mirrored, the edge sample repeated), exactly as ``numpy.pad``'s
  ``"constant"``, ``"wrap"`` and ``"symmetric"`` modes (also when a pad exceeds the size);
* ``fill``: ``(value, repr(value))``, the value already of the node's dtype (the repr keeps
  ``0.0`` and ``-0.0`` apart in the interning key);
* ``conj_a``, ``conj_w``: conjugate that operand (complex correlation), done while it is copied.

The node computes the "valid" correlation of the extended array with the kernel::

    out[i] = sum_j padded(a)[i + j] * w[j]        (j over the kernel, in C order)

so ``out.shape[d] = a.shape[d] + lo[d] + hi[d] - w.shape[d] + 1``.  Every mode of SciPy's and
NumPy's convolutions and correlations is this with some pads and a flipped and/or conjugated
kernel (the front end, ``arrayforge.signal``, records flips and crops as views of the operands;
conjugation is the flags).
The sizes never enter the plan: only the boundary kind is structural.

Extending the array physically (one copy, ~0.1 ms for 512x512 float64) keeps the inner loop free
of bounds tests, and multiplies the kernel with the fill values exactly as SciPy does (an
infinite kernel value times a zero fill is NaN there too).

Routines:

* ``numba``: a parallel kernel over (output rows x blocks of the last dim), the accumulation
  over the kernel in C order, the innermost loop contiguous along the last dim so it vectorises.
  One static source, compiled once per dtype: ranks 1-3 are run as 3-D (leading unit dims), the
  sizes are arguments; integers and bool run in int64 (addition and multiplication modulo
  2**64 agree with every narrower width modulo its width, so the cast back wraps exactly as
  NumPy's and SciPy's loops do).
* ``numpy``: the same sum in the same order as array operations, one shifted slice per kernel
  element (small work, and every rank above 3).  No fastmath contraction in the kernel, so both
  routines round identically and agree exactly.
"""
from __future__ import annotations

import math
import threading

import numpy as np

from .. import cache as kcache

MAX_RANK = 3          # the compiled kernel's rank; higher ranks run on the NumPy routine
BLOCK = 2048          # elements of the last output dim per parallel task (16 KB of float64)
_NUMPY_PAD = {"wrap": "wrap", "symm": "symmetric"}
_KERNEL_DTYPES = frozenset(np.dtype(d) for d in ("float32", "float64", "complex64", "complex128", "int64"))


def output_shape(a_shape, w_shape, pads):
    """The node's shape for these operand shapes and pads."""
    return tuple(n + lo + hi - k + 1 for n, k, (lo, hi) in zip(a_shape, w_shape, pads))


def work(w_shape, out_shape):
    """Multiply-adds of the correlation."""
    return math.prod(out_shape) * math.prod(w_shape)


def compute_dtype(dtype):
    """The dtype the sum runs in: integers and bool in int64 (wrapping), others as they are."""
    dtype = np.dtype(dtype)
    return np.dtype(np.int64) if dtype.kind in "iub" else dtype


class _Scratch(threading.local):
    """Per thread, one reusable buffer for the extended array: a fresh multi-megabyte
    allocation is fresh pages, and their first-touch faults cost more than the sum itself
    (1 ms of 1.1 for a 3x3 kernel on 512x512 float64)."""
    buffer = None


_SCRATCH = _Scratch()
SCRATCH_MAX = 1 << 26       # bytes kept between calls


def _scratch(shape, dtype):
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > SCRATCH_MAX:
        return np.empty(shape, dtype)
    buf = _SCRATCH.buffer
    if buf is None or buf.nbytes < nbytes:
        buf = _SCRATCH.buffer = np.empty(max(nbytes, 1 << 16), np.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


def padded(a, pads, boundary, fill, dtype):
    """``a`` extended by ``pads`` (see the module docstring) as a C-contiguous ``dtype`` array
    (the calling thread's scratch buffer: valid until its next call)."""
    shape = tuple(n + lo + hi for n, (lo, hi) in zip(a.shape, pads))
    out = _scratch(shape, dtype)        # (always a writeable copy: one kernel signature per dtype)
    if boundary != "fill":
        out[...] = np.pad(a, pads, mode=_NUMPY_PAD[boundary])
        return out
    inner = tuple(slice(lo, lo + n) for n, (lo, _) in zip(a.shape, pads))
    out[inner] = a
    for d, (lo, hi) in enumerate(pads):     # the borders only: each element written once
        before = inner[:d]
        after = (slice(None),) * (len(pads) - d - 1)
        if lo:
            out[(*before, slice(0, lo), *after)] = fill
        if hi:
            out[(*before, slice(shape[d] - hi, shape[d]), *after)] = fill
    return out


def run(a, w, out, pads, boundary, fill, executor, conj_a=False, conj_w=False):
    """Compute the correlation of NumPy arrays ``a`` and ``w`` (any strides) into ``out``
    (C-contiguous, the node's shape and dtype); returns ``out``."""
    if out.size == 0:
        return out
    if w.size == 0:         # an empty sum (the front end records zeros instead; kept for safety)
        out[...] = 0
        return out
    ct = compute_dtype(out.dtype)
    # (the operands are converted while copied: NumPy's cast to the result dtype, as SciPy's and
    # NumPy's own convolutions cast their inputs; the fill value is of the node's dtype already)
    p = padded(a, pads, boundary, np.asarray(fill, out.dtype).astype(ct), ct)
    kern = np.array(w, dtype=ct, order="C")     # a small writeable copy
    if conj_a:
        np.conjugate(p, out=p)
    if conj_w:
        np.conjugate(kern, out=kern)
    target = out if out.dtype == ct else (out.view(np.int64) if out.dtype.kind in "iu" and out.dtype.itemsize == 8
                                          else np.empty(out.shape, ct))
    # dims of size 1 in all three arrays are dropped: (N, 1) columns and (1, C, H, W) stacks reach
    # the compiled kernel with their work along its contiguous last dim
    keep = kept_dims(p.shape, kern.shape, out.shape)
    p3, k3, t3 = (x.reshape([x.shape[d] for d in keep]) for x in (p, kern, target))
    if executor == "numba" and len(keep) <= MAX_RANK and ct in _KERNEL_DTYPES:
        lead = (1,) * (MAX_RANK - len(keep))
        _kernel()(True, p3.reshape(lead + p3.shape), k3.reshape(lead + k3.shape),
                  t3.reshape(lead + t3.shape), BLOCK)
    else:
        _correlate_numpy(p3, k3, t3)
    if target is not out and not np.shares_memory(target, out):
        if out.dtype == np.bool_:
            np.not_equal(target, 0, out=out)
        else:
            np.copyto(out, target, casting="unsafe")     # wraps modulo the width, as NumPy's loop does
    return out


def kept_dims(p_shape, w_shape, out_shape):
    """The dims the kernels work on: those not of size 1 in the extended array, the kernel and
    the output alike (at least the last one)."""
    return [d for d in range(len(out_shape)) if (p_shape[d], w_shape[d], out_shape[d]) != (1, 1, 1)] \
        or [len(out_shape) - 1]


def _correlate_numpy(p, w, out):
    """The NumPy routine: ``out = sum_j w[j] * p[j:j + out.shape]``, j in C order."""
    out[...] = 0
    complex_ = out.dtype.kind == "c"
    for j in np.ndindex(w.shape):
        window = p[tuple(slice(jj, jj + n) for jj, n in zip(j, out.shape))]
        if complex_:    # Numba's complex product, component by component (NumPy's loop may fuse)
            wr, wi = w[j].real, w[j].imag
            out.real += wr * window.real - wi * window.imag
            out.imag += wr * window.imag + wi * window.real
        else:
            out += w[j] * window


def _kernel():
    """The compiled correlation kernel, ``kernel(parallel, p, w, out, block)``: loaded (or
    compiled) on first use through the kernel cache, never at import."""
    return kcache.get_kernel(("correlate", MAX_RANK), lambda: CORRELATE_SOURCE,
                             "correlate: 3-D valid correlation of a padded array with a kernel")


# A static module source (like contract.INT_GEMM_SOURCE), so the kernel cache owns its disk entry.
CORRELATE_SOURCE = '''# The correlate kernel of lowering.kernels.correlate; do not edit.
import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True, nogil=True, boundscheck=False, error_model="numpy")
def kernel(parallel, p, w, out, block):
    """``out[i] = sum_j p[i + j] * w[j]`` for 3-D arrays (the valid correlation), j in C order.
    One parallel task per output row and block of ``block`` elements of the last dim; the
    row block stays in L1 while the kernel's taps accumulate into it, and the innermost loop
    runs along the contiguous last dim.  ``parallel`` is the kernel cache's calling
    convention (always parallel: the executor sends only large work here)."""
    o0, o1, o2 = out.shape
    k0, k1, k2 = w.shape
    nb = (o2 + block - 1) // block
    for t in prange(o0 * o1 * nb):
        r = t // nb
        b = t - r * nb
        i0 = r // o1
        i1 = r - i0 * o1
        s = b * block
        e = min(o2, s + block)
        orow = out[i0, i1, s:e]
        n = e - s
        for i in range(n):
            orow[i] = 0
        for j0 in range(k0):
            for j1 in range(k1):
                prow = p[i0 + j0, i1 + j1, s:]
                wrow = w[j0, j1]
                # taps in threes: one load and store of the output per three, the sum still
                # in tap order (so the NumPy routine rounds identically)
                j2 = 0
                while j2 + 3 <= k2:
                    w0, w1, w2 = wrow[j2], wrow[j2 + 1], wrow[j2 + 2]
                    for i in range(n):
                        orow[i] = ((orow[i] + w0 * prow[j2 + i]) + w1 * prow[j2 + 1 + i]) + w2 * prow[j2 + 2 + i]
                    j2 += 3
                while j2 < k2:
                    w0 = wrow[j2]
                    for i in range(n):
                        orow[i] += w0 * prow[j2 + i]
                    j2 += 1
'''


# ---- the FFT methods (run as EXTERN nodes: pocketfft through scipy.fft, SciPy's algorithm)


def _workers():
    import numba
    return numba.get_num_threads()


def _centered(arr, newshape):
    start = [(c - n) // 2 for c, n in zip(arr.shape, newshape)]
    return arr[tuple(slice(s, s + n) for s, n in zip(start, newshape))]


def _apply_mode(ret, s1, s2, mode, axes):
    if mode == "full":
        return ret
    if mode == "same":
        return _centered(ret, s1)
    return _centered(ret, [ret.shape[a] if a not in axes else s1[a] - s2[a] + 1 for a in range(ret.ndim)])


def _freq_domain_conv(in1, in2, axes, shape, fast_len):
    """SciPy's ``_freq_domain_conv``: transform both, multiply, transform back (real
    transforms unless an input is complex; integers as float64), at ``next_fast_len`` sizes."""
    import scipy.fft as sp_fft
    if not len(axes):
        return in1 * in2
    complex_result = in1.dtype.kind == "c" or in2.dtype.kind == "c"
    fshape = [sp_fft.next_fast_len(shape[a], not complex_result) for a in axes] if fast_len else shape
    fft, ifft = (sp_fft.fftn, sp_fft.ifftn) if complex_result else (sp_fft.rfftn, sp_fft.irfftn)
    if in1.dtype.kind in "iu":
        in1 = in1.astype(np.float64)
    if in2.dtype.kind in "iu":
        in2 = in2.astype(np.float64)
    workers = _workers()
    sp1 = fft(in1, fshape, axes=axes, workers=workers)
    sp2 = fft(in2, fshape, axes=axes, workers=workers)
    ret = ifft(sp1 * sp2, fshape, axes=axes, workers=workers)
    if fast_len:
        ret = ret[tuple(slice(n) for n in shape)]
    return ret


def _finish(ret, rounding, warn):
    if rounding:
        ret = np.round(ret)
    if warn and ret.size and not np.isfinite(ret.reshape(-1)[0]):
        import warnings
        warnings.warn("Use of fft convolution on input with NAN or inf results in NAN or inf output. "
                      "Consider using method='direct' instead.", RuntimeWarning, stacklevel=2)
    return ret


def fft_convolve(in1, in2, mode, axes, rounding=False, warn=False):
    """SciPy's ``fftconvolve`` body (inputs already swapped, ``axes`` reduced by the front end);
    ``rounding``: round for an integer result (``convolve(method="fft")``)."""
    s1, s2 = in1.shape, in2.shape
    shape = [max(s1[i], s2[i]) if i not in axes else s1[i] + s2[i] - 1 for i in range(in1.ndim)]
    ret = _freq_domain_conv(in1, in2, list(axes), shape, True)
    return _finish(_apply_mode(ret, s1, s2, mode, axes), rounding, warn)


def _oa_lens(s1, s2):
    """SciPy's ``_calc_oa_lens``: (block size, overlap, in1 step, in2 step) along one axis."""
    import scipy.fft as sp_fft
    from scipy.special import lambertw
    fallback = (s1 + s2 - 1, None, s1, s2)
    if s1 == s2 or s1 == 1 or s2 == 1:
        return fallback
    swapped = s2 > s1
    if swapped:
        s1, s2 = s2, s1
    if s2 >= s1 / 2:
        return fallback
    overlap = s2 - 1
    opt_size = -overlap * lambertw(-1 / (2 * math.e * overlap), k=-1).real
    block_size = sp_fft.next_fast_len(math.ceil(opt_size))
    if block_size >= s1:
        return fallback
    if not swapped:
        return block_size, overlap, block_size - s2 + 1, s2
    return block_size, overlap, s2, block_size - s2 + 1


def oa_convolve(in1, in2, mode, axes, rounding=False, warn=False):
    """SciPy's ``oaconvolve`` body (inputs already swapped, ``axes`` reduced and sorted here)."""
    axes = sorted(axes)
    if in1.shape == in2.shape:
        return fft_convolve(in1, in2, mode, axes, rounding, warn)
    s1, s2 = in1.shape, in2.shape
    if not axes:
        return _finish(_apply_mode(in1 * in2, s1, s2, mode, axes), rounding, warn)
    shape_final = [None if i not in axes else s1[i] + s2[i] - 1 for i in range(in1.ndim)]
    block_size, overlaps, in1_step, in2_step = zip(*[
        (-1, -1, s1[i], s2[i]) if i not in axes else _oa_lens(s1[i], s2[i]) for i in range(in1.ndim)])
    if in1_step == s1 and in2_step == s2:
        return fft_convolve(in1, in2, mode, axes, rounding, warn)
    nsteps1, nsteps2, pad1, pad2 = [], [], [], []
    for i in range(in1.ndim):
        if i not in axes:
            pad1.append((0, 0))
            pad2.append((0, 0))
            continue
        steps, pads = [], []
        for s, step in ((s1[i], in1_step[i]), (s2[i], in2_step[i])):
            if s > step:
                n = math.ceil((s + 1) / step)
                if (block_size[i] - overlaps[i]) * n < shape_final[i]:
                    n += 1
                steps.append(n)
                pads.append((0, n * step - s))
            else:
                steps.append(1)
                pads.append((0, 0))
        nsteps1.append(steps[0])
        nsteps2.append(steps[1])
        pad1.append(pads[0])
        pad2.append(pads[1])
    if any(p != (0, 0) for p in pad1):
        in1 = np.pad(in1, pad1, mode="constant", constant_values=0)
    if any(p != (0, 0) for p in pad2):
        in2 = np.pad(in2, pad2, mode="constant", constant_values=0)
    split_axes = [ax + i for i, ax in enumerate(axes)]
    fft_axes = [ax + 1 for ax in split_axes]
    reshape1, reshape2 = list(in1_step), list(in2_step)
    for i, ax in enumerate(split_axes):
        reshape1.insert(ax, nsteps1[i])
        reshape2.insert(ax, nsteps2[i])
    in1 = in1.reshape(reshape1)
    in2 = in2.reshape(reshape2)
    ret = _freq_domain_conv(in1, in2, fft_axes, [block_size[i] for i in axes], False)
    for ax, ax_fft, ax_split in zip(axes, fft_axes, split_axes):
        overlap = overlaps[ax]
        if overlap is None:
            continue
        n = ret.shape[ax_fft]
        tail = _take(ret, ax_fft, n - overlap, n)            # each block's overlapping tail ...
        tail = _take(tail, ax_split, 0, tail.shape[ax_split] - 1)
        ret = _take(ret, ax_fft, 0, n - overlap)
        head = _take(ret, ax_fft, 0, overlap)                # ... added to the next block's head
        head = _take(head, ax_split, 1, head.shape[ax_split])
        head += tail
    shape_ret = [ret.shape[i] if i not in fft_axes else ret.shape[i] * ret.shape[i - 1]
                 for i in range(ret.ndim) if i not in split_axes]
    ret = ret.reshape(shape_ret)
    ret = ret[tuple(slice(n) for n in shape_final)]
    return _finish(_apply_mode(ret, s1, s2, mode, axes), rounding, warn)


def _take(x, axis, start, stop):
    """``x[start:stop]`` along ``axis`` (a view)."""
    index = [slice(None)] * x.ndim
    index[axis] = slice(start, stop)
    return x[tuple(index)]


# ---- the CORRELATE entry of the barrier registry (lowering.kernels)

from ..ir import OpKind  # noqa: E402
from . import Barrier, register  # noqa: E402


class Correlate(Barrier):
    name = "correlate"

    def structural_arg(self, arg):
        return arg[1]           # the boundary kind; pads and fill value are sizes and values

    def executor(self, root, operand_shapes, mode, policy):
        if mode != "auto":
            return mode
        return policy(work(operand_shapes[1], root.shape))

    def describe(self, root, executor):
        if executor == "numba" and sum(1 for n in root.shape if n != 1) <= MAX_RANK:
            return "cpu", "direct parallel"
        return "numpy", "direct"

    def run(self, root, operands, out, executor):
        a, w = operands
        pads, boundary, (fill, _), conj_a, conj_w = root.arg
        return run(a, w, out, pads, boundary, fill, executor, conj_a, conj_w)

    # the direct kernel on a GPU, for up to MAX_RANK dims that are not all of size 1
    cuda_module = ".correlate_cuda"

    def cuda_unsupported(self, op, arg, dtype, inputs):
        a, w = inputs
        padded_shape = tuple(n + lo + hi for n, (lo, hi) in zip(a.shape, arg[0]))
        if len(kept_dims(padded_shape, w.shape, output_shape(a.shape, w.shape, arg[0]))) > MAX_RANK:
            return f"has no CUDA kernel for more than {MAX_RANK} dimensions (of size > 1)"
        return None

    def cuda_describe(self, root):
        return "direct"


register(OpKind.CORRELATE, Correlate())
