"""The linalg extension: matrix products (the contractions live in ``_contract``),
decompositions, solvers, norms."""
import numpy as np

from lowering import Op

from . import _dtypes as dt
from ._contract import _check, matmul, outer, tensordot, vecdot
from ._graph import broadcast_shapes
from . import _array  # noqa: E402  (circular at import time; used at call time)

__all__ = ["matmul", "outer", "tensordot", "vecdot"]


for _name in __all__:
    globals()[_name].__module__ = "arrayforge"


# ---- the rest of the linalg extension
# Decompositions and solvers are EXTERN nodes running NumPy's LAPACK-backed routines (static
# shapes, so they stay lazy); several-output ones compute once into one packed buffer that
# their results view (see ``_graph.extern_outputs``).  Norms, trace, diagonal and
# matrix_rank are compositions of views, element-wise ops and reductions, so they fuse.
# Note: numerical failures that depend on the values (a singular matrix in inv/solve, a
# matrix that is not positive definite in cholesky) raise NumPy's LinAlgError when the
# plan runs, as NumPy does; they cannot be known at the recording call.
import math as _math
import operator as _operator
from typing import NamedTuple as _NamedTuple

from ._graph import (check_array as _check_array, extern as _extern, extern_outputs as _extern_outputs,
                     reshape_node as _reshape_node, view as _view)
from .manipulation import matrix_transpose

__all__ += ["cholesky", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh", "inv",
            "matrix_norm", "matrix_power", "matrix_rank", "matrix_transpose", "pinv", "qr", "slogdet",
            "solve", "svd", "svdvals", "trace", "vector_norm"]


class EigResult(_NamedTuple):
    eigenvalues: "_array.Array"
    eigenvectors: "_array.Array"


class EighResult(_NamedTuple):
    eigenvalues: "_array.Array"
    eigenvectors: "_array.Array"


class QRResult(_NamedTuple):
    Q: "_array.Array"
    R: "_array.Array"


class SlogdetResult(_NamedTuple):
    sign: "_array.Array"
    logabsdet: "_array.Array"


class SVDResult(_NamedTuple):
    U: "_array.Array"
    S: "_array.Array"
    Vh: "_array.Array"


def _real(dtype):
    return dt._complex_to_real.get(dtype, dtype)


def _complex(dtype):
    return dt._real_to_complex.get(dtype, dtype)


def _matrices(x, name, square=False):
    """TypeError unless a floating-point array; ValueError unless a (stack of) matrices."""
    _check_array(x, name, "floating-point")
    if x.ndim < 2:
        raise ValueError(f"linalg.{name} requires an array of at least two dimensions, got shape {x.shape}")
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"linalg.{name} requires square matrices, got shape {x.shape}")


def _cholesky_np(x, upper):
    return np.linalg.cholesky(x, upper=upper)


def cholesky(x, /, *, upper=False):
    """Cholesky factor of Hermitian positive-definite matrices: lower ``L`` (``x = L @ L^H``)
    or, with ``upper=True``, upper ``U`` (``x = U^H @ U``)."""
    _matrices(x, "cholesky", square=True)
    return _extern(_cholesky_np, (bool(upper),), x.dtype, x.shape, (x,))


def _cross_np(x1, x2, axis):
    return np.cross(x1, x2, axis=axis)


def cross(x1, x2, /, *, axis=-1):
    """Cross product of 3-element vectors along ``axis`` (negative; shapes broadcast)."""
    dtype = _check(x1, x2, "cross")
    if x1.ndim == 0 or x2.ndim == 0:
        raise ValueError("linalg.cross requires arrays of at least one dimension")
    axis = _operator.index(axis)
    if axis >= 0:
        # Note: since 2023.12 the axis counts from the end of the broadcast shape (must be negative).
        raise ValueError(f"linalg.cross: axis must be negative, got {axis}")
    if axis < -min(x1.ndim, x2.ndim):
        raise np.exceptions.AxisError(f"linalg.cross: axis {axis} is out of bounds for shapes "
                                      f"{x1.shape} and {x2.shape}")
    if x1.shape[axis] != 3 or x2.shape[axis] != 3:
        raise ValueError(f"linalg.cross: the vectors along axis {axis} must have 3 elements, "
                         f"got shapes {x1.shape} and {x2.shape}")
    shape = broadcast_shapes(x1.shape, x2.shape)
    from ._graph import cast
    return _extern(_cross_np, (axis,), dtype, shape, (cast(x1._node, dtype), cast(x2._node, dtype)))


def _det_np(x):
    return np.linalg.det(x)


def det(x, /):
    """Determinants of square matrices."""
    _matrices(x, "det", square=True)
    return _extern(_det_np, (), x.dtype, x.shape[:-2], (x,))


def diagonal(x, /, *, offset=0):
    """The ``offset`` diagonal of the innermost matrices: a strided view, no copy.

    >>> diagonal(reshape(arange(9), (3, 3)), offset=1)     # [1, 5]
    """
    _check_array(x, "diagonal", "all")
    if x.ndim < 2:
        raise ValueError(f"linalg.diagonal requires an array of at least two dimensions, got shape {x.shape}")
    offset = _operator.index(offset)
    m, n = x.shape[-2:]
    length = max(0, min(m, n - offset) if offset >= 0 else min(m + offset, n))
    # element (i, i + offset) of a row-major M x N matrix is flat element i * (N + 1) + offset
    start = offset if offset >= 0 else -offset * n
    batch = x.shape[:-2]
    flat = _reshape_node(x._node, batch + (m * n,))
    if length == 0:
        sl = ((0, 0, 1),)
    else:
        sl = ((start, start + (length - 1) * (n + 1) + 1, n + 1),)
    node = _view(Op.SLICE, flat, batch + (length,), tuple((0, k, 1) for k in batch) + sl)
    return _array.Array._new(node)


def _eig_np(x):
    w, v = np.linalg.eig(x)
    return w, v


def eig(x, /):
    """Eigenvalues and right eigenvectors of general square matrices (always complex).

    Note: eigenvalue order is unspecified by the standard; it is LAPACK's, as in NumPy."""
    _matrices(x, "eig", square=True)
    c = _complex(x.dtype)
    return EigResult(*_extern_outputs(_eig_np, (), [(c, x.shape[:-1]), (c, x.shape)], (x,)))


def _eigvals_np(x):
    return np.linalg.eigvals(x)


def eigvals(x, /):
    """Eigenvalues of general square matrices (always complex)."""
    _matrices(x, "eigvals", square=True)
    return _extern(_eigvals_np, (), _complex(x.dtype), x.shape[:-1], (x,))


def _eigh_np(x):
    w, v = np.linalg.eigh(x)
    return w, v


def eigh(x, /):
    """Eigenvalues (ascending, real) and orthonormal eigenvectors of Hermitian matrices."""
    _matrices(x, "eigh", square=True)
    return EighResult(*_extern_outputs(_eigh_np, (), [(_real(x.dtype), x.shape[:-1]), (x.dtype, x.shape)], (x,)))


def _eigvalsh_np(x):
    return np.linalg.eigvalsh(x)


def eigvalsh(x, /):
    """Eigenvalues (ascending, real) of Hermitian matrices."""
    _matrices(x, "eigvalsh", square=True)
    return _extern(_eigvalsh_np, (), _real(x.dtype), x.shape[:-1], (x,))


def _inv_np(x):
    return np.linalg.inv(x)


def inv(x, /):
    """Inverses of square matrices."""
    _matrices(x, "inv", square=True)
    return _extern(_inv_np, (), x.dtype, x.shape, (x,))


def _keep_matrix_dims(r, x, keepdims):
    if keepdims:
        from .manipulation import reshape
        return reshape(r, x.shape[:-2] + (1, 1))
    return r


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """Matrix norms over the innermost two dims: 'fro', 'nuc', 1, -1, 2, -2, inf, -inf.

    'fro', ±1 and ±inf are fused reductions of ``abs(x)``; 'nuc' and ±2 use the singular values."""
    from . import elementwise as ew, statistical as st
    _matrices(x, "matrix_norm")
    a = ew.abs(x)
    if ord == "fro":
        r = ew.sqrt(st.sum(a * a, axis=(-2, -1)))
    elif ord == "nuc":
        r = st.sum(svdvals(x), axis=-1)
    elif ord in (2, -2):
        s = svdvals(x)
        r = st.max(s, axis=-1) if ord == 2 else st.min(s, axis=-1)
    elif ord in (1, -1, np.inf, -np.inf):
        sums = st.sum(a, axis=-2 if ord in (1, -1) else -1)
        r = st.max(sums, axis=-1) if ord > 0 else st.min(sums, axis=-1)
    else:
        raise ValueError(f"linalg.matrix_norm: invalid ord {ord!r}")
    return _keep_matrix_dims(r, x, keepdims)


def _matrix_power_np(x, n):
    return np.linalg.matrix_power(x, n)


def matrix_power(x, n, /):
    """``x`` multiplied by itself ``n`` times (``n < 0``: powers of the inverse; 0: identity)."""
    _matrices(x, "matrix_power", square=True)
    if isinstance(n, bool):
        raise TypeError("linalg.matrix_power: n must be an integer")
    n = _operator.index(n)
    return _extern(_matrix_power_np, (n,), x.dtype, x.shape, (x,))


def matrix_rank(x, /, *, rtol=None):
    """Number of singular values above ``rtol * largest`` (default ``rtol = max(M, N) * eps``)."""
    from . import statistical as st
    from .searching import count_nonzero
    _matrices(x, "matrix_rank")
    s = svdvals(x)
    if x.shape[-1] == 0 or x.shape[-2] == 0:
        from .creation import zeros
        return zeros(x.shape[:-2], dtype=dt.int64)
    largest = st.max(s, axis=-1, keepdims=True)
    if rtol is None:
        tol = largest * float(max(x.shape[-2:]) * np.finfo(s.dtype).eps)
    elif isinstance(rtol, _array.Array):
        from .manipulation import astype, expand_dims
        tol = largest * expand_dims(astype(rtol, s.dtype, copy=False), -1)
    else:
        tol = largest * float(rtol)
    return count_nonzero(s > tol, axis=-1)


def _pinv_np(*args):
    x, rtol = args[0], args[1]
    return np.linalg.pinv(x, rtol=rtol)


def pinv(x, /, *, rtol=None):
    """Moore-Penrose pseudo-inverse; singular values below ``rtol * largest`` are dropped
    (default ``rtol = max(M, N) * eps``)."""
    _matrices(x, "pinv")
    shape = x.shape[:-2] + (x.shape[-1], x.shape[-2])
    if rtol is None:
        rtol = float(max(x.shape[-2:]) * np.finfo(x.dtype).eps)
    if isinstance(rtol, _array.Array):
        _check_array(rtol, "pinv", "real numeric")
        return _extern(_pinv_np, (), x.dtype, shape, (x, rtol))
    return _extern(_pinv_np, (float(rtol),), x.dtype, shape, (x,))


def _qr_np(x, mode):
    q, r = np.linalg.qr(x, mode=mode)
    return q, r


def qr(x, /, *, mode="reduced"):
    """QR decomposition: ``mode='reduced'`` gives Q (M, K), R (K, N) with K = min(M, N);
    ``'complete'`` gives Q (M, M), R (M, N)."""
    _matrices(x, "qr")
    if mode not in ("reduced", "complete"):
        raise ValueError(f"linalg.qr: mode must be 'reduced' or 'complete', not {mode!r}")
    m, n = x.shape[-2:]
    k = min(m, n) if mode == "reduced" else m
    batch = x.shape[:-2]
    return QRResult(*_extern_outputs(_qr_np, (mode,), [(x.dtype, batch + (m, k)), (x.dtype, batch + (k, n))],
                                     (x,)))


def _slogdet_np(x):
    sign, logabsdet = np.linalg.slogdet(x)
    return sign, logabsdet


def slogdet(x, /):
    """Sign and natural log of the absolute value of determinants (stable for large ones)."""
    _matrices(x, "slogdet", square=True)
    batch = x.shape[:-2]
    return SlogdetResult(*_extern_outputs(_slogdet_np, (), [(x.dtype, batch), (_real(x.dtype), batch)], (x,)))


def _solve_np(x1, x2):
    return np.linalg.solve(x1, x2)


def solve(x1, x2, /):
    """Solution ``X`` of ``x1 @ X = x2`` for square ``x1``; a 1-D ``x2`` is one vector
    (``(M,)``), otherwise ``(..., M, K)``; batch dims broadcast."""
    _matrices(x1, "solve", square=True)
    _check_array(x2, "solve", "floating-point")
    dtype = dt.promote(x1.dtype, x2.dtype)
    m = x1.shape[-1]
    if x2.ndim == 1:
        if x2.shape[0] != m:
            raise ValueError(f"linalg.solve: x2 of shape {x2.shape} does not match x1 of shape {x1.shape}")
        shape = x1.shape[:-2] + (m,)
    else:
        if x2.shape[-2] != m:
            raise ValueError(f"linalg.solve: x2 of shape {x2.shape} does not match x1 of shape {x1.shape}")
        shape = broadcast_shapes(x1.shape[:-2], x2.shape[:-2]) + x2.shape[-2:]
    from ._graph import cast
    return _extern(_solve_np, (), dtype, shape, (cast(x1._node, dtype), cast(x2._node, dtype)))


def _svd_np(x, full_matrices):
    u, s, vh = np.linalg.svd(x, full_matrices=full_matrices)
    return u, s, vh


def svd(x, /, *, full_matrices=True):
    """Singular value decomposition ``x = U @ diag(S) @ Vh`` (S descending, real)."""
    _matrices(x, "svd")
    m, n = x.shape[-2:]
    k = min(m, n)
    batch = x.shape[:-2]
    um, vn = (m, n) if full_matrices else (k, k)
    return SVDResult(*_extern_outputs(
        _svd_np, (bool(full_matrices),),
        [(x.dtype, batch + (m, um)), (_real(x.dtype), batch + (k,)), (x.dtype, batch + (vn, n))], (x,)))


def _svdvals_np(x):
    return np.linalg.svd(x, compute_uv=False)


def svdvals(x, /):
    """Singular values (descending, real)."""
    _matrices(x, "svdvals")
    return _extern(_svdvals_np, (), _real(x.dtype), x.shape[:-2] + (min(x.shape[-2:]),), (x,))


def trace(x, /, *, offset=0, dtype=None):
    """Sum of the ``offset`` diagonal of the innermost matrices (dtype rules of ``sum``)."""
    from .statistical import sum
    _check_array(x, "trace", "numeric")
    return sum(diagonal(x, offset=offset), axis=-1, dtype=dtype)


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """Vector p-norms over ``axis`` (all if None): fused reductions of ``abs(x)``.

    ``ord``: 2 (default), 1, inf, -inf, 0 (number of nonzeros) or any other real p."""
    from . import elementwise as ew, statistical as st
    from ._graph import normalize_axis
    _check_array(x, "vector_norm", "floating-point")
    if isinstance(ord, bool) or not isinstance(ord, (int, float)):
        raise ValueError(f"linalg.vector_norm: invalid ord {ord!r}")
    axes = normalize_axis(axis, x.ndim)
    a = ew.abs(x)
    kw = dict(axis=axes, keepdims=keepdims)
    n = _math.prod(x.shape[d] for d in axes)
    if ord == np.inf and n == 0:
        # Note: as NumPy, the inf-norm of an empty vector is 0 (max with initial value 0).
        return st.sum(a, **kw)
    if ord == np.inf or ord == -np.inf:
        return st.max(a, **kw) if ord > 0 else st.min(a, **kw)
    if ord == 0:
        from .manipulation import astype
        return st.sum(astype(a != 0, a.dtype), **kw)
    if ord == 1:
        return st.sum(a, **kw)
    if ord == 2:
        return ew.sqrt(st.sum(a * a, **kw))
    p = float(ord)
    return st.sum(a ** p, **kw) ** (1.0 / p)


for _name in __all__:
    if _name not in ("matmul", "tensordot", "vecdot", "matrix_transpose"):
        globals()[_name].__module__ = "arrayforge.linalg"
for _cls in (EigResult, EighResult, QRResult, SlogdetResult, SVDResult):
    _cls.__module__ = "arrayforge.linalg"
del _name, _cls
