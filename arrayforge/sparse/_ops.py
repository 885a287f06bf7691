"""Element-wise work, products and structure edits of sparse arrays, and their entries in
the namespace's dispatch table (``xp.abs(A)``, ``xp.multiply(A, B)``, ``xp.matmul(A, x)``).

The never-densify rule in one place: a function is applied to the stored values only when
it maps 0 to 0 (checked on a zero of the operand's dtype, as NumPy computes it); any other
function would make every implicit zero nonzero, so it raises a ValueError naming
``todense()``.  With a dense operand written by the user (``A + D``) the result is dense,
as in SciPy; ``A * D`` stays sparse.
"""
import operator
import warnings

import numpy as np

from lowering.kernels import sparse as kernels

from .. import _sparse_dispatch
from .._array import Array
from .._contract import tensordot_axes
from .._sparse_dispatch import handles
from ._base import SparseArray, as_sparse_operand
from . import _structure as st

# binary functions whose result is zero where either operand is zero: they keep the
# intersection of two patterns (all others keep the union, when f(0, 0) == 0)
INTERSECTION = frozenset({"multiply", "logical_and", "bitwise_and"})

_UNARY = ("abs", "negative", "positive", "sqrt", "square", "reciprocal", "exp", "expm1", "log", "log1p",
          "log2", "log10", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh",
          "acosh", "atanh", "floor", "ceil", "trunc", "round", "sign", "signbit", "isnan", "isinf",
          "isfinite", "logical_not", "bitwise_invert", "conj", "real", "imag")
_BINARY = ("add", "subtract", "multiply", "divide", "floor_divide", "remainder", "pow", "maximum",
           "minimum", "atan2", "hypot", "copysign", "logaddexp", "nextafter", "equal", "not_equal",
           "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or", "logical_xor",
           "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift")


def _dense_fn(name):
    import arrayforge
    return getattr(arrayforge, name)


def _numpy_at_zero(name, *operands):
    """NumPy's ``name`` on the operands (1-element zeros stand for sparse ones): the value
    an implicit zero would take, and the result dtype."""
    fn = getattr(np, name)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*operands)


def _is_zero(v):
    v = np.asarray(v).reshape(-1)[0]
    return bool(v == 0) and not (isinstance(v, (float, complex, np.inexact)) and np.isnan(v))


def _dense_error(what, name):
    return ValueError(f"{name} of {what} is dense (it maps the implicit zeros to nonzero values); "
                      f"densify explicitly with .todense() first")


def _compressed(x):
    """``x`` as CSR, or as itself when it is CSC (both compressed kernels serve either)."""
    return x if x.format in ("csr", "csc") else x.tocsr()


# ---- unary


def unary(name, x):
    """``name`` applied to the stored values (a new array, same structure)."""
    if name == "positive":
        return x
    zero = _numpy_at_zero(name, np.zeros(1, x.dtype))
    if not _is_zero(zero):
        raise _dense_error("a sparse array", f"{name}")
    x = _deduped(name, x)
    return x._with_data(_dense_fn(name)(x._data))


# value functions that commute with summing duplicates: applied to the stored values as they are
_LINEAR = frozenset({"negative", "positive", "conj", "real", "imag", "multiply", "divide"})


def _deduped(name, x):
    """``x`` with duplicates summed before a function that does not commute with the sum
    (``abs``, ``**``, comparisons...), as SciPy's ``_deduped_data``; linear ones keep them."""
    if name in _LINEAR or not hasattr(x, "_canonical_copy"):
        return x
    return x._canonical_copy()


def round_digits(x, ndigits):
    """``round(A, ndigits)``: NumPy's ``around`` of the stored values (duplicates summed first):
    scaled by ``10**ndigits``, rounded half to even, scaled back; integers as NumPy (kept for
    ``ndigits > 0``, rounded to tens, hundreds... for negative ones)."""
    ndigits = operator.index(ndigits)
    x = _deduped("round", x)
    if x.dtype.kind in "iub":
        if ndigits >= 0:
            return x.copy()
        # Note: through float64, exact for |values| < 2**53
        scale = 10.0 ** -ndigits
        data = _dense_fn("round")(_cast_values(x._data, np.dtype(np.float64)) / scale) * scale
        return x._with_data(_cast_values(data, x.dtype))
    scale = 10.0 ** ndigits
    return x._with_data(_dense_fn("round")(x._data * scale) / scale)


def astype(x, dtype, copy=True):
    dtype = st.value_dtype(dtype)
    if dtype == x.dtype:
        return x.copy() if copy else x
    from ..manipulation import astype as _astype
    return x._with_data(_astype(x._data, dtype))


# ---- binary


def _cast_values(v, dtype):
    from ..manipulation import astype as _astype
    return v if v.dtype == dtype else _astype(v, dtype)


def _operand_dtype(z, *dtypes):
    """The dtype both operands are cast to: NumPy's result dtype (so ``int / int`` is float64
    and ``int * float`` float64, as in SciPy), or their common dtype for a boolean result."""
    return z.dtype if z.dtype.kind != "b" else np.result_type(*dtypes)


def _is_scalar(x):
    return isinstance(x, (bool, int, float, complex, np.generic))


def binary(name, x1, x2):
    """``name(x1, x2)`` where at least one operand is sparse (SciPy's result kinds)."""
    s1 = isinstance(x1, SparseArray) or _sparse_dispatch.is_sparse(x1) or _is_scipy(x1)
    s2 = isinstance(x2, SparseArray) or _sparse_dispatch.is_sparse(x2) or _is_scipy(x2)
    if s1 and s2:
        return _sparse_sparse(name, as_sparse_operand(x1), as_sparse_operand(x2))
    if s1:
        return _sparse_other(name, as_sparse_operand(x1), x2, False)
    return _sparse_other(name, as_sparse_operand(x2), x1, True)


def _is_scipy(x):
    from ._convert import _is_scipy_sparse
    return _is_scipy_sparse(x)


def _sparse_other(name, a, other, reflected):
    fn = _dense_fn(name)
    if _is_scalar(other):
        other = other.item() if isinstance(other, np.generic) else other
        zeros = np.zeros(1, a.dtype)
        z = _numpy_at_zero(name, other, zeros) if reflected else _numpy_at_zero(name, zeros, other)
        if not _is_zero(z):
            raise _dense_error(f"a sparse array and the scalar {other!r}", name)
        a = _deduped(name if not reflected else "reflected", a)
        target = z.dtype if z.dtype.kind != "b" else np.result_type(a.dtype, other)
        if name == "divide" and not reflected:
            # Note: SciPy divides by a scalar in float64 (float32 / 4 is float64)
            target = np.result_type(target, np.float64)
        data = _cast_values(a._data, target)
        return a._with_data(fn(other, data) if reflected else fn(data, other))
    if not isinstance(other, Array):
        if isinstance(other, (np.ndarray, list, tuple)):
            from ..creation import asarray
            other = asarray(other)
        else:
            return NotImplemented
    shape = np.broadcast_shapes(a.shape, other.shape)
    if name in INTERSECTION and shape == a.shape:
        # a dense operand of a zero-preserving product: the result keeps A's pattern
        coo = a.tocoo()
        d = st.take_dense(other, a.shape, coo._coords)
        z = _numpy_at_zero(name, np.zeros(1, a.dtype), np.zeros(1, other.dtype))
        common = _operand_dtype(z, a.dtype, other.dtype)
        values = _cast_values(coo._data, common), _cast_values(d, common)
        out = coo._with_data(fn(values[1], values[0]) if reflected else fn(*values))
        return out.asformat(a.format) if a.format in ("csr", "csc") else out
    # the user wrote a dense operand: the result is dense (SciPy's A + D)
    dense = a.toarray()
    z = _numpy_at_zero(name, np.zeros(1, a.dtype), np.zeros(1, other.dtype))
    common = _operand_dtype(z, a.dtype, other.dtype)
    dense, other = _cast_values(dense, common), _cast_values(other, common)
    return fn(other, dense) if reflected else fn(dense, other)


def _sparse_sparse(name, a, b):
    if a.shape != b.shape:
        raise ValueError(f"{name}: inconsistent shapes {a.shape} and {b.shape}")
    if a.ndim != 2:
        # 1-D and N-D (COO): the same work on a 2-D view of both patterns (rows: the first
        # axis, columns: the others raveled), then the result's coordinates unraveled back
        shape2 = (a.shape[0], int(np.prod(a.shape[1:]))) if a.ndim > 1 else (1, a.shape[0])
        out = _sparse_sparse(name, a.reshape(shape2), b.reshape(shape2))
        return out.tocoo().reshape(a.shape)
    za, zb = np.zeros(1, a.dtype), np.zeros(1, b.dtype)
    z = _numpy_at_zero(name, za, zb)
    intersect = name in INTERSECTION
    if not intersect and not _is_zero(z):
        raise _dense_error("two sparse arrays", name)
    ca = _compressed(a)
    cb = b.asformat(ca.format)
    ca, cb = ca._canonical_copy(), cb._canonical_copy()
    if _same_structure(ca, cb):
        # one pattern (``abs(A) * 2 - A``): the values combine position by position, so
        # the whole chain stays one fused element-wise kernel
        indptr, indices, va, vb = ca._indptr, ca._indices, ca._data, cb._data
    else:
        merge = kernels.intersection_positions if intersect else kernels.union_positions
        indptr, indices, a_pos, b_pos = merge(ca._indptr, ca._indices, cb._indptr, cb._indices)
        va, vb = st.gather(ca._data, a_pos), st.gather(cb._data, b_pos)
    common = _operand_dtype(z, a.dtype, b.dtype)
    va, vb = _cast_values(va, common), _cast_values(vb, common)
    values = _dense_fn(name)(va, vb)
    return type(ca)._new(indptr, indices, values, ca.shape, True)


def _same_structure(a, b):
    if a._indptr is b._indptr and a._indices is b._indices:
        return True
    return (len(a._indices) == len(b._indices) and np.array_equal(a._indptr, b._indptr)
            and np.array_equal(a._indices, b._indices))


# ---- products


def _as_dense_operand(x, name):
    if isinstance(x, Array):
        return x
    if isinstance(x, (np.ndarray, list, tuple)):
        from ..creation import asarray
        return asarray(x)
    raise TypeError(f"{name}: unsupported operand type {type(x).__name__}")


def matmul(x1, x2):
    """``x1 @ x2`` with at least one sparse operand: SpMV/SpMM (dense result), ``X @ A``
    (dense result) or SpGEMM (sparse result)."""
    s1 = isinstance(x1, SparseArray) or not isinstance(x1, Array) and _is_scipy(x1)
    s2 = isinstance(x2, SparseArray) or not isinstance(x2, Array) and _is_scipy(x2)
    if _is_scalar(x1) or _is_scalar(x2):
        raise ValueError("matmul: a scalar operand is not allowed; use * for scaling")
    if s1 and s2:
        return _spgemm(as_sparse_operand(x1), as_sparse_operand(x2))
    if s1:
        a, x = as_sparse_operand(x1), _as_dense_operand(x2, "matmul")
        _check_matmul(a.shape, x.shape)
        if a.ndim == 1:
            return matmul(a.reshape((1, -1)), x).reshape(x.shape[1:]) if x.ndim == 2 else \
                _dense_fn("sum")(a.multiply(x))
        from . import _products
        c = _compressed(a)
        return _products.compressed_dense_matmul(c.format, c.shape, c._indptr, c._indices, c._data, x)
    a, x = as_sparse_operand(x2), _as_dense_operand(x1, "matmul")
    _check_matmul(x.shape, a.shape)
    if a.ndim == 1:
        return matmul(x, a.reshape((-1, 1))).reshape(x.shape[:-1]) if x.ndim == 2 else \
            _dense_fn("sum")(a.multiply(x))
    from . import _products
    c = _compressed(a)
    return _products.dense_compressed_matmul(x, c.format, c.shape, c._indptr, c._indices, c._data)


def _check_matmul(s1, s2):
    if len(s1) == 0 or len(s2) == 0:
        raise ValueError("matmul: operands must be at least 1-dimensional")
    if len(s1) > 2 or len(s2) > 2:
        raise ValueError(f"matmul with a sparse operand takes 1-D or 2-D operands, got {s1} and {s2}")
    k1 = s1[-1]
    k2 = s2[0]
    if k1 != k2:
        raise ValueError(f"matmul: contracted dimensions differ: {s1} @ {s2} ({k1} != {k2})")


def _spgemm(a, b):
    _check_matmul(a.shape, b.shape)
    if a.ndim == 1 or b.ndim == 1:
        a2 = a.reshape((1, -1)) if a.ndim == 1 else a
        b2 = b.reshape((-1, 1)) if b.ndim == 1 else b
        out = _spgemm(a2, b2).tocoo()
        shape = a.shape[:-1] + b.shape[1:]
        return out.reshape(shape) if shape else out.sum()
    if a.format == "csc" and b.format == "csc":
        return _spgemm(b.T, a.T).T       # (A @ B).T = B.T @ A.T, CSC transposes are free CSRs
    ca, cb = a.tocsr(), b.tocsr()
    from ._compressed import csr_array
    indptr, indices, data = kernels.spgemm(ca._indptr, ca._indices, st.realized(ca._data),
                                           cb._indptr, cb._indices, st.realized(cb._data), b.shape[1])
    return csr_array._new(indptr, indices, st.values(data), (a.shape[0], b.shape[1]), True)


def _as_matrix(x, rows, cols):
    """``x`` as the 2-D ``(prod of rows' dims, prod of cols' dims)`` operand of a product:
    a sparse 2-D array as itself or its (free) transpose, other sparse ones matricized
    (coordinates only), a dense one permuted and reshaped (lazily)."""
    rows, cols = tuple(rows), tuple(cols)
    if isinstance(x, SparseArray):
        if len(rows) == len(cols) == 1 and rows + cols == (0, 1):
            return x
        if len(rows) == len(cols) == 1 and rows + cols == (1, 0):
            return x.T                        # CSR <-> CSC over the same buffers: B.T @ X kernels
        from ._coo import matricize
        return matricize(x.tocoo(), rows, cols)
    from ..manipulation import permute_dims, reshape
    m = int(np.prod([x.shape[i] for i in rows]))
    n = int(np.prod([x.shape[i] for i in cols]))
    if rows + cols != tuple(range(x.ndim)):
        x = permute_dims(x, rows + cols)
    return reshape(x, (m, n))


def _entries(x):
    """``(coords, values)`` of every stored entry of a sparse ``x`` or every element of a
    dense one (its coordinates in row-major order)."""
    if isinstance(x, SparseArray):
        coo = x.tocoo()
        return coo._coords, coo._data
    from ..manipulation import reshape
    n = int(np.prod(x.shape))
    coords = np.unravel_index(np.arange(n, dtype=np.int64), x.shape) if x.shape else ()
    return coords, reshape(x, (n,))


def _outer(a, b):
    """``tensordot(a, b, axes=0)`` with a sparse operand: the N-D COO outer product (as
    pydata/sparse), every stored entry of one times every stored entry (or element) of the other."""
    from ..manipulation import reshape
    from ._coo import coo_array
    (ca, va), (cb, vb) = _entries(a), _entries(b)
    na, nb = va.shape[0], vb.shape[0]
    shape = tuple(a.shape) + tuple(b.shape)
    idt = st.index_dtype(max(shape, default=0), na * nb)
    coords = [np.repeat(c.astype(idt), nb) for c in ca] + [np.tile(c.astype(idt), na) for c in cb]
    dtype = np.result_type(a.dtype, b.dtype)
    va, vb = _cast_values(va, dtype), _cast_values(vb, dtype)
    values = reshape(_dense_fn("multiply")(reshape(va, (na, 1)), reshape(vb, (1, nb))), (na * nb,))
    return coo_array._new(tuple(coords), values, shape, None)


def tensordot(a, b, axes=2):
    """``tensordot`` with a sparse operand (``a`` or ``b``, or both), over any legal axes:
    ``axes=0`` is the sparse (COO) outer product; otherwise the operands are taken as
    matrices (free axes x contracted axes: a 2-D sparse operand as itself or its free
    transpose, an N-D one matricized) and multiplied by the sparse products (SpMV/SpMM,
    ``A.T @ X`` without a transpose, SpGEMM); the full contraction of two operands is the
    sum of their element-wise product, a 0-d dense array.  The result is sparse when both
    operands are (or for ``axes=0``), dense otherwise, as SciPy's ``coo_array.tensordot``."""
    if _is_scalar(a) or _is_scalar(b):
        raise ValueError("tensordot: operands must be arrays, not scalars")
    a = as_sparse_operand(a) if (isinstance(a, SparseArray) or _is_scipy(a)) else _as_dense_operand(a, "tensordot")
    b = as_sparse_operand(b) if (isinstance(b, SparseArray) or _is_scipy(b)) else _as_dense_operand(b, "tensordot")
    first, second = tensordot_axes(a.shape, b.shape, axes)
    if not first:
        return _outer(a, b)
    free_a = [i for i in range(a.ndim) if i not in first]
    free_b = [j for j in range(b.ndim) if j not in second]
    shape = tuple(a.shape[i] for i in free_a) + tuple(b.shape[j] for j in free_b)
    if not free_a and not free_b and a.ndim == b.ndim == 2:
        # the full contraction: align b's axes with a's and sum the element-wise product
        paired = second[first.index(0)]       # the axis of b summed with a's axis 0
        aligned = b if paired == 0 else _axis_last(b, 0)
        return _dense_fn("sum")(binary("multiply", a, aligned))
    out = matmul(_as_matrix(a, free_a, first), _as_matrix(b, second, free_b))
    if not shape:
        return _dense_fn("sum")(out) if isinstance(out, SparseArray) else _dense_fn("reshape")(out, ())
    if isinstance(out, SparseArray):
        return out if out.shape == shape else out.reshape(shape)
    return out if out.shape == shape else _dense_fn("reshape")(out, shape)


def _conj(x):
    return unary("conj", x) if isinstance(x, SparseArray) else _dense_fn("conj")(x)


def _axis_last(x, axis):
    """``x`` with ``axis`` moved last (a sparse transpose or a dense view)."""
    if axis == x.ndim - 1:
        return x
    perm = tuple(d for d in range(x.ndim) if d != axis) + (axis,)
    return x.transpose(perm) if isinstance(x, SparseArray) else _dense_fn("permute_dims")(x, perm)


def vecdot(x1, x2, axis=-1):
    """``sum(conj(x1) * x2, axis=axis)`` with a sparse operand (the dense namespace's rules:
    a non-negative ``axis`` names that axis of each operand, the other axes broadcast):
    ``conj(A) @ x`` for a matrix and a vector, else the element-wise product (sparse where
    it is) summed over the contracted axis."""
    x1 = as_sparse_operand(x1) if (isinstance(x1, SparseArray) or _is_scipy(x1)) else _as_dense_operand(x1, "vecdot")
    x2 = as_sparse_operand(x2) if (isinstance(x2, SparseArray) or _is_scipy(x2)) else _as_dense_operand(x2, "vecdot")
    nd = min(x1.ndim, x2.ndim)
    if isinstance(axis, bool) or not -nd <= operator.index(axis) < nd:
        raise ValueError(f"vecdot: axis {axis} is out of range for shapes {x1.shape} and {x2.shape}")
    a1, a2 = axis % x1.ndim, axis % x2.ndim
    if x1.shape[a1] != x2.shape[a2]:
        raise ValueError(f"vecdot: the contracted axis differs in size: {x1.shape} and {x2.shape}")
    if x1.ndim == 2 and x2.ndim == 1 and a1 == 1:
        return matmul(_conj(x1), x2)
    if x1.ndim == 1 and x2.ndim == 2 and a2 == 1:
        return matmul(x2, _conj(x1))
    y1, y2 = _axis_last(_conj(x1), a1), _axis_last(x2, a2)
    np.broadcast_shapes(y1.shape, y2.shape)          # ValueError as NumPy when they do not broadcast
    return _dense_fn("sum")(binary("multiply", y1, y2), axis=-1)


# ---- structure edits


def reshape(a, shape, order="C"):
    if order not in ("C", "F"):
        raise ValueError(f"order must be 'C' or 'F', got {order!r}")
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape = tuple(int(s) for s in shape)
    size = int(np.prod(a.shape))
    if shape.count(-1) > 1:
        raise ValueError("can only specify one unknown dimension")
    if -1 in shape:
        known = int(np.prod([s for s in shape if s != -1]))
        if known == 0 or size % known:
            raise ValueError(f"cannot reshape array of size {size} into shape {shape}")
        shape = tuple(size // known if s == -1 else s for s in shape)
    shape = st.check_shape(shape)
    if int(np.prod(shape)) != size:
        raise ValueError(f"cannot reshape array of size {size} into shape {shape}")
    if shape == a.shape:
        return a
    from ._coo import coo_array
    coo = a.tocoo()
    if order == "F":      # column-major: the flat index counts the first axis fastest
        flat = np.ravel_multi_index(tuple(c.astype(np.int64) for c in coo._coords),
                                    tuple(max(n, 1) for n in a.shape), order="F")
        coords = np.unravel_index(flat, shape, order="F") if shape else ()
        canonical = None
    else:
        flat = coo._flat_keys() if coo.ndim > 1 else coo._coords[0].astype(np.int64)
        coords = np.unravel_index(flat, shape) if shape else ()
        canonical = coo._canonical
    idt = st.index_dtype(max(shape, default=0), len(flat))
    return coo_array._new(tuple(c.astype(idt) for c in coords), coo._data, shape, canonical)


def resize(a, shape):
    shape = st.check_shape(tuple(shape), a.ndim)
    from ._coo import coo_array
    coo = a.tocoo()
    keep = np.ones(coo.nnz, bool)
    for c, n in zip(coo._coords, shape):
        keep &= c < n
    pos = np.flatnonzero(keep)
    idt = st.index_dtype(max(shape, default=0), len(pos))
    return coo_array._new(tuple(c[pos].astype(idt) for c in coo._coords), st.gather(coo._data, pos),
                          shape, coo._canonical)


def setdiag(a, values, k=0):
    """The array with its ``k``-th diagonal set to ``values`` (scalar or 1-D)."""
    from ..creation import asarray, full
    from ..manipulation import concat
    from ._coo import coo_array
    if a.ndim != 2:
        raise ValueError("setdiag needs a 2-D sparse array")
    m, n = a.shape
    if not -m < k < n:
        raise ValueError("k exceeds the array dimensions")
    length = max(0, min(m + min(k, 0), n - max(k, 0)))
    if isinstance(values, (bool, int, float, complex, np.generic)):
        vals = full((length,), values, dtype=np.result_type(a.dtype, values))
    else:
        vals = values if isinstance(values, Array) else asarray(np.asarray(values))
        if vals.ndim == 0:
            vals = full((length,), vals, dtype=vals.dtype)
        if vals.shape[0] < length:
            length = vals.shape[0]
        elif vals.shape[0] > length:
            vals = vals[:length]
    coo = a.tocoo()
    rows, cols = coo._coords
    keep = np.flatnonzero(cols.astype(np.int64) - rows != k)
    i = np.arange(length, dtype=np.int64)
    drows, dcols = (i, i + k) if k >= 0 else (i - k, i)
    dtype = np.result_type(a.dtype, vals.dtype)
    data = concat([_cast_values(st.gather(coo._data, keep), dtype), _cast_values(vals, dtype)])
    idt = st.index_dtype(max(a.shape), len(keep) + length)
    return coo_array._new((np.r_[rows[keep], drows].astype(idt), np.r_[cols[keep], dcols].astype(idt)),
                          data, a.shape, None)


def nonzero(a):
    """``(row, col)``: the coordinates of the stored values that are nonzero (realizes them)."""
    coo = a.tocoo()
    keep = st.realized(coo._data) != 0
    return tuple(st.leaf(st.frozen(c[keep])) for c in coo._coords)


# ---- the namespace's dispatch table


@handles(*_UNARY)
def _unary_handler(name, x, /):
    return unary(name, x)


@handles(*_BINARY)
def _binary_handler(name, x1, x2, /):
    return binary(name, x1, x2)


@handles("matmul")
def _matmul_handler(name, x1, x2, /):
    return matmul(x1, x2)


@handles("tensordot")
def _tensordot_handler(name, x1, x2, /, axes=2):
    return tensordot(x1, x2, axes)


@handles("vecdot")
def _vecdot_handler(name, x1, x2, /, *, axis=-1):
    return vecdot(x1, x2, axis)


@handles("astype")
def _astype_handler(name, x, dtype, /, *, copy=True, device=None):
    return astype(x, dtype, copy=copy)


@handles("permute_dims")
def _permute_handler(name, x, /, axes):
    return x.transpose(axes)


@handles("matrix_transpose")
def _matrix_transpose_handler(name, x, /):
    return x.transpose()


@handles("reshape")
def _reshape_handler(name, x, /, shape, *, copy=None):
    return x.reshape(shape)
