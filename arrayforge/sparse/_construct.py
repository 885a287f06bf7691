"""Constructors: ``random``, ``eye``, ``identity``, ``diags``/``diags_array``, ``kron``,
``hstack``, ``vstack``, ``block_diag`` (SciPy's names and arguments).  Structures are
computed here with NumPy; values stay lazy where they come from other arrays
(``kron``'s products, the stacked blocks' values)."""
import operator

import numpy as np

from ._base import SparseArray, as_sparse_operand
from ._coo import coo_array
from . import _structure as st


def _finish(coo, format, dtype=None):
    if dtype is not None:
        coo = coo.astype(dtype, copy=False)
    return coo.asformat(format or "coo")


def random(m, n, density=0.01, format="coo", dtype=None, rng=None, data_sampler=None):
    """A ``(m, n)`` sparse array with ``round(density * m * n)`` distinct uniformly placed
    entries, values uniform in [0, 1) (``data_sampler(size)`` replaces them).

    >>> A = random(1000, 1000, density=0.01, format="csr", rng=0)
    """
    m, n = operator.index(m), operator.index(n)
    if not 0 <= density <= 1:
        raise ValueError(f"density must be in [0, 1], got {density}")
    dtype = st.value_dtype(dtype if dtype is not None else np.float64)
    rng = np.random.default_rng(rng)
    size = m * n
    k = int(round(density * size))
    flat = _distinct(rng, size, k)
    if data_sampler is not None:
        vals = np.asarray(data_sampler(size=k))
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        vals = rng.integers(max(info.min, -100), min(info.max, 100), size=k, endpoint=True)
    elif dtype.kind == "c":
        vals = rng.uniform(size=k) + 1j * rng.uniform(size=k)
    elif dtype.kind == "b":
        vals = np.ones(k, bool)
    else:
        vals = rng.uniform(size=k)
    idt = st.index_dtype(max(m, n), k)
    rows, cols = np.divmod(flat, max(n, 1))
    coo = coo_array._new((rows.astype(idt), cols.astype(idt)), st.values(vals.astype(dtype)), (m, n), True)
    return coo.asformat(format)


def _distinct(rng, size, k):
    """``k`` distinct sorted integers drawn uniformly from ``range(size)``."""
    if k == 0:
        return np.zeros(0, np.int64)
    if 4 * k > size:
        return np.sort(rng.choice(size, size=k, replace=False))
    # sparse case: draw with replacement and drop repeats until there are enough
    # (rng.choice without replacement is slow for a population of 1e12)
    flat = _sorted_unique(rng.integers(0, size, k + k // 16 + 16, dtype=np.int64))
    while len(flat) < k:
        flat = _sorted_unique(np.concatenate([flat, rng.integers(0, size, k - len(flat) + 16, dtype=np.int64)]))
    if len(flat) > k:       # drop a uniform random subset of the extras
        keep = np.ones(len(flat), bool)
        keep[rng.choice(len(flat), size=len(flat) - k, replace=False)] = False
        flat = flat[keep]
    return flat


def _sorted_unique(a):
    a = np.sort(a)
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a


def eye(m, n=None, k=0, dtype=float, format=None):
    """Ones on the ``k``-th diagonal of an ``(m, n)`` sparse array (DIA unless ``format``)."""
    m = operator.index(m)
    n = m if n is None else operator.index(n)
    return diags_array(np.ones(max(0, min(m + min(k, 0), n - max(k, 0))), dtype=dtype), offsets=k,
                       shape=(m, n), format=format or "dia", dtype=dtype)


def identity(n, dtype="d", format=None):
    """The ``n x n`` identity as a sparse array (DIA unless ``format``)."""
    return eye(n, n, dtype=dtype, format=format)


def diags_array(diagonals, /, *, offsets=0, shape=None, format=None, dtype=None):
    """A sparse array from diagonals: ``diagonals[i]`` on the ``offsets[i]``-th diagonal
    (scalars broadcast along the whole diagonal when ``shape`` is given).

    >>> diags_array([[1, 2, 3], [4, 5]], offsets=[0, 1]).toarray()
    """
    scalar_offset = isinstance(offsets, (int, np.integer))
    if scalar_offset:
        if not isinstance(diagonals, (list, tuple)) or (diagonals and np.isscalar(diagonals[0])) \
                or isinstance(diagonals, np.ndarray) and np.ndim(diagonals) <= 1:
            diagonals = [diagonals]
        offsets = [int(offsets)]
    offsets = [operator.index(k) for k in offsets]
    if len(diagonals) != len(offsets):
        raise ValueError(f"{len(diagonals)} diagonals but {len(offsets)} offsets")
    if len(set(offsets)) != len(offsets):
        raise ValueError("offset array contains duplicate values")
    diags = [np.atleast_1d(np.asarray(d)) for d in diagonals]
    if shape is None:
        m = max(len(d) + abs(k) for d, k in zip(diags, offsets)) if diags else 0
        shape = (m, m)
    m, n = st.check_shape(shape, 2)
    if dtype is None:
        # Note: SciPy 1.17 casts integer diagonals to float64 (with a FutureWarning); so do we
        dtype = np.result_type(*diags) if diags else np.float64
        if np.dtype(dtype).kind not in "fc":
            dtype = np.float64
    rows, cols, vals = [], [], []
    for d, k in zip(diags, offsets):
        length = max(0, min(m + min(k, 0), n - max(k, 0)))
        if length == 0 and not (-m < k < n):
            raise ValueError(f"offset {k} is out of range for shape {(m, n)}")
        if len(d) == 1:
            d = np.broadcast_to(d, (length,))
        elif len(d) != length:
            raise ValueError(f"diagonal length ({len(d)}) for offset {k} does not agree with the "
                             f"array size ({length})")
        i = np.arange(length, dtype=np.int64)
        rows.append(i - min(k, 0))
        cols.append(i + max(k, 0))
        vals.append(d.astype(dtype))
    nnz = sum(len(r) for r in rows)
    idt = st.index_dtype(max(m, n), nnz)
    r = np.concatenate(rows).astype(idt) if rows else np.zeros(0, idt)
    c = np.concatenate(cols).astype(idt) if cols else np.zeros(0, idt)
    v = np.concatenate(vals) if vals else np.zeros(0, dtype)
    coo = coo_array._new((r, c), st.values(np.ascontiguousarray(v, dtype=dtype)), (m, n), None)
    return coo.asformat(format or "dia")


def diags(diagonals, offsets=0, shape=None, format=None, dtype=None):
    """SciPy's ``diags`` (positional ``offsets``): see :func:`diags_array`."""
    return diags_array(diagonals, offsets=offsets, shape=shape, format=format, dtype=dtype)


def _operand(x):
    if isinstance(x, SparseArray):
        return x
    from ._convert import _is_scipy_sparse
    if _is_scipy_sparse(x):
        return as_sparse_operand(x)
    return coo_array(x)


def kron(A, B, format=None):
    """The Kronecker product of two 2-D arrays (sparse result; values a lazy outer product)."""
    from ..manipulation import reshape
    a, b = _operand(A).tocoo(), _operand(B).tocoo()
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError("kron needs 2-D operands")
    (m1, n1), (m2, n2) = a.shape, b.shape
    shape = (m1 * m2, n1 * n2)
    ar, ac = (c.astype(np.int64) for c in a._coords)
    br, bc = (c.astype(np.int64) for c in b._coords)
    rows = (ar[:, None] * m2 + br[None, :]).reshape(-1)
    cols = (ac[:, None] * n2 + bc[None, :]).reshape(-1)
    va = reshape(a._data, (a.nnz, 1))
    vb = reshape(b._data, (1, b.nnz))
    vals = reshape(va * vb, (a.nnz * b.nnz,))
    idt = st.index_dtype(max(shape), len(rows))
    return _finish(coo_array._new((rows.astype(idt), cols.astype(idt)), vals, shape, None), format)


def _stack(blocks, axis, format, dtype):
    from ..manipulation import concat
    from ._ops import _cast_values
    mats = [_operand(b) for b in blocks]
    if not mats:
        raise ValueError("blocks must not be empty")
    if any(m.ndim != 2 for m in mats):
        raise ValueError("blocks must be 2-D")
    other = 1 - axis
    if len({m.shape[other] for m in mats}) != 1:
        raise ValueError(f"blocks[0].shape[{other}] differs from another block's: "
                         f"{[m.shape for m in mats]}")
    out_dtype = np.result_type(*[m.dtype for m in mats]) if dtype is None else st.value_dtype(dtype)
    coos = [m.tocoo() for m in mats]
    offset = 0
    coords = [[], []]
    for c in coos:
        coords[axis].append(c._coords[axis].astype(np.int64) + offset)
        coords[other].append(c._coords[other].astype(np.int64))
        offset += c.shape[axis]
    shape = [0, 0]
    shape[axis], shape[other] = offset, mats[0].shape[other]
    vals = concat([_cast_values(c._data, out_dtype) for c in coos])
    nnz = vals.shape[0]
    idt = st.index_dtype(max(shape), nnz)
    coo = coo_array._new(tuple(np.concatenate(x).astype(idt) for x in coords), vals, tuple(shape), None)
    fmts = {m.format for m in mats}
    return coo.asformat(format or (fmts.pop() if len(fmts) == 1 and fmts <= {"csr", "csc"} else "coo"))


def hstack(blocks, format=None, dtype=None):
    """Stack sparse arrays side by side (columns)."""
    return _stack(blocks, 1, format, dtype)


def vstack(blocks, format=None, dtype=None):
    """Stack sparse arrays vertically (rows)."""
    return _stack(blocks, 0, format, dtype)


def block_diag(mats, format=None, dtype=None):
    """The block-diagonal sparse array of ``mats``."""
    from ..manipulation import concat
    from ._ops import _cast_values
    ms = [_operand(m).tocoo() for m in mats]
    if any(m.ndim != 2 for m in ms):
        raise ValueError("block_diag needs 2-D blocks")
    out_dtype = np.result_type(*[m.dtype for m in ms]) if dtype is None else st.value_dtype(dtype)
    r0 = c0 = 0
    rows, cols = [], []
    for m in ms:
        rows.append(m._coords[0].astype(np.int64) + r0)
        cols.append(m._coords[1].astype(np.int64) + c0)
        r0 += m.shape[0]
        c0 += m.shape[1]
    vals = concat([_cast_values(m._data, out_dtype) for m in ms]) if ms else st.values(np.zeros(0, out_dtype))
    idt = st.index_dtype(max(r0, c0), vals.shape[0])
    cat = (lambda xs: np.concatenate(xs).astype(idt) if xs else np.zeros(0, idt))
    return _finish(coo_array._new((cat(rows), cat(cols)), vals, (r0, c0), None), format)
