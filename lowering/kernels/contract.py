"""Contraction kernels: the back end of the CONTRACT node.

A CONTRACT node's ``arg`` is the einsum subscripts of one two-operand contraction,
``"abc,acd->abd"``, with letters renamed in order of first appearance (so plans and
kernels key on structure, never on sizes) and a leading ``*`` on a conjugated operand
(``vecdot``).  Each letter is one of

* batch: in both operands and in the output;
* M, N:  in one operand (a, resp. b) and in the output: the free dims;
* K:     in both operands, not in the output: contracted.

The front end guarantees that no letter repeats within an operand, that every letter
of an operand is in the output or in the other operand, and that a letter shared by
both operands has one size (broadcasting is an EXPAND view).  It orders the output
batch, M, N, so the GEMM writes the output buffer directly (any other order is a view
of the product); other orders still work here, through a temporary.

Routines (see :func:`routine`):

* ``gemm``: floating and complex dtypes, on both executors (so they agree exactly):
  BLAS through ``np.matmul`` on ``(batch..., M, K) @ (batch..., K, N)``.  The M, N and
  K groups are merged by ``reshape``, a view whenever the operand's strides allow: a
  transposed matrix is an F-ordered view that NumPy passes to BLAS with the transpose
  flag, never a copy.  (``scipy.linalg.blas`` was not needed: ``np.matmul`` reaches the
  same GEMM peak with no copies, and it is the library NumPy itself uses.)
* ``dot``: no free dims, or a conjugated operand: ``np.vecdot`` over the merged K (a
  BLAS dot per output element for floating dtypes).
* ``int-gemm``: integer and bool dtypes on the Numba executor: a tiled, parallel kernel
  that accumulates in int64.  It is compiled once, on first use, for every integer
  dtype, through :mod:`lowering.cache` like a generated kernel (cached on disk when
  there is a usable cache directory, compiled in memory when there is none; nothing is
  compiled or written at import).  Addition and multiplication modulo 2**64 agree with
  every narrower type modulo its width, so casting the int64 result back wraps exactly
  like NumPy (which accumulates in the narrow type); bool is OR of ANDs, i.e. ``count != 0``.
* ``matmul``: integer and bool dtypes on the NumPy executor: ``np.matmul`` (NumPy has
  no BLAS for integers; slow, but identical values).
"""
from __future__ import annotations

import functools
import importlib
import math
from dataclasses import dataclass

import numpy as np

from .. import cache as kcache

# Operands whose dims could not be merged without a copy (a view otherwise); tests read it.
stats = {"operand_copies": 0}

TILE_M, TILE_N, TILE_K = 64, 256, 256     # int-gemm: 128 KB accumulator tile, 512 KB panel of b
_WIDE = (np.dtype(np.int64), np.dtype(np.uint64))


@dataclass(frozen=True)
class Contraction:
    a: str
    b: str
    out: str
    conj_a: bool
    conj_b: bool
    batch: str
    m: str
    n: str
    k: str


@functools.lru_cache(maxsize=4096)
def parse(arg):
    """The :class:`Contraction` described by subscripts ``arg``."""
    lhs, out = arg.split("->")
    a, b = lhs.split(",")
    conj_a, conj_b = a.startswith("*"), b.startswith("*")
    a, b = a.lstrip("*"), b.lstrip("*")
    return Contraction(
        a, b, out, conj_a, conj_b,
        batch="".join(c for c in a if c in b and c in out),
        m="".join(c for c in a if c not in b),
        n="".join(c for c in b if c not in a),
        k="".join(c for c in a if c in b and c not in out))


def routine(arg, dtype, executor):
    """The routine that computes ``arg`` for ``dtype`` on ``executor``: "gemm", "dot",
    "int-gemm" or "matmul" (see the module docstring)."""
    c = parse(arg)
    if c.conj_a or c.conj_b or not (c.m or c.n):
        return "dot"
    if np.dtype(dtype).kind in "fc":
        return "gemm"
    return "int-gemm" if executor == "numba" else "matmul"


def work(arg, a_shape, out_shape):
    """Multiply-adds of the contraction (output size times contracted size)."""
    c = parse(arg)
    return math.prod(out_shape) * math.prod(a_shape[c.a.index(x)] for x in c.k)


def run(arg, a, b, out, executor):
    """Compute the contraction ``arg`` of NumPy arrays ``a`` and ``b`` (any strides) into
    ``out`` (C-contiguous, the node's shape and dtype); returns ``out``."""
    if out.size == 0:
        return out
    c = parse(arg)
    r = routine(arg, out.dtype, executor)
    if r == "dot":
        _dot(c, a, b, out)
        return out
    canonical = c.batch + c.m + c.n
    target = out
    if c.out != canonical:          # the front end never records this; kept for completeness
        sizes = dict(zip(c.a, a.shape)) | dict(zip(c.b, b.shape))
        target = np.empty(tuple(sizes[x] for x in canonical), out.dtype)
    A = _grouped(a, c.a, c.batch, (c.m, c.k))
    B = _grouped(b, c.b, c.batch, (c.k, c.n))
    nb = len(c.batch)
    t3 = target.reshape(target.shape[:nb] + (A.shape[-2], B.shape[-1]))     # C-contiguous: a view
    if r == "int-gemm":
        _int_gemm(A, B, t3)
    else:
        np.matmul(A, B, out=t3)
    if target is not out:
        np.copyto(out, target.transpose([canonical.index(x) for x in c.out]))
    return out


def _grouped(x, letters, batch, groups):
    """``x`` with its dims ordered ``batch`` (kept apart), then each group of letters merged
    into one dim (an empty group is a unit dim).  A view whenever the strides allow."""
    order = batch + "".join(groups)
    perm = [letters.index(x_) for x_ in order]
    y = x.transpose(perm) if perm != list(range(x.ndim)) else x
    shape = y.shape[:len(batch)]
    i = len(batch)
    for g in groups:
        shape += (math.prod(y.shape[i:i + len(g)]),)
        i += len(g)
    z = y.reshape(shape)
    if z.size and not np.may_share_memory(z, x):
        stats["operand_copies"] += 1
    return z


def _dot(c, a, b, out):
    """Batched dot products over the merged K, broadcast over the output's dims."""
    def arrange(x, letters):
        present = "".join(x_ for x_ in c.out if x_ in letters)
        y = _grouped(x, letters, present, (c.k,))
        return y.reshape(tuple(y.shape[present.index(x_)] if x_ in letters else 1 for x_ in c.out)
                         + y.shape[-1:])
    A, B = arrange(a, c.a), arrange(b, c.b)
    if c.conj_b and not c.conj_a:
        A, B = B, A
    if out.dtype.kind == "c" and not (c.conj_a or c.conj_b):     # np.vecdot would conjugate A
        np.matmul(A[..., None, :], B[..., :, None], out=out[..., None, None])
    else:
        np.vecdot(A, B, out=out)
        if c.conj_a and c.conj_b:
            np.conjugate(out, out=out)


def _int_gemm(A, B, out):
    """``out = A @ B`` for integer or bool arrays ``(batch..., m, k) @ (batch..., k, n)``."""
    m, k = A.shape[-2:]
    n = B.shape[-1]
    nbatch = math.prod(out.shape[:-2])
    a, b = _as_int64(A, (nbatch, m, k)), _as_int64(B, (nbatch, k, n))
    dst = out.reshape(nbatch, m, n)
    if dst.dtype in _WIDE:
        _int_gemm_kernel()(True, a, b, dst.view(np.int64))
        return
    wide = np.empty((nbatch, m, n), np.int64)
    _int_gemm_kernel()(True, a, b, wide)
    if dst.dtype == np.bool_:
        np.not_equal(wide, 0, out=dst)
    else:
        np.copyto(dst, wide, casting="unsafe")      # wraps modulo the width, as NumPy's loop does


def _as_int64(x, shape):
    """A read-only C-contiguous int64 ``shape`` array of ``x``'s values (uint64 reinterpreted,
    narrower types sign- or zero-extended, bool as 0/1): one kernel signature for every dtype."""
    x = x.reshape(shape)
    if x.dtype in _WIDE:
        x = np.ascontiguousarray(x).view(np.int64)
    else:
        x = x.astype(np.int64, order="C")
    x = x.view()
    x.flags.writeable = False
    return x


def _int_gemm_kernel():
    """The compiled int-gemm kernel, ``kernel(parallel, a, b, out)``: loaded (or compiled)
    on first use through the kernel cache, never at import."""
    return kcache.get_kernel(("int-gemm", TILE_M, TILE_N, TILE_K), lambda: INT_GEMM_SOURCE,
                             "int-gemm: int64 (batch, m, k) @ (batch, k, n)")


# The kernel is a static module source rather than an ``@njit(cache=True)`` function here: Numba
# would need a writable cache directory at import ("no locator available" without one), and its
# cache entries would bypass arrayforge's checks.
INT_GEMM_SOURCE = f'''# The int-gemm kernel of lowering.kernels.contract; do not edit.
import numpy as np
from numba import njit, prange
U = np.uint64
TILE_M, TILE_N, TILE_K = {TILE_M}, {TILE_N}, {TILE_K}


@njit(parallel=True, cache=True, nogil=True, boundscheck=False, error_model="numpy")
def kernel(parallel, a, b, out):
    """``out[p] = a[p] @ b[p]`` in int64 (wrapping), tiled TILE_M x TILE_N per parallel task,
    streaming TILE_K rows of b through the accumulator tile; the inner loop is contiguous
    and unsigned so it vectorises.  ``parallel`` is the kernel cache's calling convention
    (always parallel: the executor sends only large work here)."""
    nb, m, k = a.shape
    n = b.shape[2]
    ti = (m + TILE_M - 1) // TILE_M
    tj = (n + TILE_N - 1) // TILE_N
    for t in prange(nb * ti * tj):
        p = t // (ti * tj)
        r = t - p * ti * tj
        i0 = (r // tj) * TILE_M
        j0 = (r % tj) * TILE_N
        i1 = min(m, i0 + TILE_M)
        w = U(min(n, j0 + TILE_N) - j0)
        acc = np.zeros((TILE_M, TILE_N), np.int64)
        for k0 in range(0, k, TILE_K):
            k1 = min(k, k0 + TILE_K)
            for i in range(i0, i1):
                acc_row = acc[i - i0]
                for kk in range(k0, k1):
                    av = a[p, i, kk]
                    b_row = b[p, kk, j0:]
                    for j in range(w):
                        acc_row[j] += av * b_row[j]
        for i in range(i0, i1):
            out_row = out[p, i, j0:]
            acc_row = acc[i - i0]
            for j in range(w):
                out_row[j] = acc_row[j]
'''


# ---- the CONTRACT entry of the barrier registry (lowering.kernels)

from ..ir import OpKind  # noqa: E402
from . import Barrier, register  # noqa: E402


class Contract(Barrier):
    name = "contract"

    def executor(self, root, operand_shapes, mode, policy):
        if mode != "auto":
            return mode
        if root.dtype.kind in "fc":       # BLAS through NumPy on both executors
            return "numpy"
        return policy(work(root.arg, operand_shapes[0], root.shape))     # integers compile when big or hot

    def describe(self, root, executor):
        variant = routine(root.arg, root.dtype, executor)
        if variant in ("gemm", "dot") and root.dtype.kind in "fc":
            return "blas", "blas " + variant
        return ("cpu" if executor == "numba" else "numpy"), variant

    def run(self, root, operands, out, executor):
        a, b = operands
        return run(root.arg, a, b, out, executor)

    cuda_module = ".contract_cuda"
    cuda_permuted_operands = True       # (x.T @ y: the GEMM's transpose flag, no copy)

    def cuda_unsupported(self, op, arg, dtype, inputs):
        return None

    def cuda_describe(self, root):
        return importlib.import_module(self.cuda_module, __package__).variant(root)


register(OpKind.CONTRACT, Contract())
